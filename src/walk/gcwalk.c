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

/* GC states to walk: one in the runtime (3.8) or one per interpreter. */
static int gc_states(struct pc_py *py, uint64_t runtime, uint64_t *out, int max)
{
	const struct pc_layout *L = py->L;
	if (L->gc_in_runtime) {
		out[0] = runtime + (uint64_t)L->gc_state;
		return 1;
	}
	int n = pc_interpreters(py, runtime, out, max);
	for (int i = 0; i < n; i++)
		out[i] += (uint64_t)L->gc_state;
	return n < 0 ? 0 : n;
}

bool pc_gc_collecting(struct pc_py *py, uint64_t runtime)
{
	const struct pc_layout *L = py->L;
	uint64_t states[PC_MAX_INTERPS];
	int n = gc_states(py, runtime, states, PC_MAX_INTERPS);
	for (int i = 0; i < n; i++) {
		int32_t c = 0;
		if (pc_mem_read(py->mem, states[i] + (uint64_t)L->gc_collecting, &c, 4) && c)
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
	uint64_t mask = L->gc_ptr_mask, n = 0;
	for (int dir = 0; dir < 2 && !*stop; dir++) {
		/* dir 0 follows gc_next and checks gc_prev; dir 1 the reverse */
		int64_t fwd = dir ? L->gc_prev : L->gc_next, back = dir ? L->gc_next : L->gc_prev;
		uint64_t prev = head, cur;
		if (!pc_u64(py, head + (uint64_t)fwd, &cur))
			return n;
		cur &= mask;
		while (cur != head) {
			const unsigned char *g = (cur & 7) ? NULL : pc_mem_ptr(py->mem, cur, (size_t)L->gc_head_size);
			if (!g || n >= limit || pc_visited_mark(seen, cur) <= 0)
				break;
			uint64_t next, b;
			memcpy(&next, g + fwd, 8);
			memcpy(&b, g + back, 8);
			if ((b & mask) != prev)
				st->mismatched++;
			n++;
			if (!fn(arg, cur + (uint64_t)L->gc_head_size)) {
				*stop = true;
				break;
			}
			prev = cur;
			cur = next & mask;
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
	uint64_t mask = L->gc_ptr_mask;
	uint64_t prev = head, cur, n = 0;
	if (!pc_u64(py, head + (uint64_t)L->gc_next, &cur)) {
		st->broken = true;
		snprintf(st->problem, sizeof(st->problem), "GC list head at 0x%llx is unreadable",
			 (unsigned long long)head);
		return 0;
	}
	cur &= mask;
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
		if ((back & mask) != prev) {
			st->broken = true;
			snprintf(st->problem, sizeof(st->problem),
				 "GC list at 0x%llx: object 0x%llx does not link back to 0x%llx after %llu objects",
				 (unsigned long long)head, (unsigned long long)cur, (unsigned long long)prev,
				 (unsigned long long)n);
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
		cur = next & mask;
	}
	return n;
}

void pc_gc_walk(struct pc_py *py, uint64_t runtime, pc_obj_fn fn, void *arg, struct pc_gc_stats *st, bool live)
{
	const struct pc_layout *L = py->L;
	memset(st, 0, sizeof(*st));
	st->ngenerations = (int)L->gc_ngenerations;
	if (st->ngenerations > PC_MAX_GENERATIONS)
		st->ngenerations = PC_MAX_GENERATIONS;
	uint64_t states[PC_MAX_INTERPS];
	int n = gc_states(py, runtime, states, PC_MAX_INTERPS);
	if (n <= 0) {
		st->broken = true;
		snprintf(st->problem, sizeof(st->problem), "no interpreter found in _PyRuntime at 0x%llx",
			 (unsigned long long)runtime);
		return;
	}
	bool stop = false;
	uint64_t limit = max_objects(py);
	struct pc_visited *seen = live ? pc_visited_create(py->mem) : NULL;
	if (live && !seen) {
		st->oom = true;
		return;
	}
	for (int i = 0; i < n && !stop; i++) {
		uint64_t gc = states[i];
		for (int g = 0; g <= st->ngenerations && !stop; g++) {
			/* the generations, then the permanent generation */
			uint64_t head = gc + (uint64_t)(g < st->ngenerations ? L->gc_generations + g * L->gc_generation_size
									  : L->gc_permanent);
			uint64_t k = live ? walk_live(py, head, fn, arg, st, &stop, seen, limit)
					  : walk_list(py, head, fn, arg, st, &stop, limit);
			if (g < st->ngenerations)
				st->generations[g] += k;
			else
				st->permanent += k;
		}
	}
	pc_visited_destroy(seen);
}
