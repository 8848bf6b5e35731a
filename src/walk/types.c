#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sizeof_buffers.h"
#include "text.h"
#include "builtin_types.h"
#include "types.h"

struct pc_typemap {
	struct pc_type **slots;  /* open addressing on the address */
	size_t cap, n;
};

struct pc_typemap *pc_typemap_create(void)
{
	struct pc_typemap *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cap = 1024;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void pc_typemap_destroy(struct pc_typemap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i]) {
			free(m->slots[i]->name);
			free(m->slots[i]);
		}
	}
	free(m->slots);
	free(m);
}

static size_t slot_of(uint64_t addr, size_t cap)
{
	return (size_t)((addr >> 3) * 0x9E3779B97F4A7C15ULL >> 20) & (cap - 1);
}

static struct pc_type *lookup(struct pc_typemap *m, uint64_t addr)
{
	for (size_t i = slot_of(addr, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->slots[i])
			return NULL;
		if (m->slots[i]->addr == addr)
			return m->slots[i];
	}
}

static bool insert(struct pc_typemap *m, struct pc_type *t)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap * 2;
		struct pc_type **ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return false;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->slots[i])
				continue;
			size_t j = slot_of(m->slots[i]->addr, ncap);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = m->slots[i];
		}
		free(m->slots);
		m->slots = ns;
		m->cap = ncap;
	}
	size_t j = slot_of(t->addr, m->cap);
	while (m->slots[j])
		j = (j + 1) & (m->cap - 1);
	m->slots[j] = t;
	m->n++;
	return true;
}

struct pc_type *pc_typemap_next(struct pc_typemap *m, size_t *cursor)
{
	while (*cursor < m->cap) {
		struct pc_type *t = m->slots[(*cursor)++];
		if (t)
			return t;
	}
	return NULL;
}

size_t pc_typemap_count(const struct pc_typemap *m)
{
	return m->n;
}

#define PC_TPFLAGS_READY (1UL << 12)

/* Names longer than this are cut (a qualname of nested classes and
 * functions is rarely past 100). */
#define NAME_MAX_BYTES 256
/* A str longer than this is not a name: the type is garbage. */
#define NAME_MAX_CHARS (1 << 20)

/* A static type's tp_name is a C string literal, a dotted identifier in
 * practice (some builtins have '-' or a space: "method-wrapper", "symtable
 * entry").  Garbage rarely passes: it must end within NAME_MAX_BYTES, be
 * valid UTF-8, printable, and start with a letter or '_'. */
static bool plausible_c_name(const char *n, size_t len)
{
	if (len == 0 || len >= NAME_MAX_BYTES)
		return false;
	unsigned char c0 = (unsigned char)n[0];
	if (!(c0 == '_' || (c0 >= 'A' && c0 <= 'Z') || (c0 >= 'a' && c0 <= 'z') || c0 >= 0x80))
		return false;
	if (n[len - 1] == ' ')
		return false;
	return pc_text_clean(n, len);
}

/* Whether ADDR lies in a mapping of a file.  A static type's tp_name is a
 * string literal in a module's read-only data; a heap type's points into
 * the heap (its __name__'s UTF-8), and so does garbage read from the heap.
 * A memory image (no paths known) cannot tell: anything goes. */
static bool in_file(const struct pc_mem *mem, uint64_t addr)
{
	long i = pc_mem_index(mem, addr);
	if (i < 0)
		return false;
	if (mem->maps[i].path)
		return mem->maps[i].path[0] == '/';
	for (size_t k = 0; k < mem->nmaps; k++)
		if (mem->maps[k].path)
			return false;
	return true;
}

static char *read_c_name_anywhere(struct pc_py *py, uint64_t addr);

/* The NUL-terminated string at ADDR if it ends within NAME_MAX_BYTES, is
 * in a file's mapping and is a plausible type name, copied; else NULL. */
static char *read_c_name(struct pc_py *py, uint64_t addr)
{
	return in_file(py->mem, addr) ? read_c_name_anywhere(py, addr) : NULL;
}

/* As read_c_name, wherever the string is: for types made at run time,
 * whose metaclass was checked. */
static char *read_c_name_anywhere(struct pc_py *py, uint64_t addr)
{
	char buf[NAME_MAX_BYTES];
	size_t n = 0;
	for (;;) {
		if (n == sizeof(buf))
			return NULL;
		const char *p = pc_mem_ptr(py->mem, addr + n, 1);
		if (!p)
			return NULL;
		if (!*p)
			break;
		buf[n++] = *p;
	}
	return plausible_c_name(buf, n) ? strndup(buf, n) : NULL;
}

/* A str object's text, cut to NAME_MAX_BYTES, into BUF (that size); its
 * length in bytes, or -1 if ADDR is not a str of a name's length. */
static long read_str_name(struct pc_py *py, uint64_t addr, char *buf)
{
	struct pc_str_header h;
	/* (2.7's names are the bytes kind: pc_str_read checks those.) */
	if (!addr || (py->L->str_model == PC_STR_PEP393 && (!pc_str_header(py, addr, &h) || h.len > NAME_MAX_CHARS)))
		return -1;
	return pc_str_read(py, addr, buf, NAME_MAX_BYTES);
}

/* The name BRIEF.md asks for: tp_name for static types (it carries the
 * module), module.qualname for heap types, "builtins." left out; escaped
 * as text.h says.  NULL if the type has no plausible name: then it is not
 * a type (every real type has one: PyType_Ready refuses a NULL tp_name, a
 * heap type's qualname is a str). */
/* The length of the builtins module's "NAME." that N (of LEN bytes)
 * starts with, else 0: the name model says which modules are the
 * builtins ("builtins"; 2.7: "__builtin__", and "exceptions" whose types
 * are builtins there). */
static size_t builtin_prefix(const struct pc_layout *L, const char *n, size_t len)
{
	static const char *const qualname_model[] = { "builtins.", NULL };
	static const char *const name_model[] = { "__builtin__.", "exceptions.", NULL };
	for (const char *const *p = L->name_model == PC_NAME_QUALNAME ? qualname_model : name_model; *p; p++) {
		size_t k = strlen(*p);
		if (len >= k && !memcmp(n, *p, k))
			return k;
	}
	return 0;
}

static char *module_dot(struct pc_py *py, uint64_t dict, const char *qual, long ql);

static char *type_name(struct pc_py *py, struct pc_type *t, const unsigned char *raw)
{
	const struct pc_layout *L = py->L;
	uint64_t tp_name;
	memcpy(&tp_name, raw + L->tp_name, 8);
	if (!(t->flags & PC_TPFLAGS_HEAPTYPE)) {
		/* A static type made at run time by a metaclass (numpy's
		 * dtype[float64], a _DTypeMeta) has its name on the heap. */
		uint64_t meta;
		memcpy(&meta, raw + L->ob_type, 8);
		char *n = !tp_name ? NULL : meta != py->kind_type[PK_TYPE] ? read_c_name_anywhere(py, tp_name)
									 : read_c_name(py, tp_name);
		size_t skip = n ? builtin_prefix(L, n, strlen(n)) : 0;
		if (skip)
			memmove(n, n + skip, strlen(n + skip) + 1);
		return n;
	}
	char qual[NAME_MAX_BYTES];
	uint64_t q;
	/* not from RAW: it covers PyTypeObject only, and the heap type's
	 * fields past it may lie past the end of the mapping */
	if (!pc_u64(py, t->addr + (uint64_t)(L->name_model == PC_NAME_QUALNAME ? L->ht_qualname : L->ht_name), &q))
		return NULL;
	long ql = read_str_name(py, q, qual);
	if (ql < 0)
		return NULL;
	return module_dot(py, t->dict, qual, ql);
}

/* MOD.NAME (NAME of QL bytes), escaped; NAME alone when DICT's __module__
 * is missing or a builtins module. */
static char *module_dot(struct pc_py *py, uint64_t dict, const char *qual, long ql)
{
	char mod[NAME_MAX_BYTES];
	uint64_t m = pc_dict_get_str(py, dict, "__module__");
	long ml = m ? read_str_name(py, m, mod) : -1;
	mod[ml >= 0 ? ml : 0] = '.';
	if (ml < 0 || builtin_prefix(py->L, mod, (size_t)ml + 1) == (size_t)ml + 1)
		return pc_text_escape(qual, (size_t)ql);
	/* memcpy, not "%s": a str may hold NUL characters */
	char full[2 * NAME_MAX_BYTES];
	memcpy(full, mod, (size_t)ml);
	full[ml] = '.';
	memcpy(full + ml + 1, qual, (size_t)ql);
	return pc_text_escape(full, (size_t)(ml + 1 + ql));
}

static enum pc_kind kind_of(struct pc_py *py, uint64_t addr)
{
	for (int k = 1; k < PK_NKINDS; k++)
		if (py->kind_type[k] && py->kind_type[k] == addr)
			return (enum pc_kind)k;
	return pc_kind_by_name(py, addr);
}

/* An old-style instance's class as a type of the census (name model
 * PC_NAME_NAME: objgraph's rule, `module.Class`): the `instance` type
 * INST under the classobj's address CLS and name. */
static struct pc_type *class_type(struct pc_py *py, struct pc_type *inst, uint64_t cls)
{
	const struct pc_layout *L = py->L;
	struct pc_type *t = lookup(py->types, cls);
	if (t)
		return t->valid ? t : NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	*t = *inst;
	t->addr = cls;
	t->name = NULL;
	t->valid = false;
	t->count = t->bytes = t->hidden_count = t->hidden_bytes = t->opaque_count = 0;
	t->opaque = false;
	if (!insert(py->types, t)) {
		free(t);
		return NULL;
	}
	uint64_t dict, name;
	char buf[NAME_MAX_BYTES];
	long n;
	if (!pc_u64(py, cls + (uint64_t)L->cl_dict, &dict) || !pc_u64(py, cls + (uint64_t)L->cl_name, &name) ||
	    (n = read_str_name(py, name, buf)) < 0 || !(t->name = module_dot(py, dict, buf, n)))
		return NULL;
	t->valid = true;
	return t;
}

struct pc_type *pc_type_get(struct pc_py *py, uint64_t addr)
{
	struct pc_type *t = lookup(py->types, addr);
	/* (a class standing for its old-style instances is not a type) */
	if (t && t->kind == PK_OLDINSTANCE && addr != py->kind_type[PK_OLDINSTANCE])
		return NULL;
	if (t)
		return t->valid ? t : NULL;
	const struct pc_layout *L = py->L;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->addr = addr;         /* before insert(): it hashes on it */
	if (!insert(py->types, t)) {
		free(t);
		return NULL;
	}
	const unsigned char *raw = (addr & 7) ? NULL : pc_mem_ptr(py->mem, addr, (size_t)L->type_size);
	if (!raw)
		return NULL;
	uint64_t meta, refcnt = 0;
	memcpy(&meta, raw + L->ob_type, 8);
	/* ob_refcnt is at 0 (layout.c checks ob_type at 8): a freed type,
	 * still intact in memory but for its GC header, reads 0 */
	memcpy(&refcnt, raw, (size_t)L->refcnt_size);
	if (!refcnt)
		return NULL;
	memcpy(&t->flags, raw + L->tp_flags, 8);
	memcpy(&t->basicsize, raw + L->tp_basicsize, 8);
	memcpy(&t->itemsize, raw + L->tp_itemsize, 8);
	memcpy(&t->dictoffset, raw + L->tp_dictoffset, 8);
	memcpy(&t->weaklistoffset, raw + L->tp_weaklistoffset, 8);
	memcpy(&t->base, raw + L->tp_base, 8);
	memcpy(&t->dict, raw + L->tp_dict, 8);
	memcpy(&t->members, raw + L->tp_members, 8);
	memcpy(&t->traverse, raw + L->tp_traverse, 8);
	if (t->flags & PC_TPFLAGS_HEAPTYPE) {
		const unsigned char *h = pc_mem_ptr(py->mem, addr, (size_t)L->heaptype_size);
		if (!h)
			return NULL;  /* a heap type is a whole PyHeapTypeObject */
		memcpy(&t->nslots, h + L->ob_size, 8);
		if (L->type_sizeof == PC_TYPE_SIZEOF_HEAPTYPE)   /* shared keys (none in 2.7) */
			memcpy(&t->cached_keys, h + L->ht_cached_keys, 8);
		if (t->nslots < 0 || t->nslots > 100000)
			t->nslots = 0;
	}
	/* A type's own type is `type` or a subclass of it (a metaclass). */
	if (meta != py->kind_type[PK_TYPE]) {
		uint64_t mflags;
		if (!meta || !pc_u64(py, meta + (uint64_t)L->tp_flags, &mflags) ||
		    !(mflags & PC_TPFLAGS_TYPE_SUBCLASS))
			return NULL;
	}
	/* Every object starts with a refcount and a type; every type in
	 * use is ready, but for static types in a module's data: 2.7 readies
	 * some (method_descriptor, wrapper_descriptor...) only at the first
	 * attribute lookup on them, long after their objects exist. */
	if (t->basicsize < 16 || t->basicsize > (1 << 20) || t->itemsize < 0 || t->itemsize > (1 << 16) ||
	    (!(t->flags & PC_TPFLAGS_READY) && ((t->flags & PC_TPFLAGS_HEAPTYPE) || !in_file(py->mem, addr))))
		return NULL;
	if (L->static_types_no_dict && !t->dict && (t->flags & PC_TPFLAGS_STATIC_BUILTIN)) {
		/* 3.12+: static builtin types keep tp_dict in the interpreter,
		 * indexed by tp_subclasses less the layout's bias.  Only needed for naming heap
		 * types, but kept for the walkers. */
		uint64_t index;
		memcpy(&index, raw + L->tp_subclasses, 8);
		uint64_t bias = (uint64_t)L->builtin_index_bias;
		if (index >= bias && (int64_t)(index - bias) < L->is_types_builtins_len && py->interp_main)
			pc_u64(py, py->interp_main + (uint64_t)L->is_types_builtins +
				       (index - bias) * (uint64_t)L->builtin_state_size +
				       (uint64_t)L->builtin_state_tp_dict, &t->dict);
	}
	t->kind = kind_of(py, addr);
	if (t->kind == PK_OTHER && t->base && t->base != addr) {
		/* Inherit the layout of the nearest builtin base; bounded. */
		uint64_t b = t->base;
		for (int depth = 0; b && depth < 64; depth++) {
			enum pc_kind k = kind_of(py, b);
			if (k != PK_OTHER) {
				t->kind = k == PK_OBJECT ? PK_OTHER : k;
				break;
			}
			if (!pc_u64(py, b + (uint64_t)L->tp_base, &b))
				break;
		}
	}
	t->name = type_name(py, t, raw);
	if (!t->name)
		return NULL;
	t->valid = true;
	static const struct { const char *name; enum pc_sizer sizer; } sizers[] = {
		{ "collections.deque", SZ_DEQUE },
		{ "collections.OrderedDict", SZ_ODICT },
		{ "_io.BufferedReader", SZ_BUFFERED },
		{ "_io.BufferedWriter", SZ_BUFFERED },
		{ "_io.BufferedRandom", SZ_BUFFERED },
		{ "array.array", SZ_ARRAY },
		{ "_struct.Struct", SZ_STRUCT },
		{ "frozendict", SZ_DICT },
		{ "numpy.ndarray", SZ_NDARRAY },
		{ "_io.BytesIO", SZ_BYTESIO },
		{ "StgDict", SZ_STGDICT },              /* _ctypes 3.8-3.12 */
		{ "_ctypes.CType_Type", SZ_CTYPE },     /* _ctypes 3.13+ */
	};
	for (size_t i = 0; i < sizeof(sizers) / sizeof(sizers[0]); i++)
		if (!strcmp(t->name, sizers[i].name))
			t->sizer = sizers[i].sizer;
	/* StgDict is a static type of _ctypes: a heap type so named is not it. */
	if (t->sizer == SZ_STGDICT && (t->flags & PC_TPFLAGS_HEAPTYPE))
		t->sizer = SZ_DEFAULT;
	/* 3.8's _struct names its static type plain "Struct". */
	if (!strcmp(t->name, "Struct") && !(t->flags & PC_TPFLAGS_HEAPTYPE))
		t->sizer = SZ_STRUCT;
	/* Their memory holds pointers to their data (an array's items, a
	 * mapped file), never to an object: scanning it would read payload. */
	t->payload_only = t->sizer == SZ_ARRAY || !strcmp(t->name, "mmap.mmap");
	if ((t->sizer_bytes = pc_numpy_scalar_size(py->L, t->name)) >= 0 && !(t->flags & PC_TPFLAGS_HEAPTYPE))
		t->sizer = SZ_NPSCALAR;
	if (t->sizer == SZ_DEFAULT && t->base && t->base != addr) {
		struct pc_type *b = pc_type_get(py, t->base);
		if (b) {
			t->sizer = b->sizer;
			t->sizer_bytes = b->sizer_bytes;
		}
	}
	return t;
}

struct pc_type *pc_type_of(struct pc_py *py, uint64_t addr)
{
	uint64_t tp = pc_ob_type(py, addr), cls;
	struct pc_type *t = tp ? pc_type_get(py, tp) : NULL;
	if (t && t->kind == PK_OLDINSTANCE && py->L->old_instances_by_class) {
		if (!pc_u64(py, addr + (uint64_t)py->L->in_class, &cls) || !cls || (cls & 7))
			return NULL;
		return class_type(py, t, cls);
	}
	return t;
}

bool pc_alive(struct pc_py *py, uint64_t addr)
{
	uint64_t refcnt = 0;  /* ob_refcnt is at 0, 4 or 8 bytes (little-endian) */
	return pc_mem_read(py->mem, addr, &refcnt, (size_t)py->L->refcnt_size) && refcnt;
}
