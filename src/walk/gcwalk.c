#include <stdio.h>
#include <string.h>

#include "gcwalk.h"
#include "visited.h"

int pc_interpreters(struct pc_py *py, uint64_t runtime, uint64_t *out, int max)
{
	const struct pc_layout *L = py->L;
	uint64_t interp;
	if (!pc_u64(py, runtime + (uint64_t)L->rt_interp_head, &interp))
		return -1;
	int n = 0;
	while (interp && n < max) {
		/* A cycle in the list would repeat an address. */
		for (int i = 0; i < n; i++)
			if (out[i] == interp)
				return n;
		out[n++] = interp;
		if (!pc_u64(py, interp + (uint64_t)L->is_next, &interp))
			break;
	}
	/* The list is newest first; the main interpreter is the last. */
	for (int i = 0; i < n / 2; i++) {
		uint64_t t = out[i];
		out[i] = out[n - 1 - i];
		out[n - 1 - i] = t;
	}
	return n;
}

/* The addresses of anchor AT in this process: one per interpreter for a
 * per-interpreter GC state, else one.  Returns their count, 0 if none. */
static int anchor_addrs(struct pc_py *py, uint64_t runtime, const struct pc_gc_anchor *at, uint64_t *out, int max)
{
	int n = 1;
	switch (at->base) {
	case PC_GC_RUNTIME:
		out[0] = runtime;
		break;
	case PC_GC_INTERP:
		n = pc_interpreters(py, runtime, out, max);
		break;
	case PC_GC_STATIC:
		out[0] = at->symbol >= 0 && at->symbol < PC_GC_SYMBOLS ? py->gc_symbol[at->symbol] : 0;
		break;
	}
	if (n <= 0 || !out[0])
		return 0;
	for (int i = 0; i < n; i++)
		out[i] += (uint64_t)at->off;
	return n;
}

/* Whether the object whose header is at G (a list's end) is marked by a
 * collection: <= 3.7 tracks every object outside one as reachable (-3). */
static bool marked(struct pc_py *py, uint64_t g)
{
	const struct pc_layout *L = py->L;
	int64_t refs;
	return pc_mem_read(py->mem, g + (uint64_t)L->gc_refs, &refs, 8) && refs >> L->gc_refs_shift != -3;
}

/* No collecting flag: a collection marks the generation it takes from
 * its first object on (update_refs), and while moving the unreachable
 * out the list's end holds objects not yet visited or moved back;
 * anything it leaves elsewhere, the walk's own gc_refs check finds. */
bool pc_gc_marked(struct pc_py *py, uint64_t runtime)
{
	const struct pc_gc_lists *G = &py->L->gc;
	for (int i = 0; i < G->n; i++) {
		uint64_t heads[PC_MAX_INTERPS];
		int n = anchor_addrs(py, runtime, &G->list[i].at, heads, PC_MAX_INTERPS);
		for (int k = 0; k < n; k++) {
			uint64_t first, last;
			if (!pc_u64(py, heads[k] + (uint64_t)py->L->gc_next, &first) ||
			    !pc_u64(py, heads[k] + (uint64_t)py->L->gc_prev, &last))
				continue;
			if ((first != heads[k] && marked(py, first)) || (last != heads[k] && marked(py, last)))
				return true;
		}
	}
	return false;
}

bool pc_gc_collecting(struct pc_py *py, uint64_t runtime)
{
	uint64_t flags[PC_MAX_INTERPS];
	int n = anchor_addrs(py, runtime, &py->L->gc.collecting, flags, PC_MAX_INTERPS);
	if (!n && py->L->gc.collecting_by_refs)
		return pc_gc_marked(py, runtime);
	for (int i = 0; i < n; i++) {
		int32_t c = 0;
		if (pc_mem_read(py->mem, flags[i], &c, 4) && c)
			return true;
	}
	return false;
}

/* The most GC objects the target's writable memory could hold: no list
 * is longer.  The smallest GC object is its header and an object header. */
static uint64_t max_objects(const struct pc_py *py)
{
	return pc_mem_writable_bytes(py->mem) / (uint64_t)(py->L->gc_head_size + 16) + 1;
}

/* The live walk of one list headed at HEAD: forward over next links while
 * they lead to objects not yet seen, then, if that did not come back to
 * HEAD, backwards over prev links from HEAD until an object already seen.
 * What lies between is missed (st->gaps counts such lists). */
static uint64_t walk_live(struct pc_py *py, uint64_t head, pc_obj_fn fn, void *arg, struct pc_gc_stats *st,
			  bool *stop, struct pc_visited *seen, uint64_t limit)
{
	const struct pc_layout *L = py->L;
	uint64_t n = 0;
	for (int dir = 0; dir < 2 && !*stop; dir++) {
		/* dir 0 follows gc_next and checks gc_prev; dir 1 the reverse */
		int64_t fwd = dir ? L->gc_prev : L->gc_next, back = dir ? L->gc_next : L->gc_prev;
		uint64_t fmask = dir ? L->gc_prev_mask : L->gc_next_mask, bmask = dir ? L->gc_next_mask : L->gc_prev_mask;
		uint64_t prev = head, cur;
		if (!pc_u64(py, head + (uint64_t)fwd, &cur))
			return n;
		cur &= fmask;
		while (cur != head) {
			const unsigned char *g = (cur & 7) ? NULL : pc_mem_ptr(py->mem, cur, (size_t)L->gc_head_size);
			if (!g || n >= limit || pc_visited_mark(seen, cur) <= 0)
				break;
			uint64_t next, b;
			memcpy(&next, g + fwd, 8);
			memcpy(&b, g + back, 8);
			if ((b & bmask) != prev)
				st->mismatched++;
			n++;
			if (!fn(arg, cur + (uint64_t)L->gc_head_size)) {
				*stop = true;
				break;
			}
			prev = cur;
			cur = next & fmask;
		}
		if (cur == head)
			break;
		if (dir == 0)
			st->gaps++;
	}
	if (pc_visited_oom(seen))
		st->oom = true;
	return n;
}

/* Walk one circular list headed at HEAD.  Returns the objects visited; sets
 * st->broken if a link is unreadable or does not point back. */
static uint64_t walk_list(struct pc_py *py, uint64_t head, pc_obj_fn fn, void *arg,
			  struct pc_gc_stats *st, bool *stop, uint64_t limit)
{
	const struct pc_layout *L = py->L;
	uint64_t prev = head, cur, n = 0;
	if (!pc_u64(py, head + (uint64_t)L->gc_next, &cur)) {
		st->broken = true;
		snprintf(st->problem, sizeof(st->problem), "GC list head at 0x%llx is unreadable",
			 (unsigned long long)head);
		return 0;
	}
	cur &= L->gc_next_mask;
	while (cur != head) {
		const unsigned char *g = (cur & 7) ? NULL : pc_mem_ptr(py->mem, cur, (size_t)L->gc_head_size);
		uint64_t next, back;
		if (!g) {
			st->broken = true;
			snprintf(st->problem, sizeof(st->problem),
				 "GC list at 0x%llx: link to unreadable address 0x%llx after %llu objects",
				 (unsigned long long)head, (unsigned long long)cur, (unsigned long long)n);
			break;
		}
		memcpy(&next, g + L->gc_next, 8);
		memcpy(&back, g + L->gc_prev, 8);
		if ((back & L->gc_prev_mask) != prev) {
			st->broken = true;
			snprintf(st->problem, sizeof(st->problem),
				 "GC list at 0x%llx: object 0x%llx does not link back to 0x%llx after %llu objects",
				 (unsigned long long)head, (unsigned long long)cur, (unsigned long long)prev,
				 (unsigned long long)n);
			break;
		}
		/* <= 3.7: outside a collection every object on a list is
		 * tracked as reachable (-3); anything else is not a GC header. */
		int64_t refs;
		if (L->gc_head_model == PC_GC_HEAD_REFS && (memcpy(&refs, g + L->gc_refs, 8), refs >> L->gc_refs_shift) != -3) {
			st->broken = true;
			snprintf(st->problem, sizeof(st->problem),
				 "GC list at 0x%llx: object 0x%llx has gc_refs %lld, not a tracked object's, after %llu objects",
				 (unsigned long long)head, (unsigned long long)cur, (long long)refs, (unsigned long long)n);
			break;
		}
		if (++n > limit) {
			st->broken = true;
			snprintf(st->problem, sizeof(st->problem), "GC list at 0x%llx does not end",
				 (unsigned long long)head);
			break;
		}
		if (!fn(arg, cur + (uint64_t)L->gc_head_size)) {
			*stop = true;
			break;
		}
		prev = cur;
		cur = next & L->gc_next_mask;
	}
	return n;
}

void pc_gc_walk(struct pc_py *py, uint64_t runtime, pc_obj_fn fn, void *arg, struct pc_gc_stats *st, bool live)
{
	const struct pc_gc_lists *G = &py->L->gc;
	memset(st, 0, sizeof(*st));
	st->ngenerations = G->ngenerations < PC_MAX_GENERATIONS ? G->ngenerations : PC_MAX_GENERATIONS;
	bool stop = false;
	uint64_t limit = max_objects(py);
	struct pc_visited *seen = live ? pc_visited_create(py->mem) : NULL;
	if (live && !seen) {
		st->oom = true;
		return;
	}
	/* Generations count in the order the layout lists them; the
	 * permanent generation apart. */
	for (int i = 0, gen = 0; i < G->n && !stop; i++) {
		const struct pc_gc_list *l = &G->list[i];
		uint64_t heads[PC_MAX_INTERPS];
		int n = anchor_addrs(py, runtime, &l->at, heads, PC_MAX_INTERPS);
		if (n <= 0) {
			st->broken = true;
			snprintf(st->problem, sizeof(st->problem), "cannot find the GC list %s (runtime at 0x%llx)",
				 l->name, (unsigned long long)runtime);
			break;
		}
		for (int k = 0; k < n && !stop; k++) {
			uint64_t c = live ? walk_live(py, heads[k], fn, arg, st, &stop, seen, limit)
					  : walk_list(py, heads[k], fn, arg, st, &stop, limit);
			if (l->permanent)
				st->permanent += c;
			else if (gen < PC_MAX_GENERATIONS)
				st->generations[gen] += c;
		}
		if (!l->permanent)
			gen++;
	}
	pc_visited_destroy(seen);
}
