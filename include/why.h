/* `pycensus why`: who holds the instances of some types.  On the copy a
 * census leaves, a breadth-first walk from the interpreter's roots
 * (modules by name, sys, builtins, each thread's frames) keeps one parent
 * link per object: the shortest path to each instance.  Paths are grouped
 * by shape (root, hop labels, types).  Objects on the GC lists no root
 * reaches start a second walk, labelled unrooted. */
#ifndef PC_WHY_H
#define PC_WHY_H

#include <stdio.h>

#include "snapshot.h"

enum pc_why_format { PC_WHY_JSON, PC_WHY_TABLE, PC_WHY_DOT };

struct pc_why;

/* A query for the type names in NAMES (borrowed, NNAMES of them). */
/* TOP: how many dominating objects to report (0: no dominators). */
struct pc_why *pc_why_create(char **names, int nnames, size_t max_shapes, size_t top);
void pc_why_destroy(struct pc_why *w);

/* The snapshot hook (pc_snapshot_opts.on_copy): ARG is the pc_why. */
struct pc_error *pc_why_on_copy(void *arg, struct pc_session *s, struct pc_py *py);

int pc_why_print(FILE *f, const struct pc_why *w, const struct pc_census *c, enum pc_why_format format);

#endif
