#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "layout.h"

struct ctx {
	struct pc_layout *L;
	const struct pc_layout_source *src;
	int nsrc;
	uint32_t used;         /* sources that answered some fact */
	const char *feature;   /* what the facts asked now are for */
	const char *missing;   /* first required fact absent in this build */
	const char *unknown;   /* first fact no source knows */
	const char *unknown_for;
	char buf[160], ubuf[PC_FACT_KEY];
};

/* The struct KEY names ("T.path", "sizeof(T|U)": the first, "len(T.x)",
 * "bitfield(T.x).y") into TYPE; false for a key naming none ("enum(X)"). */
bool pc_layout_key_struct(const char *key, char *type, size_t cap)
{
	const char *p = key;
	if (!strncmp(p, "sizeof(", 7))
		p += 7;
	else if (!strncmp(p, "len(", 4))
		p += 4;
	else if (!strncmp(p, "bitfield(", 9))
		p += 9;
	else if (strchr(p, '('))
		return false;   /* enum(X), struct(X) */
	size_t n = strcspn(p, ".|)");
	if (!n || n >= cap)
		return false;
	memcpy(type, p, n);
	type[n] = 0;
	return true;
}

/* Whether some source describes struct TYPE at all. */
static bool struct_known(struct ctx *c, const char *type)
{
	char key[PC_FACT_KEY + 16];
	snprintf(key, sizeof(key), "struct(%s)", type);
	for (int i = 0; i < c->nsrc; i++) {
		int64_t v;
		if (c->src[i].fact(c->src[i].ctx, key, &v) == PC_FACT_VALUE)
			return true;
	}
	return false;
}

static void unknown(struct ctx *c, const char *key)
{
	if (c->unknown)
		return;
	size_t n = strnlen(key, sizeof(c->ubuf) - 1);
	memcpy(c->ubuf, key, n);
	c->ubuf[n] = 0;
	c->unknown = c->ubuf;
	c->unknown_for = c->feature;
}

/* The first answer of the sources to KEY, recorded with its provenance.
 * A fact no source knows, of a struct some source describes, refuses the
 * census; of a struct no source describes (one this build may lack, or a
 * module's kept apart), it stays unknown: a required fact or a decision
 * asking it refuses then (need, decide_find), an optional one is off. */
static enum pc_fact_state ask(struct ctx *c, const char *key, int64_t *value)
{
	struct pc_layout *L = c->L;
	*value = -1;
	for (int i = 0; i < L->nfacts; i++)
		if (!strcmp(L->facts[i].key, key)) {
			*value = L->facts[i].value;
			return (enum pc_fact_state)L->facts[i].state;
		}
	struct pc_fact f = { .state = PC_FACT_UNKNOWN, .value = -1 };
	snprintf(f.key, sizeof(f.key), "%s", key);
	for (int i = 0; i < c->nsrc && f.state == PC_FACT_UNKNOWN; i++) {
		int64_t v = -1;
		f.state = (uint8_t)c->src[i].fact(c->src[i].ctx, key, &v);
		f.source = (uint8_t)i;
		if (f.state == PC_FACT_VALUE)
			f.value = v;
	}
	char type[PC_FACT_KEY];
	if (f.state != PC_FACT_UNKNOWN)
		c->used |= 1u << f.source;
	else if (!pc_layout_key_struct(key, type, sizeof(type)) || struct_known(c, type))
		unknown(c, key);
	if (L->nfacts < PC_LAYOUT_FACTS)
		L->facts[L->nfacts++] = f;
	*value = f.value;
	return (enum pc_fact_state)f.state;
}

/* False unless a value. */
static bool fact(struct ctx *c, const char *key, int64_t *value)
{
	return ask(c, key, value) == PC_FACT_VALUE;
}

/* A required KEY lacks a value: absent (the build's debug information
 * lacks it) or unknown to every source (refused as such). */
static void need(struct ctx *c, const char *key, bool required)
{
	if (!required)
		return;
	for (int i = 0; i < c->L->nfacts; i++)
		if (!strcmp(c->L->facts[i].key, key) && c->L->facts[i].state == PC_FACT_UNKNOWN) {
			unknown(c, key);
			return;
		}
	if (!c->missing) {
		snprintf(c->buf, sizeof(c->buf), "%s", key);
		c->missing = c->buf;
	}
}

/* Offset of TYPE.PATH for a decision: a value or absent, never unknown
 * (an unknown refuses: the decision is not guessed). */
static int64_t decide_find(struct ctx *c, const char *type, const char *path)
{
	char key[2 * PC_FACT_KEY];
	snprintf(key, sizeof(key), "%s.%s", type, path);
	int64_t v;
	if (ask(c, key, &v) == PC_FACT_UNKNOWN)
		unknown(c, key);
	return v;
}

/* Offset of TYPE.PATHS ("a|b": alternative names of one member). */
static int64_t find(struct ctx *c, const char *type, const char *paths, bool required)
{
	char key[2 * PC_FACT_KEY + 64];
	snprintf(key, sizeof(key), "%s.%s", type, paths);
	int64_t v;
	if (!fact(c, key, &v))
		need(c, key, required);
	return v;
}

static int64_t size_of(struct ctx *c, const char *types, bool required)
{
	char key[PC_FACT_KEY];
	snprintf(key, sizeof(key), "sizeof(%s)", types);
	int64_t v;
	if (!fact(c, key, &v))
		need(c, key, required);
	return v;
}

static int64_t array_len(struct ctx *c, const char *type, const char *path)
{
	char key[PC_FACT_KEY];
	snprintf(key, sizeof(key), "len(%s.%s)", type, path);
	int64_t v;
	fact(c, key, &v);
	return v;
}

static bool enumerator(struct ctx *c, const char *name, int64_t *v)
{
	char key[PC_FACT_KEY];
	snprintf(key, sizeof(key), "enum(%s)", name);
	return fact(c, key, v);
}

static bool bitfield(struct ctx *c, const char *type, const char *path, int64_t *byte, int *bit, int *bits)
{
	char key[PC_FACT_KEY];
	int64_t v[3];
	static const char *const part[3] = { "byte", "bit", "bits" };
	bool ok = true;
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "bitfield(%s.%s).%s", type, path, part[i]);
		ok = fact(c, key, &v[i]) && ok;
	}
	*byte = v[0];
	*bit = (int)v[1];
	*bits = (int)v[2];
	return ok;
}

/* --- the DWARF source --------------------------------------------------- */

/* Split "Type.path" at the first dot into TYPE and PATH. */
static bool split(const char *key, char *type, size_t cap, const char **path)
{
	const char *dot = strchr(key, '.');
	if (!dot || (size_t)(dot - key) >= cap)
		return false;
	memcpy(type, key, (size_t)(dot - key));
	type[dot - key] = 0;
	*path = dot + 1;
	return true;
}

/* Copy the N bytes at P into BUF (of PC_FACT_KEY bytes), NUL-terminated. */
static const char *span(char *buf, const char *p, size_t n)
{
	if (n >= PC_FACT_KEY)
		n = PC_FACT_KEY - 1;
	memcpy(buf, p, n);
	buf[n] = 0;
	return buf;
}

/* Test hook: the structs named in PYCENSUS_TEST_DWARF_HIDE (separated by
 * commas) have no DIE, as in DWARF that does not describe them. */
static bool hidden(const char *type)
{
	const char *h = getenv("PYCENSUS_TEST_DWARF_HIDE");
	size_t n = strlen(type);
	for (const char *p = h; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && !strncmp(p, type, n))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

/* Whether the DWARF has a DIE for TYPE (the first of "a|b" alternatives). */
static bool dwarf_describes(struct pc_dwarf_index *idx, const char *type)
{
	char t[PC_FACT_KEY];
	span(t, type, strcspn(type, "|"));
	return !hidden(t) && pc_dwarf_sizeof(idx, t) >= 0;
}

/* A member the struct's DIE lacks is absent from this build; a struct the
 * DWARF has no DIE for is unknown to it (this build may lack it, or keep
 * it in a module whose DWARF is elsewhere): other sources may know it. */
static enum pc_fact_state dwarf_fact(void *ctx, const char *key, int64_t *value)
{
	struct pc_dwarf_index *idx = ctx;
	char type[PC_FACT_KEY], inner[PC_FACT_KEY], alt[PC_FACT_KEY];
	const char *path;
	size_t n = strlen(key);
	*value = -1;
	if (!strncmp(key, "struct(", 7) && key[n - 1] == ')') {
		span(inner, key + 7, n - 8);
		*value = 1;
		return dwarf_describes(idx, inner) ? PC_FACT_VALUE : PC_FACT_UNKNOWN;
	}
	if (!strncmp(key, "enum(", 5) && key[n - 1] == ')') {
		span(inner, key + 5, n - 6);
		return pc_dwarf_enumerator(idx, inner, value) ? PC_FACT_VALUE : PC_FACT_ABSENT;
	}
	if (!strncmp(key, "len(", 4) && key[n - 1] == ')') {
		span(inner, key + 4, n - 5);
		if (!split(inner, type, sizeof(type), &path))
			return PC_FACT_ABSENT;
		if (!dwarf_describes(idx, type))
			return PC_FACT_UNKNOWN;
		*value = pc_dwarf_array_len(idx, type, path);
		return *value >= 0 ? PC_FACT_VALUE : PC_FACT_ABSENT;
	}
	if (!strncmp(key, "bitfield(", 9)) {
		const char *close = strrchr(key, ')');
		if (!close)
			return PC_FACT_ABSENT;
		span(inner, key + 9, (size_t)(close - key - 9));
		int64_t byte;
		int bit, bits;
		if (split(inner, type, sizeof(type), &path) && !dwarf_describes(idx, type))
			return PC_FACT_UNKNOWN;
		if (!split(inner, type, sizeof(type), &path) ||
		    !pc_dwarf_bitfield(idx, type, path, &byte, &bit, &bits))
			return PC_FACT_ABSENT;
		*value = !strcmp(close, ").byte") ? byte : !strcmp(close, ").bit") ? bit : bits;
		return PC_FACT_VALUE;
	}
	bool sizeof_ = !strncmp(key, "sizeof(", 7) && key[n - 1] == ')';
	if (sizeof_)
		span(inner, key + 7, n - 8);
	else if (!split(key, type, sizeof(type), &path))
		return PC_FACT_ABSENT;
	if (!sizeof_ && !dwarf_describes(idx, type))
		return PC_FACT_UNKNOWN;
	/* The first alternative this build has. */
	const char *p = sizeof_ ? inner : path;
	while (*p) {
		size_t len = strcspn(p, "|");
		span(alt, p, len);
		*value = sizeof_ ? (hidden(alt) ? -1 : pc_dwarf_sizeof(idx, alt)) : pc_dwarf_offsetof(idx, type, alt, NULL);
		if (*value >= 0)
			return PC_FACT_VALUE;
		p += len;
		if (*p == '|')
			p++;
	}
	/* sizeof(T): no DIE for any alternative is unknown, not absent. */
	return sizeof_ ? PC_FACT_UNKNOWN : PC_FACT_ABSENT;
}

struct pc_layout_source pc_layout_dwarf_source(struct pc_dwarf_index *idx)
{
	return (struct pc_layout_source){ .name = "dwarf", .fact = dwarf_fact, .ctx = idx };
}

#define PC_EXT_DWARF 8   /* >= PC_EXT_MODULES */

/* The interpreter's DWARF, then its extension modules': one build's. */
struct dwarf_set {
	struct pc_dwarf_index *idx[1 + PC_EXT_DWARF];
	int n;
};

/* A value from any; else absent if any describes the struct; else unknown. */
static enum pc_fact_state dwarf_set_fact(void *ctx, const char *key, int64_t *value)
{
	struct dwarf_set *d = ctx;
	enum pc_fact_state st = PC_FACT_UNKNOWN;
	for (int i = 0; i < d->n && st != PC_FACT_VALUE; i++) {
		enum pc_fact_state one = dwarf_fact(d->idx[i], key, value);
		if (one != PC_FACT_UNKNOWN)
			st = one;
	}
	if (st != PC_FACT_VALUE)
		*value = -1;
	return st;
}

#define REQ true
#define OPT false

static void init_objects(struct pc_layout *L, struct ctx *c)
{
	L->ob_type = find(c, "PyObject", "ob_type", REQ);
	/* 3.14+ splits the refcount word: a 32-bit count (negative as int32:
	 * immortal), ob_overflow and ob_flags, which a dead object may keep. */
	L->refcnt_size = find(c, "PyObject", "ob_flags", OPT) >= 0 ? 4 : 8;
	/* Free-threaded builds (3.13t+) own objects per thread (ob_tid): no
	 * GC lists to walk, another header. */
	L->ob_tid = find(c, "PyObject", "ob_tid", OPT);
	L->object_size = size_of(c, "PyObject", REQ);
	L->ob_size = find(c, "PyVarObject", "ob_size", REQ);

	const char *T = "PyTypeObject";
	L->tp_name = find(c, T, "tp_name", REQ);
	L->tp_basicsize = find(c, T, "tp_basicsize", REQ);
	L->tp_itemsize = find(c, T, "tp_itemsize", REQ);
	L->tp_flags = find(c, T, "tp_flags", REQ);
	L->tp_dict = find(c, T, "tp_dict", REQ);
	L->tp_base = find(c, T, "tp_base", REQ);
	L->tp_bases = find(c, T, "tp_bases", REQ);
	L->tp_mro = find(c, T, "tp_mro", REQ);
	L->tp_dictoffset = find(c, T, "tp_dictoffset", REQ);
	L->tp_members = find(c, T, "tp_members", REQ);
	L->tp_weaklistoffset = find(c, T, "tp_weaklistoffset", REQ);
	L->tp_subclasses = find(c, T, "tp_subclasses", REQ);
	L->tp_traverse = find(c, T, "tp_traverse", REQ);
	L->type_size = size_of(c, T, REQ);

	const char *H = "PyHeapTypeObject";
	L->ht_name = find(c, H, "ht_name", REQ);
	L->ht_qualname = find(c, H, "ht_qualname", OPT);
	L->ht_cached_keys = find(c, H, "ht_cached_keys", OPT);
	L->ht_slots = find(c, H, "ht_slots", REQ);
	L->heaptype_size = size_of(c, H, REQ);
	/* No qualname (2.7): types are named module + ht_name, and the
	 * old-style classes of that model name their instances. */
	L->name_model = L->ht_qualname >= 0 ? PC_NAME_QUALNAME : PC_NAME_NAME;
	L->cl_dict = L->cl_name = L->in_class = -1;
	if (L->name_model == PC_NAME_NAME) {
		L->cl_dict = find(c, "PyClassObject", "cl_dict", OPT);
		L->cl_name = find(c, "PyClassObject", "cl_name", OPT);
		L->in_class = find(c, "PyInstanceObject", "in_class", OPT);
	}
	/* type.__sizeof__ came with the shared keys it counts (PEP 412). */
	L->type_sizeof = L->ht_cached_keys >= 0 ? PC_TYPE_SIZEOF_HEAPTYPE : PC_TYPE_SIZEOF_DEFAULT;

	L->memberdef_size = size_of(c, "PyMemberDef", REQ);
	L->md_type = find(c, "PyMemberDef", "type", REQ);
	L->md_offset = find(c, "PyMemberDef", "offset", REQ);
}

/* Append a GC list head at AT + OFF named NAME[I] ("name" alone for I < 0). */
static void gc_list(struct ctx *c, struct pc_gc_anchor at, int64_t off, const char *name, int i, bool permanent)
{
	struct pc_gc_lists *g = &c->L->gc;
	if (g->n >= PC_GC_LISTS) {
		need(c, "at most 8 GC lists", true);
		return;
	}
	struct pc_gc_list *l = &g->list[g->n++];
	l->at = at;
	l->at.off += off;
	l->permanent = permanent;
	if (i < 0)
		snprintf(l->name, sizeof(l->name), "%s", name);
	else
		snprintf(l->name, sizeof(l->name), "%s[%d]", name, i);
	if (!permanent)
		g->ngenerations++;
}

static int gc_symbol(struct pc_gc_lists *g, const char *name, const char *ptr)
{
	int i = g->nsymbols++;
	snprintf(g->symbols[i], sizeof(g->symbols[i]), "%s", name);
	snprintf(g->symbol_ptrs[i], sizeof(g->symbol_ptrs[i]), "%s", ptr ? ptr : "");
	return i;
}

/* NUM_GENERATIONS of gcmodule.c, a macro: the length of the static
 * generations[] array of 2.7/3.6, which DWARF gives only for a struct member. */
#define PC_STATIC_GENERATIONS 3

static void init_gc(struct pc_layout *L, struct ctx *c)
{
	struct pc_gc_lists *g = &L->gc;
	memset(g, 0, sizeof(*g));
	L->gc_head_size = size_of(c, "PyGC_Head", REQ);
	/* 3.8+ names the links _gc_next/_gc_prev and keeps flags in their low
	 * two bits; <= 3.7 has them under the union member gc, untagged, and
	 * a gc_refs word beside them. */
	L->gc_next = find(c, "PyGC_Head", "_gc_next", OPT);
	if (L->gc_next >= 0) {
		L->gc_head_model = PC_GC_HEAD_TAGGED;
		L->gc_prev = find(c, "PyGC_Head", "_gc_prev", REQ);
		L->gc_next_mask = L->gc_prev_mask = ~(uint64_t)3;
		L->gc_refs = -1;
	} else {
		L->gc_head_model = PC_GC_HEAD_REFS;
		L->gc_next = find(c, "PyGC_Head", "gc.gc_next", REQ);
		L->gc_prev = find(c, "PyGC_Head", "gc.gc_prev", REQ);
		L->gc_refs = find(c, "PyGC_Head", "gc.gc_refs", REQ);
		L->gc_next_mask = L->gc_prev_mask = ~(uint64_t)0;
	}

	/* Where the GC state lives: _PyRuntime (3.7, 3.8), each interpreter
	 * (3.9+), or, with no runtime struct at all (2.7, 3.6), the statics of
	 * gcmodule.c: generations[] (exported as _PyGC_generation0, a pointer
	 * to it) and collecting. */
	const char *G = "_gc_runtime_state";
	struct pc_gc_anchor at = { .base = PC_GC_RUNTIME };
	int64_t gen_size = size_of(c, "gc_generation", REQ);
	/* (Asked in this order, a 3.8+ table needs no fact about the others.) */
	if ((at.off = find(c, "_PyRuntimeState", "gc", OPT)) >= 0) {
		at.base = PC_GC_RUNTIME;
	} else if ((at.off = find(c, "PyInterpreterState", "gc", OPT)) >= 0) {
		at.base = PC_GC_INTERP;
	} else if (size_of(c, "_PyRuntimeState", OPT) < 0) {
		at = (struct pc_gc_anchor){ .base = PC_GC_STATIC, .symbol = gc_symbol(g, "generations", "_PyGC_generation0") };
		for (int i = 0; i < PC_STATIC_GENERATIONS; i++)
			gc_list(c, at, i * gen_size, "generations", i, false);
		g->collecting = (struct pc_gc_anchor){ .base = PC_GC_STATIC, .symbol = gc_symbol(g, "collecting", NULL) };
		g->collecting_by_refs = L->gc_head_model == PC_GC_HEAD_REFS;
		return;
	} else {
		need(c, "PyInterpreterState.gc", true);
		return;
	}
	/* The lists the struct has decide the model, never the version:
	 * generations[N] (3.7-3.13, 3.14.5+, 3.15), or the incremental
	 * collector's young and old[2] (3.14.0-3.14.4). */
	int64_t off;
	if ((off = find(c, G, "generations", OPT)) >= 0) {
		int64_t n = array_len(c, G, "generations");
		if (n <= 0 || n > PC_GC_LISTS - 1)
			need(c, "len(_gc_runtime_state.generations)", true);
		for (int i = 0; i < n && i < PC_GC_LISTS - 1; i++)
			gc_list(c, at, off + i * gen_size, "generations", i, false);
	} else {
		gc_list(c, at, find(c, G, "young", REQ), "young", -1, false);
		int64_t old = find(c, G, "old", REQ), nold = array_len(c, G, "old");
		if (old >= 0 && (nold <= 0 || nold > PC_GC_LISTS - 2))
			need(c, "len(_gc_runtime_state.old)", true);
		for (int i = 0; old >= 0 && i < nold && i < PC_GC_LISTS - 2; i++)
			gc_list(c, at, old + i * gen_size, "old", i, false);
	}
	/* gc.freeze()'s list, 3.7+: walked too, counted apart. */
	if ((off = find(c, G, "permanent_generation", OPT)) >= 0)
		gc_list(c, at, off, "permanent_generation", -1, true);
	g->collecting = at;
	g->collecting.off += find(c, G, "collecting", REQ);
}

static void init_runtime(struct pc_layout *L, struct ctx *c)
{
	/* 2.7/3.6 have no _PyRuntimeState: discovery's "runtime" is then the
	 * static interp_head itself. */
	L->rt_interp_head = L->gc.nsymbols && size_of(c, "_PyRuntimeState", OPT) < 0
		? 0 : find(c, "_PyRuntimeState", "interpreters.head", REQ);
	const char *I = "PyInterpreterState";
	L->is_next = find(c, I, "next", REQ);
	L->is_threads_head = find(c, I, "threads.head|tstate_head", REQ);
	L->is_modules = find(c, I, "modules|imports.modules", REQ);
	L->is_sysdict = find(c, I, "sysdict", REQ);
	L->is_builtins = find(c, I, "builtins", REQ);

	/* 3.12+: the dicts of static builtin types live in the interpreter. */
	const char *arr = NULL;
	if (find(c, I, "types.builtins.initialized", OPT) >= 0)
		arr = "types.builtins.initialized";
	else if (find(c, I, "types.builtins", OPT) >= 0 &&
		 array_len(c, I, "types.builtins") > 0)
		arr = "types.builtins";
	L->is_types_builtins = -1;
	if (arr) {
		char p1[96];
		L->is_types_builtins = find(c, I, arr, REQ);
		L->is_types_builtins_len = array_len(c, I, arr);
		snprintf(p1, sizeof(p1), "%s[1]", arr);
		L->builtin_state_size = find(c, I, p1, REQ) - L->is_types_builtins;
		L->builtin_state_tp_dict = find(c, "managed_static_type_state", "tp_dict", OPT);
		if (L->builtin_state_tp_dict < 0)
			L->builtin_state_tp_dict = find(c, "static_builtin_state", "tp_dict", REQ);
	}

	const char *S = "PyThreadState";
	L->ts_next = find(c, S, "next", REQ);
	L->ts_frame = find(c, S, "frame", OPT);
	L->ts_cframe = find(c, S, "cframe", OPT);
	L->cframe_current_frame = L->ts_cframe >= 0 ? find(c, "_PyCFrame", "current_frame", OPT) : -1;
	L->ts_current_frame = find(c, S, "current_frame", OPT);
	L->iframe_previous = find(c, "_PyInterpreterFrame", "previous", OPT);
	L->is_interned = find(c, I, "cached_objects.interned_strings", OPT);
	L->ts_thread_id = find(c, S, "thread_id", OPT);
	L->ts_dict = find(c, S, "dict", OPT);
	L->ts_local_key = find(c, S, "threading_local_key", OPT);
	L->ts_local_sentinel = find(c, S, "threading_local_sentinel", OPT);
	L->co_firstlineno = find(c, "PyCodeObject", "co_firstlineno", OPT);
	/* The running line: an instruction position and a line table. */
	L->f_lasti = find(c, "PyFrameObject", "f_lasti", OPT);
	L->iframe_instr = find(c, "_PyInterpreterFrame", "prev_instr|instr_ptr", OPT);
	L->co_code_adaptive = find(c, "PyCodeObject", "co_code_adaptive", OPT);
	L->co_lines = find(c, "PyCodeObject", "co_lnotab", OPT);
	bool lnotab = L->co_lines >= 0;
	if (!lnotab)
		L->co_lines = find(c, "PyCodeObject", "co_linetable", OPT);
	L->lines_sval = find(c, "PyBytesObject", "ob_sval", OPT);
	if (L->lines_sval < 0)
		L->lines_sval = find(c, "PyStringObject", "ob_sval", OPT);
	/* Which table, from the members the build has: co_lnotab beside
	 * f_lasti (<= 3.9); co_linetable beside f_lasti (3.10's pairs, f_lasti
	 * counting code units); co_linetable beside an instruction pointer
	 * into co_code_adaptive (3.11's location entries).  Anything else
	 * leaves labels at the first line, saying so. */
	L->line_model = PC_LINES_NONE;
	if (L->co_lines >= 0 && L->lines_sval >= 0 && L->co_firstlineno >= 0) {
		if (lnotab && L->f_lasti >= 0)
			L->line_model = PC_LINES_LNOTAB;
		else if (!lnotab && L->f_lasti >= 0)
			L->line_model = PC_LINES_PAIRS;
		else if (!lnotab && L->iframe_instr >= 0 && L->co_code_adaptive >= 0)
			L->line_model = PC_LINES_LOCATIONS;
	}
}

static void init_str(struct pc_layout *L, struct ctx *c)
{
	L->string_sval = L->string_shash = L->ustr_length = L->ustr_buffer = L->py_unicode_size = -1;
	/* PEP 393's unicode object has its characters' union `data`; asked of
	 * PyUnicodeObject, which every version has, so it cannot be guessed. */
	if (decide_find(c, "PyUnicodeObject", "data") < 0) {
		L->ascii_size = -1;
		/* No PEP 393 (2.7): str is PyStringObject, unicode keeps its
		 * Py_UNICODE characters (2 or 4 bytes: the build's choice) in a
		 * buffer of its own. */
		L->str_model = PC_STR_BYTES_UNICODE;
		L->string_sval = find(c, "PyStringObject", "ob_sval", REQ);
		/* -1 until hashed: the sets' dummy key never is (builtin_types.c) */
		L->string_shash = find(c, "PyStringObject", "ob_shash", REQ);
		L->unicode_size = size_of(c, "PyUnicodeObject", REQ);
		L->ustr_length = find(c, "PyUnicodeObject", "length", REQ);
		L->ustr_buffer = find(c, "PyUnicodeObject", "str", REQ);
		L->py_unicode_size = size_of(c, "Py_UNICODE", REQ);
		if (L->py_unicode_size != 2 && L->py_unicode_size != 4)
			need(c, "sizeof(Py_UNICODE) of 2 or 4", true);
		L->compact_size = L->str_length = L->str_wstr = L->str_utf8_length = L->str_utf8 =
			L->str_wstr_length = L->str_data = -1;
		return;
	}
	L->str_model = PC_STR_PEP393;
	L->ascii_size = size_of(c, "PyASCIIObject", REQ);
	L->compact_size = size_of(c, "PyCompactUnicodeObject", REQ);
	L->unicode_size = size_of(c, "PyUnicodeObject", REQ);
	L->str_length = find(c, "PyASCIIObject", "length", REQ);
	L->str_wstr = find(c, "PyASCIIObject", "wstr", OPT);
	L->str_utf8_length = find(c, "PyCompactUnicodeObject", "utf8_length", REQ);
	L->str_utf8 = find(c, "PyCompactUnicodeObject", "utf8", REQ);
	L->str_wstr_length = find(c, "PyCompactUnicodeObject", "wstr_length", OPT);
	L->str_data = find(c, "PyUnicodeObject", "data", REQ);
	if (!bitfield(c, "PyASCIIObject", "state.kind", &L->state_kind_byte,
			       &L->state_kind_bit, &L->state_kind_bits) ||
	    !bitfield(c, "PyASCIIObject", "state.compact", &L->state_compact_byte,
			       &L->state_compact_bit, &(int){0}) ||
	    !bitfield(c, "PyASCIIObject", "state.ascii", &L->state_ascii_byte,
			       &L->state_ascii_bit, &(int){0})) {
		if (!c->missing)
			c->missing = "PyASCIIObject.state bitfields";
	}
}

static void init_dict_keys(struct pc_layout *L, struct ctx *c);

static void init_containers(struct pc_layout *L, struct ctx *c)
{
	L->long_lv_tag = find(c, "PyLongObject", "long_value.lv_tag", OPT);
	L->long_tagged = L->long_lv_tag >= 0;
	L->long_digits = find(c, "PyLongObject", "long_value.ob_digit|ob_digit", REQ);
	L->digit_size = size_of(c, "digit", REQ);

	L->list_item = find(c, "PyListObject", "ob_item", REQ);
	L->list_allocated = find(c, "PyListObject", "allocated", REQ);
	L->tuple_item = find(c, "PyTupleObject", "ob_item", REQ);

	L->dict_size = size_of(c, "PyDictObject", REQ);
	L->ma_used = find(c, "PyDictObject", "ma_used", REQ);
	L->ma_keys = find(c, "PyDictObject", "ma_keys", OPT);
	L->ma_mask = L->ma_table = L->ma_smalltable = -1;
	if (L->ma_keys < 0) {
		/* No keys object (2.7): the open-addressing table is the dict's. */
		L->dict_family = PC_DICT_OPEN;
		L->ma_mask = find(c, "PyDictObject", "ma_mask", REQ);
		L->ma_table = find(c, "PyDictObject", "ma_table", REQ);
		L->ma_smalltable = find(c, "PyDictObject", "ma_smalltable", REQ);
		L->dict_entry_size = size_of(c, "PyDictEntry", REQ);
		L->ma_values = L->dk_refcnt = L->dk_size = L->dk_log2_size = L->dk_log2_index_bytes = L->dk_kind =
			L->dk_usable = L->dk_nentries = L->dk_indices = L->dictkeys_size = L->dict_unicode_entry_size =
			L->dictvalues_valid = L->dictvalues_capacity = L->dictvalues_embedded = L->dk_lookup = -1;
		L->dictvalues_values = 0;
	} else
		init_dict_keys(L, c);
	L->set_entry_key = find(c, "setentry", "key", REQ);

	L->set_mask = find(c, "PySetObject", "mask", REQ);
	L->set_table = find(c, "PySetObject", "table", REQ);
	L->set_smalltable = find(c, "PySetObject", "smalltable", REQ);
	L->set_entry_size = size_of(c, "setentry", REQ);

	L->bytearray_alloc = find(c, "PyByteArrayObject", "ob_alloc", REQ);
	/* 3.15+: the buffer is a bytes object, its header counted too. */
	L->bytearray_bytes_object = find(c, "PyByteArrayObject", "ob_bytes_object", OPT);
	L->bytes_sval = L->bytearray_bytes_object >= 0 ? find(c, "PyBytesObject", "ob_sval", REQ) : -1;
	/* A fixed-size int type beside long (2.7): bool is one of those. */
	L->int_model = size_of(c, "PyIntObject", OPT) > 0 ? PC_INT_FIXED_AND_LONG : PC_INT_LONG;
}

/* The keys object of 3.6+ dicts. */
static void init_dict_keys(struct pc_layout *L, struct ctx *c)
{
	L->ma_values = find(c, "PyDictObject", "ma_values", REQ);
	const char *K = "PyDictKeysObject";
	L->dk_refcnt = find(c, K, "dk_refcnt", REQ);
	L->dk_size = find(c, K, "dk_size", OPT);
	L->dk_log2_size = find(c, K, "dk_log2_size", OPT);
	if (L->dk_size < 0 && L->dk_log2_size < 0 && !c->missing)
		c->missing = "PyDictKeysObject.dk_size|dk_log2_size";
	L->dk_log2_index_bytes = find(c, K, "dk_log2_index_bytes", OPT);
	L->dk_kind = find(c, K, "dk_kind", OPT);
	L->dk_usable = find(c, K, "dk_usable", REQ);
	L->dk_nentries = find(c, K, "dk_nentries", REQ);
	L->dk_indices = find(c, K, "dk_indices", REQ);
	L->dictkeys_size = size_of(c, K, REQ);
	L->dict_entry_size = size_of(c, "PyDictKeyEntry", REQ);
	L->dict_unicode_entry_size = size_of(c, "PyDictUnicodeEntry", OPT);
	L->dictvalues_values = find(c, "PyDictValues", "values", OPT);
	if (L->dictvalues_values < 0)
		L->dictvalues_values = 0;
	L->dictvalues_valid = find(c, "PyDictValues", "valid", OPT);
	L->dictvalues_capacity = find(c, "PyDictValues", "capacity", OPT);
	L->dictvalues_embedded = find(c, "PyDictValues", "embedded", OPT);
	L->dk_lookup = find(c, K, "dk_lookup", OPT);
}

static void init_sizing(struct pc_layout *L, struct ctx *c)
{
	const char *C = "PyCodeObject";
	L->co_nlocalsplus = find(c, C, "co_nlocalsplus", OPT);
	L->co_stacksize = find(c, C, "co_stacksize", REQ);
	L->co_nlocals = find(c, C, "co_nlocals", OPT);
	L->co_cellvars = find(c, C, "co_cellvars", OPT);
	L->co_freevars = find(c, C, "co_freevars", OPT);
	L->co_cell2arg = find(c, C, "co_cell2arg", OPT);
	L->co_opcache = find(c, C, "co_opcache", OPT);
	L->co_opcache_size = find(c, C, "co_opcache_size", OPT);
	L->co_code = find(c, C, "co_code", OPT);
	L->opcache_size = size_of(c, "_PyOpcache", OPT);
	L->co_extra = find(c, C, "co_extra", OPT);  /* 3.6+ (PEP 523) */
	L->code_extra_items = find(c, "_PyCodeObjectExtra", "ce_extras", OPT);
	L->gi_code = find(c, "PyGenObject", "gi_code", OPT);
	L->gi_iframe = find(c, "PyGenObject", "gi_iframe", OPT);
	L->iframe_code = find(c, "_PyInterpreterFrame", "f_code|f_executable", OPT);
	L->iframe_localsplus = find(c, "_PyInterpreterFrame", "localsplus", OPT);
	L->f_frame = find(c, "PyFrameObject", "f_frame", OPT);
	L->f_frame_data = find(c, "PyFrameObject", "_f_frame_data", OPT);
	L->frame_size = size_of(c, "PyFrameObject", REQ);
	L->f_code = find(c, "PyFrameObject", "f_code", OPT);
	L->md_def = find(c, "PyModuleObject", "md_def", OPT);
	L->m_size = find(c, "PyModuleDef", "m_size", OPT);
	/* By struct tag: obmalloc.c has a typedef named block too. */
	L->dq_leftindex = find(c, "dequeobject", "leftindex", OPT);
	L->od_fast_nodes_size = find(c, "PyODictObject", "od_fast_nodes_size", OPT);
	L->od_first = find(c, "PyODictObject", "od_first", OPT);
	L->odnode_size = size_of(c, "_odictnode", OPT);
	L->buffered_buffer = find(c, "buffered", "buffer", OPT);
	L->buffered_buffer_size = find(c, "buffered", "buffer_size", OPT);
	/* array.array and _struct.Struct: where the module is built into the
	 * interpreter its DWARF is here; built as a shared module
	 * (lib-dynload) it is not, and the "abi" source answers. */
	L->array_allocated = find(c, "arrayobject", "allocated", OPT);
	L->array_descr = find(c, "arrayobject", "ob_descr", OPT);
	L->arraydescr_itemsize = find(c, "arraydescr", "itemsize", OPT);
	L->struct_codes = find(c, "PyStructObject", "s_codes", OPT);
	L->formatcode_size = size_of(c, "formatcode", OPT);
	L->dq_block_size = size_of(c, "BLOCK", OPT);
	L->dq_blocklen = array_len(c, "BLOCK", "data");
	/* 2.7's deque counts its items in len, not a var-object ob_size. */
	L->dq_len = L->dq_leftindex >= 0 ? find(c, "dequeobject", "len", OPT) : -1;
	if (L->dq_len < 0)
		L->dq_len = L->ob_size;
}

/* io.BytesIO: from DWARF where _io is built in, else the "abi" source. */
static void init_buffers(struct pc_layout *L, struct ctx *c)
{
	L->bytesio_buf = find(c, "bytesio", "buf", OPT);
	/* 2.7's buffer is a char * of buf_size bytes, not a bytes object */
	L->bytesio_buf_size = L->bytesio_buf >= 0 ? find(c, "bytesio", "buf_size", OPT) : -1;
}

/* numpy's scalar types the sizer knows the element size of. */
static const char *const numpy_scalars[] = {
	"numpy.bool_", "numpy.bool", "numpy.int8", "numpy.uint8", "numpy.int16", "numpy.uint16",
	"numpy.int32", "numpy.uint32", "numpy.int64", "numpy.uint64", "numpy.longlong", "numpy.ulonglong",
	"numpy.float16", "numpy.float32", "numpy.float64", "numpy.float128", "numpy.complex64",
	"numpy.complex128", "numpy.complex256", "numpy.datetime64", "numpy.timedelta64",
};

/* The _ctypes part named TYPE (a layout of it), appended to OUT if known. */
static void stg_layout(struct ctx *c, const char *type, struct pc_stg_layout *out, int *n)
{
	struct pc_stg_layout s = {
		.size = size_of(c, type, OPT),
		.length = find(c, type, "length", OPT),
		.elements = find(c, type, "ffi_type_pointer.elements", OPT),
		.format = find(c, type, "format", OPT),
		.ndim = find(c, type, "ndim", OPT),
	};
	if (s.size > 0 && s.length >= 0 && s.elements >= 0 && s.format >= 0 && s.ndim >= 0)
		out[(*n)++] = s;
}

/* numpy and _ctypes, which no interpreter DWARF describes: a layout a
 * source does not know leaves those sizers to the type's basicsize. */
static void init_modules(struct pc_layout *L, struct ctx *c)
{
	struct pc_numpy_layout *np = &L->numpy;
	const char *A = "PyArrayObject_fields";
	np->data = find(c, A, "data", OPT);
	np->nd = find(c, A, "nd", OPT);
	np->dimensions = find(c, A, "dimensions", OPT);
	np->descr = find(c, A, "descr", OPT);
	np->flags = find(c, A, "flags", OPT);
	np->fields_size = size_of(c, A, OPT);
	static const char *const descrs[] = { "PyArray_Descr_v1", "PyArray_Descr_v2" };
	for (size_t i = 0; i < sizeof(descrs) / sizeof(descrs[0]); i++) {
		char key[PC_FACT_KEY];
		struct pc_numpy_descr d = { .basicsize = size_of(c, descrs[i], OPT),
					    .elsize = find(c, descrs[i], "elsize", OPT) };
		snprintf(key, sizeof(key), "width(%s.elsize)", descrs[i]);
		fact(c, key, &d.width);
		if (d.basicsize > 0 && d.elsize >= 0 && (d.width == 4 || d.width == 8))
			np->descr_abi[np->ndescr++] = d;
	}
	for (size_t i = 0; i < sizeof(numpy_scalars) / sizeof(numpy_scalars[0]); i++) {
		char key[PC_FACT_KEY];
		int64_t size;
		snprintf(key, sizeof(key), "itemsize(%s)", numpy_scalars[i]);
		if (fact(c, key, &size) && size > 0 && np->nscalars < 24) {
			snprintf(np->scalar[np->nscalars].name, sizeof(np->scalar[0].name), "%s", numpy_scalars[i]);
			np->scalar[np->nscalars++].size = size;
		}
	}
	stg_layout(c, "StgDictObject_38", L->stgdict, &L->nstgdict);
	stg_layout(c, "StgInfo_313", L->stginfo, &L->nstginfo);
	stg_layout(c, "StgInfo_314", L->stginfo, &L->nstginfo);
}

/* --- what the traverse rules read ------------------------------------------ */

static const struct { const char *type, *fields; } member_specs[PC_NMEMBERS] = {
	[PC_M_TYPE] = { "PyHeapTypeObject", "ht_type.tp_dict ht_type.tp_cache ht_type.tp_mro ht_type.tp_bases ht_type.tp_base ht_module" },
	[PC_M_FUNC] = { "PyFunctionObject", "func_code func_globals func_builtins func_module func_defaults func_kwdefaults func_doc func_name func_dict func_closure func_annotations func_typeparams func_qualname" },
	[PC_M_CM] = { "classmethod", "cm_callable cm_dict" },
	[PC_M_SM] = { "staticmethod", "sm_callable sm_dict" },
	[PC_M_CELL] = { "PyCellObject", "ob_ref" },
	[PC_M_METHOD] = { "PyMethodObject", "im_func im_self" },
	[PC_M_INSTANCEMETHOD] = { "PyInstanceMethodObject", "func" },
	[PC_M_METH] = { "PyCFunctionObject", "m_self m_module" },
	[PC_M_DESCR] = { "PyDescrObject", "d_type" },
	[PC_M_PROPERTY] = { "propertyobject", "prop_get prop_set prop_del prop_doc prop_name" },
	[PC_M_MAPPINGPROXY] = { "mappingproxyobject", "mapping" },
	[PC_M_WRAPPER] = { "wrapperobject", "descr self" },
	[PC_M_WEAKREF] = { "PyWeakReference", "wr_callback" },
	[PC_M_BASEEXCEPTION] = { "PyBaseExceptionObject", "dict args notes traceback context cause message" },  /* message: 2.7 */
	[PC_M_MODULE] = { "PyModuleObject", "md_dict" },
	[PC_M_NAMESPACE] = { "_PyNamespaceObject", "ns_dict" },
	[PC_M_ASYNC_GEN] = { "PyAsyncGenObject", "ag_finalizer ag_origin_or_finalizer" },
	[PC_M_ENUM] = { "enumobject", "en_sit en_result en_longindex" },
	[PC_M_ITER] = { "seqiterobject", "it_seq" },
	[PC_M_DICTVIEW] = { "_PyDictViewObject", "dv_dict" },
	[PC_M_SUPER] = { "superobject", "obj type obj_type" },
	[PC_M_MEMORY] = { "PyMemoryViewObject", "mbuf" },
	[PC_M_MBUF] = { "_PyManagedBufferObject", "master.obj" },
	[PC_M_PARTIAL] = { "partialobject", "fn args kw dict" },
	[PC_M_LRU_CACHE] = { "lru_cache_object", "maxsize_O func cache cache_info_type dict kwd_mark" },  /* maxsize_O: 3.6 */
	[PC_M_LRU_ELEM] = { "lru_list_elem", "key result" },
	[PC_M_SLICE] = { "PySliceObject", "start stop step" },
	[PC_M_SENTINEL] = { "sentinelobject", "name module" },
	[PC_M_DEFDICT] = { "defdictobject", "default_factory" },
	[PC_M_ODICT] = { "PyODictObject", "od_inst_dict" },
	[PC_M_PATTERN] = { "PatternObject", "groupindex indexgroup pattern" },
	[PC_M_FILEIO] = { "fileio", "dict" },
	[PC_M_BUFFERED] = { "buffered", "raw dict" },
	[PC_M_GA] = { "gaobject", "origin args parameters" },
	[PC_M_UNION] = { "unionobject", "args hashable_args unhashable_args parameters" },
	[PC_M_TB] = { "PyTracebackObject", "tb_next tb_frame" },
	[PC_M_LOCAL] = { "localobject", "args kw dummies" },
	[PC_M_ABC_DATA] = { "_abc_data", "_abc_registry _abc_cache _abc_negative_cache" },
	[PC_M_SCANNER] = { "PyScannerObject", "object_hook object_pairs_hook parse_float parse_int parse_constant memo" },
	[PC_M_TUPLEGETTER] = { "_tuplegetterobject", "doc" },
	[PC_M_COUNT] = { "countobject", "long_cnt long_step" },
	[PC_M_CONTEXTVAR] = { "PyContextVar", "var_name var_default var_cached" },
	[PC_M_CONTEXT] = { "PyContext", "ctx_prev ctx_vars" },
	[PC_M_HAMT] = { "PyHamtObject", "h_root" },
	[PC_M_LAZY_IMPORT] = { "PyLazyImportObject", "lz_builtins lz_from lz_attr lz_code" },
	[PC_M_REPEAT] = { "repeatobject", "element" },
	[PC_M_ATTRGETTER] = { "attrgetterobject", "attr" },
	[PC_M_ITEMGETTER] = { "itemgetterobject", "item" },
	[PC_M_STRUCT] = { "PyStructObject", "s_format" },
	[PC_M_TYPEVAR] = { "typevarobject", "name bound evaluate_bound constraints evaluate_constraints default_value evaluate_default" },
	[PC_M_PARAMSPEC] = { "paramspecobject", "name bound default_value evaluate_default" },
	[PC_M_TYPEALIAS] = { "typealiasobject", "name qualname type_params compute_value value module" },
	[PC_M_CLASSOBJ] = { "PyClassObject", "cl_bases cl_dict cl_name cl_getattr cl_setattr cl_delattr" },
	[PC_M_INSTANCE] = { "PyInstanceObject", "in_class in_dict" },
	[PC_M_BYTESIO] = { "bytesio", "dict buf" },
	[PC_M_TEXTIOWRAPPER] = { "textio", "buffer encoding encoder decoder readnl decoded_chars pending_bytes snapshot errors raw dict" },
};

/* The members of TYPE in LIST (space-separated paths) this build has. */
static void members(struct ctx *c, const char *type, const char *list, struct pc_member_list *out)
{
	char path[128];
	const char *p = list;
	out->n = 0;
	while (p && *p && out->n < PC_MEMBERS_MAX) {
		size_t len = strcspn(p, " ");
		if (len && len < sizeof(path)) {
			memcpy(path, p, len);
			path[len] = 0;
			int64_t off = find(c, type, path, OPT);
			if (off >= 0) {
				size_t nl = strnlen(path, sizeof(out->name[0]) - 1);
				memcpy(out->name[out->n], path, nl);
				out->name[out->n][nl] = 0;
				out->off[out->n++] = off;
			}
		}
		p += len;
		while (*p == ' ')
			p++;
	}
}

static void init_rules(struct pc_layout *L, struct ctx *c)
{
	struct pc_rule_offs *o = &L->ro;
	o->f_localsplus = find(c, "PyFrameObject", "f_localsplus", OPT);
	o->f_valuestack = find(c, "PyFrameObject", "f_valuestack", OPT);
	o->f_stacktop = find(c, "PyFrameObject", "f_stacktop", OPT);
	o->f_stackdepth = find(c, "PyFrameObject", "f_stackdepth", OPT);
	if (o->f_localsplus >= 0)
		members(c, "PyFrameObject", "f_back f_code f_builtins f_globals f_locals f_trace "
			"f_exc_type f_exc_value f_exc_traceback", &o->frame_fields);  /* f_exc_*: <= 3.6 */
	else
		members(c, "PyFrameObject", "f_back f_trace", &o->frame_fields);
	const char *IF = "_PyInterpreterFrame";
	o->iframe_owner = find(c, IF, "owner", OPT);
	o->iframe_stacktop = find(c, IF, "stacktop", OPT);
	o->iframe_stackpointer = find(c, IF, "stackpointer", OPT);
	members(c, IF, "frame_obj f_locals f_func f_funcobj f_code f_executable", &o->iframe_fields);
	if (!enumerator(c, "FRAME_OWNED_BY_FRAME_OBJECT", &o->owned_by_frame_object))
		o->owned_by_frame_object = -1;
	if (!enumerator(c, "FRAME_OWNED_BY_CSTACK", &o->owned_by_cstack))
		o->owned_by_cstack = -1;
	o->gi_frame_state = find(c, "PyGenObject", "gi_frame_state", OPT);
	members(c, "PyGenObject",
		"gi_frame gi_code gi_name gi_qualname gi_exc_state.exc_type gi_exc_state.exc_value "
		"gi_exc_state.exc_traceback", &o->gen_fields);

	o->lru_root = find(c, "lru_cache_object", "root", OPT);
	o->lru_next = find(c, "lru_list_elem", "next", OPT);
	o->lru_key = find(c, "lru_list_elem", "key", OPT);
	o->lru_result = find(c, "lru_list_elem", "result", OPT);

	o->dq_leftblock = find(c, "dequeobject", "leftblock", OPT);
	o->dq_rightblock = find(c, "dequeobject", "rightblock", OPT);
	o->dq_rightindex = find(c, "dequeobject", "rightindex", OPT);
	/* By struct tag: obmalloc.c has a typedef named block too. */
	o->blk_data = find(c, "BLOCK", "data", OPT);
	o->blk_rightlink = find(c, "BLOCK", "rightlink", OPT);

	o->odnode_key = find(c, "_odictnode", "key", OPT);
	o->odnode_next = find(c, "_odictnode", "next", OPT);

	o->md_state = find(c, "PyModuleObject", "md_state", OPT);
	o->md_name = find(c, "PyModuleObject", "md_name", OPT);
	o->m_traverse = find(c, "PyModuleDef", "m_traverse", OPT);
	o->md_state_traverse = find(c, "PyModuleObject", "md_state_traverse", OPT);
	o->md_state_size = o->md_state_traverse >= 0 ? find(c, "PyModuleObject", "md_state_size", REQ) : -1;

	members(c, "PyCodeObject",
		"co_code co_consts co_names co_varnames co_freevars co_cellvars co_filename co_name "
		"co_qualname co_lnotab co_linetable co_exceptiontable co_localsplusnames "
		"co_localspluskinds _co_code _co_varnames _co_cellvars _co_freevars co_endlinetable "
		"co_columntable", &o->code_fields);
	o->co_cached = find(c, "PyCodeObject", "_co_cached", OPT);
	members(c, "_PyCoCached", "_co_code _co_varnames _co_cellvars _co_freevars", &o->cached_fields);

	for (int i = 1; i < PC_NMEMBERS; i++)
		members(c, member_specs[i].type, member_specs[i].fields, &L->members[i]);
	/* classobject.c's instancemethod_traverse is 3.x's instancemethod
	 * (PyInstanceMethodObject), or, where that struct is absent (2.7),
	 * the bound and unbound method, class included. */
	if (!L->members[PC_M_INSTANCEMETHOD].n)
		members(c, "PyMethodObject", "im_func im_self im_class", &L->members[PC_M_INSTANCEMETHOD]);
}

/* Behaviour that no struct describes, per minor version: the one place a
 * version number chooses, as data (measured against sys.getsizeof; see
 * CPYTHON-NOTES.md sections 2 and 6). */
static const struct behaviour {
	int major, minor;
	bool static_type_presize;   /* getsizeof(static type) adds a GC header */
	int preheader_words;        /* managed dict/weakref words before the GC header */
	int zero_int_digits;        /* digits counted for 0 */
	/* _PyStackRef tags (macros of pycore_stackref.h, default build): bits
	 * 0-1 are tags (1: borrowed or immortal, 2: 3.15's error marker, 3: a
	 * tagged int); NULL is 1, so clearing them leaves 0. */
	unsigned stackref_tag_mask, stackref_int_tag;
	/* <= 3.7: gc_refs of a tracked object is _PyGC_REFS_REACHABLE (-3)
	 * shifted left by this (3.6/3.7 keep the finalized flag in bit 0) */
	int gc_refs_shift;
	/* The pre-header's dict word is the 3.12 dict-or-values word, values
	 * tagged in bit 0: an encoding of macros.  (Its union type
	 * PyDictOrValues says so where the DWARF describes it, but a struct
	 * no source describes cannot say the other versions lack it.) */
	bool dict_or_values_word;
	/* co_lnotab's line deltas are signed bytes (3.6, bpo-26107; 2.7's
	 * are unsigned); moot where the line model is not PC_LINES_LNOTAB */
	bool lnotab_signed;
} behaviours[] = {
	{ 2, 7, false, 0, 0, 0, 0, 0, false, false },
	{ 3, 6, false, 0, 0, 0, 0, 1, false, true },
	{ 3, 7, false, 0, 0, 0, 0, 1, false, true },
	{ 3, 8, false, 0, 0, 0, 0, 0, false, true },
	{ 3, 9, false, 0, 0, 0, 0, 0, false, true },
	{ 3, 10, false, 0, 0, 0, 0, 0, false, true },
	{ 3, 11, true, 2, 1, 0, 0, 0, false, true },
	{ 3, 12, true, 2, 1, 0, 0, 0, true, true },
	{ 3, 13, false, 2, 1, 0, 0, 0, false, true },
	{ 3, 14, false, 2, 1, 3, 3, 0, false, true },
	{ 3, 15, false, 2, 1, 3, 3, 0, false, true },
};

/* The walkers' other choices, each from the facts that decide it: they
 * branch on these, never on whether an offset is known. */
static void decide_walks(struct pc_layout *L, struct ctx *c)
{
	const struct pc_rule_offs *o = &L->ro;
	/* The interned strings: per interpreter where it holds them. */
	L->interned_model = L->is_interned >= 0 ? PC_INTERNED_INTERP : PC_INTERNED_STATIC;
	/* A <= 3.10 dict's keys say by dk_lookup whether they are general. */
	if (L->dict_family == PC_DICT_SIZE_LOOKUP && L->dk_lookup < 0)
		need(c, "PyDictKeysObject.dk_lookup", true);
	/* Inline values say whether they are the object's own. */
	if (L->idict_model == PC_IDICT_INLINE_VALUES && L->dictvalues_embedded < 0)
		need(c, "PyDictValues.embedded", true);

	/* How deep a frame's value stack is: the member this build has. */
	bool stack = true;
	if (L->frame_model == PC_FRAME_INTERP) {
		if (o->iframe_stackpointer >= 0)
			L->stack_top = PC_STACK_POINTER;
		else if (o->iframe_stacktop >= 0)
			L->stack_top = PC_STACK_SLOTS;
		else
			stack = false;
	} else if (o->f_stackdepth >= 0) {
		L->stack_top = PC_STACK_DEPTH;
	} else if (o->f_stacktop >= 0) {
		L->stack_top = PC_STACK_TOP_PTR;
	} else {
		stack = false;
	}
	/* Code objects: 3.11+ is a var-object of code units; before, a fixed
	 * struct plus what hangs off it. */
	L->code_sizeof = L->co_nlocalsplus >= 0 ? PC_CODE_SIZEOF_UNITS : PC_CODE_SIZEOF_FIXED;
	/* A generator's code: its own member, or its frame's (3.12+). */
	L->gen_code = L->gi_code >= 0 ? PC_GEN_CODE_FIELD : PC_GEN_CODE_IFRAME;
	/* Where a module keeps its state's size and traverse function. */
	if (o->md_state_traverse >= 0)
		L->module_state = PC_MSTATE_MODULE;
	else if (L->md_def >= 0 && o->m_traverse >= 0 && L->m_size >= 0)
		L->module_state = PC_MSTATE_DEF;
	else
		L->module_state = PC_MSTATE_NONE;
	if (L->module_state != PC_MSTATE_NONE && o->md_state < 0)
		need(c, "PyModuleObject.md_state", true);
	L->bytesio_model = L->bytesio_buf_size >= 0 ? PC_BYTESIO_CHARS : PC_BYTESIO_BYTES;
	L->str_wstr_copy = L->str_model == PC_STR_PEP393 && L->str_wstr >= 0;
	if (L->str_wstr_copy && L->str_wstr_length < 0)
		need(c, "PyCompactUnicodeObject.wstr_length", true);
	L->bytearray_bytes_buffer = L->bytearray_bytes_object >= 0;
	L->old_instances_by_class = L->name_model == PC_NAME_NAME && L->in_class >= 0;

	/* The structured rules and sizers with every fact they read. */
	struct pc_decodes *d = &L->decodes;
	d->frame = stack && (L->frame_model == PC_FRAME_OBJECT
			     ? o->f_localsplus >= 0 && o->f_valuestack >= 0 && L->co_nlocals >= 0 && L->f_code >= 0
			     : L->f_frame >= 0 && o->iframe_owner >= 0 && L->iframe_localsplus >= 0);
	d->gen = L->frame_model == PC_FRAME_OBJECT ||
		 (stack && L->gi_iframe >= 0 && o->gi_frame_state >= 0);
	d->lru = o->lru_root >= 0 && o->lru_next >= 0 && o->lru_key >= 0 && o->lru_result >= 0;
	d->deque = o->dq_leftblock >= 0 && o->blk_data >= 0 && o->blk_rightlink >= 0 && L->dq_blocklen > 0;
	d->odict = L->od_first >= 0 && o->odnode_key >= 0 && o->odnode_next >= 0;
	d->deque_size = L->dq_leftindex >= 0 && L->dq_blocklen > 0 && L->dq_block_size > 0;
	d->odict_size = L->od_fast_nodes_size >= 0 && L->od_first >= 0 && L->odnode_size > 0;
	d->buffered_size = L->buffered_buffer >= 0 && L->buffered_buffer_size >= 0;
	d->array_size = L->array_allocated >= 0 && L->array_descr >= 0 && L->arraydescr_itemsize >= 0;
	d->struct_size = L->struct_codes >= 0 && L->formatcode_size > 0;
	d->bytesio_size = L->bytesio_buf >= 0;
}

static void decide(struct pc_layout *L, struct ctx *c)
{
	const struct behaviour *b = NULL;
	for (size_t i = 0; i < sizeof(behaviours) / sizeof(behaviours[0]); i++)
		if (behaviours[i].major == L->major && behaviours[i].minor == L->minor)
			b = &behaviours[i];
	if (!b) {
		if (!c->unknown) {
			snprintf(c->ubuf, sizeof(c->ubuf), "the sizing behaviour of %d.%d", L->major, L->minor);
			c->unknown = c->ubuf;
			c->unknown_for = "sizing";
		}
		return;
	}
	L->static_type_presize = b->static_type_presize;
	L->zero_int_digits = b->zero_int_digits;
	L->stackref_tag_mask = b->stackref_tag_mask;
	L->stackref_int_tag = b->stackref_int_tag;
	L->gc_refs_shift = b->gc_refs_shift;
	L->lnotab_signed = b->lnotab_signed;
	L->has_preheader = b->preheader_words > 0;
	/* Pre-header words sit just before the GC header: the dict (or the
	 * 3.12 dict-or-values word) nearest it, weakrefs or 3.11's values
	 * pointer below. */
	L->preheader_size = b->preheader_words * 8;
	L->preheader_dict = L->has_preheader ? -(L->gc_head_size + 8) : 0;
	L->preheader_values = L->has_preheader ? -(L->gc_head_size + 16) : 0;

	/* Dict family: which keys header this build has. */
	int64_t v;
	if (L->dict_family == PC_DICT_OPEN) {
		L->entry_key = find(c, "PyDictEntry", "me_key", REQ);
		L->entry_value = find(c, "PyDictEntry", "me_value", REQ);
		L->uentry_key = L->uentry_value = -1;
	} else {
		if (fact(c, "PyDictKeysObject.dk_log2_size", &v))
			L->dict_family = PC_DICT_LOG2_KIND;
		else if (fact(c, "PyDictKeysObject.dk_size", &v))
			L->dict_family = PC_DICT_SIZE_LOOKUP;
		else
			need(c, "PyDictKeysObject.dk_size|dk_log2_size", true);
		L->entry_key = find(c, "PyDictKeyEntry", "me_key", REQ);
		L->entry_value = find(c, "PyDictKeyEntry", "me_value", REQ);
		L->uentry_key = find(c, "PyDictUnicodeEntry", "me_key", OPT);
		L->uentry_value = find(c, "PyDictUnicodeEntry", "me_value", OPT);
	}
	if (L->dict_family == PC_DICT_LOG2_KIND && (L->uentry_key < 0 || L->uentry_value < 0))
		need(c, "PyDictUnicodeEntry.me_key", true);

	/* Instance dicts: 3.13's values know whether they are valid (asked
	 * where pre-header words exist, so PyDictValues does); the 3.12 tagged
	 * word is the behaviour table's, checked against its union type where
	 * a source describes that. */
	int64_t tagged_size;
	if (!L->has_preheader)
		L->idict_model = PC_IDICT_OFFSET;
	else if (decide_find(c, "PyDictValues", "valid") >= 0)
		L->idict_model = PC_IDICT_INLINE_VALUES;
	else if (b->dict_or_values_word)
		L->idict_model = PC_IDICT_TAGGED;
	else
		L->idict_model = PC_IDICT_VALUES_WORD;
	if (ask(c, "sizeof(PyDictOrValues)", &tagged_size) == PC_FACT_VALUE && L->idict_model != PC_IDICT_TAGGED)
		need(c, "a pre-header model that fits PyDictOrValues", true);
	L->idict_values_tag = 1;

	/* Frames: 3.11 moved locals and the stack into _PyInterpreterFrame,
	 * which the frame object points to (f_frame): asked of the frame
	 * object, which every version has, so it cannot be guessed. */
	L->frame_model = decide_find(c, "PyFrameObject", "f_frame") >= 0 ? PC_FRAME_INTERP : PC_FRAME_OBJECT;
	L->frame_cleared = -1;
	if (L->frame_model == PC_FRAME_INTERP && !enumerator(c, "FRAME_CLEARED", &L->frame_cleared))
		need(c, "enum(FRAME_CLEARED)", true);
	/* Where a thread's running frame is. */
	if (L->frame_model == PC_FRAME_OBJECT) {
		L->thread_frame = PC_TF_FRAME;
		if (L->ts_frame < 0)
			need(c, "PyThreadState.frame", true);
	} else if (L->ts_current_frame >= 0) {
		L->thread_frame = PC_TF_CURRENT;
	} else {
		L->thread_frame = PC_TF_CFRAME;
		if (L->ts_cframe < 0 || L->cframe_current_frame < 0)
			need(c, "PyThreadState.current_frame|cframe", true);
	}
	if (L->frame_model == PC_FRAME_INTERP && L->iframe_previous < 0)
		need(c, "_PyInterpreterFrame.previous", true);
	/* What sizing and the frame and generator rules read in that model. */
	if (L->frame_model == PC_FRAME_INTERP &&
	    (L->f_frame < 0 || L->gi_iframe < 0 || L->iframe_localsplus < 0 || L->iframe_code < 0))
		need(c, "PyFrameObject.f_frame, PyGenObject.gi_iframe, _PyInterpreterFrame.localsplus and f_code", true);

	/* lv_tag: the sign in bits 0-1, bit 2 reserved, the digit count above. */
	L->lv_tag_shift = 3;
	/* PYLONG_BITS_IN_DIGIT, a macro: 30 in 4-byte digits, 15 in 2-byte. */
	L->digit_bits = L->digit_size == 2 ? 15 : 30;
	/* Static builtin type i (tp_subclasses = i + 1) has state i. */
	L->builtin_index_bias = 1;
	L->static_types_no_dict = L->is_types_builtins >= 0;
	decide_walks(L, c);
}

/* --- the table source --------------------------------------------------- */

struct table {
	json_object *root;
	json_object *facts;    /* [{"fact", "value"}]: null value = absent */
};

/* Whether fact KEY is about struct TYPE. */
static bool names_struct(const char *key, const char *type)
{
	char t[PC_FACT_KEY];
	return pc_layout_key_struct(key, t, sizeof(t)) && !strcmp(t, type);
}

enum pc_fact_state pc_layout_facts_find(struct json_object *facts, const char *key, int64_t *value)
{
	*value = -1;
	size_t n = json_object_array_length(facts);
	/* struct(T): the table describes T if it holds any fact of it, other
	 * than the "abi" source's single facts (an info dump keeps them). */
	size_t kn = strlen(key);
	if (!strncmp(key, "struct(", 7) && kn > 8 && key[kn - 1] == ')') {
		char type[PC_FACT_KEY];
		snprintf(type, sizeof(type), "%.*s", (int)(kn - 8), key + 7);
		for (size_t i = 0; i < n; i++) {
			json_object *f = json_object_array_get_idx(facts, i), *k, *from;
			if (json_object_object_get_ex(f, "from", &from) &&
			    !strcmp(json_object_get_string(from) ? json_object_get_string(from) : "", "abi"))
				continue;
			if (json_object_object_get_ex(f, "fact", &k) && names_struct(json_object_get_string(k), type)) {
				*value = 1;
				return PC_FACT_VALUE;
			}
		}
		return PC_FACT_UNKNOWN;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(facts, i), *k, *v;
		if (!json_object_object_get_ex(f, "fact", &k) || strcmp(json_object_get_string(k), key))
			continue;
		if (!json_object_object_get_ex(f, "value", &v) || json_object_is_type(v, json_type_null))
			return PC_FACT_ABSENT;
		if (!json_object_is_type(v, json_type_int))
			return PC_FACT_UNKNOWN;
		*value = json_object_get_int64(v);
		return PC_FACT_VALUE;
	}
	return PC_FACT_UNKNOWN;
}

static enum pc_fact_state table_fact(void *ctx, const char *key, int64_t *value)
{
	return pc_layout_facts_find(((struct table *)ctx)->facts, key, value);
}

struct pc_error *pc_layout_table_source(const char *path, struct pc_layout_source *out)
{
	struct table *t = calloc(1, sizeof(*t));
	if (!t)
		return pc_error_nomem();
	t->root = json_object_from_file(path);
	json_object *lay = NULL;
	if (!t->root || !json_object_object_get_ex(t->root, "layout", &lay) ||
	    !json_object_object_get_ex(lay, "facts", &t->facts) ||
	    !json_object_is_type(t->facts, json_type_array)) {
		json_object_put(t->root);
		free(t);
		return pc_error_new(PC_EXIT_INPUT, "%s: not a layout table (the JSON of pycensus info, with layout.facts)",
				    path);
	}
	*out = (struct pc_layout_source){ .name = "table", .fact = table_fact, .ctx = t };
	return NULL;
}

void pc_layout_table_free(struct pc_layout_source *src)
{
	struct table *t = src->ctx;
	if (t)
		json_object_put(t->root);
	free(t);
	src->ctx = NULL;
}

/* --- building ------------------------------------------------------------ */

struct pc_error *pc_layout_build(struct pc_layout *L, const struct pc_layout_source *sources, int nsources,
				 int major, int minor)
{
	memset(L, 0, sizeof(*L));
	L->major = major;
	L->minor = minor;
	if (nsources > PC_LAYOUT_SOURCES)
		nsources = PC_LAYOUT_SOURCES;
	for (int i = 0; i < nsources; i++)
		L->sources[i] = sources[i].name;
	L->nsources = nsources;
	struct ctx c = { .L = L, .src = sources, .nsrc = nsources };
	c.feature = "naming objects and types";
	init_objects(L, &c);
	c.feature = "the GC walk";
	init_gc(L, &c);
	c.feature = "finding interpreters, threads and frames";
	init_runtime(L, &c);
	c.feature = "reading str";
	init_str(L, &c);
	c.feature = "reading int, list, tuple, dict and set";
	init_containers(L, &c);
	c.feature = "sizing";
	init_sizing(L, &c);
	init_buffers(L, &c);
	c.feature = "sizing extension modules' objects";
	init_modules(L, &c);
	c.feature = "the traverse rules";
	init_rules(L, &c);
	c.feature = "its layout decisions";
	decide(L, &c);
	for (int i = 0; i < nsources; i++)
		if ((c.used & (1u << i)) && !sources[i].aside)
			snprintf(L->offsets + strlen(L->offsets), sizeof(L->offsets) - strlen(L->offsets), "%s%s",
				 L->offsets[0] ? "+" : "", sources[i].name);
	if (L->nfacts >= PC_LAYOUT_FACTS)
		return pc_error_new(PC_EXIT_FAILED, "the layout table is full (%d facts)", PC_LAYOUT_FACTS);
	/* Before the missing facts: a free-threaded build's structs differ
	 * from a GIL build's, so a fact it lacks is a consequence of that;
	 * the reason to give is the build. */
	if (L->ob_tid >= 0)
		return pc_error_new(PC_EXIT_NOTPY,
			"this Python %d.%d is a free-threaded build (PyObject.ob_tid): it has no GC lists; pycensus reads GIL builds only",
			major, minor);
	if (c.unknown) {
		char names[64] = "";
		for (int i = 0; i < nsources; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
				 sources[i].name);
		return pc_error_new(PC_EXIT_NOTPY,
			"no offset source (%s) knows %s, needed for %s of this Python %d.%d; pycensus refuses rather than guess",
			names, c.unknown, c.unknown_for, major, minor);
	}
	if (c.missing)
		return pc_error_new(PC_EXIT_NOTPY,
			"the debug information of this Python %d.%d lacks %s; pycensus cannot read it",
			major, minor, c.missing);
	/* Sanity: the fields we rely on must sit where any CPython has them. */
	if (L->ob_type != 8 || L->object_size != 16 || (L->gc_head_size != 16 && L->gc_head_size != 32))
		return pc_error_new(PC_EXIT_NOTPY,
			"unexpected object layout (ob_type at %lld, PyObject %lld bytes, PyGC_Head %lld bytes): a debug (Py_TRACE_REFS) or free-threaded build?",
			(long long)L->ob_type, (long long)L->object_size, (long long)L->gc_head_size);
	return NULL;
}

struct pc_error *pc_layout_from(struct pc_layout *L, struct pc_dwarf_index *idx,
				struct pc_dwarf_index *const *ext, int next,
				const struct pc_layout_source *more, int nmore, int major, int minor)
{
	const char *path = getenv("PYCENSUS_TEST_LAYOUT_TABLE");
	if (!path || !*path) {
		struct dwarf_set set = { .idx = { idx }, .n = 1 };
		for (int i = 0; i < next && i < PC_EXT_DWARF; i++)
			set.idx[set.n++] = ext[i];
		struct pc_layout_source src[PC_LAYOUT_SOURCES];
		int n = 0;
		if (idx)
			src[n++] = (struct pc_layout_source){ .name = "dwarf", .fact = dwarf_set_fact, .ctx = &set };
		for (int i = 0; i < nmore && n < PC_LAYOUT_SOURCES - 1; i++)
			src[n++] = more[i];
		src[n++] = pc_layout_abi_source();
		return pc_layout_build(L, src, n, major, minor);
	}
	/* The table stands in for the interpreter's sources; the extension
	 * modules' ABI facts it lacks (a compiled-in table has none) are
	 * still pycensus's own. */
	struct pc_layout_source src[2];
	struct pc_error *err = pc_layout_table_source(path, &src[0]);
	if (err)
		return err;
	src[1] = pc_layout_abi_source();
	err = pc_layout_build(L, src, 2, major, minor);
	pc_layout_table_free(&src[0]);
	return err;
}
