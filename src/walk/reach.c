#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "clock.h"
#include "memlimit.h"
#include "reach.h"
#include "sizeof.h"
#include "types.h"
#include "visited.h"

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

struct walk {
	struct pc_py *py;
	const struct pc_referents *R;
	struct pc_visited *seen;
	struct stack todo, hidden;
	bool phase2;
	struct pc_reach_stats *st;
	const struct pc_reach_limits *lim;
	uint64_t processed;
	uint64_t max_bytes;     /* no object is larger */
	FILE *dump;   /* PYCENSUS_DEBUG_DUMP: every object counted, for tests */
};

/* Returns 1 if newly marked, 0 if seen before, -1 if not in any mapping. */
static int mark(struct walk *w, uint64_t addr)
{
	return pc_visited_mark(w->seen, addr);
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

/* Whether OBJ, of type T, is on a GC list: a type the GC handles, a GC
 * header whose next link is set (_PyObject_GC_IS_TRACKED), and for a type
 * object, a heap type (static types have no GC header: type's tp_is_gc). */
static bool tracked(struct pc_py *py, uint64_t obj, const struct pc_type *t)
{
	const struct pc_layout *L = py->L;
	if (!(t->flags & PC_TPFLAGS_HAVE_GC))
		return false;
	uint64_t flags, next;
	if ((t->flags & PC_TPFLAGS_TYPE_SUBCLASS) &&
	    (!pc_u64(py, obj + (uint64_t)L->tp_flags, &flags) || !(flags & PC_TPFLAGS_HEAPTYPE)))
		return false;
	return pc_u64(py, obj - (uint64_t)L->gc_head_size + (uint64_t)L->gc_next, &next) && (next & L->gc_next_mask);
}

static void process(struct walk *w, uint64_t obj)
{
	struct pc_py *py = w->py;
	struct pc_type *t = pc_type_of(py, obj);
	if (!t || (w->lim->live && !pc_alive(py, obj))) {
		w->st->skipped++;
		return;
	}
	/* An untracked object holds no tracked one (CPython untracks only
	 * tuples and dicts of atomic contents): nothing to follow. */
	if (w->lim->tracked_only && !tracked(py, obj, t))
		return;
	uint64_t size;
	bool sized = pc_sizeof(py, obj, t, &size);
	if (size > w->max_bytes) {
		/* larger than all the target's memory: not an object */
		w->st->damaged++;
		return;
	}
	if (w->dump)
		fprintf(w->dump, "%llx %d %llu %s\n", (unsigned long long)obj, w->phase2,
			(unsigned long long)size, t->name);
	t->count++;
	pc_bytes_add(&t->bytes, size);
	if (w->phase2 && !w->lim->tracked_only) {
		t->hidden_count++;
		pc_bytes_add(&t->hidden_bytes, size);
		w->st->hidden_objects++;
		pc_bytes_add(&w->st->hidden_bytes, size);
	}
	int r = pc_referents(py, w->R, obj, t, on_ref, w);
	if (r & PC_REF_OPAQUE) {
		t->opaque = true;
		t->opaque_count++;
		w->st->opaque_objects++;
	}
	if ((r & PC_REF_DAMAGED) || !sized)
		w->st->damaged++;
}

/* Whether the walk must end now: a signal, or the deadline (looked at
 * every 1024 objects: reading the clock costs more than an object). */
static bool must_stop(struct walk *w)
{
	if (w->lim->interrupted && *w->lim->interrupted)
		return true;
	if (w->st->timed_out)
		return true;
	if (w->lim->deadline_us && (++w->processed & 1023) == 0 && pc_now_us() > w->lim->deadline_us)
		w->st->timed_out = true;
	return w->st->timed_out;
}

static bool drain(struct walk *w)
{
	while (w->todo.n) {
		if (must_stop(w))
			return false;
		process(w, w->todo.v[--w->todo.n]);
	}
	return !w->todo.oom && !w->hidden.oom && !pc_visited_oom(w->seen);
}

static bool gc_root(void *arg, uint64_t obj)
{
	struct walk *w = arg;
	if (w->lim->live) {
		/* only a type the GC tracks has objects on its lists */
		struct pc_type *t = pc_type_of(w->py, obj);
		if (!t || !(t->flags & PC_TPFLAGS_HAVE_GC)) {
			w->st->skipped++;
			return !must_stop(w);
		}
	}
	if (mark(w, obj) > 0)
		push(&w->todo, obj);
	return drain(w);
}

/* Static types are not objects the GC lists, nor referents of their
 * instances, but their dicts are alive all the same: those of every type
 * the walk met (why roots them too).  Collected first: following a dict
 * may add to the type map. */
static void static_type_dicts(struct walk *w)
{
	size_t cur = 0, n = 0, cap = pc_typemap_count(w->py->types);
	uint64_t *d = calloc(cap ? cap : 1, sizeof(*d));
	struct pc_type *t;
	if (!d) {
		w->hidden.oom = true;
		return;
	}
	while ((t = pc_typemap_next(w->py->types, &cur)) && n < cap)
		if (t->valid && t->name && !(t->flags & PC_TPFLAGS_HEAPTYPE) && t->dict)
			d[n++] = t->dict;
	for (size_t i = 0; i < n; i++)
		if (pc_type_of(w->py, d[i]))
			on_ref(w, d[i], true);
	free(d);
	drain(w);
}

/* The frames each thread is running (3.11+: not objects until asked). */
static void thread_frames(struct walk *w, uint64_t interp)
{
	struct pc_py *py = w->py;
	const struct pc_layout *L = py->L;
	uint64_t ts;
	if (!pc_u64(py, interp + (uint64_t)L->is_threads_head, &ts))
		return;
	/* A live target's thread list and frame chains can loop (links read
	 * at different moments). */
	struct pc_chain threads;
	pc_chain_init(&threads);
	for (int nt = 0; ts && nt < 100000 && !pc_chain_loops(&threads, ts); nt++) {
		/* What the thread state holds besides its frames (why roots
		 * them too): its dict, and 3.13+'s threading.local key and
		 * sentinel, _thread._localdummy objects nothing else holds. */
		const int64_t parts[] = { L->ts_dict, L->ts_local_key, L->ts_local_sentinel };
		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
			uint64_t v;
			if (parts[i] >= 0 && pc_u64(py, ts + (uint64_t)parts[i], &v) && v)
				on_ref(w, v, true);
		}
		uint64_t frame = pc_thread_frame(py, ts);
		if (L->thread_frame == PC_TF_FRAME) {
			on_ref(w, frame, true);  /* a GC object: already counted */
		} else {
			struct pc_chain frames;
			pc_chain_init(&frames);
			for (int nf = 0; frame && nf < 1000000 && !pc_chain_loops(&frames, frame); nf++) {
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
			  struct pc_gc_stats *gc, struct pc_reach_stats *st, const struct pc_reach_limits *lim)
{
	memset(st, 0, sizeof(*st));
	struct walk w = { .py = py, .R = R, .st = st, .lim = lim };
	w.seen = pc_visited_create(py->mem);
	if (!w.seen)
		return pc_error_nomem();
	w.max_bytes = pc_mem_writable_bytes(py->mem);
	const char *dump = getenv("PYCENSUS_DEBUG_DUMP");
	if (dump)
		w.dump = fopen(dump, "we");
	uint64_t refusals = pc_memlimit_refusals();

	/* Phase 1: the closure gc.get_referents() computes from the GC lists. */
	pc_gc_walk(py, roots->runtime, gc_root, &w, gc, lim->live);

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
		if (L->interned_model == PC_INTERNED_INTERP && pc_u64(py, interps[i] + (uint64_t)L->is_interned, &d))
			on_ref(&w, d, true);
		thread_frames(&w, interps[i]);
		drain(&w);
	}
	uint64_t interned;
	if (roots->interned && pc_u64(py, roots->interned, &interned))
		on_ref(&w, interned, true);
	drain(&w);
	static_type_dicts(&w);

	/* Out of memory or past the ceiling: the walk stopped, and the census
	 * is partial; the caller names which from MEM->nomem and
	 * pc_memlimit_refusals(). */
	bool oom = pc_visited_oom(w.seen) || w.todo.oom || w.hidden.oom || gc->oom;
	if (oom && pc_memlimit_refusals() == refusals)
		py->mem->nomem = true;
	if (w.dump)
		fclose(w.dump);
	pc_visited_destroy(w.seen);
	pc_memlimit_release((w.todo.cap + w.hidden.cap) * sizeof(uint64_t));
	free(w.todo.v);
	free(w.hidden.v);
	return NULL;
}
