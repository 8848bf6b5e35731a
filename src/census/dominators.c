#include <stdlib.h>

#include "dominators.h"

/* Postorder numbers by an explicit-stack DFS from node 0 (the heap's
 * paths are millions deep: no recursion).  ORDER gets reverse postorder.
 * NEXT (the caller's idom array, not yet in use) holds each node's next
 * successor to visit, so the stack holds only nodes: 4 bytes a node. */
static bool dfs(const struct pc_domgraph *g, uint32_t *po, uint32_t *next, uint32_t *order, uint32_t *norder)
{
	uint32_t *st = malloc((size_t)g->n * sizeof(*st));
	if (!st)
		return false;
	for (uint32_t v = 0; v < g->n; v++)
		po[v] = PC_DOM_NONE;
	uint32_t sp = 0, count = 0;
	/* PC_DOM_NONE - 1 marks "on the stack, not yet numbered" */
	po[0] = PC_DOM_NONE - 1;
	next[0] = g->off[0];
	st[sp++] = 0;
	while (sp) {
		uint32_t v = st[sp - 1];
		if (next[v] < g->off[v + 1]) {
			uint32_t s = g->succ[next[v]++];
			if (po[s] == PC_DOM_NONE) {
				po[s] = PC_DOM_NONE - 1;
				next[s] = g->off[s];
				st[sp++] = s;
			}
			continue;
		}
		po[v] = count;
		order[count++] = v;
		sp--;
	}
	free(st);
	/* reverse: postorder -> reverse postorder */
	for (uint32_t i = 0; i < count / 2; i++) {
		uint32_t t = order[i];
		order[i] = order[count - 1 - i];
		order[count - 1 - i] = t;
	}
	*norder = count;
	return true;
}

static uint32_t intersect(const uint32_t *idom, const uint32_t *po, uint32_t a, uint32_t b)
{
	while (a != b) {
		while (po[a] < po[b])
			a = idom[a];
		while (po[b] < po[a])
			b = idom[b];
	}
	return a;
}

bool pc_dominators(const struct pc_domgraph *g, uint32_t *idom, uint32_t *order, uint32_t *norder)
{
	uint32_t n = g->n;
	uint32_t *po = malloc((size_t)n * sizeof(*po));
	uint32_t *poff = calloc((size_t)n + 1, sizeof(*poff));
	uint64_t m = g->off[n];
	uint32_t *pred = malloc((m ? m : 1) * sizeof(*pred));
	bool ok = po && poff && pred && dfs(g, po, idom, order, norder);
	if (ok) {
		/* predecessor lists: the successor lists transposed */
		for (uint64_t e = 0; e < m; e++)
			poff[g->succ[e] + 1]++;
		for (uint32_t v = 0; v < n; v++)
			poff[v + 1] += poff[v];
		uint32_t *at = malloc((size_t)n * sizeof(*at));
		if (!at) {
			ok = false;
		} else {
			for (uint32_t v = 0; v < n; v++)
				at[v] = poff[v];
			for (uint32_t v = 0; v < n; v++)
				for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++)
					pred[at[g->succ[e]]++] = v;
			free(at);
		}
	}
	if (ok) {
		for (uint32_t v = 0; v < n; v++)
			idom[v] = PC_DOM_NONE;
		idom[0] = 0;
		for (bool changed = true; changed;) {
			changed = false;
			for (uint32_t i = 1; i < *norder; i++) {
				uint32_t v = order[i], nd = PC_DOM_NONE;
				for (uint32_t e = poff[v]; e < poff[v + 1]; e++) {
					uint32_t p = pred[e];
					if (idom[p] == PC_DOM_NONE)
						continue;
					nd = nd == PC_DOM_NONE ? p : intersect(idom, po, p, nd);
				}
				if (nd != idom[v]) {
					idom[v] = nd;
					changed = true;
				}
			}
		}
	}
	free(po);
	free(poff);
	free(pred);
	return ok;
}
