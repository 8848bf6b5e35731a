/* The interpreters of a process and the objects on their GC lists. */
#ifndef PC_GCWALK_H
#define PC_GCWALK_H

#include "pyobj.h"

#define PC_MAX_INTERPS 256
#define PC_MAX_GENERATIONS 8

/* Called for each object; return false to stop the walk. */
typedef bool (*pc_obj_fn)(void *arg, uint64_t obj);

struct pc_gc_stats {
	int ngenerations;
	uint64_t generations[PC_MAX_GENERATIONS];  /* summed over interpreters */
	uint64_t permanent;
	bool collecting;        /* some interpreter is inside a collection */
	bool broken;            /* a list was corrupt: the walk stopped early */
	char problem[256];      /* what was broken, for the snapshot's warnings */
	/* live walks (the target running): links that did not point back,
	 * and lists that had to be finished from their tail end */
	uint64_t mismatched, gaps;
	bool oom;
	bool recounted;         /* set by the caller: gc scope counted by references */
};

/* Addresses of every PyInterpreterState, main first.  Returns the count, or
 * -1 if the runtime cannot be read. */
int pc_interpreters(struct pc_py *py, uint64_t runtime, uint64_t *out, int max);

/* Whether any interpreter is inside a GC collection right now. */
bool pc_gc_collecting(struct pc_py *py, uint64_t runtime);

/* <= 3.7's headers (gc_head_model PC_GC_HEAD_REFS): whether a list's
 * first or last object is marked by a collection (gc_refs not -3), which
 * is how pc_gc_collecting tells one without the static flag. */
bool pc_gc_marked(struct pc_py *py, uint64_t runtime);

/* Walk every generation list and the permanent generation of every
 * interpreter.  Every list walk is bounded by the number of GC objects the
 * target's writable memory could hold and checks prev links: a link that
 * does not point back ends the walk, unless LIVE (the target runs while it
 * is read, so links change under the walk): then it is counted and the
 * walk goes on, never visiting an object twice, and a list whose forward
 * walk does not come back to its head is finished backwards from it. */
void pc_gc_walk(struct pc_py *py, uint64_t runtime, pc_obj_fn fn, void *arg,
		struct pc_gc_stats *st, bool live);

#endif
