#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static char *read_cstr(struct pc_py *py, uint64_t addr, size_t max)
{
	char buf[512];
	size_t n = 0;
	if (max > sizeof(buf) - 1)
		max = sizeof(buf) - 1;
	while (n < max) {
		const char *p = pc_mem_ptr(py->mem, addr + n, 1);
		if (!p)
			return NULL;
		if (!*p)
			break;
		buf[n++] = *p;
	}
	buf[n] = 0;
	return strdup(buf);
}

/* The name BRIEF.md asks for: tp_name for static types (it carries the
 * module), module.qualname for heap types, "builtins." left out. */
static char *type_name(struct pc_py *py, struct pc_type *t, const unsigned char *raw)
{
	const struct pc_layout *L = py->L;
	uint64_t tp_name;
	memcpy(&tp_name, raw + L->tp_name, 8);
	if (!(t->flags & PC_TPFLAGS_HEAPTYPE)) {
		char *n = tp_name ? read_cstr(py, tp_name, 400) : NULL;
		if (n && !strncmp(n, "builtins.", 9))
			memmove(n, n + 9, strlen(n + 9) + 1);
		return n;
	}
	char qual[256], mod[256];
	uint64_t q;
	memcpy(&q, raw + L->ht_qualname, 8);
	if (pc_str_read(py, q, qual, sizeof(qual)) < 0)
		return NULL;
	uint64_t m = pc_dict_get_str(py, t->dict, "__module__");
	if (!m || pc_str_read(py, m, mod, sizeof(mod)) < 0 || !strcmp(mod, "builtins"))
		return strdup(qual);
	size_t len = strlen(mod) + strlen(qual) + 2;
	char *n = malloc(len);
	if (n)
		snprintf(n, len, "%s.%s", mod, qual);
	return n;
}

static enum pc_kind kind_of(struct pc_py *py, uint64_t addr)
{
	for (int k = 1; k < PK_NKINDS; k++)
		if (py->kind_type[k] && py->kind_type[k] == addr)
			return (enum pc_kind)k;
	return PK_OTHER;
}

struct pc_type *pc_type_get(struct pc_py *py, uint64_t addr)
{
	struct pc_type *t = lookup(py->types, addr);
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
	uint64_t meta;
	memcpy(&meta, raw + L->ob_type, 8);
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
		if (h) {
			memcpy(&t->nslots, h + L->ob_size, 8);
			memcpy(&t->cached_keys, h + L->ht_cached_keys, 8);
		}
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
	if (t->basicsize <= 0 || t->basicsize > (1 << 20) || t->itemsize < 0 || t->itemsize > (1 << 16))
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
	if (!t->name) {
		char buf[64];
		snprintf(buf, sizeof(buf), "<unnamed type at 0x%llx>", (unsigned long long)addr);
		t->name = strdup(buf);
		if (!t->name)
			return NULL;
	}
	t->valid = true;
	static const struct { const char *name; enum pc_sizer sizer; } sizers[] = {
		{ "collections.deque", SZ_DEQUE },
		{ "collections.OrderedDict", SZ_ODICT },
		{ "_io.BufferedReader", SZ_BUFFERED },
		{ "_io.BufferedWriter", SZ_BUFFERED },
		{ "_io.BufferedRandom", SZ_BUFFERED },
		{ "array.array", SZ_ARRAY },
	};
	for (size_t i = 0; i < sizeof(sizers) / sizeof(sizers[0]); i++)
		if (!strcmp(t->name, sizers[i].name))
			t->sizer = sizers[i].sizer;
	if (t->sizer == SZ_DEFAULT && t->base && t->base != addr) {
		struct pc_type *b = pc_type_get(py, t->base);
		if (b)
			t->sizer = b->sizer;
	}
	return t;
}

struct pc_type *pc_type_of(struct pc_py *py, uint64_t addr)
{
	uint64_t tp = pc_ob_type(py, addr);
	return tp ? pc_type_get(py, tp) : NULL;
}
