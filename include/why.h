/* `pycensus why`: who holds the instances of some types.  On the copy a
 * census leaves, a breadth-first walk from the interpreter's roots
 * (modules by name, sys, builtins, each thread's frames and state, static
 * types' dicts) keeps one parent link per object: the shortest path to
 * each instance.  Paths are grouped by shape (root, hop labels, types).
 * Objects on the GC lists no root reaches start a second walk, labelled
 * unrooted.  The result (struct pc_why_report) is printed by
 * report/why_output.c. */
#ifndef PC_WHY_H
#define PC_WHY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "snapshot.h"

enum pc_why_format { PC_WHY_JSON, PC_WHY_TABLE, PC_WHY_DOT };

/* One hop of a path: the label into the object, its type, its address. */
struct pc_why_hop {
	char *label, *type;
	uint64_t addr;
};

struct pc_why_path {
	char *chain;         /* the table's one-line form */
	char *root;          /* "module x", "thread T frame N ...", "unrooted" */
	struct pc_why_hop *hops;
	size_t nhops;
};

/* Instances reached along one shape of path. */
struct pc_why_shape {
	char *key;           /* the chain, item indices and str keys as '*': the grouping */
	struct pc_why_path path;  /* the first sample's; chain is the key once samples differ */
	uint64_t count, sample;
	bool unrooted;
};

struct pc_why_retains {
	char *type;
	uint64_t count, bytes;
};

/* An object dominating much: what freeing it alone frees. */
struct pc_why_suspect {
	uint64_t addr;
	char *type;
	struct pc_why_path path;
	uint64_t bytes, objects;
	struct pc_why_retains by[5];
	int nby;
};

struct pc_why_type {
	const char *name;    /* borrowed from the query */
	uint64_t count, bytes, unrooted;
	uint64_t freed_bytes, freed_objects;  /* freeing all its instances frees */
	struct pc_why_shape *shapes;          /* most instances first */
	size_t nshapes;
};

struct pc_why_report {
	struct pc_why_type *types;
	int ntypes;
	size_t max_shapes;   /* print at most this many shapes a type (0: all) */
	uint64_t objects, rooted;
	bool dominated;      /* the dominator tree was built (--top > 0) */
	uint64_t reachable_bytes;
	struct pc_why_suspect *suspects;
	size_t nsuspects;
};

struct pc_why;

/* A query for the type names in NAMES (borrowed, NNAMES of them). */
/* TOP: how many dominating objects to report (0: no dominators). */
struct pc_why *pc_why_create(char **names, int nnames, size_t max_shapes, size_t top);
void pc_why_destroy(struct pc_why *w);

/* The snapshot hook (pc_snapshot_opts.on_copy): ARG is the pc_why. */
struct pc_error *pc_why_on_copy(void *arg, struct pc_session *s, struct pc_py *py);

/* The graph a why walk builds, lent to `dump` before it is freed (valid
 * only inside the callback, while the copy lives).  Nodes are objects in
 * walk order: the roots' objects, breadth first from them, then objects
 * on the GC lists no root reaches. */
#define PC_WHY_ROOT 0x80000000u
struct pc_why_graph {
	struct pc_py *py;
	const struct pc_referents *R;
	size_t n;            /* node I's address: pc_why_addr(w, I) */
	/* a node index, or PC_WHY_ROOT + the index in ROOTS of the root
	 * label that reached the node first ("module NAME", "sys.__dict__",
	 * "builtins", "sys.modules", "thread T frame D FUNC ...",
	 * "interned strings", "unrooted") */
	const uint32_t *parent;
	/* node I's references in order: EDGES[EOFF[I]..EOFF[I+1]), those its
	 * type's rule reports, then those a scan of an opaque object guesses */
	const uint32_t *eoff, *edges;
	size_t nedges;
	char *const *roots;
	size_t nroots;
	const uint64_t *gc;   /* the objects on the GC lists, sorted */
	size_t ngc;
};
typedef struct pc_error *(*pc_why_graph_fn)(void *arg, struct pc_why *w, const struct pc_why_graph *g);
void pc_why_on_graph(struct pc_why *w, pc_why_graph_fn fn, void *arg);

/* Whether ADDR is in the sorted array V of N addresses (the GC lists' objects). */
bool pc_why_sorted_has(const uint64_t *v, size_t n, uint64_t a);

/* The node of the object at ADDR, UINT32_MAX if none (inside FN). */
/* (and node I's address) */
uint64_t pc_why_addr(const struct pc_why *w, uint32_t i);
uint32_t pc_why_node(const struct pc_why *w, uint64_t addr);

/* A reference's label as why prints it (".attr", "[3]", "['key']",
 * "(key)", "{…}", ".__dict__" ...); malloc'd, NULL if out of memory. */
char *pc_why_label(struct pc_why *w, const struct pc_edge_label *l);

/* What the walk found (valid until pc_why_destroy). */
const struct pc_why_report *pc_why_result(const struct pc_why *w);

/* report/why_output.c: the report as JSON, table or Graphviz. */
struct json_object;
#define PC_WATCH_WHY_SHAPES 3
/* The shapes of one type as JSON (at most MAX; 0: all): watch --why's too. */
struct json_object *pc_why_shapes_json(const struct pc_why_type *wt, size_t max);
int pc_why_print(FILE *f, const struct pc_why_report *r, const struct pc_census *c, enum pc_why_format format);

#endif
