/* Immediate dominators of a directed graph (Cooper, Harvey and Kennedy,
 * "A Simple, Fast Dominance Algorithm"): iterate idom over the nodes in
 * reverse postorder until nothing changes, intersecting along the
 * dominator tree.  Compact arrays only: 4 bytes per edge for the
 * predecessor lists, 20 bytes per node (postorder number, predecessor
 * offsets, order, idom, the DFS stack of nodes). */
#ifndef PC_DOMINATORS_H
#define PC_DOMINATORS_H

#include <stdbool.h>
#include <stdint.h>

#define PC_DOM_NONE UINT32_MAX

/* N nodes, node 0 the entry; successors of V are SUCC[OFF[V]..OFF[V+1]). */
struct pc_domgraph {
	uint32_t n;
	const uint32_t *off;
	const uint32_t *succ;
};

/* Fill IDOM[v] (IDOM[0] = 0; PC_DOM_NONE for nodes the entry does not
 * reach) and ORDER with the reached nodes in reverse postorder (a node's
 * dominator comes before it); *NORDER their count.  False when out of
 * memory. */
bool pc_dominators(const struct pc_domgraph *g, uint32_t *idom, uint32_t *order, uint32_t *norder);

#endif
