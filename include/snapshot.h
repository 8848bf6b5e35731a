/* One census of one process: discovery and layout once per process (a
 * session, which shares what it learns from the interpreter's DWARF with
 * the sessions of other processes running the same build), then attach,
 * walk, detach and aggregate per census. */
#ifndef PC_SNAPSHOT_H
#define PC_SNAPSHOT_H

#include <signal.h>

#include "build_cache.h"
#include "census.h"
#include "discover.h"
#include "dwarf_offsets.h"
#include "layout.h"
#include "referents.h"

struct pc_session {
	pid_t pid;
	/* This process's view of its build: the build's module, files and
	 * DWARF (borrowed, the Dwfl is the build's), at this process's load
	 * bias; the addresses below are this process's. */
	struct pc_target target;
	struct pc_dwarf_index *dwarf;
	const struct pc_layout *layout;   /* the build's */
	uint64_t kind_type[PK_NKINDS];
	uint64_t set_dummy;
	uint64_t lookdict;      /* <= 3.10: dk_lookup of general dicts */
	uint64_t interned;      /* <= 3.11: &interned (static dict pointer) */
	uint64_t gc_symbol[PC_GC_SYMBOLS];  /* the statics layout->gc names */
	uint64_t kinds_lo, kinds_hi;  /* pc_py's: kinds found by name */
	struct pc_referents *referents;
	char version[32];
	struct pc_build *build;
	char *binary;           /* the interpreter's file here (target.module_path) */
	bool indexed;           /* this session learnt the build; others share it */
	uint64_t setup_us;      /* how long opening the session took */
};

/* How long a --no-stop census may read when --timeout is not given. */
#define PC_LIVE_LIMIT_MS 30000u

struct pc_snapshot_opts {
	enum pc_scope scope;
	bool no_stop;
	unsigned timeout_ms;        /* longest the target may stay stopped (with
				     * no_stop: the census may read); 0: no limit */
	uint64_t max_memory;        /* --max-memory; 0: the default (memlimit.h) */
	volatile sig_atomic_t *interrupted;  /* set by a signal: abandon the census */
	/* Called on the stopped copy after a counted census (not --no-stop),
	 * with the census's type map: `why` walks the copy once more. */
	struct pc_error *(*on_copy)(void *arg, struct pc_session *s, struct pc_py *py);
	void *on_copy_arg;
};

struct pc_error *pc_session_open(pid_t pid, struct pc_session **out);
void pc_session_close(struct pc_session *s);

/* A session on an interpreter's debug file alone (no process), for
 * memory images: BIAS is where the module was loaded in the imaged process. */
struct pc_error *pc_session_open_offline(const char *debugfile, uint64_t bias, int major, int minor,
					 struct pc_session **out);

/* Census of MEM (a memory image), nothing stopped or timed. */
struct pc_error *pc_census_image(struct pc_session *s, struct pc_mem *mem, enum pc_scope scope,
				 struct pc_census *c);
/* The same with OPTS's scope and on_copy hook (the fuzzer's why walk). */
struct pc_error *pc_census_image_opts(struct pc_session *s, struct pc_mem *mem, const struct pc_snapshot_opts *opts,
				      struct pc_census *c);

struct pc_error *pc_snapshot(struct pc_session *s, const struct pc_snapshot_opts *opts,
			     struct pc_census *out);

/* What `pycensus info` reports, filled after a short stop. */
struct pc_info {
	int threads;
	int ninterps;
	uint64_t interps[16];
	char version[32];
};
struct pc_error *pc_session_info(struct pc_session *s, struct pc_info *info);

#endif
