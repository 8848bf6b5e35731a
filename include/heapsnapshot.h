/* A Chrome DevTools heap snapshot (.heapsnapshot) written as a stream:
 * the header with the counts, every node, every edge, then the string
 * table, in the key order V8 writes (DevTools parses the file as a
 * stream and needs it).  Memory held: the string table only, each
 * distinct string once. */
#ifndef PC_HEAPSNAPSHOT_H
#define PC_HEAPSNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* V8's node and edge types (their order is the format's). */
enum pc_hs_node_type {
	HS_HIDDEN, HS_ARRAY, HS_STRING, HS_OBJECT, HS_CODE, HS_CLOSURE, HS_REGEXP,
	HS_NUMBER, HS_NATIVE, HS_SYNTHETIC, HS_CONCAT_STRING, HS_SLICED_STRING,
	HS_SYMBOL, HS_BIGINT, HS_OBJECT_SHAPE,
};
enum pc_hs_edge_type {
	HS_CONTEXT, HS_ELEMENT, HS_PROPERTY, HS_INTERNAL, HS_HIDDEN_EDGE, HS_SHORTCUT, HS_WEAK,
};

/* Fields per node in the nodes array: to_node is a node's index times it. */
#define PC_HS_NODE_FIELDS 7u

struct pc_hs;

/* Start a snapshot of NODES nodes and EDGES edges on F (not closed). */
struct pc_hs *pc_hs_begin(FILE *f, uint32_t nodes, uint32_t edges);

/* The next node; its EDGE_COUNT edges come in the same order later.
 * SELF_SIZE is clamped to uint32. */
void pc_hs_node(struct pc_hs *h, enum pc_hs_node_type type, const char *name, uint32_t id,
		uint64_t self_size, uint32_t edge_count);

/* The next edge, of the nodes in order: element and hidden edges are
 * named by INDEX, the others by NAME.  TO is the target's node number. */
void pc_hs_edge(struct pc_hs *h, enum pc_hs_edge_type type, const char *name, uint32_t index, uint32_t to);

/* The string table and the end; frees H.  False if a write failed, the
 * counts did not match what was announced or memory ran out (errno set
 * for a write). */
bool pc_hs_end(struct pc_hs *h);

#endif
