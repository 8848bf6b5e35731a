#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "dominators.h"
#include "gcwalk.h"
#include "memlimit.h"
#include "referents.h"
#include "sizeof.h"
#include "text.h"
#include "types.h"
#include "why.h"

/* parent[] holds a node index, or ROOT + the index of a root label. */
#define ROOT PC_WHY_ROOT
#define MAX_HOPS 64

struct shape {
	char *key;          /* the chain, item indices and str keys as '*': the grouping */
	char *chain;        /* the first sample's chain; the key once samples differ */
	json_object *hops;  /* [{label, type}] */
	char *root;
	uint64_t count, sample;
	bool unrooted;
};

struct retains {
	const char *name;    /* the census's type name (lives as long as the type map) */
	char *own;
	uint64_t count, bytes;
};

/* An object dominating much: what freeing it alone frees. */
struct suspect {
	uint64_t addr;
	char *type, *chain, *root;
	json_object *hops;
	uint64_t bytes, objects;
	struct retains by[5];
	int nby;
};

struct want {
	const char *name;
	uint64_t count, bytes, unrooted;
	uint64_t freed_bytes, freed_objects;  /* freeing all its instances frees */
	struct shape *shapes;
	size_t nshapes, cap;
	uint32_t *index;     /* open addressing over shapes by key: shape + 1 */
	size_t nindex;
};

struct pc_why {
	struct want *want;
	int nwant;
	size_t max_shapes;
	/* the graph walk */
	struct pc_py *py;
	const struct pc_referents *R;
	uint64_t *addr;
	uint32_t *parent;
	size_t n, cap;
	uint32_t *slot;      /* open addressing: node index + 1, 0 empty */
	size_t nslot;
	char **roots;
	size_t nroots, rootcap;
	uint32_t cur;        /* the node whose references are being added */
	bool oom;
	char **label;        /* at output: the hop into each node, lazily */
	uint64_t nodes, rooted;
	uint32_t unrooted;   /* the root label of objects no root reaches */
	/* edges, for the dominators: node I's successors are
	 * edges[eoff[I]..eoff[I+1]) (nodes are expanded in order, once) */
	uint32_t *eoff, *edges;
	size_t nedges, ecap, expanded;
	/* results */
	size_t top;
	struct suspect *suspects;
	size_t nsuspects;
	uint64_t total_bytes;
	bool dominated;      /* the dominator tree was built */
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
	w->want = calloc(nnames ? (size_t)nnames : 1, sizeof(*w->want));  /* none: dump */
	if (!w->want) {
		free(w);
		return NULL;
	}
	for (int i = 0; i < nnames; i++)
		w->want[i].name = names[i];
	w->nwant = nnames;
	w->max_shapes = max_shapes;
	w->top = top;
	return w;
}

static void graph_free(struct pc_why *w)
{
	if (w->label)
		for (size_t i = 0; i < w->n; i++)
			free(w->label[i]);
	free(w->label);
	free(w->gc);
	w->gc = NULL;
	w->ngc = w->gccap = 0;
	free(w->eoff);
	free(w->edges);
	w->eoff = w->edges = NULL;
	w->nedges = w->ecap = w->expanded = 0;
	free(w->addr);
	free(w->parent);
	free(w->slot);
	for (size_t i = 0; i < w->nroots; i++)
		free(w->roots[i]);
	free(w->roots);
	w->label = NULL;
	w->addr = NULL;
	w->parent = NULL;
	w->slot = NULL;
	w->roots = NULL;
	w->n = w->cap = w->nslot = w->nroots = w->rootcap = 0;
}

void pc_why_destroy(struct pc_why *w)
{
	if (!w)
		return;
	graph_free(w);
	for (int i = 0; i < w->nwant; i++) {
		for (size_t j = 0; j < w->want[i].nshapes; j++) {
			struct shape *s = &w->want[i].shapes[j];
			free(s->key);
			free(s->chain);
			free(s->root);
			json_object_put(s->hops);
		}
		free(w->want[i].shapes);
		free(w->want[i].index);
	}
	free(w->want);
	for (size_t i = 0; i < w->nsuspects; i++) {
		struct suspect *t = &w->suspects[i];
		free(t->type);
		free(t->chain);
		free(t->root);
		json_object_put(t->hops);
		for (int k = 0; k < t->nby; k++)
			free(t->by[k].own);
	}
	free(w->suspects);
	free(w);
}

static size_t hash(uint64_t a, size_t mask)
{
	return (size_t)((a >> 3) * 0x9E3779B97F4A7C15ull >> 20) & mask;
}

static uint32_t find(const struct pc_why *w, uint64_t a)
{
	if (!w->nslot)
		return UINT32_MAX;
	size_t mask = w->nslot - 1;
	for (size_t h = hash(a, mask);; h = (h + 1) & mask) {
		uint32_t s = w->slot[h];
		if (!s)
			return UINT32_MAX;
		if (w->addr[s - 1] == a)
			return s - 1;
	}
}

static bool grow(struct pc_why *w)
{
	if (w->n + 1 >= w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 65536;
		uint64_t *a = realloc(w->addr, cap * sizeof(*a));
		if (!a)
			return false;
		w->addr = a;
		uint32_t *p = realloc(w->parent, cap * sizeof(*p));
		if (!p)
			return false;
		w->parent = p;
		p = realloc(w->eoff, (cap + 1) * sizeof(*p));
		if (!p)
			return false;
		w->eoff = p;
		w->cap = cap;
	}
	if ((w->n + 1) * 2 > w->nslot) {
		size_t ns = w->nslot ? w->nslot * 2 : 131072;
		uint32_t *s = calloc(ns, sizeof(*s));
		if (!s)
			return false;
		free(w->slot);
		w->slot = s;
		w->nslot = ns;
		for (size_t i = 0; i < w->n; i++) {
			size_t h = hash(w->addr[i], ns - 1);
			while (s[h])
				h = (h + 1) & (ns - 1);
			s[h] = (uint32_t)i + 1;
		}
	}
	return true;
}

/* Add ADDR reached from PARENT unless known or not an object; its node
 * (UINT32_MAX: none). */
static uint32_t add(struct pc_why *w, uint64_t a, uint32_t parent)
{
	if (!a || (a & 7) || w->oom)
		return UINT32_MAX;
	uint32_t known = find(w, a);
	if (known != UINT32_MAX)
		return known;
	if (!pc_type_of(w->py, a))
		return UINT32_MAX;
	if (w->n >= ROOT - 1 || !grow(w)) {
		w->oom = true;
		return UINT32_MAX;
	}
	size_t h = hash(a, w->nslot - 1);
	while (w->slot[h])
		h = (h + 1) & (w->nslot - 1);
	w->slot[h] = (uint32_t)w->n + 1;
	w->addr[w->n] = a;
	w->parent[w->n] = parent;
	return (uint32_t)w->n++;
}

/* An edge from the node being expanded to ADDR. */
static void edge_to(struct pc_why *w, uint64_t a)
{
	uint32_t to = add(w, a, w->cur);
	if (to == UINT32_MAX || w->oom)
		return;
	if (w->nedges == w->ecap) {
		size_t cap = w->ecap ? w->ecap * 2 : 262144;
		uint32_t *e = realloc(w->edges, cap * sizeof(*e));
		if (!e) {
			w->oom = true;
			return;
		}
		w->edges = e;
		w->ecap = cap;
	}
	w->edges[w->nedges++] = to;
}

static uint32_t root(struct pc_why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static uint32_t root(struct pc_why *w, const char *fmt, ...)
{
	if (w->nroots == w->rootcap) {
		size_t cap = w->rootcap ? w->rootcap * 2 : 256;
		char **r = realloc(w->roots, cap * sizeof(*r));
		if (!r) {
			w->oom = true;
			return ROOT;
		}
		w->roots = r;
		w->rootcap = cap;
	}
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

static bool on_gc_lists(const struct pc_why *w, uint64_t a)
{
	size_t lo = 0, hi = w->ngc;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->gc[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->ngc && w->gc[lo] == a;
}

static bool collect_gc(void *arg, uint64_t obj)
{
	struct pc_why *w = arg;
	if (w->ngc == w->gccap) {
		size_t cap = w->gccap ? w->gccap * 2 : 65536;
		uint64_t *g = realloc(w->gc, cap * sizeof(*g));
		if (!g) {
			w->oom = true;
			return false;
		}
		w->gc = g;
		w->gccap = cap;
	}
	w->gc[w->ngc++] = obj;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* An object pycensus cannot follow: any word of its fixed part that is a
 * GC object's address is taken as a reference (labelled opaque), so what
 * only it holds is said to be held by it, not unrooted. */
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
		if (!on_gc_lists(w, v))
			continue;
		struct pc_type *vt = pc_type_of(w->py, v);
		if (vt && vt->kind != PK_TYPE)
			edge_to(w, v);
	}
}

/* References of the nodes not yet expanded, in order (breadth first):
 * those before TO, or (TO 0) all, those found meanwhile included. */
static void expand(struct pc_why *w, size_t to)
{
	size_t i;
	for (i = w->expanded; i < (to ? to : w->n) && !w->oom; i++) {
		w->eoff[i] = (uint32_t)w->nedges;
		struct pc_type *t = pc_type_of(w->py, w->addr[i]);
		if (!t)
			continue;
		w->cur = (uint32_t)i;
		if (pc_referents_labelled(w->py, w->R, w->addr[i], t, on_ref, w) & PC_REF_OPAQUE)
			scan_opaque(w, w->addr[i], t);
	}
	w->expanded = i;
	w->eoff[i] = (uint32_t)w->nedges;
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
	if (!str_of(w->py, key, name, sizeof(name)) || find(w, value) != UINT32_MAX)
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
	int thread, depth;
	uint64_t code;
	char func[128];
	bool rest;           /* the late pass: the frame's other references */
};

static void frame_ref(void *arg, uint64_t ref, bool hidden, const struct pc_edge_label *l)
{
	(void)hidden;
	struct frame_root *f = arg;
	struct pc_why *w = f->w;
	if (!ref || (ref & 7) || find(w, ref) != UINT32_MAX || !pc_type_of(w->py, ref))
		return;
	char name[128];
	if (l->kind == PC_EDGE_INDEX) {
		if (!local_name(w->py, f->code, l->i, name, sizeof(name)))
			snprintf(name, sizeof(name), "#%lld", (long long)l->i);
		char *esc = pc_text_escape(name, strlen(name));
		add(w, ref, root(w, "thread %d frame %d %s local %s", f->thread, f->depth, f->func, esc ? esc : "?"));
		free(esc);
	} else if (l->kind == PC_EDGE_FIELD && l->a && !strcmp((const char *)(uintptr_t)l->a, "f_locals")) {
		add(w, ref, root(w, "thread %d frame %d %s f_locals", f->thread, f->depth, f->func));
	} else if (f->rest) {
		char *lab = fmt_label(w, l);
		add(w, ref, root(w, "thread %d frame %d %s %s", f->thread, f->depth, f->func, lab ? lab : "?"));
		free(lab);
	}
}

static void frame_start(struct pc_why *w, struct frame_root *f, uint64_t code)
{
	f->code = code;
	char name[100];
	uint64_t n = code ? code_member(w->py, code, "co_name") : 0;
	if (!n || !str_of(w->py, n, name, sizeof(name)))
		snprintf(name, sizeof(name), "?");
	char *esc = pc_text_escape(name, strlen(name));
	snprintf(f->func, sizeof(f->func), "%s", esc ? esc : "?");
	free(esc);
}

/* Each thread's frames, innermost first: their locals are roots named by
 * thread (its place in the interpreter's list, newest first), frame depth,
 * function and local name. */
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
		uint64_t frame = 0, code = 0;
		struct frame_root f = { w, nt, 0, 0, "", rest };
		frame = pc_thread_frame(py, ts);
		if (L->thread_frame == PC_TF_FRAME) {
			for (int nf = 0; frame && nf < 100000 && f_back >= 0; nf++) {
				struct pc_type *t = pc_type_of(py, frame);
				if (!t || !pc_u64(py, frame + (uint64_t)L->f_code, &code))
					break;
				f.depth = nf;
				frame_start(w, &f, code);
				pc_referents_labelled(py, w->R, frame, t, frame_ref, &f);
				if (!rest && find(w, frame) == UINT32_MAX)
					add(w, frame, root(w, "thread %d frame %d %s", nt, nf, f.func));
				if (!pc_u64(py, frame + (uint64_t)f_back, &frame))
					break;
			}
		} else {
			/* the chain loops only on damage: bounded by NF */
			for (int nf = 0; frame && nf < 100000; nf++) {
				f.depth = nf;
				if (!pc_u64(py, frame + (uint64_t)L->iframe_code, &code))
					break;
				frame_start(w, &f, code);
				pc_referents_iframe_labelled(py, w->R, frame, frame_ref, &f, nf == 0);
				if (!pc_u64(py, frame + (uint64_t)L->iframe_previous, &frame))
					break;
			}
		}
		if (!pc_u64(py, ts + (uint64_t)L->ts_next, &ts))
			break;
	}
}

static bool gc_obj(void *arg, uint64_t obj)
{
	struct pc_why *w = arg;
	if (find(w, obj) == UINT32_MAX) {
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
	case PC_EDGE_OTHER:
		break;
	}
	return strdup("<ref>");
}

static void label_ref(void *arg, uint64_t ref, bool hidden, const struct pc_edge_label *l)
{
	(void)hidden;
	struct pc_why *w = arg;
	uint32_t i = find(w, ref);
	if (i != UINT32_MAX && w->parent[i] == w->cur && !w->label[i])
		w->label[i] = fmt_label(w, l);
}

/* The hop into node I: its parent's references, labelled once for all
 * of that parent's children. */
static const char *hop(struct pc_why *w, uint32_t i)
{
	uint32_t p = w->parent[i];
	if (!w->label[i] && p < ROOT) {
		struct pc_type *t = pc_type_of(w->py, w->addr[p]);
		w->cur = p;
		if (t)
			pc_referents_labelled(w->py, w->R, w->addr[p], t, label_ref, w);
		if (!w->label[i]) {
			char *s = NULL;
			w->label[i] = asprintf(&s, "<opaque %s>", t ? t->name : "?") < 0 ? NULL : s;
		}
	}
	return w->label[i] ? w->label[i] : "?";
}

static const char *type_name(struct pc_why *w, uint32_t i)
{
	struct pc_type *t = pc_type_of(w->py, w->addr[i]);
	return t ? t->name : "?";
}

static void append(char **s, size_t *len, const char *add)
{
	size_t n = strlen(add);
	char *r = realloc(*s, *len + n + 1);
	if (!r)
		return;
	memcpy(r + *len, add, n + 1);
	*s = r;
	*len += n;
}

/* The shortest path to node I: its chain (as the table prints it), its
 * hops (JSON), its root's name and whether that is "unrooted". */
static bool build_chain(struct pc_why *w, uint32_t i, char **textp, json_object **hopsp, const char **rootp,
			bool *unrootedp)
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
	char *key = NULL, *text = NULL;
	size_t klen = 0, tlen = 0;
	/* the root's own name matters only for modules and sys: per-frame
	 * and per-local labels would split shapes by address-like detail */
	append(&key, &klen, rootname);
	append(&text, &tlen, rootname);
	json_object *hops = hopsp ? json_object_new_array() : NULL;
	/* Hops as a Python programmer writes them: an attribute held in a
	 * __dict__ (an instance's or a module's) is .name, the dict not shown;
	 * a module root is not followed by "(module)". */
	bool modroot = !strncmp(rootname, "module ", 7);
	for (int k = n - 1; k >= 0; k--) {
		char merged[300];
		const char *lab = k == n - 1 ? "" : hop(w, chain[k]);
		const char *tn = type_name(w, chain[k]);
		struct pc_type *t = pc_type_of(w->py, w->addr[chain[k]]);
		struct pc_type *pt = k < n - 1 ? pc_type_of(w->py, w->addr[chain[k + 1]]) : NULL;
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
		char *esc = pc_text_escape(tn, strlen(tn));
		if (*lab) {
			append(&key, &klen, " ");
			append(&key, &klen, lab);
			append(&text, &tlen, " ");
			append(&text, &tlen, lab);
		}
		if (!(modroot && k == n - 1)) {
			append(&key, &klen, " (");
			append(&key, &klen, esc ? esc : "?");
			append(&key, &klen, ")");
			append(&text, &tlen, " (");
			append(&text, &tlen, esc ? esc : "?");
			append(&text, &tlen, ")");
		}
		if (hops) {
			json_object *h = json_object_new_object();
			json_object_object_add(h, "label", json_object_new_string(lab));
			json_object_object_add(h, "type", json_object_new_string(esc ? esc : "?"));
			char addr[24];
			snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)w->addr[chain[k]]);
			json_object_object_add(h, "address", json_object_new_string(addr));
			json_object_array_add(hops, h);
		}
		free(esc);
	}
	free(key);
	if (!text) {
		json_object_put(hops);
		return false;
	}
	*textp = text;
	if (hopsp)
		*hopsp = hops;
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
	char *k = malloc(n + 1), *o = k;
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
static struct shape *shape_for(struct want *wt, const char *key, bool *fresh)
{
	if ((wt->nshapes + 1) * 2 > wt->nindex) {
		size_t ni = wt->nindex ? wt->nindex * 2 : 64;
		uint32_t *ix = calloc(ni, sizeof(*ix));
		if (!ix)
			return NULL;
		for (size_t s = 0; s < wt->nshapes; s++) {
			size_t h = str_hash(wt->shapes[s].key) & (ni - 1);
			while (ix[h])
				h = (h + 1) & (ni - 1);
			ix[h] = (uint32_t)s + 1;
		}
		free(wt->index);
		wt->index = ix;
		wt->nindex = ni;
	}
	size_t h = str_hash(key) & (wt->nindex - 1);
	for (; wt->index[h]; h = (h + 1) & (wt->nindex - 1))
		if (!strcmp(wt->shapes[wt->index[h] - 1].key, key)) {
			*fresh = false;
			return &wt->shapes[wt->index[h] - 1];
		}
	if (wt->nshapes == wt->cap) {
		size_t cap = wt->cap ? wt->cap * 2 : 16;
		struct shape *sh = realloc(wt->shapes, cap * sizeof(*sh));
		if (!sh)
			return NULL;
		wt->shapes = sh;
		wt->cap = cap;
	}
	wt->index[h] = (uint32_t)wt->nshapes + 1;
	*fresh = true;
	struct shape *s = &wt->shapes[wt->nshapes++];
	memset(s, 0, sizeof(*s));
	return s;
}

static void path_of(struct pc_why *w, struct want *wt, uint32_t i)
{
	char *text;
	json_object *hops;
	const char *rootname;
	bool unrooted, fresh;
	/* the JSON hops only for a new shape: most instances share one */
	if (!build_chain(w, i, &text, NULL, &rootname, &unrooted))
		return;
	char *key = shape_key(text);
	struct shape *s = key ? shape_for(wt, key, &fresh) : NULL;
	if (!s || !fresh) {
		if (s) {
			s->count++;
			if (strcmp(s->chain, text) && strcmp(s->chain, s->key)) {
				/* samples differ: show what they share */
				free(s->chain);
				s->chain = strdup(s->key);
			}
		}
		free(key);
		free(text);
		return;
	}
	free(text);
	if (!build_chain(w, i, &text, &hops, &rootname, &unrooted)) {
		/* keep the shape, counted, its hops empty */
		text = strdup(key);
		hops = json_object_new_array();
	}
	s->key = key;
	s->chain = text;
	s->hops = hops;
	s->root = strdup(rootname);
	s->count = 1;
	s->sample = w->addr[i];
	s->unrooted = unrooted;
}

static int by_count(const void *a, const void *b)
{
	const struct shape *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->key, y->key);
}

/* ---- dominators ---- */

/* What freeing every node of type T would free: the nodes the virtual
 * root no longer reaches when those are removed. */
static void freed_by_type(struct pc_why *w, const struct pc_domgraph *g, const uint64_t *size, struct want *wt,
			  uint8_t *seen, uint32_t *queue)
{
	memset(seen, 0, g->n);
	uint32_t head = 0, tail = 0;
	uint64_t bytes = 0, objects = 0;
	seen[0] = 1;
	queue[tail++] = 0;
	while (head < tail) {
		uint32_t v = queue[head++];
		for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++) {
			uint32_t s = g->succ[e];
			if (seen[s])
				continue;
			seen[s] = 1;
			struct pc_type *t = pc_type_of(w->py, w->addr[s - 1]);
			if (t && !strcmp(t->name, wt->name))
				continue;
			bytes += size[s];
			objects++;
			queue[tail++] = s;
		}
	}
	uint64_t all = 0;
	for (uint32_t v = 1; v < g->n; v++)
		all += size[v];
	wt->freed_bytes = all - bytes;
	wt->freed_objects = (g->n - 1) - objects;
}

/* What node V's dominator subtree holds, by type: the largest few. */
static void retains_of(struct pc_why *w, struct suspect *t, uint32_t v, const uint32_t *coff, const uint32_t *kids,
		       const uint64_t *size, uint32_t *stack)
{
	struct acc { struct pc_type *t; uint64_t count, bytes; } *acc = NULL;
	size_t nacc = 0, cap = 0;
	uint32_t sp = 0;
	stack[sp++] = v;
	while (sp) {
		uint32_t x = stack[--sp];
		struct pc_type *ty = pc_type_of(w->py, w->addr[x - 1]);
		size_t k;
		for (k = 0; k < nacc && acc[k].t != ty; k++)
			;
		if (k == nacc) {
			if (nacc == cap) {
				cap = cap ? cap * 2 : 32;
				struct acc *a = realloc(acc, cap * sizeof(*a));
				if (!a)
					break;
				acc = a;
			}
			acc[nacc++] = (struct acc){ ty, 0, 0 };
		}
		acc[k].count++;
		acc[k].bytes += size[x];
		for (uint32_t e = coff[x]; e < coff[x + 1]; e++)
			stack[sp++] = kids[e];
	}
	for (int r = 0; r < 5; r++) {
		size_t best = nacc;
		for (size_t k = 0; k < nacc; k++)
			if (acc[k].t && (best == nacc || acc[k].bytes > acc[best].bytes))
				best = k;
		if (best == nacc)
			break;
		const char *name = acc[best].t ? acc[best].t->name : "?";
		t->by[t->nby].own = pc_text_escape(name, strlen(name));
		t->by[t->nby].count = acc[best].count;
		t->by[t->nby].bytes = acc[best].bytes;
		t->nby++;
		acc[best].t = NULL;
	}
	free(acc);
}

/* The dominator tree under a virtual root (node 0) whose successors are
 * every root object; why node I is node I + 1. */
static bool dominate(struct pc_why *w)
{
	uint32_t n = (uint32_t)w->n + 1;
	uint32_t nroot = 0;
	for (size_t i = 0; i < w->n; i++)
		nroot += w->parent[i] >= ROOT;
	uint64_t m = (uint64_t)nroot + w->nedges;
	if (m >= UINT32_MAX)
		return false;
	uint32_t *off = malloc(((size_t)n + 1) * sizeof(*off));
	uint32_t *succ = malloc((m ? m : 1) * sizeof(*succ));
	uint32_t *idom = malloc((size_t)n * sizeof(*idom));
	uint32_t *order = malloc((size_t)n * sizeof(*order));
	uint64_t *size = calloc(n, sizeof(*size));
	uint64_t *rb = calloc(n, sizeof(*rb));
	uint32_t *ro = calloc(n, sizeof(*ro));
	bool ok = off && succ && idom && order && size && rb && ro;
	uint32_t norder = 0;
	struct pc_domgraph g = { n, off, succ };
	if (ok) {
		uint32_t k = 0;
		off[0] = 0;
		for (size_t i = 0; i < w->n; i++)
			if (w->parent[i] >= ROOT)
				succ[k++] = (uint32_t)i + 1;
		for (size_t i = 0; i < w->n; i++) {
			off[i + 1] = k;
			/* a node never expanded (out of memory) has no edges */
			uint32_t e0 = i < w->expanded ? w->eoff[i] : 0, e1 = i < w->expanded ? w->eoff[i + 1] : 0;
			for (uint32_t e = e0; e < e1; e++)
				succ[k++] = w->edges[e] + 1;
		}
		off[n] = k;
		for (size_t i = 0; i < w->n; i++) {
			struct pc_type *t = pc_type_of(w->py, w->addr[i]);
			if (t)
				pc_sizeof(w->py, w->addr[i], t, &size[i + 1]);
		}
		ok = pc_dominators(&g, idom, order, &norder);
	}
	if (ok) {
		for (uint32_t v = 0; v < n; v++) {
			rb[v] = size[v];
			ro[v] = 1;
		}
		/* a node's dominator comes before it in reverse postorder */
		for (uint32_t i = norder; i-- > 1;) {
			uint32_t v = order[i];
			rb[idom[v]] += rb[v];
			ro[idom[v]] += ro[v];
		}
		w->total_bytes = rb[0];
		uint8_t *seen = malloc(n);
		uint32_t *queue = malloc((size_t)n * sizeof(*queue));
		if (seen && queue)
			for (int k = 0; k < w->nwant; k++)
				if (w->want[k].count)
					freed_by_type(w, &g, size, &w->want[k], seen, queue);
		free(seen);
		/* the TOP largest dominated subtrees (the virtual root aside) */
		uint32_t *best = calloc(w->top + 1, sizeof(*best));
		size_t nbest = 0;
		for (uint32_t i = 1; best && i < norder; i++) {
			uint32_t v = order[i];
			size_t j = nbest < w->top ? nbest++ : w->top;
			if (j == w->top && rb[v] <= rb[best[w->top - 1]])
				continue;
			if (j == w->top)
				j = w->top - 1;
			while (j > 0 && rb[best[j - 1]] < rb[v]) {
				best[j] = best[j - 1];
				j--;
			}
			best[j] = v;
		}
		/* children lists of the dominator tree, for what each retains */
		uint32_t *coff = calloc((size_t)n + 1, sizeof(*coff));
		uint32_t *kids = malloc((size_t)n * sizeof(*kids));
		w->suspects = calloc(nbest ? nbest : 1, sizeof(*w->suspects));
		if (best && coff && kids && queue && w->suspects) {
			for (uint32_t i = 1; i < norder; i++)
				coff[idom[order[i]] + 1]++;
			for (uint32_t v = 0; v < n; v++)
				coff[v + 1] += coff[v];
			uint32_t *at = order;  /* reused: the order is no longer needed below */
			uint32_t *fill = malloc((size_t)n * sizeof(*fill));
			if (fill) {
				memcpy(fill, coff, (size_t)n * sizeof(*fill));
				for (uint32_t i = 1; i < norder; i++)
					kids[fill[idom[at[i]]]++] = at[i];
				free(fill);
				for (size_t j = 0; j < nbest; j++) {
					struct suspect *t = &w->suspects[w->nsuspects];
					uint32_t v = best[j];
					const char *rootname;
					bool unrooted;
					if (!build_chain(w, v - 1, &t->chain, &t->hops, &rootname, &unrooted))
						continue;
					t->root = strdup(rootname);
					t->addr = w->addr[v - 1];
					const char *tn = type_name(w, v - 1);
					t->type = pc_text_escape(tn, strlen(tn));
					t->bytes = rb[v];
					t->objects = ro[v];
					retains_of(w, t, v, coff, kids, size, queue);
					w->nsuspects++;
				}
			}
		}
		free(best);
		free(coff);
		free(kids);
		free(queue);
		w->dominated = true;
	}
	free(off);
	free(succ);
	free(idom);
	free(order);
	free(size);
	free(rb);
	free(ro);
	return ok;
}

struct pc_error *pc_why_on_copy(void *arg, struct pc_session *s, struct pc_py *py)
{
	struct pc_why *w = arg;
	w->py = py;
	w->R = s->referents;
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
	expand(w, 0);
	/* Then what only a running frame's code, globals or stack holds, and
	 * the interned strings, as the reachable census counts them: late,
	 * so the paths above keep their roots. */
	for (int i = 0; i < ni && !w->oom; i++) {
		uint64_t d;
		thread_roots(w, interps[i], true);
		if (L->is_interned >= 0 && pc_u64(py, interps[i] + (uint64_t)L->is_interned, &d) && d &&
		    find(w, d) == UINT32_MAX)
			add(w, d, root(w, "interned strings"));
	}
	uint64_t interned;
	if (s->interned && pc_u64(py, s->interned, &interned) && interned && find(w, interned) == UINT32_MAX)
		add(w, interned, root(w, "interned strings"));
	expand(w, 0);
	w->rooted = w->n;
	/* then what no root reaches, in address order */
	for (size_t i = 0; i < w->ngc && !w->oom; i++)
		gc_obj(w, w->gc[i]);
	w->nodes = w->n;
	if (w->oom)
		return pc_error_nomem();
	w->label = calloc(w->n ? w->n : 1, sizeof(*w->label));
	if (!w->label)
		return pc_error_nomem();
	for (uint32_t i = 0; i < w->n; i++) {
		struct pc_type *t = pc_type_of(py, w->addr[i]);
		if (!t)
			continue;
		for (int k = 0; k < w->nwant; k++) {
			struct want *wt = &w->want[k];
			if (strcmp(t->name, wt->name))
				continue;
			uint64_t size = 0;
			pc_sizeof(py, w->addr[i], t, &size);
			wt->count++;
			wt->bytes += size;
			if (i >= w->rooted)
				wt->unrooted++;
			path_of(w, wt, i);
		}
	}
	if (w->top && !dominate(w))
		return pc_error_nomem();
	if (w->on_graph) {
		struct pc_why_graph g = {
			.py = py, .R = w->R, .n = w->n, .addr = w->addr, .parent = w->parent,
			.eoff = w->eoff, .edges = w->edges, .nedges = w->nedges,
			.roots = w->roots, .nroots = w->nroots, .gc = w->gc, .ngc = w->ngc,
		};
		struct pc_error *err = w->on_graph(w->on_graph_arg, w, &g);
		if (err)
			return err;
	}
	for (int k = 0; k < w->nwant; k++)
		if (w->want[k].nshapes)  /* none: shapes is NULL, which qsort may not take */
			qsort(w->want[k].shapes, w->want[k].nshapes, sizeof(struct shape), by_count);
	graph_free(w);
	return NULL;
}

void pc_why_on_graph(struct pc_why *w, pc_why_graph_fn fn, void *arg)
{
	w->on_graph = fn;
	w->on_graph_arg = arg;
}

uint32_t pc_why_node(const struct pc_why *w, uint64_t addr)
{
	return find(w, addr);
}

char *pc_why_label(struct pc_why *w, const struct pc_edge_label *l)
{
	return fmt_label(w, l);
}

/* ---- output ---- */

static int print_json(FILE *f, const struct pc_why *w, const struct pc_census *c)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_int(c->pid));
	json_object_object_add(o, "time", json_object_new_string(c->time));
	json_object_object_add(o, "pause_us", json_object_new_int64((int64_t)c->pause_us));
	json_object_object_add(o, "objects", json_object_new_int64((int64_t)w->nodes));
	json_object_object_add(o, "rooted_objects", json_object_new_int64((int64_t)w->rooted));
	json_object *types = json_object_new_array();
	for (int k = 0; k < w->nwant; k++) {
		const struct want *wt = &w->want[k];
		json_object *t = json_object_new_object();
		char *esc = pc_text_escape(wt->name, strlen(wt->name));
		json_object_object_add(t, "type", json_object_new_string(esc ? esc : "?"));
		free(esc);
		json_object_object_add(t, "count", json_object_new_int64((int64_t)wt->count));
		json_object_object_add(t, "bytes", json_object_new_int64((int64_t)wt->bytes));
		json_object_object_add(t, "unrooted", json_object_new_int64((int64_t)wt->unrooted));
		if (w->dominated) {
			json_object_object_add(t, "freed_bytes", json_object_new_int64((int64_t)wt->freed_bytes));
			json_object_object_add(t, "freed_objects", json_object_new_int64((int64_t)wt->freed_objects));
		}
		json_object *shapes = json_object_new_array();
		for (size_t i = 0; i < wt->nshapes && (!w->max_shapes || i < w->max_shapes); i++) {
			const struct shape *s = &wt->shapes[i];
			json_object *js = json_object_new_object();
			char addr[24];
			snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)s->sample);
			json_object_object_add(js, "count", json_object_new_int64((int64_t)s->count));
			json_object_object_add(js, "root", json_object_new_string(s->root));
			json_object_object_add(js, "unrooted", json_object_new_boolean(s->unrooted));
			json_object_object_add(js, "sample", json_object_new_string(addr));
			json_object_object_add(js, "chain", json_object_new_string(s->chain));
			json_object_object_add(js, "path", json_object_get(s->hops));
			json_object_array_add(shapes, js);
		}
		json_object_object_add(t, "shapes", shapes);
		json_object_array_add(types, t);
	}
	json_object_object_add(o, "types", types);
	if (w->dominated) {
		json_object *top = json_object_new_array();
		for (size_t i = 0; i < w->nsuspects; i++) {
			const struct suspect *t = &w->suspects[i];
			json_object *js = json_object_new_object();
			char addr[24];
			snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)t->addr);
			json_object_object_add(js, "address", json_object_new_string(addr));
			json_object_object_add(js, "type", json_object_new_string(t->type ? t->type : "?"));
			json_object_object_add(js, "retained_bytes", json_object_new_int64((int64_t)t->bytes));
			json_object_object_add(js, "retained_objects", json_object_new_int64((int64_t)t->objects));
			json_object_object_add(js, "root", json_object_new_string(t->root ? t->root : "?"));
			json_object_object_add(js, "chain", json_object_new_string(t->chain));
			json_object_object_add(js, "path", json_object_get(t->hops));
			json_object *by = json_object_new_array();
			for (int k = 0; k < t->nby; k++) {
				json_object *b = json_object_new_object();
				json_object_object_add(b, "type", json_object_new_string(t->by[k].own ? t->by[k].own : "?"));
				json_object_object_add(b, "count", json_object_new_int64((int64_t)t->by[k].count));
				json_object_object_add(b, "bytes", json_object_new_int64((int64_t)t->by[k].bytes));
				json_object_array_add(by, b);
			}
			json_object_object_add(js, "retains", by);
			json_object_array_add(top, js);
		}
		json_object_object_add(o, "reachable_bytes", json_object_new_int64((int64_t)w->total_bytes));
		json_object_object_add(o, "dominators", top);
	}
	int rc = fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								       JSON_C_TO_STRING_NOSLASHESCAPE)) < 0 ? -1 : 0;
	json_object_put(o);
	return rc;
}

static void dot_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* One node per (shape, hop): shapes share no nodes, each is a chain. */
static int print_dot(FILE *f, const struct pc_why *w)
{
	fprintf(f, "digraph why {\n  rankdir=LR;\n  node [shape=box];\n");
	for (int k = 0; k < w->nwant; k++) {
		const struct want *wt = &w->want[k];
		for (size_t i = 0; i < wt->nshapes && (!w->max_shapes || i < w->max_shapes); i++) {
			const struct shape *s = &wt->shapes[i];
			size_t n = json_object_array_length(s->hops);
			fprintf(f, "  r%d_%zu [shape=ellipse, label=", k, i);
			dot_quote(f, s->root);
			fprintf(f, "];\n");
			for (size_t h = 0; h < n; h++) {
				json_object *hop = json_object_array_get_idx(s->hops, h);
				json_object *lab, *ty;
				json_object_object_get_ex(hop, "label", &lab);
				json_object_object_get_ex(hop, "type", &ty);
				fprintf(f, "  n%d_%zu_%zu [label=", k, i, h);
				if (h == n - 1) {
					char *l = NULL;
					if (asprintf(&l, "%s\\n%llu instances", json_object_get_string(ty),
						     (unsigned long long)s->count) >= 0)
						dot_quote(f, l);
					free(l);
				} else {
					dot_quote(f, json_object_get_string(ty));
				}
				fprintf(f, "];\n");
				if (h == 0)
					fprintf(f, "  r%d_%zu -> n%d_%zu_0;\n", k, i, k, i);
				else {
					fprintf(f, "  n%d_%zu_%zu -> n%d_%zu_%zu [label=", k, i, h - 1, k, i, h);
					dot_quote(f, json_object_get_string(lab));
					fprintf(f, "];\n");
				}
			}
		}
	}
	return fprintf(f, "}\n") < 0 ? -1 : 0;
}

int pc_why_print(FILE *f, const struct pc_why *w, const struct pc_census *c, enum pc_why_format format)
{
	if (format == PC_WHY_JSON)
		return print_json(f, w, c);
	if (format == PC_WHY_DOT)
		return print_dot(f, w);
	for (int k = 0; k < w->nwant; k++) {
		const struct want *wt = &w->want[k];
		char *esc = pc_text_escape(wt->name, strlen(wt->name));
		fprintf(f, "%s: %llu objects, %llu bytes, %llu unrooted\n", esc ? esc : "?",
			(unsigned long long)wt->count, (unsigned long long)wt->bytes,
			(unsigned long long)wt->unrooted);
		free(esc);
		if (w->dominated)
			fprintf(f, "  freeing them all frees %llu bytes in %llu objects\n",
				(unsigned long long)wt->freed_bytes, (unsigned long long)wt->freed_objects);
		for (size_t i = 0; i < wt->nshapes && (!w->max_shapes || i < w->max_shapes); i++)
			fprintf(f, "  %6llu  %s\n", (unsigned long long)wt->shapes[i].count, wt->shapes[i].chain);
	}
	if (w->dominated && w->nsuspects) {
		fprintf(f, "largest retained (bytes, objects, path):\n");
		for (size_t i = 0; i < w->nsuspects; i++) {
			const struct suspect *t = &w->suspects[i];
			fprintf(f, "  %12llu %9llu  %s\n", (unsigned long long)t->bytes, (unsigned long long)t->objects,
				t->chain);
			for (int k = 0; k < t->nby; k++)
				fprintf(f, "  %12llu %9llu    %s\n", (unsigned long long)t->by[k].bytes,
					(unsigned long long)t->by[k].count, t->by[k].own ? t->by[k].own : "?");
		}
	}
	return ferror(f) ? -1 : 0;
}
