#include "dominators.h"

/* The nearest common ancestor of A and B in the current tree: the
 * larger number walks up (a parent's number is smaller than its child's). */
static uint32_t intersect(const uint32_t *idom, uint32_t a, uint32_t b)
{
	while (a != b) {
		while (a > b)
			a = idom[a];
		while (b > a)
			b = idom[b];
	}
	return a;
}

void pc_dominators(const struct pc_domgraph *g, uint32_t *idom)
{
	uint32_t n = g->n;
	if (!n)
		return;
	idom[0] = 0;
	for (uint32_t v = 1; v < n; v++)
		idom[v] = PC_DOM_NONE;
	/* The tree parent is always defined before v (it is numbered
	 * before), so every guess is at or above it: idom[v] < v. */
	for (bool changed = true; changed;) {
		changed = false;
		size_t e = 0;
		for (uint32_t v = 1; v < n; v++) {
			uint32_t t = g->tparent[v - 1];
			uint32_t nd = t >= g->entry ? 0 : t + 1;
			while (e < g->npred && g->pto[e] < v)
				e++;
			for (; e < g->npred && g->pto[e] == v; e++) {
				uint32_t p = g->pfrom[e];
				if (idom[p] != PC_DOM_NONE)
					nd = intersect(idom, p, nd);
			}
			if (nd != idom[v]) {
				idom[v] = nd;
				changed = true;
			}
		}
	}
}
