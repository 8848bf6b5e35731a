#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memlimit.h"
#include "reach.h"
#include "sizeof.h"
#include "types.h"

struct stack {
	uint64_t *v;
	size_t n, cap;
	bool oom;
};

static void push(struct stack *s, uint64_t x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		if (!pc_memlimit_charge((cap - s->cap) * sizeof(*s->v))) {
			s->oom = true;
			return;
		}
		uint64_t *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			pc_memlimit_release((cap - s->cap) * sizeof(*s->v));
			s->oom = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
}

/* The visited set: one bit per 8-byte word of each mapping, allocated on
 * first use.  It stays small (1/64 of the memory it covers) and needs no
 * hashing, which matters at tens of millions of objects. */
struct walk {
	struct pc_py *py;
	const struct pc_referents *R;
	uint64_t **bits;
	size_t nbits;
	struct stack todo, hidden;
	bool phase2;
	struct pc_reach_stats *st;
	volatile sig_atomic_t *interrupted;
	bool oom;
	FILE *dump;   /* PYCENSUS_DEBUG_DUMP: every object counted, for tests */
};

/* Returns 1 if newly marked, 0 if seen before, -1 if not in any mapping. */
static int mark(struct walk *w, uint64_t addr)
{
	long i = pc_mem_index(w->py->mem, addr);
	if (i < 0)
		return -1;
	const struct pc_mapping *m = &w->py->mem->maps[i];
	if (!m->readable)
		return -1;
	if (!w->bits[i]) {
		size_t words = (size_t)((m->end - m->start) / 8 + 63) / 64;
		if (!pc_memlimit_charge(words * 8)) {
			w->oom = true;
			return 0;
		}
		w->bits[i] = calloc(words, 8);
		if (!w->bits[i]) {
			pc_memlimit_release(words * 8);
			w->oom = true;
			return 0;
		}
	}
	uint64_t bit = (addr - m->start) / 8;
	uint64_t *word = &w->bits[i][bit / 64];
	uint64_t mask = 1ULL << (bit % 64);
	if (*word & mask)
		return 0;
	*word |= mask;
	return 1;
}

static void on_ref(void *arg, uint64_t ref, bool hidden)
{
	struct walk *w = arg;
	if (ref & 7) {
		w->st->skipped++;
		return;
	}
	if (hidden && !w->phase2) {
		/* Decide later: phase 1 may still reach it by a real referent. */
		push(&w->hidden, ref);
		return;
	}
	int r = mark(w, ref);
	if (r < 0)
		w->st->skipped++;
	else if (r > 0)
		push(&w->todo, ref);
}

static void process(struct walk *w, uint64_t obj)
{
	struct pc_py *py = w->py;
	struct pc_type *t = pc_type_of(py, obj);
	if (!t) {
		w->st->skipped++;
		return;
	}
	uint64_t size;
	bool sized = pc_sizeof(py, obj, t, &size);
	if (w->dump)
		fprintf(w->dump, "%llx %d %llu %s\n", (unsigned long long)obj, w->phase2,
			(unsigned long long)size, t->name);
	t->count++;
	pc_bytes_add(&t->bytes, size);
	if (w->phase2) {
		t->hidden_count++;
		pc_bytes_add(&t->hidden_bytes, size);
		w->st->hidden_objects++;
		pc_bytes_add(&w->st->hidden_bytes, size);
	}
	int r = pc_referents(py, w->R, obj, t, on_ref, w);
	if (r & PC_REF_OPAQUE) {
		t->opaque = true;
		w->st->opaque_objects++;
	}
	if ((r & PC_REF_DAMAGED) || !sized)
		w->st->damaged++;
}

static bool drain(struct walk *w)
{
	while (w->todo.n) {
		if (w->interrupted && *w->interrupted)
			return false;
		process(w, w->todo.v[--w->todo.n]);
	}
	return !w->todo.oom && !w->hidden.oom && !w->oom;
}

static bool gc_root(void *arg, uint64_t obj)
{
	struct walk *w = arg;
	if (mark(w, obj) > 0)
		push(&w->todo, obj);
	return drain(w);
}

/* The frames each thread is running (3.11+: not objects until asked). */
static void thread_frames(struct walk *w, uint64_t interp)
{
	struct pc_py *py = w->py;
	const struct pc_layout *L = py->L;
	uint64_t ts;
	if (!pc_u64(py, interp + (uint64_t)L->is_threads_head, &ts))
		return;
	for (int nt = 0; ts && nt < 100000; nt++) {
		uint64_t frame = 0;
		if (L->ts_frame >= 0) {
			pc_u64(py, ts + (uint64_t)L->ts_frame, &frame);
			on_ref(w, frame, true);  /* a GC object: already counted */
		} else {
			if (L->ts_current_frame >= 0) {
				pc_u64(py, ts + (uint64_t)L->ts_current_frame, &frame);
			} else if (L->ts_cframe >= 0 && L->cframe_current_frame >= 0) {
				uint64_t cf;
				if (pc_u64(py, ts + (uint64_t)L->ts_cframe, &cf) && cf)
					pc_u64(py, cf + (uint64_t)L->cframe_current_frame, &frame);
			}
			for (int nf = 0; frame && nf < 1000000; nf++) {
				pc_referents_iframe(py, w->R, frame, on_ref, w, nf == 0);
				if (!pc_u64(py, frame + (uint64_t)L->iframe_previous, &frame))
					break;
			}
		}
		if (!pc_u64(py, ts + (uint64_t)L->ts_next, &ts))
			break;
	}
}

struct pc_error *pc_reach(struct pc_py *py, const struct pc_referents *R, const struct pc_reach_roots *roots,
			  struct pc_gc_stats *gc, struct pc_reach_stats *st, volatile sig_atomic_t *interrupted)
{
	memset(st, 0, sizeof(*st));
	struct walk w = { .py = py, .R = R, .st = st, .interrupted = interrupted };
	const char *dump = getenv("PYCENSUS_DEBUG_DUMP");
	if (dump)
		w.dump = fopen(dump, "we");
	uint64_t refusals = pc_memlimit_refusals();
	w.nbits = py->mem->nmaps;
	w.bits = calloc(w.nbits ? w.nbits : 1, sizeof(*w.bits));
	if (!w.bits)
		return pc_error_nomem();

	/* Phase 1: the closure gc.get_referents() computes from the GC lists. */
	pc_gc_walk(py, roots->runtime, gc_root, &w, gc);

	/* Phase 2: what only hidden references and the other roots reach. */
	w.phase2 = true;
	for (size_t i = 0; i < w.hidden.n && drain(&w); i++)
		on_ref(&w, w.hidden.v[i], true);
	drain(&w);
	const struct pc_layout *L = py->L;
	uint64_t interps[PC_MAX_INTERPS];
	int n = pc_interpreters(py, roots->runtime, interps, PC_MAX_INTERPS);
	for (int i = 0; i < n; i++) {
		uint64_t d;
		if (pc_u64(py, interps[i] + (uint64_t)L->is_modules, &d))
			on_ref(&w, d, true);
		if (pc_u64(py, interps[i] + (uint64_t)L->is_sysdict, &d))
			on_ref(&w, d, true);
		if (pc_u64(py, interps[i] + (uint64_t)L->is_builtins, &d))
			on_ref(&w, d, true);
		if (L->is_interned >= 0 && pc_u64(py, interps[i] + (uint64_t)L->is_interned, &d))
			on_ref(&w, d, true);
		thread_frames(&w, interps[i]);
		drain(&w);
	}
	uint64_t interned;
	if (roots->interned && pc_u64(py, roots->interned, &interned))
		on_ref(&w, interned, true);
	drain(&w);

	/* Out of memory or past the ceiling: the walk stopped, and the census
	 * is partial; the caller names which from MEM->nomem and
	 * pc_memlimit_refusals(). */
	if ((w.oom || w.todo.oom || w.hidden.oom) && pc_memlimit_refusals() == refusals)
		py->mem->nomem = true;
	if (w.dump)
		fclose(w.dump);
	for (size_t i = 0; i < w.nbits; i++) {
		if (!w.bits[i])
			continue;
		const struct pc_mapping *m = &py->mem->maps[i];
		pc_memlimit_release((size_t)((m->end - m->start) / 8 + 63) / 64 * 8);
		free(w.bits[i]);
	}
	free(w.bits);
	pc_memlimit_release((w.todo.cap + w.hidden.cap) * sizeof(uint64_t));
	free(w.todo.v);
	free(w.hidden.v);
	return NULL;
}
