#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include "array.h"
#include "dominators.h"
#include "gcwalk.h"
#include "lineno.h"
#include "memlimit.h"
#include "referents.h"
#include "sizeof.h"
#include "text.h"
#include "types.h"
#include "visited.h"
#include "why.h"

/* parent[] holds a node index, or ROOT + the index of a root label. */
#define ROOT PC_WHY_ROOT
#define MAX_HOPS 64
#define NO_TID 0xFFFF

/* The shapes of one wanted type by key (open addressing: shape + 1). */
struct shape_index {
	uint32_t *index;
	size_t nindex, cap;
};

struct pc_why {
	struct pc_why_report rep;   /* what is printed (report/why_output.c) */
	struct shape_index *ix;     /* per wanted type: its shapes by key */
	/* the graph walk */
	struct pc_py *py;
	const struct pc_referents *R;
	/* node I's address in 4 bytes: POS[I] >> 16 is a chunk of 2^16
	 * words of a mapping (CHUNK[] its start), the rest the word in it;
	 * a mapping's chunks are given out (MBASE[mapping] - 1 the first)
	 * when a node is first found in it */
	uint32_t *pos;
	uint32_t *mbase;
	uint64_t *chunk;
	size_t nchunk, chunkcap;
	bool toobig;         /* the nodes' mappings passed 2^16 chunks */
	uint32_t *parent;
	size_t n, cap;
	struct pc_visited *seen;  /* the nodes' addresses, a bit each: the walk's test */
	size_t expect;       /* objects the census counted: the arrays' first size */
	uint16_t *tid;       /* each node's type, an index into TYPES (NO_TID: read it) */
	struct pc_type **types;
	size_t ntypes;
	struct { struct pc_type *t; uint16_t id; } tcache[1024];
	/* after the walk: node I's address has rank R among the nodes' in
	 * SEEN (emptied and filled with the nodes only), RANK2ID[R] = I */
	uint32_t *rank2id;
	char **roots;
	size_t nroots, rootcap;
	uint32_t cur;        /* the node whose references are being added */
	uint32_t kid, kend;  /* while CUR's hops are labelled: its next child,
			      * past its last (a node's children are numbered
			      * one after the other, in the order its
			      * references first met them) */
	bool oom;
	char **label;        /* while paths are grouped: the hop into each node, lazily */
	char ixbuf[8][24];   /* the last few item hops ("[3]") hop() made */
	unsigned ixpos;
	char *ring[4];       /* then: the last few hops, decoded again */
	unsigned ringpos;
	uint32_t want;       /* the node whose hop is being decoded */
	char *one;
	uint64_t nodes, rooted;
	uint32_t unrooted;   /* the root label of objects no root reaches */
	size_t expanded;     /* nodes are expanded in order, once */
	/* for the dominators (--top): the references that may be off the
	 * tree of parent links, to objects known already, to the address
	 * KPOS[J] (in POS's form) from a node given by KD, the increases of
	 * the source from one to the next (it only grows), 7 bits a byte;
	 * after the walk, those to a node not along the tree (NOFF): their
	 * targets ODST[J], their sources in KD; then, sorted by target, the
	 * sources in OSRC[J] */
	uint32_t *kpos;
	size_t nk, kcap;
	uint8_t *kd;
	size_t nkd, kdcap;
	uint32_t klast;
	uint32_t *osrc, *odst;
	size_t noff;
	bool rewalk;         /* dump's edges, taken after the walk */
	/* dump's graph: node I's references are edges[eoff[I]..eoff[I+1]) */
	uint32_t *eoff, *edges;
	size_t nedges, ecap;
	/* results */
	size_t top;
	uint64_t *gc;        /* the objects on the GC lists, sorted */
	size_t ngc, gccap;
	pc_why_graph_fn on_graph;  /* `dump`: the graph before it is freed */
	void *on_graph_arg;
};

struct pc_why *pc_why_create(char **names, int nnames, size_t max_shapes, size_t top)
{
	struct pc_why *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	/* none: dump */
	w->rep.types = calloc(nnames ? (size_t)nnames : 1, sizeof(*w->rep.types));
	w->ix = calloc(nnames ? (size_t)nnames : 1, sizeof(*w->ix));
	if (!w->rep.types || !w->ix) {
		free(w->rep.types);
		free(w->ix);
		free(w);
		return NULL;
	}
	for (int i = 0; i < nnames; i++)
		w->rep.types[i].name = names[i];
	w->rep.ntypes = nnames;
	w->rep.max_shapes = max_shapes;
	w->top = top;
	return w;
}

/* The address index and the label cache: the paths are grouped. */
static void index_free(struct pc_why *w)
{
	if (w->label)
		for (size_t i = 0; i < w->n; i++)
			if (!((uintptr_t)w->label[i] & 1))
				free(w->label[i]);
	free(w->label);
	w->label = NULL;
	free(w->rank2id);
	w->rank2id = NULL;
	/* what ranked the addresses for it */
	pc_visited_destroy(w->seen);
	w->seen = NULL;
}

static void graph_free(struct pc_why *w)
{
	index_free(w);
	pc_visited_destroy(w->seen);
	w->seen = NULL;
	for (int i = 0; i < 4; i++) {
		free(w->ring[i]);
		w->ring[i] = NULL;
	}
	free(w->gc);
	w->gc = NULL;
	w->ngc = w->gccap = 0;
	free(w->eoff);
	free(w->edges);
	w->eoff = w->edges = NULL;
	w->nedges = w->ecap = w->expanded = 0;
	free(w->kd);
	w->kd = NULL;
	w->nkd = w->kdcap = 0;
	w->klast = 0;
	free(w->kpos);
	free(w->osrc);
	free(w->odst);
	w->kpos = w->osrc = w->odst = NULL;
	w->nk = w->kcap = w->noff = 0;
	free(w->pos);
	free(w->mbase);
	free(w->chunk);
	w->pos = w->mbase = NULL;
	w->chunk = NULL;
	w->nchunk = w->chunkcap = 0;
	free(w->parent);
	free(w->tid);
	w->tid = NULL;
	free(w->types);
	w->types = NULL;
	w->ntypes = 0;
	memset(w->tcache, 0, sizeof(w->tcache));
	for (size_t i = 0; i < w->nroots; i++)
		free(w->roots[i]);
	free(w->roots);
	w->parent = NULL;
	w->roots = NULL;
	w->n = w->cap = w->nroots = w->rootcap = 0;
}

static void path_free(struct pc_why_path *p)
{
	free(p->chain);
	free(p->root);
	for (size_t i = 0; i < p->nhops; i++) {
		free(p->hops[i].label);
		free(p->hops[i].type);
	}
	free(p->hops);
}

const struct pc_why_report *pc_why_result(const struct pc_why *w)
{
	return &w->rep;
}

void pc_why_destroy(struct pc_why *w)
{
	if (!w)
		return;
	graph_free(w);
	for (int i = 0; i < w->rep.ntypes; i++) {
		for (size_t j = 0; j < w->rep.types[i].nshapes; j++) {
			struct pc_why_shape *s = &w->rep.types[i].shapes[j];
			free(s->key);
			path_free(&s->path);
		}
		free(w->rep.types[i].shapes);
		free(w->ix[i].index);
	}
	free(w->rep.types);
	free(w->ix);
	for (size_t i = 0; i < w->rep.nsuspects; i++) {
		struct pc_why_suspect *t = &w->rep.suspects[i];
		free(t->type);
		path_free(&t->path);
		for (int k = 0; k < t->nby; k++)
			free(t->by[k].type);
	}
	free(w->rep.suspects);
	free(w);
}

/* The node at address A (UINT32_MAX: none), once the walk is done. */
static uint32_t find(const struct pc_why *w, uint64_t a)
{
	if (!w->rank2id || !a || (a & 7))
		return UINT32_MAX;
	uint64_t r = pc_visited_rank(w->seen, a);
	return r == UINT64_MAX ? UINT32_MAX : w->rank2id[r];
}

#define CHUNK_LOG 16
#define NCHUNKS (1u << (32 - CHUNK_LOG))

static inline uint64_t node_addr(const struct pc_why *w, uint32_t i)
{
	uint32_t p = w->pos[i];
	return w->chunk[p >> CHUNK_LOG] + (uint64_t)(p & ((1u << CHUNK_LOG) - 1)) * 8;
}

/* ADDR's 4-byte form (see POS); false if its mapping has no room left. */
static bool pos_of(struct pc_why *w, uint64_t a, uint32_t *pos)
{
	const struct pc_mem *mem = w->py->mem;
	long i = pc_mem_index(mem, a);
	if (i < 0 || (size_t)i >= mem->nmaps)
		return false;
	if (!w->mbase && !(w->mbase = calloc(mem->nmaps, sizeof(*w->mbase))))
		return false;
	const struct pc_mapping *m = &mem->maps[i];
	if (!w->mbase[i]) {
		uint64_t words = (m->end - m->start) / 8;
		size_t k = (size_t)((words + (1u << CHUNK_LOG) - 1) >> CHUNK_LOG);
		if (w->nchunk + k > NCHUNKS) {
			w->toobig = true;
			return false;
		}
		if (w->nchunk + k > w->chunkcap) {
			size_t cap = w->chunkcap ? w->chunkcap : 256;
			while (cap < w->nchunk + k)
				cap *= 2;
			uint64_t *c = realloc(w->chunk, cap * sizeof(*c));
			if (!c)
				return false;
			w->chunk = c;
			w->chunkcap = cap;
		}
		w->mbase[i] = (uint32_t)w->nchunk + 1;
		for (size_t j = 0; j < k; j++)
			w->chunk[w->nchunk++] = m->start + ((uint64_t)j << (CHUNK_LOG + 3));
	}
	uint64_t word = (a - m->start) / 8;
	*pos = (uint32_t)((w->mbase[i] - 1 + (word >> CHUNK_LOG)) << CHUNK_LOG) |
	       (uint32_t)(word & ((1u << CHUNK_LOG) - 1));
	return true;
}

static bool grow(struct pc_why *w)
{
	if (w->n + 1 >= w->cap) {
		size_t cap = w->cap ? w->cap * 2 : w->expect > 65536 ? w->expect : 65536;
		uint32_t *p = realloc(w->pos, cap * sizeof(*p));
		if (!p)
			return false;
		w->pos = p;
		p = realloc(w->parent, cap * sizeof(*p));
		if (!p)
			return false;
		w->parent = p;
		uint16_t *ti = realloc(w->tid, cap * sizeof(*ti));
		if (!ti)
			return false;
		w->tid = ti;
		w->cap = cap;
	}
	return true;
}

/* T's index in the node types (the object's type is read once: each
 * later pass over the nodes would miss the cache on it again). */
static uint16_t type_id(struct pc_why *w, struct pc_type *t)
{
	size_t c = ((uintptr_t)t >> 4) & 1023;
	if (w->tcache[c].t == t)
		return w->tcache[c].id;
	size_t i;
	for (i = 0; i < w->ntypes && w->types[i] != t; i++)
		;
	if (i == w->ntypes) {
		if (w->ntypes >= NO_TID || (w->ntypes & (w->ntypes - 1)) == 0) {
			/* a power of two: double */
			struct pc_type **ty = w->ntypes >= NO_TID ? NULL
					      : realloc(w->types, (w->ntypes ? w->ntypes * 2 : 64) * sizeof(*ty));
			if (!ty)
				return NO_TID;
			w->types = ty;
		}
		w->types[w->ntypes++] = t;
	}
	w->tcache[c].t = t;
	w->tcache[c].id = (uint16_t)i;
	return (uint16_t)i;
}

/* The type of node I. */
static struct pc_type *node_type(struct pc_why *w, uint32_t i)
{
	uint16_t id = w->tid[i];
	return id == NO_TID ? pc_type_of(w->py, node_addr(w, i)) : w->types[id];
}

/* add(): ADDR was met before (a node, or found to be no object). */
#define KNOWN (UINT32_MAX - 1)

/* Add ADDR reached from PARENT unless known or not an object; its node
 * (UINT32_MAX: none; KNOWN). */
static uint32_t add(struct pc_why *w, uint64_t a, uint32_t parent)
{
	if (!a || (a & 7) || w->oom)
		return UINT32_MAX;
	/* an address that is no object stays marked, not looked at again */
	int fresh = pc_visited_mark(w->seen, a);
	if (fresh == 0 && !pc_visited_oom(w->seen))
		return KNOWN;
	struct pc_type *t = fresh > 0 ? pc_type_of(w->py, a) : NULL;
	if (!t)
		return UINT32_MAX;
	if (pc_visited_oom(w->seen) || w->n >= ROOT - 1 || !grow(w)) {
		w->oom = true;
		return UINT32_MAX;
	}
	if (!pos_of(w, a, &w->pos[w->n])) {
		w->oom = true;
		return UINT32_MAX;
	}
	w->parent[w->n] = parent;
	w->tid[w->n] = type_id(w, t);
	return (uint32_t)w->n++;
}

/* Whether ADDR is a node already (or was found to be no object). */
static bool known(const struct pc_why *w, uint64_t a)
{
	return pc_visited_has(w->seen, a);
}

static void edge_push(struct pc_why *w, uint32_t to);

/* V at B[AT...], 7 bits a byte, low first; where it ends. */
static size_t kd_put(uint8_t *b, size_t at, uint32_t v)
{
	for (; v >= 0x80; v >>= 7)
		b[at++] = (uint8_t)(v | 0x80);
	b[at++] = (uint8_t)v;
	return at;
}

static uint32_t kd_get(const uint8_t *b, size_t *at)
{
	uint32_t v = 0;
	for (int shift = 0;; shift += 7) {
		uint8_t c = b[(*at)++];
		v |= (uint32_t)(c & 0x7F) << shift;
		if (!(c & 0x80) || shift >= 28)
			return v;
	}
}

/* An edge from the node being expanded to ADDR. */
static void edge_to(struct pc_why *w, uint64_t a)
{
	if (w->rewalk) {
		/* dump's edges: every reference to a node, in order */
		uint32_t to = find(w, a);
		if (to != UINT32_MAX)
			edge_push(w, to);
		return;
	}
	uint32_t to = add(w, a, w->cur);
	/* a new node's reference is its parent link, the tree's edge: the
	 * dominators (--top) keep only those to an object met before, by
	 * address (the node is looked up after the walk) */
	if (to != KNOWN || w->oom || !w->top)
		return;
	/* in a mapping no node is in, it is no object (and never will be) */
	long m = pc_mem_index(w->py->mem, a);
	uint32_t pos;
	if (m < 0 || (size_t)m >= w->py->mem->nmaps || !w->mbase || !w->mbase[m] || !pos_of(w, a, &pos))
		return;
	uint32_t *kp = pc_array_reserve(w->kpos, &w->kcap, w->nk + 1, sizeof(*kp), 262144);
	if (kp)
		w->kpos = kp;
	/* (a delta takes 5 bytes at most) */
	uint8_t *kd = kp ? pc_array_reserve(w->kd, &w->kdcap, w->nkd + 5, 1, 262144) : NULL;
	if (!kd) {
		w->oom = true;
		return;
	}
	w->kd = kd;
	w->nkd = kd_put(w->kd, w->nkd, w->cur - w->klast);
	w->klast = w->cur;
	w->kpos[w->nk++] = pos;
}

static void edge_push(struct pc_why *w, uint32_t to)
{
	uint32_t *e = pc_array_reserve(w->edges, &w->ecap, w->nedges + 1, sizeof(*e), 262144);
	if (!e) {
		w->oom = true;
		return;
	}
	w->edges = e;
	w->edges[w->nedges++] = to;
}

static uint32_t root(struct pc_why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static uint32_t root(struct pc_why *w, const char *fmt, ...)
{
	char **r = pc_array_reserve(w->roots, &w->rootcap, w->nroots + 1, sizeof(*r), 256);
	if (!r) {
		w->oom = true;
		return ROOT;
	}
	w->roots = r;
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	w->roots[w->nroots] = s;
	return ROOT + (uint32_t)w->nroots++;
}

static void on_ref(void *arg, uint64_t ref, bool hidden, const struct pc_edge_label *l)
{
	(void)hidden;
	(void)l;
	struct pc_why *w = arg;
	edge_to(w, ref);
}

bool pc_why_sorted_has(const uint64_t *v, size_t n, uint64_t a)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo] == a;
}

static bool collect_gc(void *arg, uint64_t obj)
{
	struct pc_why *w = arg;
	uint64_t *g = pc_array_reserve(w->gc, &w->gccap, w->ngc + 1, sizeof(*g), 65536);
	if (!g) {
		w->oom = true;
		return false;
	}
	w->gc = g;
	w->gc[w->ngc++] = obj;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* An object whose traverse omits what its C fields hold (c_held; opaque
 * types are scanned by pc_referents itself, as for the census): any word
 * of its fixed part that is a GC object's address is taken as a
 * reference, so what only it holds is said to be held by it, not
 * unrooted. */
static void scan_opaque(struct pc_why *w, uint64_t obj, struct pc_type *t)
{
	int64_t size = t->basicsize < 4096 ? t->basicsize : 4096;
	const uint64_t *p = pc_mem_ptr(w->py->mem, obj, (size_t)size);
	if (!p)
		return;
	for (int64_t i = 2; i < size / 8; i++) {
		uint64_t v = p[i];
		if (!v || (v & 7) || v == t->addr)
			continue;
		/* only objects on the GC lists: a freed object keeps its type
		 * word, and a stale pointer to one would be taken as a holder */
		if (!pc_why_sorted_has(w->gc, w->ngc, v))
			continue;
		struct pc_type *vt = pc_type_of(w->py, v);
		if (vt && vt->kind != PK_TYPE)
			edge_to(w, v);
	}
}

/* A type whose traverse omits what its C fields hold: 3.13's
 * _thread._local keeps each thread's dict in `localdicts`, which
 * local_traverse does not visit; its fields are scanned as an opaque
 * object's are. */
static bool c_held(struct pc_why *w, struct pc_type *t)
{
	/* a class deriving from it: the nearest base with its own traverse */
	for (int d = 0; t && d < 64; d++) {
		const struct pc_rule *r = pc_rule_for(w->py, w->R, t);
		if (!r)
			return false;
		if (r->kind != RULE_SUBTYPE)
			return r->name && !strcmp(r->name, "local_traverse");
		t = t->base ? pc_type_get(w->py, t->base) : NULL;
	}
	return false;
}

/* The references of node I, to on_ref: decoded, and, for what only C
 * code holds, scanned. */
static void expand_node(struct pc_why *w, size_t i)
{
	struct pc_type *t = node_type(w, i);
	if (!t)
		return;
	w->cur = (uint32_t)i;
	pc_referents_labelled(w->py, w->R, node_addr(w, i), t, on_ref, w);
	if (c_held(w, t))
		scan_opaque(w, node_addr(w, i), t);
}

/* References of the nodes not yet expanded, in order (breadth first):
 * those before TO, or (TO 0) all, those found meanwhile included. */
static void expand(struct pc_why *w, size_t to)
{
	size_t i;
	for (i = w->expanded; i < (to ? to : w->n) && !w->oom; i++)
		expand_node(w, i);
	w->expanded = i;
}

static bool str_of(struct pc_py *py, uint64_t a, char *buf, size_t cap)
{
	return pc_str_read(py, a, buf, cap) >= 0;
}

struct modroot {
	struct pc_why *w;
};

static bool module_root(void *arg, uint64_t key, uint64_t value)
{
	struct pc_why *w = arg;
	char name[256];
	if (!str_of(w->py, key, name, sizeof(name)) || known(w, value))
		return true;
	char *esc = pc_text_escape(name, strlen(name));
	add(w, value, root(w, "module %s", esc ? esc : "?"));
	free(esc);
	return !w->oom;
}

/* The code object's member NAME (the layout's list of code members). */
static uint64_t code_member(struct pc_py *py, uint64_t code, const char *name)
{
	const struct pc_member_list *m = &py->L->ro.code_fields;
	uint64_t v;
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->name[i], name))
			return pc_u64(py, code + (uint64_t)m->off[i], &v) ? v : 0;
	return 0;
}

static uint64_t tuple_item(struct pc_py *py, uint64_t tuple, int64_t i, int64_t *len)
{
	int64_t n;
	uint64_t v;
	*len = 0;
	if (!tuple || !pc_i64(py, tuple + (uint64_t)py->L->ob_size, &n) || n < 0)
		return 0;
	*len = n;
	if (i < 0 || i >= n || !pc_u64(py, tuple + (uint64_t)py->L->tuple_item + (uint64_t)i * 8, &v))
		return 0;
	return v;
}

/* The name of local slot I of CODE: co_localsplusnames (3.11+), else
 * co_varnames, co_cellvars, co_freevars one after the other. */
static bool local_name(struct pc_py *py, uint64_t code, int64_t i, char *buf, size_t cap)
{
	int64_t n;
	uint64_t names = code_member(py, code, "co_localsplusnames");
	if (names)
		return str_of(py, tuple_item(py, names, i, &n), buf, cap);
	const char *parts[] = { "co_varnames", "co_cellvars", "co_freevars" };
	for (int p = 0; p < 3; p++) {
		uint64_t t = code_member(py, code, parts[p]);
		uint64_t s = tuple_item(py, t, i, &n);
		if (s)
			return str_of(py, s, buf, cap);
		i -= n;
	}
	return false;
}

static char *fmt_label(struct pc_why *w, const struct pc_edge_label *l);

struct frame_root {
	struct pc_why *w;
	char thread[32];
	int depth;
	uint64_t code;
	char func[200];    /* "name (file:line)" */
	bool rest;           /* the late pass: the frame's other references */
};

static void frame_ref(void *arg, uint64_t ref, bool hidden, const struct pc_edge_label *l)
{
	(void)hidden;
	struct frame_root *f = arg;
	struct pc_why *w = f->w;
	if (!ref || (ref & 7) || known(w, ref) || !pc_type_of(w->py, ref))
		return;
	char name[128];
	if (l->kind == PC_EDGE_INDEX) {
		if (!local_name(w->py, f->code, l->i, name, sizeof(name)))
			snprintf(name, sizeof(name), "#%lld", (long long)l->i);
		char *esc = pc_text_escape(name, strlen(name));
		add(w, ref, root(w, "thread %s frame %d %s local %s", f->thread, f->depth, f->func, esc ? esc : "?"));
		free(esc);
	} else if (l->kind == PC_EDGE_FIELD && l->a && !strcmp((const char *)(uintptr_t)l->a, "f_locals")) {
		add(w, ref, root(w, "thread %s frame %d %s f_locals", f->thread, f->depth, f->func));
	} else if (f->rest) {
		char *lab = fmt_label(w, l);
		add(w, ref, root(w, "thread %s frame %d %s %s", f->thread, f->depth, f->func, lab ? lab : "?"));
		free(lab);
	}
}

/* The function a frame runs, as a traceback names it: its name, the last
 * part of its file and the line it runs (lineno.c); where that cannot be
 * decoded, its first line, marked ", first line". */
static void frame_start(struct pc_why *w, struct frame_root *f, uint64_t frame, uint64_t code)
{
	/* 3.14+ f_executable is a _PyStackRef: its tag bits are no address */
	code &= ~w->py->L->stackref_tag_mask;
	f->code = code;
	char name[100], file[256];
	int32_t line = 0;
	uint64_t n = code ? code_member(w->py, code, "co_name") : 0;
	if (!n || !str_of(w->py, n, name, sizeof(name)))
		snprintf(name, sizeof(name), "?");
	n = code ? code_member(w->py, code, "co_filename") : 0;
	if (!n || !str_of(w->py, n, file, sizeof(file)))
		snprintf(file, sizeof(file), "?");
	bool running = pc_frame_line(w->py, frame, code, &line) == PC_LINE_OK;
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	char both[400];
	snprintf(both, sizeof(both), "%s (%s:%d%s)", name, base, line, running ? "" : ", first line");
	char *esc = pc_text_escape(both, strlen(both));
	snprintf(f->func, sizeof(f->func), "%s", esc ? esc : "?");
	free(esc);
}

/* What a thread state holds besides its frames: its dict (threading.local
 * dummies up to 3.12) and 3.13's thread-local key and sentinel. */
static void thread_state_roots(struct pc_why *w, uint64_t ts, const char *thread)
{
	const struct pc_layout *L = w->py->L;
	const struct { int64_t off; const char *what; } parts[] = {
		{ L->ts_dict, "dict" },
		{ L->ts_local_key, "threading_local_key" },
		{ L->ts_local_sentinel, "threading_local_sentinel" },
	};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		uint64_t v;
		if (parts[i].off >= 0 && pc_u64(w->py, ts + (uint64_t)parts[i].off, &v) && v &&
		    !known(w, v) && pc_type_of(w->py, v))
			add(w, v, root(w, "thread %s state %s", thread, parts[i].what));
	}
}

/* Each thread's frames, innermost first: their locals are roots named by
 * thread (its id as threading.get_ident() gives it, else its place in the
 * interpreter's list, newest first), frame depth, function and local name. */
static void thread_roots(struct pc_why *w, uint64_t interp, bool rest)
{
	struct pc_py *py = w->py;
	const struct pc_layout *L = py->L;
	uint64_t ts;
	if (!pc_u64(py, interp + (uint64_t)L->is_threads_head, &ts))
		return;
	int64_t f_back = -1;
	for (int i = 0; i < L->ro.frame_fields.n; i++)
		if (!strcmp(L->ro.frame_fields.name[i], "f_back"))
			f_back = L->ro.frame_fields.off[i];
	for (int nt = 0; ts && nt < 10000 && !w->oom; nt++) {
		uint64_t frame = 0, code = 0, tid;
		struct frame_root f = { .w = w, .rest = rest };
		if (L->ts_thread_id >= 0 && pc_u64(py, ts + (uint64_t)L->ts_thread_id, &tid))
			snprintf(f.thread, sizeof(f.thread), "%llu", (unsigned long long)tid);
		else
			snprintf(f.thread, sizeof(f.thread), "#%d", nt);
		frame = pc_thread_frame(py, ts);
		if (L->thread_frame == PC_TF_FRAME) {
			for (int nf = 0; frame && nf < 100000 && f_back >= 0; nf++) {
				struct pc_type *t = pc_type_of(py, frame);
				if (!t || !pc_u64(py, frame + (uint64_t)L->f_code, &code))
					break;
				f.depth = nf;
				frame_start(w, &f, frame, code);
				pc_referents_labelled(py, w->R, frame, t, frame_ref, &f);
				if (!rest && !known(w, frame))
					add(w, frame, root(w, "thread %s frame %d %s", f.thread, nf, f.func));
				if (!pc_u64(py, frame + (uint64_t)f_back, &frame))
					break;
			}
		} else {
			/* the chain loops only on damage: bounded by NF */
			for (int nf = 0; frame && nf < 100000; nf++) {
				f.depth = nf;
				if (!pc_u64(py, frame + (uint64_t)L->iframe_code, &code))
					break;
				frame_start(w, &f, frame, code);
				pc_referents_iframe_labelled(py, w->R, frame, frame_ref, &f, nf == 0);
				if (!pc_u64(py, frame + (uint64_t)L->iframe_previous, &frame))
					break;
			}
		}
		thread_state_roots(w, ts, f.thread);
		if (!pc_u64(py, ts + (uint64_t)L->ts_next, &ts))
			break;
	}
}

/* Static types are no objects on the GC lists: their dicts are roots, by
 * the type's name (every type the census met). */
static void static_type_roots(struct pc_why *w)
{
	/* collected first: reading a dict's type may add to the type map */
	size_t cur = 0, n = 0, cap = pc_typemap_count(w->py->types);
	struct { uint64_t dict; char *name; } *d = calloc(cap ? cap : 1, sizeof(*d));
	struct pc_type *t;
	if (!d) {
		w->oom = true;
		return;
	}
	while ((t = pc_typemap_next(w->py->types, &cur)) && n < cap)
		if (t->valid && t->name && !(t->flags & PC_TPFLAGS_HEAPTYPE) && t->dict)
		{
			d[n].dict = t->dict;
			d[n++].name = pc_text_escape(t->name, strlen(t->name));
		}
	for (size_t i = 0; i < n; i++) {
		if (!w->oom && !known(w, d[i].dict) && pc_type_of(w->py, d[i].dict))
			add(w, d[i].dict, root(w, "type %s.__dict__", d[i].name ? d[i].name : "?"));
		free(d[i].name);
	}
	free(d);
}

static bool gc_obj(void *arg, uint64_t obj)
{
	struct pc_why *w = arg;
	if (!known(w, obj)) {
		struct pc_type *t = pc_type_of(w->py, obj);
		if (!t)
			return true;
		if (w->unrooted == 0)
			w->unrooted = root(w, "unrooted");
		add(w, obj, w->unrooted);
		expand(w, 0);
	}
	return !w->oom;
}

struct unref {
	uint64_t *u;
	size_t n;
	uint8_t *held;
};

static void mark_held(void *arg, uint64_t ref, bool hidden)
{
	(void)hidden;
	struct unref *x = arg;
	size_t lo = 0, hi = x->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->u[mid] < ref)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < x->n && x->u[lo] == ref)
		x->held[lo] = 1;
}

static void unrooted_walk(struct pc_why *w)
{
	struct unref x = { NULL, 0, NULL };
	x.u = malloc((w->ngc ? w->ngc : 1) * sizeof(*x.u));
	if (!x.u) {
		w->oom = true;
		return;
	}
	for (size_t i = 0; i < w->ngc; i++)
		if (!known(w, w->gc[i]))
			x.u[x.n++] = w->gc[i];
	x.held = calloc(x.n ? x.n : 1, 1);
	if (!x.held) {
		free(x.u);
		w->oom = true;
		return;
	}
	for (size_t i = 0; i < x.n; i++) {
		struct pc_type *t = pc_type_of(w->py, x.u[i]);
		if (t)
			pc_referents(w->py, w->R, x.u[i], t, mark_held, &x);
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < x.n && !w->oom; i++)
			if (x.held[i] == pass)
				gc_obj(w, x.u[i]);
	free(x.held);
	free(x.u);
}

/* ---- paths ---- */

/* C members as Python shows them (attributes of the same objects); a
 * member not listed keeps its C name. */
static const char *python_name(const char *c)
{
	static const char *const map[][2] = {
		{ "func_closure", "__closure__" }, { "func_defaults", "__defaults__" },
		{ "func_kwdefaults", "__kwdefaults__" }, { "func_globals", "__globals__" },
		{ "func_code", "__code__" }, { "func_dict", "__dict__" }, { "func_module", "__module__" },
		{ "func_name", "__name__" }, { "func_qualname", "__qualname__" }, { "func_doc", "__doc__" },
		{ "func_annotations", "__annotations__" }, { "func_builtins", "__builtins__" },
		{ "cell_ref", "cell_contents" }, { "ob_ref", "cell_contents" }, { "im_func", "__func__" }, { "im_self", "__self__" },
		{ "m_self", "__self__" }, { "m_module", "__module__" }, { "md_dict", "__dict__" },
		{ "cm_callable", "__func__" }, { "sm_callable", "__func__" }, { "cm_dict", "__dict__" },
		{ "sm_dict", "__dict__" }, { "func", "__wrapped__" }, { "wr_callback", "__callback__" },
		{ "ns_dict", "__dict__" }, { "ht_type.tp_dict", "__dict__" }, { "tp_dict", "__dict__" }, { "dict", "__dict__" }, { "args", "args" },
		{ "f_back", "f_back" }, { "f_locals", "f_locals" }, { "tb_next", "tb_next" },
		{ "tb_frame", "tb_frame" }, { "prop_get", "fget" }, { "prop_set", "fset" },
		{ "prop_del", "fdel" }, { "prop_doc", "__doc__" }, { "context", "__context__" },
		{ "cause", "__cause__" }, { "traceback", "__traceback__" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(c, map[i][0]))
			return map[i][1];
	return c;
}

static char *fmt_label(struct pc_why *w, const struct pc_edge_label *l)
{
	struct pc_py *py = w->py;
	char buf[256], *out = NULL, *esc = NULL;
	switch (l->kind) {
	case PC_EDGE_INDEX:
		return asprintf(&out, "[%lld]", (long long)l->i) < 0 ? NULL : out;
	case PC_EDGE_DICT_VALUE:
		if (str_of(py, l->a, buf, sizeof(buf))) {
			esc = pc_text_escape(buf, strlen(buf));
			if (asprintf(&out, "['%s']", esc ? esc : "?") < 0)
				out = NULL;
		} else {
			struct pc_type *kt = pc_type_of(py, l->a);
			if (asprintf(&out, "[<%s>]", kt ? kt->name : "?") < 0)
				out = NULL;
		}
		free(esc);
		return out;
	case PC_EDGE_DICT_KEY:
		return strdup("(key)");
	case PC_EDGE_SET:
		return strdup("{…}");
	case PC_EDGE_ATTR: {
		struct pc_dict_keys k;
		const struct pc_layout *L = py->L;
		uint64_t key;
		if (pc_dict_keys(py, l->a, &k) && l->i >= 0 && l->i < k.nentries) {
			bool uni = L->dict_family == PC_DICT_LOG2_KIND && k.unicode;
			uint64_t e = l->a + (uint64_t)L->dk_indices + k.index_bytes + (uint64_t)l->i * k.entry_size;
			if (pc_u64(py, e + (uint64_t)(uni ? L->uentry_key : L->entry_key), &key) &&
			    str_of(py, key, buf, sizeof(buf))) {
				esc = pc_text_escape(buf, strlen(buf));
				if (asprintf(&out, ".%s", esc ? esc : "?") < 0)
					out = NULL;
				free(esc);
				return out;
			}
		}
		return strdup(".?");
	}
	case PC_EDGE_SLOT: {
		uint64_t name;
		const char *p;
		if (pc_u64(py, l->a, &name) && (p = pc_mem_ptr(py->mem, name, 1))) {
			size_t n = 0;
			while (n < 128 && pc_mem_ptr(py->mem, name + n, 1) && p[n])
				n++;
			esc = pc_text_escape(p, n);
			if (asprintf(&out, ".%s", esc ? esc : "?") < 0)
				out = NULL;
			free(esc);
			return out;
		}
		return strdup(".?");
	}
	case PC_EDGE_DICT:
		return strdup(".__dict__");
	case PC_EDGE_CLASS:
		return strdup(".__class__");
	case PC_EDGE_FIELD:
		if (l->a) {
			const char *c = (const char *)(uintptr_t)l->a;
			if (asprintf(&out, ".%s", python_name(c)) < 0)
				out = NULL;
			return out;
		}
		return asprintf(&out, "<+%lld>", (long long)l->i) < 0 ? NULL : out;
	case PC_EDGE_LRU_KEY:
		return strdup("(cache key)");
	case PC_EDGE_LRU_VALUE:
		return strdup("(cache value)");
	case PC_EDGE_STACK:
		return strdup("(stack)");
	case PC_EDGE_OPAQUE: {
		struct pc_type *ht = pc_type_get(py, l->a);
		return asprintf(&out, "<opaque %s>", ht ? ht->name : "?") < 0 ? NULL : out;
	}
	case PC_EDGE_OTHER:
		break;
	}
	return strdup("<ref>");
}

static void label_ref(void *arg, uint64_t ref, bool hidden, const struct pc_edge_label *l)
{
	(void)hidden;
	struct pc_why *w = arg;
	if (w->kid >= w->kend || ref != node_addr(w, w->kid))
		return;
	uint32_t i = w->kid++;
	if (w->label[i])
		return;
	/* an item's index (most hops into a big list) in the pointer itself,
	 * odd as no allocation is: no string each */
	if (l->kind == PC_EDGE_INDEX && l->i >= 0 && l->i < ((int64_t)1 << 40))
		w->label[i] = (char *)(uintptr_t)((uint64_t)l->i << 1 | 1);
	else
		w->label[i] = fmt_label(w, l);
}

static void label_one(void *arg, uint64_t ref, bool hidden, const struct pc_edge_label *l)
{
	(void)hidden;
	struct pc_why *w = arg;
	if (!w->one && ref == node_addr(w, w->want))
		w->one = fmt_label(w, l);
}

/* The hop into node I without the label cache (freed with the address
 * index before the dominator tree): its parent's references decoded again.
 * The result lives until four more such hops were asked for. */
static const char *hop_uncached(struct pc_why *w, uint32_t i)
{
	uint32_t p = w->parent[i];
	char **slot = &w->ring[w->ringpos++ % 4];
	free(*slot);
	*slot = NULL;
	if (p >= ROOT)
		return "?";
	struct pc_type *t = node_type(w, p);
	w->want = i;
	w->one = NULL;
	if (t)
		pc_referents_labelled(w->py, w->R, node_addr(w, p), t, label_one, w);
	if (!w->one && t && c_held(w, t)) {
		struct pc_type *ct = node_type(w, i);
		w->one = strdup(ct && ct->kind == PK_DICT ? ".localdicts" : "<C field>");
	}
	if (!w->one && asprintf(&w->one, "<opaque %s>", t ? t->name : "?") < 0)
		w->one = NULL;
	*slot = w->one;
	return *slot ? *slot : "?";
}

/* The hop into node I: its parent's references, labelled once for all
 * of that parent's children. */
static const char *hop(struct pc_why *w, uint32_t i)
{
	if (!w->label)
		return hop_uncached(w, i);
	uint32_t p = w->parent[i];
	if (!w->label[i] && p < ROOT) {
		struct pc_type *t = node_type(w, p);
		w->cur = p;
		for (w->kid = i; w->kid > 0 && w->parent[w->kid - 1] == p; w->kid--)
			;
		for (w->kend = i + 1; w->kend < w->n && w->parent[w->kend] == p; w->kend++)
			;
		if (t)
			pc_referents_labelled(w->py, w->R, node_addr(w, p), t, label_ref, w);
		if (!w->label[i] && t && c_held(w, t)) {
			struct pc_type *ct = node_type(w, i);
			w->label[i] = strdup(ct && ct->kind == PK_DICT ? ".localdicts" : "<C field>");
		}
		if (!w->label[i]) {
			char *s = NULL;
			w->label[i] = asprintf(&s, "<opaque %s>", t ? t->name : "?") < 0 ? NULL : s;
		}
	}
	if ((uintptr_t)w->label[i] & 1) {
		char *b = w->ixbuf[w->ixpos++ % 8];
		snprintf(b, sizeof(w->ixbuf[0]), "[%llu]", (unsigned long long)((uintptr_t)w->label[i] >> 1));
		return b;
	}
	return w->label[i] ? w->label[i] : "?";
}

static const char *type_name(struct pc_why *w, uint32_t i)
{
	struct pc_type *t = node_type(w, i);
	return t ? t->name : "?";
}

/* The hop [I] from a function's __closure__ tuple into a cell, with the
 * free variable's name: "[I:name]".  Free variables are co_freevars
 * (<= 3.10) or the last entries of co_localsplusnames (3.11+), in the
 * closure's order. */
static bool closure_name(struct pc_why *w, uint32_t fn, uint32_t tuple, uint32_t cell, const char *lab, char *out,
			 size_t cap)
{
	struct pc_py *py = w->py;
	struct pc_type *ft = node_type(w, fn), *ct = node_type(w, cell);
	long long i;
	char end;
	if (!ft || !ct || strcmp(ft->name, "function") || strcmp(ct->name, "cell") ||
	    sscanf(lab, "[%lld%c", &i, &end) != 2 || end != ']' || strcmp(hop(w, tuple), ".__closure__"))
		return false;
	const struct pc_member_list *m = &py->L->members[PC_M_FUNC];
	uint64_t code = 0;
	for (int j = 0; j < m->n; j++)
		if (!strcmp(m->name[j], "func_code") && !pc_u64(py, node_addr(w, fn) + (uint64_t)m->off[j], &code))
			code = 0;
	if (!code)
		return false;
	int64_t nclosure, nnames;
	char name[128];
	tuple_item(py, node_addr(w, tuple), 0, &nclosure);
	uint64_t names = code_member(py, code, "co_localsplusnames"), s;
	if (names) {
		tuple_item(py, names, 0, &nnames);
		s = tuple_item(py, names, nnames - nclosure + i, &nnames);
	} else {
		s = tuple_item(py, code_member(py, code, "co_freevars"), i, &nnames);
	}
	if (!s || !str_of(py, s, name, sizeof(name)))
		return false;
	char *esc = pc_text_escape(name, strlen(name));
	snprintf(out, cap, "[%lld:%s]", i, esc ? esc : "?");
	free(esc);
	return true;
}

/* A string grown by doubling: a chain is a dozen pieces. */
struct buf {
	char *s;
	size_t len, cap;
};

static void append(struct buf *b, const char *add)
{
	size_t n = strlen(add);
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		while (b->len + n + 1 > cap)
			cap *= 2;
		char *r = realloc(b->s, cap);
		if (!r)
			return;
		b->s = r;
		b->cap = cap;
	}
	memcpy(b->s + b->len, add, n + 1);
	b->len += n;
}

/* The shortest path to node I: its chain (as the table prints it), its
 * hops (when HOPS is wanted: most instances share a shape, and need only
 * the chain), its root's name and whether that is "unrooted". */
static bool build_chain(struct pc_why *w, uint32_t i, char **textp, struct pc_why_path *hopsp,
			const char **rootp, bool *unrootedp)
{
	uint32_t chain[MAX_HOPS];
	int n = 0;
	for (uint32_t j = i; n < MAX_HOPS; j = w->parent[j]) {
		chain[n++] = j;
		if (w->parent[j] >= ROOT)
			break;
	}
	const char *rootname = w->roots[w->parent[chain[n - 1]] - ROOT];
	if (!rootname)
		rootname = "?";
	bool unrooted = w->unrooted && w->parent[chain[n - 1]] == w->unrooted;
	struct buf text = { NULL, 0, 0 };
	/* the root's own name matters only for modules and sys: per-frame
	 * and per-local labels would split shapes by address-like detail */
	append(&text, rootname);
	struct pc_why_hop *hops = hopsp ? calloc((size_t)n, sizeof(*hops)) : NULL;
	size_t nhops = 0;
	if (hopsp && !hops) {
		free(text.s);
		return false;
	}
	/* Hops as a Python programmer writes them: an attribute held in a
	 * __dict__ (an instance's or a module's) is .name, the dict not shown;
	 * a module root is not followed by "(module)". */
	bool modroot = !strncmp(rootname, "module ", 7);
	for (int k = n - 1; k >= 0; k--) {
		char merged[300];
		const char *lab = k == n - 1 ? "" : hop(w, chain[k]);
		const char *tn = type_name(w, chain[k]);
		struct pc_type *t = pc_type_of(w->py, node_addr(w, chain[k]));
		struct pc_type *pt = k < n - 1 ? pc_type_of(w->py, node_addr(w, chain[k + 1])) : NULL;
		bool via_dict = t && t->kind == PK_DICT && (!strcmp(lab, ".__dict__") || (pt && pt->kind == PK_MODULE));
		if (via_dict && k > 0) {
			const char *next = hop(w, chain[k - 1]);
			size_t nl = strlen(next);
			if (nl > 4 && !strncmp(next, "['", 2) && nl < sizeof(merged)) {
				snprintf(merged, sizeof(merged), ".%.*s", (int)(nl - 4), next + 2);
				k--;
				lab = merged;
				tn = type_name(w, chain[k]);
			}
		}
		char named[300];
		if (k + 2 <= n - 1 && closure_name(w, chain[k + 2], chain[k + 1], chain[k], lab, named, sizeof(named)))
			lab = named;
		char *esc = pc_text_escape(tn, strlen(tn));
		if (*lab) {
			append(&text, " ");
			append(&text, lab);
		}
		if (!(modroot && k == n - 1)) {
			append(&text, " (");
			append(&text, esc ? esc : "?");
			append(&text, ")");
		}
		if (hops) {
			hops[nhops].label = strdup(lab);
			hops[nhops].type = esc ? strdup(esc) : strdup("?");
			hops[nhops++].addr = node_addr(w, chain[k]);
		}
		free(esc);
	}
	if (!text.s) {
		struct pc_why_path p = { NULL, NULL, hops, nhops };
		path_free(&p);
		return false;
	}
	*textp = text.s;
	if (hopsp) {
		hopsp->hops = hops;
		hopsp->nhops = nhops;
	}
	*rootp = rootname;
	*unrootedp = unrooted;
	return true;
}

/* TEXT with what differs between siblings made '*': list and tuple
 * indices ([3] -> [*]) and str dict keys (['k'] -> ['*']), so that the
 * items of one container share a shape. */
static char *shape_key(const char *text)
{
	size_t n = strlen(text);
	/* "['']" becomes "['*']": longer by one per four characters */
	char *k = malloc(n + n / 4 + 2), *o = k;
	if (!k)
		return NULL;
	for (const char *p = text; *p;) {
		if (p[0] == '[' && p[1] >= '0' && p[1] <= '9') {
			const char *q = p + 1;
			while (*q >= '0' && *q <= '9')
				q++;
			if (*q == ']') {
				memcpy(o, "[*]", 3);
				o += 3;
				p = q + 1;
				continue;
			}
		}
		if (p[0] == '[' && p[1] == '\'' ) {
			const char *q = strstr(p + 2, "'] ");
			if (!q && (q = strstr(p + 2, "']")) && q[2])
				q = NULL;
			if (q) {
				memcpy(o, "['*']", 5);
				o += 5;
				p = q + 2;
				continue;
			}
		}
		*o++ = *p++;
	}
	*o = 0;
	return k;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The shape of KEY in WT, or a new one (index grown at half load). */
static struct pc_why_shape *shape_for(struct pc_why_type *wt, struct shape_index *x, const char *key, bool *fresh)
{
	if ((wt->nshapes + 1) * 2 > x->nindex) {
		size_t ni = x->nindex ? x->nindex * 2 : 64;
		uint32_t *ix = calloc(ni, sizeof(*ix));
		if (!ix)
			return NULL;
		for (size_t s = 0; s < wt->nshapes; s++) {
			size_t h = str_hash(wt->shapes[s].key) & (ni - 1);
			while (ix[h])
				h = (h + 1) & (ni - 1);
			ix[h] = (uint32_t)s + 1;
		}
		free(x->index);
		x->index = ix;
		x->nindex = ni;
	}
	size_t h = str_hash(key) & (x->nindex - 1);
	for (; x->index[h]; h = (h + 1) & (x->nindex - 1))
		if (!strcmp(wt->shapes[x->index[h] - 1].key, key)) {
			*fresh = false;
			return &wt->shapes[x->index[h] - 1];
		}
	struct pc_why_shape *sh = pc_array_reserve(wt->shapes, &x->cap, wt->nshapes + 1, sizeof(*sh), 16);
	if (!sh)
		return NULL;
	wt->shapes = sh;
	x->index[h] = (uint32_t)wt->nshapes + 1;
	*fresh = true;
	struct pc_why_shape *s = &wt->shapes[wt->nshapes++];
	memset(s, 0, sizeof(*s));
	return s;
}

static void path_of(struct pc_why *w, int k, uint32_t i)
{
	struct pc_why_type *wt = &w->rep.types[k];
	char *text;
	const char *rootname;
	bool unrooted, fresh;
	if (!build_chain(w, i, &text, NULL, &rootname, &unrooted))
		return;
	char *key = shape_key(text);
	struct pc_why_shape *s = key ? shape_for(wt, &w->ix[k], key, &fresh) : NULL;
	if (!s || !fresh) {
		if (s) {
			s->count++;
			if (strcmp(s->path.chain, text) && strcmp(s->path.chain, s->key)) {
				/* samples differ: show what they share */
				free(s->path.chain);
				s->path.chain = strdup(s->key);
			}
		}
		free(key);
		free(text);
		return;
	}
	free(text);
	s->key = key;
	if (!build_chain(w, i, &s->path.chain, &s->path, &rootname, &unrooted))
		s->path.chain = strdup(key);   /* keep the shape, counted, its hops empty */
	s->path.root = strdup(rootname);
	s->count = 1;
	s->sample = node_addr(w, i);
	s->unrooted = unrooted;
}

static int by_count(const void *a, const void *b)
{
	const struct pc_why_shape *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->key, y->key);
}

/* ---- dominators ---- */

/* The graph is the walk's own: each node's parent link is a tree edge
 * (the root marks: edges from the virtual root, node 0; why node I is node
 * I + 1), and only the other edges were kept (OSRC/ODST).  Memory is
 * what peaks, so each array is freed as soon as its phase is done, and
 * objects' sizes are read again where needed rather than kept. */

static uint64_t node_size(struct pc_why *w, uint32_t i)
{
	struct pc_type *t = node_type(w, i);
	uint64_t size = 0;
	if (t)
		pc_sizeof(w->py, node_addr(w, i), t, &size);
	return size;
}

/* The edges off the tree ordered by their target, for a pass over the
 * nodes in order (no offsets per node): a stable radix sort of the pairs
 * by target, 16 bits at a time, their sources shifted by one (the
 * virtual root).  False when out of memory. */
static bool preds_sort(struct pc_why *w)
{
	size_t m = w->noff;
	w->osrc = malloc((m ? m : 1) * sizeof(*w->osrc));
	if (!w->osrc)
		return false;
	size_t rd = 0;
	uint32_t src = 0;
	for (size_t j = 0; j < m; j++)
		w->osrc[j] = src += kd_get(w->kd, &rd);
	free(w->kd);
	w->kd = NULL;
	w->nkd = w->kdcap = 0;
	uint32_t *ts = malloc((m ? m : 1) * sizeof(*ts));
	uint32_t *td = malloc((m ? m : 1) * sizeof(*td));
	uint32_t *count = malloc(65536 * sizeof(*count));
	bool ok = ts && td && count;
	for (int shift = 0; ok && shift < 32; shift += 16) {
		memset(count, 0, 65536 * sizeof(*count));
		for (size_t j = 0; j < m; j++)
			count[w->odst[j] >> shift & 0xFFFF]++;
		uint32_t at = 0;
		for (size_t d = 0; d < 65536; d++) {
			uint32_t c = count[d];
			count[d] = at;
			at += c;
		}
		for (size_t j = 0; j < m; j++) {
			uint32_t k = count[w->odst[j] >> shift & 0xFFFF]++;
			ts[k] = w->osrc[j];
			td[k] = w->odst[j];
		}
		uint32_t *x = w->osrc;
		w->osrc = ts;
		ts = x;
		x = w->odst;
		w->odst = td;
		td = x;
	}
	free(ts);
	free(td);
	free(count);
	if (ok)
		for (size_t j = 0; j < m; j++) {
			w->osrc[j]++;
			w->odst[j]++;
		}
	return ok;
}

/* What freeing every node of type WT would free: the nodes the virtual
 * root no longer reaches when those are removed.  Reachability is the
 * least fixpoint of "a parent or a predecessor is reached", found by
 * passes in walk order (tree parents come first: one pass for the tree,
 * more only along edges back in that order). */
static void freed_by_type(struct pc_why *w, const struct pc_domgraph *g, struct pc_why_type *wt, uint8_t *reach,
			  uint8_t *match, uint64_t *kept)
{
	for (size_t k = 0; k < w->ntypes; k++)
		match[k] = !strcmp(w->types[k]->name, wt->name);
	memset(reach, 0, g->n);
	reach[0] = 1;
	for (bool changed = true; changed;) {
		changed = false;
		size_t e = 0;
		for (uint32_t v = 1; v < g->n; v++) {
			if (reach[v])
				continue;
			uint16_t id = w->tid[v - 1];
			struct pc_type *t = id == NO_TID ? pc_type_of(w->py, node_addr(w, v - 1)) : NULL;
			if (id == NO_TID ? t && !strcmp(t->name, wt->name) : match[id])
				continue;
			uint32_t tp = g->tparent[v - 1];
			bool r = tp >= g->entry || reach[tp + 1];
			while (e < g->npred && g->pto[e] < v)
				e++;
			for (; !r && e < g->npred && g->pto[e] == v; e++)
				r = reach[g->pfrom[e]];
			if (r) {
				reach[v] = 1;
				changed = true;
			}
		}
	}
	/* what is not reached is freed (the types' own nodes included);
	 * sizes are read again for the smaller part: when that is what is
	 * kept, *KEPT is its bytes, taken from the total once known */
	uint64_t objects = 0;
	for (uint32_t v = 1; v < g->n; v++)
		objects += !reach[v];
	bool freed_fewer = objects <= (g->n - 1) / 2;
	uint64_t bytes = 0;
	for (uint32_t v = 1; v < g->n; v++)
		if (!reach[v] == freed_fewer)
			bytes += node_size(w, v - 1);
	wt->freed_objects = objects;
	wt->freed_bytes = freed_fewer ? bytes : 0;
	*kept = freed_fewer ? UINT64_MAX : bytes;
}

/* What a suspect's dominator subtree holds, by type. */
struct acc {
	struct pc_type *t;
	uint64_t count, bytes;
};
struct accs {
	struct acc *a;
	size_t n, cap, last;
	uint64_t objects;
};

static bool acc_add(struct accs *x, struct pc_type *t, uint64_t count, uint64_t bytes)
{
	size_t k = x->last;
	if (k >= x->n || x->a[k].t != t)
		for (k = 0; k < x->n && x->a[k].t != t; k++)
			;
	if (k == x->n) {
		struct acc *a = pc_array_reserve(x->a, &x->cap, x->n + 1, sizeof(*a), 32);
		if (!a)
			return false;
		x->a = a;
		x->a[x->n++] = (struct acc){ t, 0, 0 };
	}
	x->last = k;
	x->a[k].count += count;
	x->a[k].bytes += bytes;
	return true;
}

static void retains_fill(struct pc_why_suspect *t, struct accs *x)
{
	t->objects = x->objects;
	for (int r = 0; r < 5; r++) {
		size_t best = x->n;
		for (size_t k = 0; k < x->n; k++)
			if (x->a[k].t && (best == x->n || x->a[k].bytes > x->a[best].bytes))
				best = k;
		if (best == x->n)
			break;
		const char *name = x->a[best].t->name;
		t->by[t->nby].type = pc_text_escape(name, strlen(name));
		t->by[t->nby].count = x->a[best].count;
		t->by[t->nby].bytes = x->a[best].bytes;
		t->nby++;
		x->a[best].t = NULL;
	}
}

/* The subtrees of the NBEST suspects BEST[] by type, in one pass: IDOM
 * is made over, in place, into each node's nearest suspect at or above it
 * (a node's dominator is numbered before it, so it is done first); a
 * suspect's inner suspects are then added to it, innermost first. */
static bool retains_all(struct pc_why *w, uint32_t n, uint32_t *idom, const uint32_t *best, size_t nbest, struct accs *acc)
{
	uint32_t *sorted = malloc((nbest ? nbest : 1) * sizeof(*sorted));
	uint32_t *outer = malloc((nbest ? nbest : 1) * sizeof(*outer));
	if (!sorted || !outer) {
		free(sorted);
		free(outer);
		return false;
	}
	/* suspects by node number, each with its index in BEST */
	for (size_t j = 0; j < nbest; j++) {
		size_t k = j;
		while (k > 0 && best[sorted[k - 1]] > best[j]) {
			sorted[k] = sorted[k - 1];
			k--;
		}
		sorted[k] = (uint32_t)j;
	}
	bool ok = true;
	size_t next = 0;
	idom[0] = PC_DOM_NONE;
	for (uint32_t v = 1; v < n && ok; v++) {
		uint32_t up = idom[idom[v]];
		if (next < nbest && best[sorted[next]] == v) {
			outer[sorted[next]] = up;
			up = sorted[next++];
		}
		idom[v] = up;
		if (up == PC_DOM_NONE)
			continue;
		ok = acc_add(&acc[up], node_type(w, v - 1), 1, node_size(w, v - 1));
		acc[up].objects++;
	}
	/* inner suspects (numbered after their outer ones) first */
	for (size_t s = nbest; ok && s-- > 0;) {
		uint32_t j = sorted[s], o = outer[j];
		if (o == PC_DOM_NONE)
			continue;
		for (size_t k = 0; ok && k < acc[j].n; k++)
			ok = acc_add(&acc[o], acc[j].a[k].t, acc[j].a[k].count, acc[j].a[k].bytes);
		acc[o].objects += acc[j].objects;
	}
	free(sorted);
	free(outer);
	return ok;
}

/* Retained bytes in 4 bytes a node: a sum from RB_BIG up (a node that
 * keeps 4 GiB alive; few have one) is kept in a table of its own. */
#define RB_BIG UINT32_MAX
struct rbytes {
	uint32_t *small;
	uint32_t *key;       /* open addressing: node + 1, 0 empty */
	uint64_t *val;
	size_t nbig, cap;
	bool oom;
};

static uint64_t *rb_slot(struct rbytes *r, uint32_t v, bool make)
{
	if (make && (r->nbig + 1) * 2 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		uint32_t *k = calloc(cap, sizeof(*k));
		uint64_t *x = malloc(cap * sizeof(*x));
		if (!k || !x) {
			free(k);
			free(x);
			r->oom = true;
			return NULL;
		}
		for (size_t i = 0; i < r->cap; i++)
			if (r->key[i]) {
				size_t h = (r->key[i] * 2654435761u) & (cap - 1);
				while (k[h])
					h = (h + 1) & (cap - 1);
				k[h] = r->key[i];
				x[h] = r->val[i];
			}
		free(r->key);
		free(r->val);
		r->key = k;
		r->val = x;
		r->cap = cap;
	}
	if (!r->cap)
		return NULL;
	size_t h = ((v + 1) * 2654435761u) & (r->cap - 1);
	for (; r->key[h]; h = (h + 1) & (r->cap - 1))
		if (r->key[h] == v + 1)
			return &r->val[h];
	if (!make)
		return NULL;
	r->key[h] = v + 1;
	r->nbig++;
	return &r->val[h];
}

static uint64_t rb_get(struct rbytes *r, uint32_t v)
{
	if (r->small[v] != RB_BIG)
		return r->small[v];
	uint64_t *x = rb_slot(r, v, false);
	return x ? *x : 0;
}

static void rb_set(struct rbytes *r, uint32_t v, uint64_t b)
{
	if (b < RB_BIG) {
		r->small[v] = (uint32_t)b;
		return;
	}
	uint64_t *x = rb_slot(r, v, true);
	if (x) {
		*x = b;
		r->small[v] = RB_BIG;
	}
}

static void rb_free(struct rbytes *r)
{
	free(r->small);
	free(r->key);
	free(r->val);
}

/* The dominator tree under a virtual root (node 0) whose successors are
 * every root object; why node I is node I + 1. */
static bool dominate(struct pc_why *w)
{
	uint32_t n = (uint32_t)w->n + 1;
	if (w->n >= UINT32_MAX - 2 || w->noff >= UINT32_MAX)
		return false;
	if (!preds_sort(w))
		return false;
	struct pc_domgraph g = { n, w->parent, ROOT, w->odst, w->osrc, w->noff };
	uint32_t *idom = malloc((size_t)n * sizeof(*idom));
	uint8_t *reach = malloc(n);
	uint8_t *match = malloc(w->ntypes ? w->ntypes : 1);
	uint64_t *kept = calloc(w->rep.ntypes ? (size_t)w->rep.ntypes : 1, sizeof(*kept));
	bool ok = idom && reach && match && kept;
	if (ok)
		pc_dominators(&g, idom);
	if (ok)
		for (int t = 0; t < w->rep.ntypes; t++)
			if (w->rep.types[t].count)
				freed_by_type(w, &g, &w->rep.types[t], reach, match, &kept[t]);
	free(reach);
	free(match);
	free(w->osrc);
	free(w->odst);
	w->osrc = w->odst = NULL;
	w->noff = 0;
	/* retained bytes: each node's own size, added into its dominator's
	 * from the last node to the first (children first) */
	struct rbytes rb = { ok ? malloc((size_t)n * sizeof(*rb.small)) : NULL, NULL, NULL, 0, 0, false };
	uint32_t *best = ok ? calloc(w->top + 1, sizeof(*best)) : NULL;
	/* the retained bytes of BEST[J], largest first */
	uint64_t *bytes = ok ? calloc(w->top + 1, sizeof(*bytes)) : NULL;
	ok = ok && rb.small && best && bytes;
	size_t nbest = 0;
	if (ok) {
		rb.small[0] = 0;
		for (uint32_t i = 0; i < w->n; i++)
			rb_set(&rb, i + 1, node_size(w, i));
		for (uint32_t v = n; v-- > 1;)
			rb_set(&rb, idom[v], rb_get(&rb, idom[v]) + rb_get(&rb, v));
		ok = !rb.oom;
		w->rep.reachable_bytes = rb_get(&rb, 0);
		for (int t = 0; t < w->rep.ntypes; t++)
			if (w->rep.types[t].count && kept[t] != UINT64_MAX)
				w->rep.types[t].freed_bytes = w->rep.reachable_bytes - kept[t];
		/* the TOP largest dominated subtrees (the virtual root aside) */
		for (uint32_t v = 1; ok && v < n; v++) {
			uint64_t b = rb_get(&rb, v);
			size_t j = nbest < w->top ? nbest++ : w->top;
			if (j == w->top && b <= bytes[w->top - 1])
				continue;
			if (j == w->top)
				j = w->top - 1;
			while (j > 0 && bytes[j - 1] < b) {
				best[j] = best[j - 1];
				bytes[j] = bytes[j - 1];
				j--;
			}
			best[j] = v;
			bytes[j] = b;
		}
	}
	w->rep.suspects = ok ? calloc(nbest ? nbest : 1, sizeof(*w->rep.suspects)) : NULL;
	struct accs *acc = ok ? calloc(nbest ? nbest : 1, sizeof(*acc)) : NULL;
	ok = ok && w->rep.suspects && acc;
	rb_free(&rb);
	free(kept);
	ok = ok && retains_all(w, n, idom, best, nbest, acc);
	free(idom);
	for (size_t j = 0; ok && j < nbest; j++) {
		struct pc_why_suspect *t = &w->rep.suspects[w->rep.nsuspects];
		uint32_t v = best[j];
		const char *rootname;
		bool unrooted;
		if (!build_chain(w, v - 1, &t->path.chain, &t->path, &rootname, &unrooted))
			continue;
		t->path.root = strdup(rootname);
		t->addr = node_addr(w, v - 1);
		const char *tn = type_name(w, v - 1);
		t->type = pc_text_escape(tn, strlen(tn));
		t->bytes = bytes[j];
		retains_fill(t, &acc[j]);
		w->rep.nsuspects++;
	}
	for (size_t j = 0; acc && j < nbest; j++)
		free(acc[j].a);
	free(acc);
	free(bytes);
	w->rep.dominated = ok;
	free(best);
	return ok;
}

/* The nodes numbered by address, for find(): SEEN emptied of what was no
 * object and ranked (no address index kept while walking). */
static bool index_build(struct pc_why *w)
{
	pc_visited_clear(w->seen);
	for (size_t i = 0; i < w->n; i++)
		pc_visited_mark(w->seen, node_addr(w, i));
	if (!pc_visited_rank_build(w->seen))
		return false;
	w->rank2id = malloc((w->n ? w->n : 1) * sizeof(*w->rank2id));
	if (!w->rank2id)
		return false;
	for (size_t i = 0; i < w->n; i++)
		w->rank2id[pc_visited_rank(w->seen, node_addr(w, i))] = (uint32_t)i;
	return true;
}

/* The references kept while walking, to nodes now, less those along the
 * tree (a parent's reference to its child met again): the pairs are
 * made over in place, the addresses' array into the targets'. */
static bool off_tree(struct pc_why *w)
{
	uint32_t *dst = w->kpos;
	size_t k = 0, rd = 0, wr = 0;
	uint32_t src = 0, kept = 0;
	for (size_t j = 0; j < w->nk; j++) {
		uint32_t p = w->kpos[j];
		uint64_t a = w->chunk[p >> CHUNK_LOG] + (uint64_t)(p & ((1u << CHUNK_LOG) - 1)) * 8;
		src += kd_get(w->kd, &rd);
		uint32_t to = find(w, a);
		if (to == UINT32_MAX || w->parent[to] == src)
			continue;
		/* the increase since the last kept, written over what was read:
		 * a sum takes no more bytes than its parts */
		wr = kd_put(w->kd, wr, src - kept);
		kept = src;
		dst[k++] = to;
	}
	uint32_t *d = realloc(dst, (k ? k : 1) * sizeof(*d));
	w->odst = d ? d : dst;
	uint8_t *kd = realloc(w->kd, wr ? wr : 1);
	if (kd)
		w->kd = kd;
	w->nkd = wr;
	w->kpos = NULL;
	w->noff = k;
	w->nk = w->kcap = 0;
	return true;
}

/* dump's graph: each node's references to nodes, in order, read again. */
static bool edges_all(struct pc_why *w)
{
	w->eoff = malloc((w->n + 1) * sizeof(*w->eoff));
	if (!w->eoff)
		return false;
	w->rewalk = true;
	for (size_t i = 0; i < w->n && !w->oom; i++) {
		w->eoff[i] = (uint32_t)w->nedges;
		expand_node(w, i);
	}
	w->eoff[w->n] = (uint32_t)w->nedges;
	w->rewalk = false;
	return !w->oom;
}

struct pc_error *pc_why_on_copy(void *arg, struct pc_session *s, struct pc_py *py)
{
	struct pc_why *w = arg;
	w->py = py;
	w->R = s->referents;
#ifdef __GLIBC__
	/* the walk's arrays are made and freed in phases: each from its own
	 * mapping, given back when freed (a threshold raised by the
	 * census's frees would put them in the heap, kept when freed) */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
	w->seen = pc_visited_create(py->mem);
	if (!w->seen)
		return pc_error_nomem();
	/* sized for what the census counted (+1/8): no copying as they grow */
	size_t cur = 0;
	struct pc_type *ct;
	while ((ct = pc_typemap_next(py->types, &cur)))
		w->expect += ct->count + ct->hidden_count;
	w->expect += w->expect / 8;
	/* Roots first, in the order a reader looks for a holder: modules by
	 * name, sys and builtins, the threads' frames. */
	struct pc_gc_stats gs;
	memset(&gs, 0, sizeof(gs));
	pc_gc_walk(py, s->target.runtime, collect_gc, w, &gs, false);
	if (w->ngc)
		qsort(w->gc, w->ngc, sizeof(*w->gc), cmp_u64);
	uint64_t interps[PC_MAX_INTERPS];
	int ni = pc_interpreters(py, s->target.runtime, interps, PC_MAX_INTERPS);
	const struct pc_layout *L = py->L;
	for (int i = 0; i < ni && !w->oom; i++) {
		uint64_t d;
		if (pc_u64(py, interps[i] + (uint64_t)L->is_modules, &d) && d)
			pc_dict_foreach(py, d, module_root, w);
		/* a module's dict is also a frame's globals (and the locals
		 * of its module-level code): name it by the module */
		expand(w, w->n);
		if (pc_u64(py, interps[i] + (uint64_t)L->is_sysdict, &d) && d)
			add(w, d, root(w, "sys.__dict__"));
		if (pc_u64(py, interps[i] + (uint64_t)L->is_builtins, &d) && d)
			add(w, d, root(w, "builtins"));
		if (pc_u64(py, interps[i] + (uint64_t)L->is_modules, &d) && d)
			add(w, d, root(w, "sys.modules"));
		thread_roots(w, interps[i], false);
	}
	static_type_roots(w);
	expand(w, 0);
	/* Then what only a running frame's code, globals or stack holds, and
	 * the interned strings, as the reachable census counts them: late,
	 * so the paths above keep their roots. */
	for (int i = 0; i < ni && !w->oom; i++) {
		uint64_t d;
		thread_roots(w, interps[i], true);
		if (L->interned_model == PC_INTERNED_INTERP && pc_u64(py, interps[i] + (uint64_t)L->is_interned, &d) && d &&
		    !known(w, d))
			add(w, d, root(w, "interned strings"));
	}
	uint64_t interned;
	if (s->interned && pc_u64(py, s->interned, &interned) && interned && !known(w, interned))
		add(w, interned, root(w, "interned strings"));
	expand(w, 0);
	w->rep.rooted = w->n;
	/* then what no root reaches: first what nothing else unrooted holds
	 * (so a chain starts at its holder, not inside), then the cycles */
	unrooted_walk(w);
	w->rep.objects = w->n;
	if (w->toobig)
		return pc_error_new(PC_EXIT_FAILED, "why: the objects lie in more than %u GiB of mappings, more than "
				    "its 4-byte node addresses cover", (NCHUNKS << (CHUNK_LOG + 3)) >> 30);
	if (!w->on_graph) {
		free(w->gc);    /* only the walk's opaque scans (and dump) need it */
		w->gc = NULL;
		w->ngc = w->gccap = 0;
	}
	if (w->oom || !index_build(w) || (w->top && !off_tree(w)) || (w->on_graph && !edges_all(w)))
		return pc_error_nomem();
	/* `dump` takes the graph as walked */
	if (w->on_graph) {
		struct pc_why_graph g = {
			.py = py, .R = w->R, .n = w->n, .parent = w->parent,
			.eoff = w->eoff, .edges = w->edges, .nedges = w->nedges,
			.roots = w->roots, .nroots = w->nroots, .gc = w->gc, .ngc = w->ngc,
		};
		struct pc_error *err = w->on_graph(w->on_graph_arg, w, &g);
		if (err)
			return err;
		free(w->eoff);
		free(w->edges);
		w->eoff = w->edges = NULL;
		w->nedges = w->ecap = 0;
	}
	free(w->gc);    /* only the walk's opaque scans (and dump) needed it */
	w->gc = NULL;
	w->ngc = w->gccap = 0;
	/* no address is looked up from here on */
	free(w->rank2id);
	w->rank2id = NULL;
	pc_visited_destroy(w->seen);
	w->seen = NULL;
	w->label = calloc(w->n ? w->n : 1, sizeof(*w->label));
	if (!w->label)
		return pc_error_nomem();
	for (uint32_t i = 0; i < w->n; i++) {
		struct pc_type *t = node_type(w, i);
		if (!t)
			continue;
		for (int k = 0; k < w->rep.ntypes; k++) {
			struct pc_why_type *wt = &w->rep.types[k];
			if (strcmp(t->name, wt->name))
				continue;
			uint64_t size = 0;
			pc_sizeof(py, node_addr(w, i), t, &size);
			wt->count++;
			wt->bytes += size;
			if (i >= w->rep.rooted)
				wt->unrooted++;
			path_of(w, k, i);
		}
	}
	index_free(w);
#ifdef __GLIBC__
	/* the labels were many small strings: give their pages back before
	 * the dominators' arrays are made */
	malloc_trim(0);
#endif
	if (w->top && !dominate(w))
		return pc_error_nomem();
	for (int k = 0; k < w->rep.ntypes; k++)
		if (w->rep.types[k].nshapes > 1)
			qsort(w->rep.types[k].shapes, w->rep.types[k].nshapes, sizeof(struct pc_why_shape), by_count);
	graph_free(w);
	return NULL;
}

void pc_why_on_graph(struct pc_why *w, pc_why_graph_fn fn, void *arg)
{
	w->on_graph = fn;
	w->on_graph_arg = arg;
}

uint64_t pc_why_addr(const struct pc_why *w, uint32_t i)
{
	return node_addr(w, i);
}

uint32_t pc_why_node(const struct pc_why *w, uint64_t addr)
{
	return find(w, addr);
}

char *pc_why_label(struct pc_why *w, const struct pc_edge_label *l)
{
	return fmt_label(w, l);
}

