#include <stdio.h>
#include <string.h>

#include "gcwalk.h"

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

/* Walk one circular list headed at HEAD.  Returns the objects visited; sets
 * st->broken if a link is unreadable or does not point back. */
static uint64_t walk_list(struct pc_py *py, uint64_t head, pc_obj_fn fn, void *arg,
			  struct pc_gc_stats *st, bool *stop)
{
	const struct pc_layout *L = py->L;
	uint64_t mask = L->gc_ptr_mask;
	uint64_t prev = head, cur, n = 0;
	/* No list can hold more objects than there are 16-byte slots in the
	 * address space we can read; 2^34 is a generous cap. */
	const uint64_t limit = 1ULL << 34;
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

void pc_gc_walk(struct pc_py *py, uint64_t runtime, pc_obj_fn fn, void *arg, struct pc_gc_stats *st)
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
	for (int i = 0; i < n && !stop; i++) {
		uint64_t gc = states[i];
		for (int g = 0; g < st->ngenerations && !stop; g++) {
			uint64_t head = gc + (uint64_t)(L->gc_generations + g * L->gc_generation_size);
			st->generations[g] += walk_list(py, head, fn, arg, st, &stop);
		}
		if (!stop)
			st->permanent += walk_list(py, gc + (uint64_t)L->gc_permanent, fn, arg, st, &stop);
	}
}
