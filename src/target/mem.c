#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "mem.h"
#include "memlimit.h"

#define PAGE 4096ULL
/* Mappings larger than this are not mirrored: no CPython object lives in a
 * reservation that size, and reserving it locally could fail. */
#define MAX_MIRROR (64ULL << 30)
#define MAX_IOV 512

/* PAGE_HINT: not read in this census, but read (or missed) in the one
 * before the last reset, so likely needed again: pc_mem_load_hinted() reads
 * all of them in a few calls.  PAGE_MISSED: wanted while frozen, not read. */
enum { PAGE_UNREAD = 0, PAGE_READ = 1, PAGE_BAD = 2, PAGE_HINT = 3, PAGE_MISSED = 4 };

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Pages of M from FIRST on (N of them) are about to be written in our
 * mirror: charge those not yet faulted in to the memory ceiling.  False,
 * and nothing charged, if they do not fit. */
static bool hold(struct pc_mem *mem, struct pc_mapping *m, size_t first, size_t n)
{
	if (!m->held)
		return true;        /* a borrowed image: nothing of ours */
	size_t fresh = 0;
	for (size_t p = first; p < first + n; p++)
		fresh += !m->held[p];
	if (fresh && !pc_memlimit_charge(fresh * PAGE)) {
		mem->stats.refused_pages += n;
		return false;
	}
	memset(m->held + first, 1, n);
	return true;
}

/* Give back pages FIRST .. FIRST + N - 1 of M's mirror: they read as zeros
 * again and no longer count against the ceiling. */
static void drop(struct pc_mapping *m, size_t first, size_t n)
{
	if (!n || !m->held)
		return;
	size_t had = 0;
	for (size_t p = first; p < first + n; p++)
		had += m->held[p];
	if (!had)
		return;
	madvise(m->local + first * PAGE, n * PAGE, MADV_DONTNEED);
	memset(m->held + first, 0, n);
	pc_memlimit_release(had * PAGE);
}

static void free_map_array(struct pc_mapping *maps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pc_mapping *m = &maps[i];
		if (m->local && !m->borrowed)
			munmap(m->local, maps[m->group_last].end - m->start);
		if (m->held) {
			size_t had = 0, npages = (m->end - m->start) / PAGE;
			for (size_t p = 0; p < npages; p++)
				had += m->held[p];
			pc_memlimit_release(had * PAGE);
		}
		free(m->page_state);
		free(m->held);
		free(m->path);
	}
	free(maps);
}

static void free_maps(struct pc_mem *mem)
{
	free_map_array(mem->maps, mem->nmaps);
	mem->maps = NULL;
	mem->nmaps = 0;
	mem->last = 0;
}

/* Group adjacent readable mappings (see struct pc_mapping). */
static void group_maps(struct pc_mem *mem)
{
	for (size_t i = 0; i < mem->nmaps; i++) {
		struct pc_mapping *m = &mem->maps[i];
		bool joins = i > 0 && m->readable && mem->maps[i - 1].readable &&
			     mem->maps[i - 1].end == m->start;
		m->group_first = joins ? mem->maps[i - 1].group_first : i;
		m->group_last = i;
		for (size_t j = m->group_first; j < i; j++)
			mem->maps[j].group_last = i;
	}
}

static struct pc_error *read_maps(struct pc_mem *mem)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)mem->pid);
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT || errno == ESRCH)
			return pc_error_new(PC_EXIT_NOPROC, "process %d does not exist", (int)mem->pid);
		return pc_error_new(PC_EXIT_PERM, "cannot read %s: %s", path, strerror(errno));
	}
	size_t cap = 0;
	char *line = NULL;
	size_t linecap = 0;
	while (getline(&line, &linecap, f) > 0) {
		uint64_t start, end, off, inode;
		char perms[8];
		int pathpos = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %" SCNu64 " %n",
			   &start, &end, perms, &off, &inode, &pathpos) < 5)
			continue;
		if (mem->nmaps == cap) {
			cap = cap ? cap * 2 : 64;
			struct pc_mapping *n = realloc(mem->maps, cap * sizeof(*n));
			if (!n) {
				free(line);
				fclose(f);
				return pc_error_nomem();
			}
			mem->maps = n;
		}
		struct pc_mapping *m = &mem->maps[mem->nmaps++];
		memset(m, 0, sizeof(*m));
		m->start = start;
		m->end = end;
		m->readable = perms[0] == 'r';
		m->writable = perms[1] == 'w';
		m->executable = perms[2] == 'x';
		m->inode = inode;
		char *p = line + pathpos;
		p[strcspn(p, "\n")] = 0;
		if (*p)
			m->path = strdup(p);
		/* [vvar] and [vsyscall] cannot be read through ptrace. */
		if (m->path && (!strcmp(m->path, "[vvar]") || !strcmp(m->path, "[vsyscall]") ||
				!strcmp(m->path, "[vvar_vclock]")))
			m->readable = false;
		if (end - start > MAX_MIRROR)
			m->readable = false;
	}
	free(line);
	fclose(f);
	group_maps(mem);
	if (mem->nmaps == 0)
		return pc_error_new(PC_EXIT_NOPROC, "process %d has no memory mappings (exited?)",
				    (int)mem->pid);
	return NULL;
}

struct pc_error *pc_mem_open(pid_t pid, struct pc_mem **out)
{
	struct pc_mem *mem = calloc(1, sizeof(*mem));
	if (!mem)
		return pc_error_nomem();
	mem->pid = pid;
	mem->memfd = -1;
	mem->use_vm_readv = true;
	/* Measured on a 2M-object heap: reading 2 pages past a miss beat 0 and 8. */
	mem->readahead = 2;
	struct pc_error *err = read_maps(mem);
	if (err) {
		free(mem);
		return err;
	}
	*out = mem;
	return NULL;
}

struct pc_error *pc_mem_open_buffers(const struct pc_mem_buffer *bufs, size_t n, struct pc_mem **out)
{
	struct pc_mem *mem = calloc(1, sizeof(*mem));
	if (!mem)
		return pc_error_nomem();
	mem->memfd = -1;
	mem->frozen = true;
	mem->maps = calloc(n ? n : 1, sizeof(*mem->maps));
	if (!mem->maps) {
		free(mem);
		return pc_error_nomem();
	}
	for (size_t i = 0; i < n; i++) {
		struct pc_mapping *m = &mem->maps[i];
		if ((bufs[i].start | bufs[i].end) % PAGE || bufs[i].end <= bufs[i].start ||
		    (i && bufs[i].start < bufs[i - 1].end)) {
			pc_mem_close(mem);
			return pc_error_new(PC_EXIT_INPUT, "memory image: mapping %zu is not page-aligned and sorted", i);
		}
		mem->nmaps++;
		m->start = bufs[i].start;
		m->end = bufs[i].end;
		m->readable = true;
		m->writable = bufs[i].writable;
		m->local = bufs[i].data;
		m->borrowed = true;
		m->group_first = m->group_last = i;
		m->page_state = malloc((m->end - m->start) / PAGE);
		if (!m->page_state) {
			pc_mem_close(mem);
			return pc_error_nomem();
		}
		memset(m->page_state, PAGE_READ, (m->end - m->start) / PAGE);
	}
	*out = mem;
	return NULL;
}

void pc_mem_close(struct pc_mem *mem)
{
	if (!mem)
		return;
	free_maps(mem);
	if (mem->memfd >= 0)
		close(mem->memfd);
	free(mem);
}

/* Make P (LEN bytes) the mirror of the group FIRST..LAST, with every page
 * unread; on failure P is unmapped and the group left without one. */
static bool give_mirror(struct pc_mapping *first, struct pc_mapping *last, unsigned char *p, size_t len)
{
	for (struct pc_mapping *g = first; g <= last; g++) {
		g->page_state = calloc((g->end - g->start) / PAGE, 1);
		g->held = calloc((g->end - g->start) / PAGE, 1);
		if (!g->page_state || !g->held) {
			for (struct pc_mapping *h = first; h <= g; h++) {
				free(h->page_state);
				free(h->held);
				h->page_state = NULL;
				h->held = NULL;
				h->local = NULL;
			}
			munmap(p, len);
			return false;
		}
		g->local = p + (g->start - first->start);
		g->borrowed = g != first;
	}
	return true;
}

/* The first mapping of the old group starting at START, or NULL. */
static struct pc_mapping *old_group_at(struct pc_mapping *old, size_t nold, uint64_t start)
{
	size_t lo = 0, hi = nold;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (old[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == nold || old[lo].start != start || old[lo].group_first != lo || !old[lo].local ||
	    !old[lo].held)
		return NULL;
	return &old[lo];
}

/* Give the new group starting at FIRST the mirror of the old group that
 * started at the same address: its pages are already faulted in locally,
 * and faulting fresh pages costs several times what reading them from the
 * target does (measured: 2 us against 0.45 us per page), which would
 * otherwise land inside the pause.  Pages read before become hints. */
static void adopt_group(struct pc_mem *mem, struct pc_mapping *first, struct pc_mapping *old, size_t nold)
{
	struct pc_mapping *o = old_group_at(old, nold, first->start);
	struct pc_mapping *last = &mem->maps[first->group_last];
	if (!o || !first->readable)
		return;
	size_t olen = old[o->group_last].end - o->start, nlen = last->end - first->start;
	if (nlen > MAX_MIRROR)
		return;
	unsigned char *p = o->local;
	if (olen != nlen) {
		p = mremap(p, olen, nlen, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			return;
	}
	o->local = NULL;        /* ours now (or moved): not unmapped with OLD */
	if (!give_mirror(first, last, p, nlen)) {
		mem->nomem = true;
		return;
	}
	struct pc_mapping *g = first;
	for (struct pc_mapping *k = o; k <= &old[o->group_last]; k++) {
		if (!k->page_state)
			continue;
		size_t n = (k->end - k->start) / PAGE;
		for (size_t i = 0; i < n; i++) {
			if (k->page_state[i] == PAGE_UNREAD && !(k->held && k->held[i]))
				continue;
			uint64_t a = k->start + i * PAGE;
			while (g < last && a >= g->end)
				g++;
			if (a < g->start || a >= g->end)
				continue;   /* cut off by mremap: released with OLD */
			size_t gi = (a - g->start) / PAGE;
			if (k->held && k->held[i]) {
				g->held[gi] = 1;
				k->held[i] = 0;
			}
			/* Only hinted pages may hold old data (see copy_writable);
			 * a page faulted in but never read holds zeros. */
			if (k->page_state[i] == PAGE_READ || k->page_state[i] == PAGE_MISSED)
				g->page_state[gi] = PAGE_HINT;
			else if (k->page_state[i] != PAGE_UNREAD)
				drop(g, gi, 1);
		}
	}
}

struct pc_error *pc_mem_reset(struct pc_mem *mem)
{
	struct pc_mapping *old = mem->maps;
	size_t nold = mem->nmaps;
	mem->maps = NULL;
	mem->nmaps = 0;
	mem->last = 0;
	mem->frozen = false;
	mem->misses = 0;
	mem->capped = false;
	struct pc_error *err = read_maps(mem);
	for (size_t i = 0; !err && i < mem->nmaps; i++)
		if (mem->maps[i].group_first == i)
			adopt_group(mem, &mem->maps[i], old, nold);
	free_map_array(old, nold);
	return err;
}

long pc_mem_index(const struct pc_mem *mem, uint64_t addr)
{
	size_t lo = 0, hi = mem->nmaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pc_mapping *m = &mem->maps[mid];
		if (addr < m->start)
			hi = mid;
		else if (addr >= m->end)
			lo = mid + 1;
		else
			return (long)mid;
	}
	return -1;
}

void pc_mem_data_pointers(struct pc_mem *mem, uint64_t lo, uint64_t hi,
			  bool (*fn)(void *arg, uint64_t at, uint64_t value), void *arg)
{
	for (size_t m = 0; m < mem->nmaps; m++) {
		const struct pc_mapping *map = &mem->maps[m];
		if (!map->writable || !map->readable || map->end <= lo || map->start >= hi)
			continue;
		/* only the part inside [LO, HI): the anonymous mapping .bss runs
		 * into may have merged with others after it */
		uint64_t start = map->start > lo ? map->start : (lo + 7) & ~(uint64_t)7;
		uint64_t end = map->end < hi ? map->end : hi;
		size_t n = end > start ? (size_t)(end - start) / 8 : 0;
		const uint64_t *words = n ? pc_mem_ptr(mem, start, n * 8) : NULL;
		for (size_t w = 0; words && w < n; w++)
			if (words[w] && !(words[w] & 7) && !fn(arg, start + w * 8, words[w]))
				return;
	}
}

static struct pc_mapping *find_map(struct pc_mem *mem, uint64_t addr)
{
	if (mem->nmaps == 0)
		return NULL;
	struct pc_mapping *m = &mem->maps[mem->last];
	if (addr >= m->start && addr < m->end)
		return m;
	long i = pc_mem_index(mem, addr);
	if (i < 0)
		return NULL;
	mem->last = (size_t)i;
	return &mem->maps[i];
}

static bool mirror(struct pc_mem *mem, struct pc_mapping *m)
{
	if (m->local)
		return true;
	struct pc_mapping *first = &mem->maps[m->group_first], *last = &mem->maps[m->group_last];
	size_t len = last->end - first->start;
	if (len > MAX_MIRROR)
		return false;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED || !give_mirror(first, last, p, len)) {
		mem->nomem = true;
		return false;
	}
	return true;
}


/* Read LEN bytes at ADDR into DST with one system call; returns the bytes
 * read (a short count means the page after them is unreadable), or -1 with
 * the target gone. */
static ssize_t read_target(struct pc_mem *mem, uint64_t addr, void *dst, size_t len)
{
	mem->stats.calls++;
	if (mem->use_vm_readv) {
		struct iovec local = { dst, len };
		struct iovec remote = { (void *)(uintptr_t)addr, len };
		ssize_t n = process_vm_readv(mem->pid, &local, 1, &remote, 1, 0);
		if (n >= 0)
			return n;
		if (errno == ESRCH) {
			mem->gone = true;
			return -1;
		}
		if (errno == EFAULT)
			return 0;
		/* ENOSYS, EPERM under some LSMs: /proc/PID/mem may still work. */
		mem->use_vm_readv = false;
	}
	if (mem->memfd < 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)mem->pid);
		mem->memfd = open(path, O_RDONLY | O_CLOEXEC);
		if (mem->memfd < 0) {
			if (errno == ENOENT || errno == ESRCH)
				mem->gone = true;
			return -1;
		}
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(mem->memfd, (char *)dst + done, len - done, (off_t)(addr + done));
		if (n > 0) {
			done += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ESRCH)
			mem->gone = true;
		break;
	}
	return (ssize_t)done;
}

/* Load pages [first, last] of M (indices), reading ahead over unread pages. */
static bool load_pages(struct pc_mem *mem, struct pc_mapping *m, size_t first, size_t last)
{
	size_t npages = (m->end - m->start) / PAGE;
	size_t p = first;
	while (p <= last) {
		if (m->page_state[p] == PAGE_READ) {
			p++;
			continue;
		}
		if (m->page_state[p] == PAGE_BAD)
			return false;
		/* After the copy the target runs on: its writable memory is no
		 * longer what we snapshotted. */
		if (mem->frozen && m->writable) {
			if (m->page_state[p] != PAGE_MISSED) {
				m->page_state[p] = PAGE_MISSED;
				mem->misses++;
			}
			return false;
		}
		size_t q = p;
		while (q + 1 < npages && m->page_state[q + 1] != PAGE_READ &&
		       m->page_state[q + 1] != PAGE_BAD &&
		       (q + 1 <= last || q + 1 - last <= mem->readahead))
			q++;
		if (mem->read_cap && mem->stats.pages + (q - p + 1) > mem->read_cap) {
			mem->capped = true;
			return false;
		}
		if (!hold(mem, m, p, q - p + 1)) {
			memset(m->page_state + p, PAGE_BAD, q - p + 1);
			return false;
		}
		size_t len = (q - p + 1) * PAGE;
		ssize_t n = read_target(mem, m->start + p * PAGE, m->local + p * PAGE, len);
		if (n < 0)
			return false;
		size_t got = (size_t)n / PAGE;
		memset(m->page_state + p, PAGE_READ, got);
		mem->stats.pages += got;
		mem->stats.bytes += got * PAGE;
		if (got < q - p + 1) {
			m->page_state[p + got] = PAGE_BAD;
			if (p + got <= last)
				return false;
		}
		p = p + got + 1;
	}
	return true;
}

/* Make pages FIRST..LAST (indices in M) readable in the mirror. */
static bool ensure(struct pc_mem *mem, struct pc_mapping *m, size_t first, size_t last)
{
	if (m->page_state[first] != PAGE_READ || m->page_state[last] != PAGE_READ)
		return load_pages(mem, m, first, last);
	for (size_t p = first + 1; p < last; p++)
		if (m->page_state[p] != PAGE_READ && !load_pages(mem, m, p, last))
			return false;
	return true;
}

const void *pc_mem_ptr(struct pc_mem *mem, uint64_t addr, size_t len)
{
	if (len == 0 || addr + len < addr)
		return NULL;
	/* A walk while the target is stopped ends at --timeout: from then on
	 * everything reads as unreadable and the walk runs out quickly. */
	if (mem->deadline_us && (++mem->tick & 1023) == 0 && pc_now_us() > mem->deadline_us)
		mem->expired = true;
	if (mem->expired)
		return NULL;
	struct pc_mapping *m = find_map(mem, addr);
	if (!m || !m->readable || (!m->local && !mirror(mem, m)))
		return NULL;
	uint64_t end = addr + len;
	if (end <= m->end) {
		if (!ensure(mem, m, (addr - m->start) / PAGE, (end - 1 - m->start) / PAGE))
			return NULL;
		return m->local + (addr - m->start);
	}
	/* Straddling: every piece must be in the same mirror group. */
	for (struct pc_mapping *g = m; g->start < end; g++) {
		if (g > &mem->maps[m->group_last])
			return NULL;
		uint64_t a = addr > g->start ? addr : g->start, b = end < g->end ? end : g->end;
		if (!ensure(mem, g, (a - g->start) / PAGE, (b - 1 - g->start) / PAGE))
			return NULL;
		if (g == &mem->maps[mem->nmaps - 1])
			break;
	}
	return end <= mem->maps[m->group_last].end ? m->local + (addr - m->start) : NULL;
}

/* Batches of (local, remote) iovec pairs for one process_vm_readv. */
struct batch {
	struct iovec local[MAX_IOV], remote[MAX_IOV];
	struct pc_mapping *map[MAX_IOV];
	size_t first[MAX_IOV];
	int n;
	size_t queued;          /* bytes in the batch */
	uint64_t deadline_us;   /* 0: none */
	bool expired;           /* the deadline passed: read no more */
};

/* Bytes per process_vm_readv: large enough that the call overhead does not
 * matter, small enough (about 10 ms of copying) to honour --timeout. */
#define BATCH_BYTES (8u << 20)

static void mark_run(struct pc_mem *mem, struct pc_mapping *m, size_t first, size_t npages, uint8_t state)
{
	memset(m->page_state + first, state, npages);
	if (state == PAGE_READ) {
		mem->stats.pages += npages;
		mem->stats.bytes += npages * PAGE;
	}
}

/* Issue the batch; runs the kernel could not read in one go are read page
 * by page so one bad page does not spoil its neighbours. */
static void flush(struct pc_mem *mem, struct batch *b)
{
	if (!b->n)
		return;
	mem->stats.calls++;
	ssize_t got = -1;
	if (mem->use_vm_readv)
		got = process_vm_readv(mem->pid, b->local, (unsigned long)b->n, b->remote, (unsigned long)b->n, 0);
	if (got < 0 && errno == ESRCH) {
		mem->gone = true;
		b->n = 0;
		return;
	}
	size_t left = got > 0 ? (size_t)got : 0;
	for (int i = 0; i < b->n; i++) {
		size_t len = b->local[i].iov_len, npages = len / PAGE;
		if (left >= len) {
			mark_run(mem, b->map[i], b->first[i], npages, PAGE_READ);
			left -= len;
			continue;
		}
		size_t whole = left / PAGE;
		mark_run(mem, b->map[i], b->first[i], whole, PAGE_READ);
		left = 0;
		for (size_t p = whole; p < npages && !mem->gone; p++) {
			uint64_t addr = (uint64_t)(uintptr_t)b->remote[i].iov_base + p * PAGE;
			ssize_t n = read_target(mem, addr, (char *)b->local[i].iov_base + p * PAGE, PAGE);
			mark_run(mem, b->map[i], b->first[i] + p, 1, n == (ssize_t)PAGE ? PAGE_READ : PAGE_BAD);
		}
	}
	b->n = 0;
	b->queued = 0;
	if (b->deadline_us && pc_now_us() > b->deadline_us) {
		b->expired = true;
		mem->expired = true;
	}
}

static void add_run(struct pc_mem *mem, struct batch *b, struct pc_mapping *m, size_t first, size_t npages)
{
	/* Keep each iovec moderate so a failure costs little to redo. */
	while (npages && !b->expired) {
		size_t n = npages > 256 ? 256 : npages;
		if (b->n == MAX_IOV || b->queued >= BATCH_BYTES)
			flush(mem, b);
		if (b->expired)
			break;
		if (!hold(mem, m, first, n)) {
			first += n;
			npages -= n;
			continue;
		}
		b->local[b->n].iov_base = m->local + first * PAGE;
		b->local[b->n].iov_len = n * PAGE;
		b->remote[b->n].iov_base = (void *)(uintptr_t)(m->start + first * PAGE);
		b->remote[b->n].iov_len = n * PAGE;
		b->map[b->n] = m;
		b->first[b->n] = first;
		b->n++;
		b->queued += n * PAGE;
		first += n;
		npages -= n;
	}
}

static struct batch *batch_new(struct pc_mem *mem, uint64_t deadline_us)
{
	struct batch *b = malloc(sizeof(*b));
	if (!b)
		mem->nomem = true;
	if (b) {
		b->n = 0;
		b->queued = 0;
		b->deadline_us = deadline_us;
		b->expired = false;
	}
	return b;
}

/* Per page of M from BASE on (CHUNK pages): whether the target has it
 * (bit 63 present, bit 62 swapped out, from /proc/PID/pagemap).  Without
 * pagemap, every page counts as present.  File-backed pages count as
 * present whatever the bits say: their contents exist even when not
 * resident. */
static void resident(int pm, const struct pc_mapping *m, size_t base, size_t chunk, uint64_t *bits,
		     bool *have)
{
	*have = false;
	if (pm >= 0 && !m->path) {
		off_t off = (off_t)((m->start / PAGE + base) * 8);
		*have = pread(pm, bits, chunk * 8, off) == (ssize_t)(chunk * 8);
	}
}

static inline bool page_present(bool have_bits, const uint64_t *bits, size_t p)
{
	return !have_bits || (bits[p] >> 62) != 0;
}

static int open_pagemap(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

#define PM_CHUNK 4096

/* What is done to one chunk of a writable mapping: pages BASE .. BASE +
 * CHUNK - 1 of M, BITS / HAVE_BITS as resident() gives them.  Returns false
 * to stop the walk. */
typedef bool chunk_fn(struct pc_mem *mem, struct pc_mapping *m, size_t base, size_t chunk,
		      const uint64_t *bits, bool have_bits, void *arg);

/* Call FN on every chunk of every writable mapping, its mirror allocated:
 * the one walk behind faulting the mirror in before the stop and copying
 * into it during the stop, so both agree on which pages the target has.
 * Returns false if it could not start (out of memory). */
static bool each_writable_chunk(struct pc_mem *mem, chunk_fn *fn, void *arg)
{
	uint64_t *bits = malloc(PM_CHUNK * sizeof(uint64_t));
	if (!bits) {
		mem->nomem = true;
		return false;
	}
	/* Without pagemap every page counts as present. */
	int pm = open_pagemap(mem->pid);
	bool go = true;
	for (size_t i = 0; go && i < mem->nmaps; i++) {
		struct pc_mapping *m = &mem->maps[i];
		if (!m->readable || !m->writable || !mirror(mem, m))
			continue;
		size_t npages = (m->end - m->start) / PAGE;
		for (size_t base = 0; go && base < npages; base += PM_CHUNK) {
			size_t chunk = npages - base < PM_CHUNK ? npages - base : PM_CHUNK;
			bool have_bits;
			resident(pm, m, base, chunk, bits, &have_bits);
			go = fn(mem, m, base, chunk, bits, have_bits, arg);
		}
	}
	free(bits);
	if (pm >= 0)
		close(pm);
	return true;
}

struct copy {
	struct batch *b;
	bool complete;
};

static bool copy_chunk(struct pc_mem *mem, struct pc_mapping *m, size_t base, size_t chunk,
		       const uint64_t *bits, bool have_bits, void *arg)
{
	struct copy *cp = arg;
	struct batch *b = cp->b;
	if (mem->gone || b->expired || (b->deadline_us && pc_now_us() > b->deadline_us)) {
		mem->expired = !mem->gone;
		cp->complete = false;
		return false;
	}
	size_t run = 0, run_first = 0;
	for (size_t p = 0; p < chunk; p++) {
		size_t idx = base + p;
		bool unread = m->page_state[idx] != PAGE_READ && m->page_state[idx] != PAGE_BAD;
		bool want = unread && page_present(have_bits, bits, p);
		if (!want && unread) {
			/* Never touched: zeros, as the mirror is except
			 * where a kept page holds an older read. */
			if (m->page_state[idx] == PAGE_HINT)
				drop(m, idx, 1);
			m->page_state[idx] = PAGE_READ;
		}
		if (want) {
			if (!run)
				run_first = idx;
			run++;
			continue;
		}
		if (run)
			add_run(mem, b, m, run_first, run);
		run = 0;
	}
	if (run)
		add_run(mem, b, m, run_first, run);
	return true;
}

bool pc_mem_copy_writable(struct pc_mem *mem, uint64_t deadline_us)
{
	uint64_t refused = mem->stats.refused_pages;
	struct copy cp = { batch_new(mem, deadline_us), true };
	if (!cp.b || !each_writable_chunk(mem, copy_chunk, &cp)) {
		free(cp.b);
		return false;
	}
	if (!cp.b->expired)
		flush(mem, cp.b);
	bool complete = cp.complete && !cp.b->expired && mem->stats.refused_pages == refused;
	free(cp.b);
	mem->frozen = true;
	return complete && !mem->gone;
}

bool pc_mem_load_hinted(struct pc_mem *mem, uint64_t deadline_us)
{
	uint64_t refused = mem->stats.refused_pages;
	struct batch *b = batch_new(mem, deadline_us);
	if (!b)
		return false;
	for (size_t i = 0; i < mem->nmaps && !mem->gone && !b->expired; i++) {
		struct pc_mapping *m = &mem->maps[i];
		if (!m->page_state)
			continue;
		size_t npages = (m->end - m->start) / PAGE;
		for (size_t p = 0; p < npages && !b->expired;) {
			if (m->page_state[p] != PAGE_HINT) {
				p++;
				continue;
			}
			size_t q = p;
			while (q < npages && m->page_state[q] == PAGE_HINT)
				q++;
			add_run(mem, b, m, p, q - p);
			p = q;
		}
	}
	if (!b->expired)
		flush(mem, b);
	bool complete = !b->expired && !mem->gone && mem->stats.refused_pages == refused;
	free(b);
	return complete;
}

/* Fault in LEN bytes of our own memory at P: one madvise where the kernel
 * has MADV_POPULATE_WRITE (5.14), a write per page elsewhere. */
static void populate(unsigned char *p, size_t len)
{
	if (madvise(p, len, MADV_POPULATE_WRITE) == 0)
		return;
	for (size_t o = 0; o < len; o += PAGE)
		((volatile unsigned char *)p)[o] = 0;
}

static bool prefault_chunk(struct pc_mem *mem, struct pc_mapping *m, size_t base, size_t chunk,
			   const uint64_t *bits, bool have_bits, void *arg)
{
	(void)mem;
	(void)arg;
	for (size_t p = 0; p < chunk;) {
		if (!page_present(have_bits, bits, p)) {
			p++;
			continue;
		}
		size_t q = p;
		while (q < chunk && page_present(have_bits, bits, q))
			q++;
		/* Past the ceiling, copying will refuse these pages anyway. */
		if (!hold(mem, m, base + p, q - p))
			return false;
		populate(m->local + (base + p) * PAGE, (q - p) * PAGE);
		p = q;
	}
	return true;
}

void pc_mem_prefault(struct pc_mem *mem)
{
	each_writable_chunk(mem, prefault_chunk, NULL);
}

static bool count_chunk(struct pc_mem *mem, struct pc_mapping *m, size_t base, size_t chunk,
			const uint64_t *bits, bool have_bits, void *arg)
{
	(void)mem;
	(void)m;
	(void)base;
	uint64_t *n = arg;
	for (size_t p = 0; p < chunk; p++)
		*n += page_present(have_bits, bits, p);
	return true;
}

uint64_t pc_mem_resident_writable(struct pc_mem *mem)
{
	uint64_t n = 0;
	each_writable_chunk(mem, count_chunk, &n);
	return n;
}

bool pc_mem_fits(const struct pc_mem *mem, uint64_t addr, uint64_t len)
{
	uint64_t end;
	long i = pc_mem_index(mem, addr);
	if (i < 0 || __builtin_add_overflow(addr, len, &end))
		return false;
	const struct pc_mapping *m = &mem->maps[i];
	return m->readable && end <= mem->maps[m->group_last].end;
}
