#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdwfl.h>
#include <gelf.h>

#include "builtin_types.h"
#include "chain.h"
#include "conservative.h"
#include "referents.h"
#include "traverse_since.h"
#include "traverse_names.h"
#include "types.h"

/* A traverse function of CPython, the rule that mirrors it, and the member
 * list of the layout it visits first (PC_M_NONE: none). */
struct spec {
	const char *file, *fn;
	enum pc_rule_kind kind;
	enum pc_members members;
};

static const struct spec specs[] = {
	{ "tupleobject.c", "tupletraverse", RULE_TUPLE, PC_M_NONE },
	{ "tupleobject.c", "tuple_traverse", RULE_TUPLE, PC_M_NONE },   /* 3.14+ */
	{ "listobject.c", "list_traverse", RULE_LIST, PC_M_NONE },
	{ "dictobject.c", "dict_traverse", RULE_DICT, PC_M_NONE },
	{ "setobject.c", "set_traverse", RULE_SET, PC_M_NONE },
	{ "typeobject.c", "subtype_traverse", RULE_SUBTYPE, PC_M_NONE },
	{ "typeobject.c", "type_traverse", RULE_TYPE, PC_M_TYPE },
	{ "funcobject.c", "func_traverse", RULE_FIELDS, PC_M_FUNC },
	{ "funcobject.c", "cm_traverse", RULE_FIELDS, PC_M_CM },
	{ "funcobject.c", "sm_traverse", RULE_FIELDS, PC_M_SM },
	{ "cellobject.c", "cell_traverse", RULE_FIELDS, PC_M_CELL },
	{ "classobject.c", "method_traverse", RULE_FIELDS, PC_M_METHOD },
	{ "classobject.c", "instancemethod_traverse", RULE_FIELDS, PC_M_INSTANCEMETHOD },
	{ "methodobject.c", "meth_traverse", RULE_FIELDS, PC_M_METH },
	{ "descrobject.c", "descr_traverse", RULE_FIELDS, PC_M_DESCR },
	{ "descrobject.c", "property_traverse", RULE_FIELDS, PC_M_PROPERTY },
	{ "descrobject.c", "mappingproxy_traverse", RULE_FIELDS, PC_M_MAPPINGPROXY },
	{ "descrobject.c", "wrapper_traverse", RULE_FIELDS, PC_M_WRAPPER },
	{ "weakrefobject.c", "gc_traverse", RULE_FIELDS, PC_M_WEAKREF },
	{ "exceptions.c", "BaseException_traverse", RULE_FIELDS, PC_M_BASEEXCEPTION },
	{ "moduleobject.c", "module_traverse", RULE_MODULE, PC_M_MODULE },
	{ "namespaceobject.c", "namespace_traverse", RULE_FIELDS, PC_M_NAMESPACE },
	{ "frameobject.c", "frame_traverse", RULE_FRAME, PC_M_NONE },
	{ "genobject.c", "gen_traverse", RULE_GEN, PC_M_NONE },
	{ "genobject.c", "async_gen_traverse", RULE_GEN, PC_M_ASYNC_GEN },
	{ "enumobject.c", "enum_traverse", RULE_FIELDS, PC_M_ENUM },
	{ "iterobject.c", "iter_traverse", RULE_FIELDS, PC_M_ITER },
	{ "dictobject.c", "dictview_traverse", RULE_FIELDS, PC_M_DICTVIEW },
	{ "typeobject.c", "super_traverse", RULE_FIELDS, PC_M_SUPER },
	{ "memoryobject.c", "memory_traverse", RULE_FIELDS, PC_M_MEMORY },
	{ "memoryobject.c", "mbuf_traverse", RULE_FIELDS, PC_M_MBUF },
	{ "_functoolsmodule.c", "partial_traverse", RULE_FIELDS, PC_M_PARTIAL },
	{ "_functoolsmodule.c", "lru_cache_tp_traverse", RULE_LRU, PC_M_LRU_CACHE },
	{ "_functoolsmodule.c", "lru_list_elem_traverse", RULE_FIELDS, PC_M_LRU_ELEM },  /* 3.6 */
	{ "sliceobject.c", "slice_traverse", RULE_FIELDS, PC_M_SLICE },  /* 3.14+ */
	{ "sentinelobject.c", "sentinel_traverse", RULE_FIELDS, PC_M_SENTINEL },  /* 3.15+ */
	{ "_collectionsmodule.c", "deque_traverse", RULE_DEQUE, PC_M_NONE },
	{ "_collectionsmodule.c", "defdict_traverse", RULE_DICT, PC_M_DEFDICT },
	{ "odictobject.c", "odict_traverse", RULE_ODICT, PC_M_ODICT },
	{ "structseq.c", "structseq_traverse", RULE_STRUCTSEQ, PC_M_NONE },
	{ "_sre.c", "pattern_traverse", RULE_FIELDS, PC_M_PATTERN },
	{ "sre.c", "pattern_traverse", RULE_FIELDS, PC_M_PATTERN },
	{ "fileio.c", "fileio_traverse", RULE_FIELDS, PC_M_FILEIO },
	{ "bufferedio.c", "buffered_traverse", RULE_FIELDS, PC_M_BUFFERED },
	{ "genericaliasobject.c", "ga_traverse", RULE_FIELDS, PC_M_GA },
	{ "unionobject.c", "union_traverse", RULE_FIELDS, PC_M_UNION },
	{ "traceback.c", "tb_traverse", RULE_FIELDS, PC_M_TB },
	{ "_threadmodule.c", "local_traverse", RULE_FIELDS, PC_M_LOCAL },
	{ "threadmodule.c", "local_traverse", RULE_FIELDS, PC_M_LOCAL },        /* 2.7 */
	{ "_abc.c", "abc_data_traverse", RULE_FIELDS, PC_M_ABC_DATA },
	{ "_json.c", "scanner_traverse", RULE_FIELDS, PC_M_SCANNER },
	{ "_collectionsmodule.c", "tuplegetter_traverse", RULE_FIELDS, PC_M_TUPLEGETTER },
	{ "itertoolsmodule.c", "count_traverse", RULE_FIELDS, PC_M_COUNT },
	{ "textio.c", "textiowrapper_traverse", RULE_FIELDS, PC_M_TEXTIOWRAPPER },
	{ "context.c", "contextvar_tp_traverse", RULE_FIELDS, PC_M_CONTEXTVAR },
	{ "context.c", "context_tp_traverse", RULE_FIELDS, PC_M_CONTEXT },
	{ "hamt.c", "hamt_tp_traverse", RULE_FIELDS, PC_M_HAMT },
	{ "lazyimportobject.c", "lazy_import_traverse", RULE_FIELDS, PC_M_LAZY_IMPORT },
	{ "itertoolsmodule.c", "repeat_traverse", RULE_FIELDS, PC_M_REPEAT },
	{ "_operator.c", "attrgetter_traverse", RULE_FIELDS, PC_M_ATTRGETTER },
	{ "_operator.c", "itemgetter_traverse", RULE_FIELDS, PC_M_ITEMGETTER },
	{ "operator.c", "attrgetter_traverse", RULE_FIELDS, PC_M_ATTRGETTER },    /* 2.7 */
	{ "operator.c", "itemgetter_traverse", RULE_FIELDS, PC_M_ITEMGETTER },    /* 2.7 */
	{ "_struct.c", "s_traverse", RULE_FIELDS, PC_M_STRUCT },
	{ "typevarobject.c", "typevar_traverse", RULE_FIELDS, PC_M_TYPEVAR },
	{ "typevarobject.c", "paramspec_traverse", RULE_FIELDS, PC_M_PARAMSPEC },
	{ "typevarobject.c", "typealias_traverse", RULE_FIELDS, PC_M_TYPEALIAS },
	{ "classobject.c", "class_traverse", RULE_FIELDS, PC_M_CLASSOBJ },        /* 2.7 */
	{ "classobject.c", "instance_traverse", RULE_INSTANCE, PC_M_INSTANCE },   /* 2.7 */
	{ "bytesio.c", "bytesio_traverse", RULE_FIELDS, PC_M_BYTESIO },
};

#define NSPECS (sizeof(specs) / sizeof(specs[0]))

/* Traverse functions met so far and their rules: many types share one. */
#define FN_CACHE 256

/* What one interpreter build's DWARF and symbols say, the same in every
 * process that runs it.  Addresses are those of the process MOD was found
 * in. */
struct pc_rulebook {
	/* No symbol names the traverse functions (strip --strip-all): types
	 * are recognised by name and shape instead (rule_by_type). */
	bool by_type;
	uint64_t low, high;    /* the interpreter's addresses */
	/* extension modules kept apart, with their addresses */
	struct { uint64_t low, high; } ext[PC_EXT_MODULES];
	int next;
	/* The traverse functions the symbols and line tables name, read
	 * once (so the build's DWARF can be let go): address -> rule,
	 * sorted by address. */
	struct fn_rule { uint64_t fn; const struct pc_rule *rule; } *fns;
	size_t nfns, capfns;
	uint64_t subtype_fn;   /* subtype_traverse once learned, else 0 */
	struct pc_rule rules[NSPECS];
	struct pc_rule leaf, opaque;
	uint64_t cache_fn[FN_CACHE];
	const struct pc_rule *cache_rule[FN_CACHE];
};

struct pc_referents {
	struct pc_rulebook *book;
	uint64_t delta;        /* this process's load bias minus the book's */
};

/* Whether the layout has every fact rule kind K reads. */
static bool structured_ok(const struct pc_layout *L, enum pc_rule_kind k)
{
	switch (k) {
	case RULE_FRAME:
		return L->decodes.frame;
	case RULE_GEN:
		return L->decodes.gen;
	case RULE_LRU:
		return L->decodes.lru;
	case RULE_DEQUE:
		return L->decodes.deque;
	case RULE_ODICT:
		return L->decodes.odict;
	default:
		return true;
	}
}

/* Whether MOD's symbol table (.symtab, its own or the debug file's) names
 * the traverse functions: list_traverse is static, never in .dynsym. */
static bool names_traverse(Dwfl_Module *mod)
{
	int n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		const char *name = dwfl_module_getsym(mod, i, &sym, NULL);
		if (name && GELF_ST_TYPE(sym.st_info) == STT_FUNC && !strncmp(name, "list_traverse", 13) &&
		    (name[13] == 0 || name[13] == '.'))
			return true;
	}
	return false;
}

static int fn_cmp(const void *a, const void *b)
{
	const struct fn_rule *x = a, *y = b;
	return x->fn < y->fn ? -1 : x->fn > y->fn;
}

/* The usable rule whose spec is the function NAME (less LTO's
 * ".lto_priv.0"-style suffixes) defined in the source file FILE (the
 * symbol table's STT_FILE before it, "" for any; NULL: the line table at
 * FN says), else NULL. */
static const struct pc_rule *spec_rule(struct pc_rulebook *R, Dwfl_Module *mod, const char *name, uint64_t fn,
				       const char *file)
{
	char base[128];
	size_t len = strcspn(name, ".");
	if (len >= sizeof(base))
		return NULL;
	memcpy(base, name, len);
	base[len] = 0;
	size_t i = 0;
	while (i < NSPECS && (!R->rules[i].usable || strcmp(specs[i].fn, base)))
		i++;
	if (i == NSPECS)
		return NULL;
	if (!file) {
		/* (the line table: decompressing .debug_line costs memory) */
		Dwfl_Line *line = dwfl_module_getsrc(mod, fn);
		const char *src = line ? dwfl_lineinfo(line, NULL, NULL, NULL, NULL, NULL) : NULL;
		file = src ? strrchr(src, '/') : NULL;
		file = file ? file + 1 : src;
	}
	for (; i < NSPECS; i++)
		if (R->rules[i].usable && !strcmp(specs[i].fn, base) &&
		    (!file || !*file || !strcmp(specs[i].file, file)))
			return &R->rules[i];
	return NULL;
}

/* Every function of MOD's symbol table a rule mirrors, into R->fns. */
static size_t base_len(const char *name)
{
	return strcspn(name, ".");
}

/* A function a type may point to: not a piece GCC split off one (its
 * .cold or .part.N code), which no pointer takes. */
static bool whole_function(const char *name, const GElf_Sym *sym)
{
	return GELF_ST_TYPE(sym->st_info) == STT_FUNC && sym->st_shndx != SHN_UNDEF && strstr(name, "traverse") &&
	       !strstr(name, ".cold") && !strstr(name, ".part.");
}

/* How many functions of MOD bear each spec's name (less suffixes). */
static void count_names(Dwfl_Module *mod, int *count)
{
	int n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		if (!name || !whole_function(name, &sym))
			continue;
		for (size_t k = 0; k < NSPECS; k++)
			if (strlen(specs[k].fn) == base_len(name) && !strncmp(specs[k].fn, name, base_len(name)))
				count[k]++;
	}
}

static void learn_functions(struct pc_rulebook *R, Dwfl_Module *mod)
{
	int count[NSPECS] = { 0 };
	count_names(mod, count);
	int n = dwfl_module_getsymtab(mod);
	const char *file = NULL;   /* the source file of the local symbols that follow */
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		if (name && GELF_ST_TYPE(sym.st_info) == STT_FILE) {
			/* a C file's name; LTO's partitions (ccX.ltrans0.ltrans.o) say none */
			size_t len = strlen(name);
			file = len > 2 && !strcmp(name + len - 2, ".c") ? name : NULL;
			if (file && strrchr(file, '/'))
				file = strrchr(file, '/') + 1;
		}
		if (!name || !whole_function(name, &sym))
			continue;
		/* Which file a function is from matters only when two bear its
		 * name; the line table (.debug_line inflated) only if the
		 * symbols do not say. */
		const char *from = GELF_ST_BIND(sym.st_info) == STB_LOCAL ? file : NULL;
		for (size_t k = 0; !from && k < NSPECS; k++)
			if (count[k] == 1 && strlen(specs[k].fn) == base_len(name) &&
			    !strncmp(specs[k].fn, name, base_len(name)))
				from = "";
		const struct pc_rule *r = spec_rule(R, mod, name, addr, from);
		if (!r)
			continue;
		if (R->nfns == R->capfns) {
			size_t cap = R->capfns ? 2 * R->capfns : 64;
			struct fn_rule *f = realloc(R->fns, cap * sizeof(*f));
			if (!f)
				return;   /* those left out stay opaque */
			R->fns = f;
			R->capfns = cap;
		}
		R->fns[R->nfns].fn = addr;
		R->fns[R->nfns++].rule = r;
		if (getenv("PYCENSUS_DEBUG_RULES"))
			fprintf(stderr, "rule %s at %#llx\n", name, (unsigned long long)addr);
	}
	qsort(R->fns, R->nfns, sizeof(*R->fns), fn_cmp);
}

struct pc_error *pc_rulebook_create(const struct pc_layout *L, Dwfl_Module *mod, int major, int minor,
				    int micro, struct pc_rulebook **out)
{
	struct pc_rulebook *R = calloc(1, sizeof(*R));
	if (!R)
		return pc_error_nomem();
	R->by_type = !names_traverse(mod);
	Dwarf_Addr low = 0, high = 0;
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	R->low = low;
	R->high = high;
	if (getenv("PYCENSUS_DEBUG_RULES"))
		fprintf(stderr, "rules by %s\n", R->by_type ? "type" : "symbol");
	R->leaf.kind = RULE_LEAF;
	R->leaf.name = "(none)";
	R->opaque.kind = RULE_OPAQUE;
	R->opaque.name = "(unknown traverse)";
	for (size_t i = 0; i < NSPECS; i++) {
		const struct spec *s = &specs[i];
		struct pc_rule *r = &R->rules[i];
		r->name = s->fn;
		r->kind = s->kind;
		const struct pc_member_list *m = &L->members[s->members];
		r->nfields = m->n < PC_RULE_MAX_FIELDS ? m->n : PC_RULE_MAX_FIELDS;
		memcpy(r->fields, m->off, (size_t)r->nfields * sizeof(r->fields[0]));
		for (int f = 0; f < r->nfields; f++) {
			r->field_names[f] = m->name[f];
			if (!pc_traverse_visits(s->fn, m->name[f], major, minor, micro))
				r->hidden |= 1u << f;
		}
		/* A rule whose structure this build's DWARF lacks cannot mirror
		 * its traverse: such types stay opaque. */
		r->usable = structured_ok(L, s->kind) &&
			    !(s->members && r->nfields == 0 &&
			      (s->kind == RULE_FIELDS || s->kind == RULE_TYPE || s->kind == RULE_INSTANCE));
	}
	if (!R->by_type)
		learn_functions(R, mod);
	*out = R;
	return NULL;
}

void pc_rulebook_destroy(struct pc_rulebook *R)
{
	if (R)
		free(R->fns);
	free(R);
}

void pc_rulebook_add_module(struct pc_rulebook *R, Dwfl_Module *mod)
{
	Dwarf_Addr low = 0, high = 0;
	if (R->next >= PC_EXT_MODULES)
		return;
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	R->ext[R->next].low = low;
	R->ext[R->next++].high = high;
	/* (an interpreter without symbols beside a module with them: 2.7's
	 * lib-dynload _collections keeps its deque_traverse named) */
	learn_functions(R, mod);
}

struct pc_error *pc_referents_create(struct pc_rulebook *book, uint64_t delta, struct pc_referents **out)
{
	struct pc_referents *R = calloc(1, sizeof(*R));
	if (!R)
		return pc_error_nomem();
	R->book = book;
	R->delta = delta;
	*out = R;
	return NULL;
}

void pc_referents_destroy(struct pc_referents *R)
{
	free(R);
}

/* The rule mirroring the traverse function at FN: the one its symbol
 * name and source file picked (learn_functions).  Unknown functions, and
 * those outside the interpreter (extension modules), make the type opaque. */
static const struct pc_rule *rule_of_function(struct pc_rulebook *R, uint64_t fn)
{
	struct fn_rule key = { fn, NULL };
	const struct fn_rule *f = R->nfns ? bsearch(&key, R->fns, R->nfns, sizeof(key), fn_cmp) : NULL;
	return f ? f->rule : &R->opaque;
}

/* The usable rule of the spec FN (in FILE, if given), else opaque. */
static const struct pc_rule *rule_named(struct pc_rulebook *R, const char *fn, const char *file)
{
	for (size_t i = 0; i < NSPECS; i++)
		if (!strcmp(specs[i].fn, fn) && (!file || !strcmp(specs[i].file, file)))
			return R->rules[i].usable ? &R->rules[i] : &R->opaque;
	return &R->opaque;
}

/* A class made by a class statement (type_new): its tp_name is the UTF-8
 * of its ht_name, the str's own characters for an ASCII name.  A C type
 * made from a PyType_Spec names itself from the spec's string instead. */
static bool python_class(struct pc_py *py, struct pc_type *d)
{
	const struct pc_layout *L = py->L;
	uint64_t tp_name, ht_name;
	struct pc_str_header h;
	if (!(d->flags & PC_TPFLAGS_HEAPTYPE) || !pc_u64(py, d->addr + (uint64_t)L->tp_name, &tp_name) ||
	    !pc_u64(py, d->addr + (uint64_t)L->ht_name, &ht_name))
		return false;
	/* 2.7: ht_name is a PyStringObject, tp_name its ob_sval */
	if (L->str_model == PC_STR_BYTES_UNICODE)
		return pc_ob_type(py, ht_name) == py->kind_type[PK_BYTES] && tp_name == ht_name + (uint64_t)L->string_sval;
	return pc_str_header(py, ht_name, &h) && h.compact && h.ascii && h.data == tp_name;
}

/* Without symbols: the type that set T's traverse function (up T's bases,
 * the last one whose tp_traverse is the same) says which function it is:
 * a Python class (subtype_traverse), a builtin type by name
 * (traverse_names.c), or a struct sequence (a tuple subtype whose type dict
 * has n_sequence_fields).  The function must lie in the interpreter, as with
 * symbols: an extension module's type of the same name is not the
 * builtin. */
static const struct pc_rule *rule_by_type(struct pc_py *py, struct pc_rulebook *R, struct pc_type *t,
					  uint64_t fn)
{
	if (fn < R->low || fn >= R->high)
		return &R->opaque;
	if (R->subtype_fn && fn == R->subtype_fn)
		return rule_named(R, "subtype_traverse", NULL);
	/* (2.7's old-style instances are counted under their class: the
	 * type that sets their traverse is `instance`) */
	struct pc_type *d = t->kind == PK_OLDINSTANCE && py->kind_type[PK_OLDINSTANCE] ?
		pc_type_get(py, py->kind_type[PK_OLDINSTANCE]) : t;
	if (!d)
		return &R->opaque;
	for (int depth = 0; d->base && d->base != d->addr && depth < 64; depth++) {
		struct pc_type *b = pc_type_get(py, d->base);
		if (!b || b->traverse != t->traverse)
			break;
		d = b;
	}
	/* A class first: one may call itself "dict" (__module__ "builtins"). */
	const struct pc_rule *r = &R->opaque;
	const char *file = NULL, *name = NULL;
	if (python_class(py, d)) {
		R->subtype_fn = fn;
		r = rule_named(R, "subtype_traverse", NULL);
	} else if ((name = pc_traverse_of_type(d->name, &file)))
		r = rule_named(R, name, file);
	else if (d->base && d->base == py->kind_type[PK_TUPLE] && d->dict &&
		   pc_dict_get_str(py, d->dict, "n_sequence_fields"))
		r = rule_named(R, "structseq_traverse", NULL);
	if (getenv("PYCENSUS_DEBUG_RULES"))
		fprintf(stderr, "rule %s for %s (set by %s) at %#llx\n", r->name, t->name, d->name,
			(unsigned long long)fn);
	return r;
}

const struct pc_rule *pc_rule_for(struct pc_py *py, const struct pc_referents *P, struct pc_type *t)
{
	struct pc_rulebook *R = P->book;
	if (t->rule)
		return t->rule;
	const struct pc_rule *r = &R->leaf;
	/* In the book's address space, where the key means the same function
	 * in every process of this build: an address outside the interpreter
	 * here is outside it in every process. */
	uint64_t fn = t->traverse - P->delta;
	/* Without the interpreter's symbols its functions are known by type;
	 * an extension module's by its own symbols, if it has some. */
	if ((t->flags & PC_TPFLAGS_HAVE_GC) && t->traverse && R->by_type &&
	    (!R->nfns || (fn >= R->low && fn < R->high))) {
		r = rule_by_type(py, R, t, fn);
	} else if ((t->flags & PC_TPFLAGS_HAVE_GC) && t->traverse) {
		size_t slot = (size_t)((fn >> 4) % FN_CACHE);
		/* Extension modules kept apart (lib-dynload) are where the
		 * build's first process had them; in a process with another
		 * load bias they may lie elsewhere: outside the interpreter,
		 * its types stay opaque there (and its rules are not cached). */
		if (P->delta && R->next && (fn < R->low || fn >= R->high)) {
			r = &R->opaque;
		} else if (R->cache_fn[slot] == fn) {
			r = R->cache_rule[slot];
		} else {
			r = rule_of_function(R, fn);
			R->cache_fn[slot] = fn;
			R->cache_rule[slot] = r;
		}
	}
	t->rule = r;
	return r;
}

/* ---- decoding ---- */

struct ctx {
	struct pc_py *py;
	const struct pc_referents *R;
	pc_ref_fn fn;
	void *arg;
	bool opaque;    /* part of the object is beyond pycensus: its type is opaque */
	bool damaged;   /* the object's memory is inconsistent or unreadable */
	pc_label_fn lfn;           /* instead of FN, with LAB (why.c) */
	struct pc_edge_label lab;  /* what the next reference is */
};

static void label(struct ctx *c, enum pc_edge kind, uint64_t a, int64_t i)
{
	c->lab.kind = kind;
	c->lab.a = a;
	c->lab.i = i;
}

static void ref(struct ctx *c, uint64_t addr, bool hidden)
{
	if (addr && c->lfn)
		c->lfn(c->arg, addr, hidden, &c->lab);
	else if (addr)
		c->fn(c->arg, addr, hidden);
}

static void ref_at(struct ctx *c, uint64_t where, bool hidden)
{
	uint64_t v;
	if (pc_u64(c->py, where, &v))
		ref(c, v, hidden);
	else
		c->damaged = true;
}

/* N pointers stored from ADDR on. */
static void ref_array(struct ctx *c, uint64_t addr, uint64_t n, bool hidden)
{
	if (n == 0)
		return;
	if (n > (1ULL << 32)) {
		c->damaged = true;
		return;
	}
	const uint64_t *p = pc_mem_ptr(c->py->mem, addr, n * 8);
	if (!p) {
		c->damaged = true;
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		c->lab.i = (int64_t)i;
		ref(c, v, hidden);
	}
}

/* The rule's fields: those its traverse does not visit here as hidden. */
static void ref_fields(struct ctx *c, uint64_t obj, const struct pc_rule *r)
{
	for (int i = 0; i < r->nfields; i++) {
		label(c, PC_EDGE_FIELD, (uint64_t)(uintptr_t)r->field_names[i], r->fields[i]);
		ref_at(c, obj + (uint64_t)r->fields[i], (r->hidden >> i) & 1);
	}
}

static void ref_members(struct ctx *c, uint64_t obj, const struct pc_member_list *m, bool hidden)
{
	for (int i = 0; i < m->n; i++) {
		label(c, PC_EDGE_FIELD, (uint64_t)(uintptr_t)m->name[i], m->off[i]);
		ref_at(c, obj + (uint64_t)m->off[i], hidden);
	}
}

static int64_t read_i64(struct ctx *c, uint64_t addr)
{
	int64_t v = 0;
	if (!pc_i64(c->py, addr, &v))
		c->damaged = true;
	return v;
}

static void do_tuple(struct ctx *c, uint64_t obj)
{
	int64_t n = read_i64(c, obj + (uint64_t)c->py->L->ob_size);
	label(c, PC_EDGE_INDEX, 0, 0);
	if (n > 0)
		ref_array(c, obj + (uint64_t)c->py->L->tuple_item, (uint64_t)n, false);
}

static void do_list(struct ctx *c, uint64_t obj)
{
	const struct pc_layout *L = c->py->L;
	int64_t n = read_i64(c, obj + (uint64_t)L->ob_size);
	int64_t alloc = read_i64(c, obj + (uint64_t)L->list_allocated);
	uint64_t items;
	if (n <= 0 || !pc_u64(c->py, obj + (uint64_t)L->list_item, &items))
		return;
	if (n > alloc) {
		c->damaged = true;
		return;
	}
	label(c, PC_EDGE_INDEX, 0, 0);
	ref_array(c, items, (uint64_t)n, false);
}

static void do_dict(struct ctx *c, uint64_t obj)
{
	struct pc_dict_view v;
	if (!pc_dict_view(c->py, obj, &v)) {
		c->damaged = true;
		return;
	}
	for (int64_t i = 0; i < v.nentries; i++) {
		const unsigned char *e = v.entries + i * v.esize;
		uint64_t key, val;
		memcpy(&key, e + v.key_off, 8);
		if (v.values)
			memcpy(&val, v.values + i * 8, 8);
		else
			memcpy(&val, e + v.value_off, 8);
		if (!val)
			continue;
		/* dict_traverse skips the keys of all-str tables and, in 3.13,
		 * values embedded in their owner (the owner visits those). */
		label(c, PC_EDGE_DICT_VALUE, key, 0);
		ref(c, val, v.values && v.embedded);
		label(c, PC_EDGE_DICT_KEY, 0, 0);
		ref(c, key, !v.general);
	}
}

static void do_set(struct ctx *c, uint64_t obj)
{
	const struct pc_layout *L = c->py->L;
	uint64_t table, mask;
	if (!pc_u64(c->py, obj + (uint64_t)L->set_table, &table) ||
	    !pc_u64(c->py, obj + (uint64_t)L->set_mask, &mask) || mask >= (1ULL << 32)) {
		c->damaged = true;
		return;
	}
	uint64_t es = (uint64_t)L->set_entry_size;
	const unsigned char *t = pc_mem_ptr(c->py->mem, table, (mask + 1) * es);
	if (!t) {
		c->damaged = true;
		return;
	}
	label(c, PC_EDGE_SET, 0, 0);
	for (uint64_t i = 0; i <= mask; i++) {
		uint64_t key;
		memcpy(&key, t + i * es + L->set_entry_key, 8);
		if (key && key != c->py->set_dummy && (c->py->set_dummy || !pc_is_set_dummy(c->py, key)))
			ref(c, key, false);
	}
}

/* The object a frame slot or field refers to (3.14+: a tagged
 * _PyStackRef), 0 for none or a tagged int. */
static uint64_t untag(const struct pc_layout *L, uint64_t v)
{
	if (L->stackref_int_tag && (v & L->stackref_tag_mask) == L->stackref_int_tag)
		return 0;
	return v & ~L->stackref_tag_mask;
}

/* N stack references stored from ADDR on. */
static void ref_stack(struct ctx *c, uint64_t addr, uint64_t n, bool hidden)
{
	const struct pc_layout *L = c->py->L;
	const uint64_t *p = n ? pc_mem_ptr(c->py->mem, addr, n * 8) : NULL;
	if (n && !p) {
		c->damaged = true;
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		ref(c, untag(L, v), hidden);
	}
}

/* What _PyFrame_Traverse visits in a 3.11+ interpreter frame: its code,
 * function, locals dict, frame object and LOCALSPLUS[0..stacktop).  Every
 * member is read as a stack reference: the plain pointers among them are
 * aligned, so untagging leaves them as they are. */
static void do_iframe(struct ctx *c, uint64_t frame, bool hidden, bool running)
{
	const struct pc_layout *L = c->py->L;
	const struct pc_rule_offs *o = &c->py->L->ro;
	const struct pc_member_list *m = &o->iframe_fields;
	for (int i = 0; i < m->n; i++) {
		uint64_t v;
		label(c, PC_EDGE_FIELD, (uint64_t)(uintptr_t)m->name[i], m->off[i]);
		if (pc_u64(c->py, frame + (uint64_t)m->off[i], &v))
			ref(c, untag(L, v), hidden);
		else
			c->damaged = true;
	}
	int32_t top = 0;
	if (L->stack_top == PC_STACK_POINTER) {
		/* NULL while the frame executes (the pointer is in a register). */
		uint64_t sp, base = frame + (uint64_t)L->iframe_localsplus;
		if (!pc_u64(c->py, frame + (uint64_t)o->iframe_stackpointer, &sp)) {
			c->damaged = true;
			return;
		}
		top = !sp ? -1 : sp < base || (sp - base) % 8 || (sp - base) / 8 >= (1 << 24) ? 0
			: (int32_t)((sp - base) / 8);
		if (sp && !top && sp != base)
			c->damaged = true;
	} else if (!pc_mem_read(c->py->mem, frame + (uint64_t)o->iframe_stacktop, &top, 4)) {
		c->damaged = true;
		return;
	}
	if (top < 0 && running) {
		/* The frame executing when we stopped has its stack pointer in
		 * a register; its locals are still valid. */
		uint64_t code;
		int32_t nlocals = 0;
		if (pc_u64(c->py, frame + (uint64_t)L->iframe_code, &code) &&
		    pc_mem_read(c->py->mem, code + (uint64_t)L->co_nlocalsplus, &nlocals, 4))
			top = nlocals;
	}
	label(c, PC_EDGE_INDEX, 0, 0);
	if (top > 0 && top < (1 << 24))
		ref_stack(c, frame + (uint64_t)L->iframe_localsplus, (uint64_t)top, hidden);
}

static void do_frame(struct ctx *c, uint64_t obj)
{
	const struct pc_layout *L = c->py->L;
	const struct pc_rule_offs *o = &c->py->L->ro;
	ref_members(c, obj, &o->frame_fields, false);
	if (L->frame_model == PC_FRAME_INTERP) {
		uint64_t f;
		uint8_t owner;
		if (!pc_u64(c->py, obj + (uint64_t)L->f_frame, &f) ||
		    !pc_mem_read(c->py->mem, f + (uint64_t)o->iframe_owner, &owner, 1)) {
			c->damaged = true;
			return;
		}
		if ((int64_t)owner == o->owned_by_frame_object)
			do_iframe(c, f, false, false);
		return;
	}
	uint64_t code, cell, free_;
	int32_t nlocals;
	int64_t ncells = 0, nfrees = 0;
	if (!pc_u64(c->py, obj + (uint64_t)L->f_code, &code) ||
	    !pc_mem_read(c->py->mem, code + (uint64_t)L->co_nlocals, &nlocals, 4) ||
	    !pc_u64(c->py, code + (uint64_t)L->co_cellvars, &cell) ||
	    !pc_u64(c->py, code + (uint64_t)L->co_freevars, &free_)) {
		c->damaged = true;
		return;
	}
	if (cell)
		ncells = read_i64(c, cell + (uint64_t)c->py->L->ob_size);
	if (free_)
		nfrees = read_i64(c, free_ + (uint64_t)c->py->L->ob_size);
	/* Bounded before they are added: damaged lengths must not overflow. */
	if (ncells < 0 || ncells >= (1 << 24) || nfrees < 0 || nfrees >= (1 << 24)) {
		c->damaged = true;
		return;
	}
	int64_t slots = (int64_t)nlocals + ncells + nfrees;
	label(c, PC_EDGE_INDEX, 0, 0);
	if (slots > 0 && slots < (1 << 24))
		ref_array(c, obj + (uint64_t)o->f_localsplus, (uint64_t)slots, false);
	uint64_t stack;
	if (!pc_u64(c->py, obj + (uint64_t)o->f_valuestack, &stack))
		return;
	int64_t depth = 0;
	if (L->stack_top == PC_STACK_DEPTH) {
		int32_t d = 0;
		pc_mem_read(c->py->mem, obj + (uint64_t)o->f_stackdepth, &d, 4);
		depth = d;
	} else {   /* PC_STACK_TOP_PTR */
		uint64_t top;
		if (pc_u64(c->py, obj + (uint64_t)o->f_stacktop, &top) && top && top >= stack)
			depth = (int64_t)((top - stack) / 8);
	}
	label(c, PC_EDGE_STACK, 0, 0);
	if (depth > 0 && depth < (1 << 24))
		ref_array(c, stack, (uint64_t)depth, false);
}

static void do_gen(struct ctx *c, uint64_t obj)
{
	const struct pc_layout *L = c->py->L;
	const struct pc_rule_offs *o = &c->py->L->ro;
	ref_members(c, obj, &o->gen_fields, false);
	if (L->frame_model == PC_FRAME_OBJECT)
		return;
	int8_t state = 0;
	if (!pc_mem_read(c->py->mem, obj + (uint64_t)o->gi_frame_state, &state, 1)) {
		c->damaged = true;
		return;
	}
	if (state < c->py->L->frame_cleared)
		do_iframe(c, obj + (uint64_t)L->gi_iframe, false, false);
}

static void do_lru(struct ctx *c, uint64_t obj)
{
	const struct pc_rule_offs *o = &c->py->L->ro;
	uint64_t root = obj + (uint64_t)o->lru_root, link;
	if (!pc_u64(c->py, root + (uint64_t)o->lru_next, &link)) {
		c->damaged = true;
		return;
	}
	struct pc_chain chain;
	pc_chain_init(&chain);
	for (uint64_t n = 0; link != root; n++) {
		if (!link || n > (1ULL << 28) || pc_chain_loops(&chain, link)) {
			c->damaged = true;
			return;
		}
		label(c, PC_EDGE_LRU_KEY, 0, 0);
		ref_at(c, link + (uint64_t)o->lru_key, false);
		label(c, PC_EDGE_LRU_VALUE, 0, 0);
		ref_at(c, link + (uint64_t)o->lru_result, false);
		if (!pc_u64(c->py, link + (uint64_t)o->lru_next, &link)) {
			c->damaged = true;
			return;
		}
	}
}

/* N items of a deque block from ADDR; *AT counts the deque's items. */
static void deque_items(struct ctx *c, uint64_t addr, int64_t n, int64_t *at)
{
	const uint64_t *p = pc_mem_ptr(c->py->mem, addr, (size_t)n * 8);
	if (!p) {
		c->damaged = true;
		return;
	}
	for (int64_t i = 0; i < n; i++) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		label(c, PC_EDGE_INDEX, 0, (*at)++);
		ref(c, v, false);
	}
}

static void do_deque(struct ctx *c, uint64_t obj)
{
	const struct pc_layout *L = c->py->L;
	const struct pc_rule_offs *o = &c->py->L->ro;
	uint64_t b, right;
	int64_t lo = read_i64(c, obj + (uint64_t)L->dq_leftindex);
	int64_t hi = read_i64(c, obj + (uint64_t)o->dq_rightindex);
	int64_t size = read_i64(c, obj + (uint64_t)L->dq_len);
	int64_t blen = L->dq_blocklen;
	if (!pc_u64(c->py, obj + (uint64_t)o->dq_leftblock, &b) ||
	    !pc_u64(c->py, obj + (uint64_t)o->dq_rightblock, &right) || size < 0 || lo < 0 || lo >= blen ||
	    hi < -1 || hi >= blen) {
		c->damaged = true;
		return;
	}
	int64_t maxblocks = size / blen + 2;
	struct pc_chain chain;
	pc_chain_init(&chain);
	int64_t at = 0;    /* the item's index in the deque, for why's labels */
	for (int64_t n = 0; b != right; n++) {
		if (n > maxblocks || pc_chain_loops(&chain, b)) {
			c->damaged = true;
			return;
		}
		deque_items(c, b + (uint64_t)o->blk_data + (uint64_t)lo * 8, blen - lo, &at);
		lo = 0;
		if (!pc_u64(c->py, b + (uint64_t)o->blk_rightlink, &b)) {
			c->damaged = true;
			return;
		}
	}
	if (hi >= lo)
		deque_items(c, b + (uint64_t)o->blk_data + (uint64_t)lo * 8, hi - lo + 1, &at);
}

static void do_odict(struct ctx *c, uint64_t obj)
{
	const struct pc_layout *L = c->py->L;
	const struct pc_rule_offs *o = &c->py->L->ro;
	uint64_t node;
	if (!pc_u64(c->py, obj + (uint64_t)L->od_first, &node)) {
		c->damaged = true;
		return;
	}
	struct pc_chain chain;
	pc_chain_init(&chain);
	for (uint64_t n = 0; node; n++) {
		if (n > (1ULL << 30) || pc_chain_loops(&chain, node)) {
			c->damaged = true;
			return;
		}
		label(c, PC_EDGE_OTHER, 0, 0);
		ref_at(c, node + (uint64_t)o->odnode_key, false);
		if (!pc_u64(c->py, node + (uint64_t)o->odnode_next, &node)) {
			c->damaged = true;
			return;
		}
	}
	do_dict(c, obj);
}

/* structseq_traverse visits the n_fields items its type records, which
 * may be more than the visible ob_size. */
static void do_structseq(struct ctx *c, uint64_t obj, struct pc_type *t)
{
	int64_t n;
	uint64_t v = pc_dict_get_str(c->py, t->dict, "n_fields");
	if (!v || !pc_int_value(c->py, v, &n) || n < 0 || n > 4096) {
		c->opaque = true;
		return;
	}
	label(c, PC_EDGE_INDEX, 0, 0);
	ref_array(c, obj + (uint64_t)c->py->L->tuple_item, (uint64_t)n, false);
}

static void scan_ref(void *arg, uint64_t v)
{
	ref(arg, v, false);    /* labelled by scan_opaque */
}

/* What a traverse pycensus cannot mirror may visit, in LEN bytes at ADDR:
 * every word that is a live object's address is followed (as a referent:
 * the traverse most likely visits it).  The object is opaque only if some
 * were found: then what it holds elsewhere (C arrays, other structs) may
 * be missed.  Labelled with OBJ's type, so that why and dump, whose graph
 * is this walk's, name the hop. */
static void scan_opaque(struct ctx *c, uint64_t obj, uint64_t addr, uint64_t len, uint64_t skip)
{
	label(c, PC_EDGE_OPAQUE, pc_ob_type(c->py, obj), 0);
	if (pc_conservative_scan(c->py, addr, len, obj, skip, scan_ref, c))
		c->opaque = true;
}

/* OBJ's own words, its weak reference list left out; and, for a type (a
 * metatype's instance, such as ctypes' classes), its tp_name: a char *
 * into its name's str, whose text and the stale bytes after it can read
 * as an object (measured: ctypes' c_int_be, 3.13.0). */
static void opaque_words(struct ctx *c, uint64_t obj, const struct pc_type *t)
{
	uint64_t from = obj + 16, end = obj + (uint64_t)(t->basicsize > 16 ? t->basicsize : 16);
	uint64_t wl = t->weaklistoffset > 0 ? obj + (uint64_t)t->weaklistoffset : 0;
	int64_t name = c->py->L->tp_name;
	if ((t->flags & PC_TPFLAGS_TYPE_SUBCLASS) && name >= 16 && obj + (uint64_t)name + 8 <= end) {
		scan_opaque(c, obj, from, obj + (uint64_t)name - from, wl);
		from = obj + (uint64_t)name + 8;
	}
	scan_opaque(c, obj, from, end - from, wl);
}

/* module_traverse also runs an extension module's own m_traverse over its
 * C state, which pycensus cannot read. */
static void do_module(struct ctx *c, uint64_t obj)
{
	const struct pc_layout *L = c->py->L;
	const struct pc_rule_offs *o = &c->py->L->ro;
	label(c, PC_EDGE_OTHER, 0, 0);
	if (o->md_name >= 0)
		ref_at(c, obj + (uint64_t)o->md_name, true);
	uint64_t def, trav, state;
	int64_t size;
	if (L->module_state == PC_MSTATE_MODULE) {
		/* The module holds its state's traverse and size itself. */
		if (!pc_u64(c->py, obj + (uint64_t)o->md_state_traverse, &trav) || !trav ||
		    !pc_i64(c->py, obj + (uint64_t)o->md_state_size, &size))
			return;
	} else if (L->module_state != PC_MSTATE_DEF || !pc_u64(c->py, obj + (uint64_t)L->md_def, &def) || !def ||
		   !pc_u64(c->py, def + (uint64_t)o->m_traverse, &trav) || !trav ||
		   !pc_i64(c->py, def + (uint64_t)L->m_size, &size)) {
		return;
	}
	/* The state is m_size bytes: scanned for what m_traverse visits. */
	if (size <= 0)
		c->opaque = true;
	else if (pc_u64(c->py, obj + (uint64_t)o->md_state, &state) && state)
		scan_opaque(c, obj, state, (uint64_t)size, 0);
}

static void do_code(struct ctx *c, uint64_t obj)
{
	const struct pc_rule_offs *o = &c->py->L->ro;
	ref_members(c, obj, &o->code_fields, true);
	uint64_t cached;
	if (o->co_cached >= 0 && pc_u64(c->py, obj + (uint64_t)o->co_cached, &cached) && cached)
		ref_members(c, cached, &o->cached_fields, true);
}

/* Static types are not GC objects (tp_is_gc says so): nothing they hold is
 * a referent, but their dicts and MROs keep objects alive all the same. */
static void do_type(struct ctx *c, uint64_t obj, const struct pc_rule *r)
{
	const struct pc_layout *L = c->py->L;
	uint64_t flags;
	if (!pc_u64(c->py, obj + (uint64_t)L->tp_flags, &flags)) {
		c->damaged = true;
		return;
	}
	bool heap = flags & PC_TPFLAGS_HEAPTYPE;
	if (heap) {
		if (r)
			ref_fields(c, obj, r);
		label(c, PC_EDGE_OTHER, 0, 0);
		ref_at(c, obj + (uint64_t)L->ht_name, true);
		if (L->name_model == PC_NAME_QUALNAME)
			ref_at(c, obj + (uint64_t)L->ht_qualname, true);
		ref_at(c, obj + (uint64_t)L->ht_slots, true);
		return;
	}
	struct pc_type *t = pc_type_get(c->py, obj);
	label(c, PC_EDGE_OTHER, 0, 0);
	if (t && t->dict)
		ref(c, t->dict, true);
	ref_at(c, obj + (uint64_t)L->tp_mro, true);
	ref_at(c, obj + (uint64_t)L->tp_bases, true);
	ref_at(c, obj + (uint64_t)L->tp_base, true);
}

static void apply(struct ctx *c, uint64_t obj, struct pc_type *t, const struct pc_rule *r, int depth);

/* Values of a managed dict's shared-key table: the first NENTRIES of the
 * cached keys, or CAP slots of 3.13 inline values. */
static void managed_values(struct ctx *c, uint64_t values, struct pc_type *t, int64_t cap)
{
	int64_t n = cap;
	if (n < 0) {
		if (!t->cached_keys) {
			c->damaged = true;
			return;
		}
		n = read_i64(c, t->cached_keys + (uint64_t)c->py->L->dk_nentries);
	}
	label(c, PC_EDGE_ATTR, t->cached_keys, 0);
	if (n > 0 && n < (1 << 20))
		ref_array(c, values, (uint64_t)n, false);
}

static void instance_dict(struct ctx *c, uint64_t obj, struct pc_type *t, struct pc_type *base)
{
	const struct pc_layout *L = c->py->L;
	if (L->idict_model != PC_IDICT_OFFSET && (t->flags & PC_TPFLAGS_MANAGED_DICT)) {
		uint64_t dictw = obj + (uint64_t)L->preheader_dict;
		uint64_t dict = 0, values = 0, dorv;
		switch (L->idict_model) {
		case PC_IDICT_INLINE_VALUES:
			/* Inline values after the object, valid unless a dict
			 * took them over. */
			pc_u64(c->py, dictw, &dict);
			if (t->flags & PC_TPFLAGS_INLINE_VALUES) {
				uint64_t vals = obj + (uint64_t)t->basicsize;
				uint8_t valid = 0, capacity = 0;
				if (pc_mem_read(c->py->mem, vals + (uint64_t)L->dictvalues_valid, &valid, 1) && valid &&
				    pc_mem_read(c->py->mem, vals + (uint64_t)L->dictvalues_capacity, &capacity, 1)) {
					managed_values(c, vals + (uint64_t)L->dictvalues_values, t, capacity);
					label(c, PC_EDGE_DICT, 0, 0);
					ref(c, dict, true);
					return;
				}
			}
			label(c, PC_EDGE_DICT, 0, 0);
			ref(c, dict, false);
			return;
		case PC_IDICT_VALUES_WORD:
			pc_u64(c->py, obj + (uint64_t)L->preheader_values, &values);
			pc_u64(c->py, dictw, &dict);
			if (values)
				managed_values(c, values, t, -1);
			label(c, PC_EDGE_DICT, 0, 0);
			ref(c, dict, false);
			return;
		case PC_IDICT_TAGGED:
			/* One word: the tag bit set means values, stored less
			 * the tag. */
			if (!pc_u64(c->py, dictw, &dorv)) {
				c->damaged = true;
				return;
			}
			if (dorv & L->idict_values_tag)
				managed_values(c, dorv + L->idict_values_tag, t, -1);
			else {
				label(c, PC_EDGE_DICT, 0, 0);
				ref(c, dorv, false);
			}
			return;
		case PC_IDICT_OFFSET:
			break;
		}
	}
	if (t->dictoffset == base->dictoffset || t->dictoffset == 0)
		return;
	int64_t doff = t->dictoffset;
	if (doff < 0) {
		int64_t n = read_i64(c, obj + (uint64_t)L->ob_size);
		/* Bounded, so that neither the negation nor the product below
		 * can overflow (types.c bounds basicsize and itemsize). */
		if (n < -(1LL << 40) || n > (1LL << 40)) {
			c->damaged = true;
			return;
		}
		if (n < 0)
			n = -n;
		int64_t size = (t->basicsize + n * t->itemsize + 7) & ~7LL;
		doff += size;
	}
	label(c, PC_EDGE_DICT, 0, 0);
	ref_at(c, obj + (uint64_t)doff, false);
}

static void do_subtype(struct ctx *c, uint64_t obj, struct pc_type *t, int depth)
{
	const struct pc_layout *L = c->py->L;
	struct pc_type *base = t;
	const struct pc_rule *br = pc_rule_for(c->py, c->R, base);
	for (int d = 0; br->kind == RULE_SUBTYPE; d++) {
		if (base->nslots > 0) {
			/* __slots__ members sit after the heap type struct, at
			 * the metatype's basicsize. */
			struct pc_type *mt = pc_type_of(c->py, base->addr);
			const unsigned char *m = mt ? pc_mem_ptr(c->py->mem, base->addr + (uint64_t)mt->basicsize,
								 (size_t)(base->nslots * L->memberdef_size)) : NULL;
			if (!m) {
				c->damaged = true;
			} else {
				for (int64_t i = 0; i < base->nslots; i++) {
					const unsigned char *md = m + i * L->memberdef_size;
					int32_t type;
					int64_t moff;
					memcpy(&type, md + L->md_type, 4);
					memcpy(&moff, md + L->md_offset, 8);
					label(c, PC_EDGE_SLOT, base->addr + (uint64_t)mt->basicsize +
						(uint64_t)(i * L->memberdef_size), 0);
					if (type == PC_T_OBJECT_EX && moff > 0 && moff < t->basicsize)
						ref_at(c, obj + (uint64_t)moff, false);
				}
			}
		}
		struct pc_type *next = base->base ? pc_type_get(c->py, base->base) : NULL;
		if (!next || d > 64) {
			c->damaged = true;
			return;
		}
		base = next;
		br = pc_rule_for(c->py, c->R, base);
	}
	instance_dict(c, obj, t, base);
	label(c, PC_EDGE_CLASS, 0, 0);
	ref(c, t->addr, false);
	apply(c, obj, base, br, depth + 1);
}

static void apply(struct ctx *c, uint64_t obj, struct pc_type *t, const struct pc_rule *r, int depth)
{
	if (depth > 4) {
		c->damaged = true;
		return;
	}
	if (r->kind != RULE_SUBTYPE && r->kind != RULE_TYPE && r->kind != RULE_INSTANCE)
		ref_fields(c, obj, r);
	switch (r->kind) {
	case RULE_LEAF:
		break;
	case RULE_FIELDS:
		/* A C type with a managed dict (3.11+) must visit it
		 * (PyObject_VisitManagedDict): it is outside the members. */
		if (t->flags & PC_TPFLAGS_MANAGED_DICT)
			instance_dict(c, obj, t, t);
		break;
	case RULE_OPAQUE:
		if (t->payload_only)
			break;
		/* A managed dict (3.11+) is outside the object: its traverse
		 * visits it with _PyObject_VisitManagedDict. */
		instance_dict(c, obj, t, t);
		opaque_words(c, obj, t);
		break;
	case RULE_SUBTYPE:
		do_subtype(c, obj, t, depth);
		break;
	case RULE_INSTANCE:
		/* in_class, in_dict: labelled as a class instance's type and
		 * __dict__ are, so why reads its attributes the same way */
		if (r->nfields == 2) {
			label(c, PC_EDGE_CLASS, 0, 0);
			ref_at(c, obj + (uint64_t)r->fields[0], false);
			label(c, PC_EDGE_DICT, 0, 0);
			ref_at(c, obj + (uint64_t)r->fields[1], false);
		} else
			c->damaged = true;
		break;
	case RULE_TUPLE:
		do_tuple(c, obj);
		break;
	case RULE_LIST:
		do_list(c, obj);
		break;
	case RULE_DICT:
		do_dict(c, obj);
		break;
	case RULE_SET:
		do_set(c, obj);
		break;
	case RULE_TYPE:
		do_type(c, obj, r);
		break;
	case RULE_FRAME:
		do_frame(c, obj);
		break;
	case RULE_GEN:
		do_gen(c, obj);
		break;
	case RULE_LRU:
		do_lru(c, obj);
		break;
	case RULE_DEQUE:
		do_deque(c, obj);
		break;
	case RULE_ODICT:
		do_odict(c, obj);
		break;
	case RULE_STRUCTSEQ:
		do_structseq(c, obj, t);
		break;
	case RULE_MODULE:
		do_module(c, obj);
		break;
	}
}

static int result(const struct ctx *c)
{
	return (c->opaque ? PC_REF_OPAQUE : 0) | (c->damaged ? PC_REF_DAMAGED : 0);
}

static int referents(struct ctx *c0, uint64_t obj, struct pc_type *t);

int pc_referents(struct pc_py *py, const struct pc_referents *R, uint64_t obj, struct pc_type *t,
		 pc_ref_fn fn, void *arg)
{
	struct ctx c = { py, R, fn, arg, false, false, NULL, { 0 } };
	return referents(&c, obj, t);
}

int pc_referents_labelled(struct pc_py *py, const struct pc_referents *R, uint64_t obj,
			  struct pc_type *t, pc_label_fn fn, void *arg)
{
	struct ctx c = { py, R, NULL, arg, false, false, fn, { 0 } };
	return referents(&c, obj, t);
}

static int referents(struct ctx *c0, uint64_t obj, struct pc_type *t)
{
	struct ctx c = *c0;
	struct pc_py *py = c.py;
	const struct pc_referents *R = c.R;
	const struct pc_rule *r = pc_rule_for(py, R, t);
	/* Non-GC objects with references gc.get_referents() never reports. */
	if (t->kind == PK_CODE) {
		do_code(&c, obj);
		return result(&c);
	}
	if (t->kind == PK_TYPE) {
		/* A type object is a GC object only if it is a heap type. */
		uint64_t flags;
		if (!pc_u64(py, obj + (uint64_t)py->L->tp_flags, &flags))
			return PC_REF_DAMAGED;
		if (!(flags & PC_TPFLAGS_HEAPTYPE)) {
			do_type(&c, obj, NULL);
			return result(&c);
		}
	}
	apply(&c, obj, t, r, 0);
	return result(&c);
}

void pc_referents_iframe(struct pc_py *py, const struct pc_referents *R, uint64_t frame,
			 pc_ref_fn fn, void *arg, bool running)
{
	struct ctx c = { py, R, fn, arg, false, false, NULL, { 0 } };
	do_iframe(&c, frame, true, running);
}

void pc_referents_iframe_labelled(struct pc_py *py, const struct pc_referents *R, uint64_t frame,
				  pc_label_fn fn, void *arg, bool running)
{
	struct ctx c = { py, R, NULL, arg, false, false, fn, { 0 } };
	do_iframe(&c, frame, true, running);
}
