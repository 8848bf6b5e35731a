/* Reading the target's memory.  This is the only module that reads another
 * process: errno is mapped here and nowhere else.
 *
 * Every readable mapping of the target gets a local mirror (reserved with
 * MAP_NORESERVE, so only pages actually read cost memory).  A page is read
 * from the target at most once per census; callers get pointers into the
 * mirror and decode objects from local memory.  An address outside every
 * readable mapping, or on a page the kernel refused, reads as NULL: walkers
 * never dereference a target pointer blindly. */
#ifndef PC_MEM_H
#define PC_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct pc_mapping {
	uint64_t start, end;
	bool readable, writable, executable;
	bool borrowed;          /* LOCAL is not this mapping's own allocation */
	/* Adjacent readable mappings share one mirror, so that an object
	 * straddling two of them (a static type at the end of .data and the
	 * start of .bss) reads as one piece. */
	size_t group_first, group_last;
	uint64_t inode;
	char *path;             /* NULL for anonymous mappings */
	unsigned char *local;   /* mirror, allocated on first use */
	uint8_t *page_state;    /* per page: 0 unread, 1 read, 2 unreadable */
	uint8_t *held;          /* per page: 1 if our mirror page is faulted in
	                         * (charged to the memory ceiling) */
};

/* What a census read and what it cost.  BYTES/PAGES/CALLS count every read
 * (before and during stops); STOP_* the pages read while the target was
 * stopped; REFUSED the pages the memory ceiling kept from being read. */
struct pc_read_stats {
	uint64_t bytes, pages, calls;
	uint64_t stop_bytes, stop_pages;
	uint64_t refused_pages;
	uint64_t peak_bytes;    /* most memory held at once (pc_memlimit) */
	uint64_t max_memory;    /* the ceiling */
	const char *mode;       /* how the stop read: "hinted", "copy", "live" */
};

struct pc_mem {
	pid_t pid;
	int memfd;              /* /proc/PID/mem, the fallback reader */
	bool use_vm_readv;
	bool gone;              /* the target exited while we read it */
	struct pc_mapping *maps;
	size_t nmaps;
	size_t last;            /* index of the last mapping hit */
	unsigned readahead;     /* pages read past a miss */
	bool frozen;            /* writable mappings copied; target running */
	uint64_t misses;        /* pages wanted while frozen but not copied */
	/* Resource failures, named in the census's warnings. */
	bool nomem;             /* a mirror or a batch could not be allocated */
	uint64_t deadline_us;   /* reads fail past this (CLOCK_MONOTONIC), 0: none */
	bool expired;           /* ... and it passed */
	unsigned tick;
	/* Read at most this many pages (0: no cap), then refuse quietly and
	 * set CAPPED: the pre-pass's way to notice the heap is dense. */
	uint64_t read_cap;
	bool capped;
	struct pc_read_stats stats;
};

struct pc_error *pc_mem_open(pid_t pid, struct pc_mem **out);

/* A memory image instead of a process: each buffer stands for the target
 * memory from START to END.  Used by the fuzzer and offline tests; the
 * decoders cannot tell the difference. */
struct pc_mem_buffer {
	uint64_t start, end;
	bool writable;
	unsigned char *data;
};
struct pc_error *pc_mem_open_buffers(const struct pc_mem_buffer *bufs, size_t n, struct pc_mem **out);
void pc_mem_close(struct pc_mem *mem);

/* Re-read /proc/PID/maps and forget every cached page: call after the target
 * ran. */
struct pc_error *pc_mem_reset(struct pc_mem *mem);

/* A pointer to LEN bytes of target memory at ADDR, valid until the next
 * reset, or NULL if any of it cannot be read. */
const void *pc_mem_ptr(struct pc_mem *mem, uint64_t addr, size_t len);

/* Index in MEM->maps of the mapping holding ADDR, or -1. */
long pc_mem_index(const struct pc_mem *mem, uint64_t addr);

/* FN(ARG, AT, VALUE) for each aligned word at AT in [LO, HI) of the
 * readable, writable mappings (a module's .data and .bss) whose VALUE
 * is a non-zero 8-aligned address, until FN returns false: how statics
 * no symbol names are found by what they point to. */
void pc_mem_data_pointers(struct pc_mem *mem, uint64_t lo, uint64_t hi,
			  bool (*fn)(void *arg, uint64_t at, uint64_t value), void *arg);

/* Whether LEN bytes at ADDR lie inside one group of adjacent readable
 * mappings: a bound on a buffer a length read from the target claims. */
bool pc_mem_fits(const struct pc_mem *mem, uint64_t addr, uint64_t len);


/* Pages of the writable mappings the target has resident (or swapped). */
uint64_t pc_mem_resident_writable(struct pc_mem *mem);

/* Copy every resident page of every writable mapping now, in as few
 * system calls as the kernel allows (many iovecs per process_vm_readv), so
 * the target can run again while the census works on the copy.  Pages not
 * resident (never touched) read as zeros afterwards, as they were.  Stops
 * at DEADLINE_US (CLOCK_MONOTONIC, 0 for none); returns false if it did not
 * copy everything: then MEM->expired (time ran out), ->gone, ->nomem or
 * ->stats.refused_pages (the memory ceiling) says why. */
bool pc_mem_copy_writable(struct pc_mem *mem, uint64_t deadline_us);

/* The target runs again from now on: reads of writable pages not already
 * in the mirror fail, and are counted in MEM->misses (and become hints for
 * the next pc_mem_reset()), since the target's memory is no longer what the
 * mirror holds. */
static inline void pc_mem_freeze(struct pc_mem *mem)
{
	mem->frozen = true;
}

/* Read now, in as few calls as possible, every page the census before the
 * last pc_mem_reset() read (a pre-pass over the running target): the walk
 * that follows then finds them local.  Same DEADLINE_US and result as
 * pc_mem_copy_writable(). */
bool pc_mem_load_hinted(struct pc_mem *mem, uint64_t deadline_us);

/* Before stopping the target: fault in our own mirror pages for every
 * resident page of its writable mappings, so copying into them later costs
 * only the read (a first touch costs several times more in this kernel
 * path).  Kept across pc_mem_reset(). */
void pc_mem_prefault(struct pc_mem *mem);

static inline bool pc_mem_read(struct pc_mem *mem, uint64_t addr, void *buf,
			       size_t len)
{
	const void *p = pc_mem_ptr(mem, addr, len);
	if (!p)
		return false;
	__builtin_memcpy(buf, p, len);
	return true;
}

static inline bool pc_mem_u64(struct pc_mem *mem, uint64_t addr, uint64_t *out)
{
	return pc_mem_read(mem, addr, out, 8);
}

#endif
