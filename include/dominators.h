/* Immediate dominators of a graph given as a spanning tree whose parents
 * are numbered before their children (a walk's discovery order: every
 * node's tree parent has a smaller number) plus the edges the tree does
 * not have, as predecessor lists.  The iteration is Cooper, Harvey and
 * Kennedy's ("A Simple, Fast Dominance Algorithm"): idom[v] is the nearest
 * common ancestor of v's predecessors in the current tree, until nothing
 * changes.  Dominance is a data-flow fixpoint, so any visiting order gives
 * the same tree; the discovery order keeps idom[v] < v at every step, so
 * the node numbers themselves guide the intersection and no DFS, postorder
 * or order array is needed.  Memory: IDOM only (4 bytes a node) beyond
 * the caller's arrays. */
#ifndef PC_DOMINATORS_H
#define PC_DOMINATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PC_DOM_NONE UINT32_MAX

/* N nodes, node 0 the entry.  Node v > 0's tree parent is
 * TPARENT[v - 1] + 1 (smaller than v), or the entry when TPARENT[v - 1]
 * is ENTRY or above (a walk's own numbering, shifted by the entry, and
 * its root marks: no array made for it); v's other predecessors are the
 * PFROM[e] with PTO[e] == v, NPRED pairs ordered by PTO (no offsets per
 * node: the nodes are visited in order). */
struct pc_domgraph {
	uint32_t n;
	const uint32_t *tparent;
	uint32_t entry;
	const uint32_t *pto, *pfrom;
	size_t npred;
};

/* Fill IDOM[v] (IDOM[0] = 0); then IDOM[v] < v for every v > 0, so a
 * pass over the nodes from the last to the first meets children before
 * their dominators. */
void pc_dominators(const struct pc_domgraph *g, uint32_t *idom);

#endif
