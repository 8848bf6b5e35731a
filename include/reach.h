/* The reachable census: every object on the GC lists, everything they
 * refer to as gc.get_referents() would report it (phase 1), then what only
 * hidden references, running frames and the interned-string table reach
 * (phase 2, counted as "hidden").  Each object once. */
#ifndef PC_REACH_H
#define PC_REACH_H

#include <signal.h>

#include "census.h"
#include "referents.h"

struct pc_reach_roots {
	uint64_t runtime;      /* &_PyRuntime */
	uint64_t interned;     /* <= 3.11: address of the static `interned` */
};

/* What bounds a walk besides the memory it covers. */
struct pc_reach_limits {
	bool live;                  /* the target runs while it is read */
	uint64_t deadline_us;       /* CLOCK_MONOTONIC; 0: none */
	volatile sig_atomic_t *interrupted;  /* set by a signal */
	/* count only the objects the GC tracks (the gc scope), still
	 * following every reference: read live, references find what stale
	 * GC links lose */
	bool tracked_only;
};

struct pc_reach_stats {
	uint64_t skipped;      /* references to unmapped, misaligned or non-objects */
	uint64_t hidden_objects, hidden_bytes;
	uint64_t opaque_objects;
	uint64_t damaged;      /* objects counted whose contents were inconsistent */
	bool timed_out;        /* the deadline ended the walk */
};

/* Count every reachable object into the types of PY's type map. */
struct pc_error *pc_reach(struct pc_py *py, const struct pc_referents *R, const struct pc_reach_roots *roots,
			  struct pc_gc_stats *gc, struct pc_reach_stats *st, const struct pc_reach_limits *lim);

#endif
