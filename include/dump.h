/* `pycensus dump`: the graph a why walk builds, written as a Chrome
 * DevTools heap snapshot.  Node 0 is a synthetic root; its children are
 * synthetic groups (modules, each thread's frames, interpreter state,
 * objects no root reaches), whose edges lead to the root objects; then
 * one node per object with its labelled references as edges. */
#ifndef PC_DUMP_H
#define PC_DUMP_H

#include <stdbool.h>
#include <stdio.h>

#include "census.h"
#include "why.h"

struct pc_dump {
	FILE *out;
	const char *out_name;     /* for messages */
	enum pc_scope scope;      /* gc: only the objects on the GC lists */
	size_t with_values;       /* str/bytes contents up to this many characters; 0: none */
	/* what was written */
	uint64_t nodes, edges, bytes;
	uint64_t collisions;      /* ids moved off their address's hash */
	int write_errno;          /* writing OUT failed with it */
};

/* The why graph hook (pc_why_on_graph): ARG is the pc_dump. */
struct pc_error *pc_dump_graph(void *arg, struct pc_why *w, const struct pc_why_graph *g);

#endif
