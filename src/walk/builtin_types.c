#include <string.h>

#include "builtin_types.h"
#include "gcwalk.h"

/* Each kind's static tp_name: in the 3.x object model and in 2.x's (int
 * model PC_INT_FIXED_AND_LONG), where str is the bytes kind, unicode the str
 * kind and instancemethod the method kind (3.x's instancemethod is another
 * type).  NULL: no such type in that model.  Two rows for a kind: either. */
static const struct kind_name {
	enum pc_kind kind;
	const char *name, *classic;
} kind_names[] = {
	{ PK_OBJECT, "object", "object" },
	{ PK_TYPE, "type", "type" },
	{ PK_INT, "int", "long" },
	{ PK_BOOL, "bool", "bool" },
	{ PK_FLOAT, "float", "float" },
	{ PK_COMPLEX, "complex", "complex" },
	{ PK_STR, "str", "unicode" },
	{ PK_BYTES, "bytes", "str" },
	{ PK_BYTEARRAY, "bytearray", "bytearray" },
	{ PK_TUPLE, "tuple", "tuple" },
	{ PK_LIST, "list", "list" },
	{ PK_DICT, "dict", "dict" },
	{ PK_SET, "set", "set" },
	{ PK_FROZENSET, "frozenset", "frozenset" },
	{ PK_FUNCTION, "function", "function" },
	{ PK_CODE, "code", "code" },
	{ PK_MODULE, "module", "module" },
	{ PK_CELL, "cell", "cell" },
	{ PK_METHOD, "method", "instancemethod" },
	{ PK_CFUNCTION, "builtin_function_or_method", "builtin_function_or_method" },
	{ PK_PROPERTY, "property", "property" },
	{ PK_CLASSMETHOD, "classmethod", "classmethod" },
	{ PK_STATICMETHOD, "staticmethod", "staticmethod" },
	{ PK_WEAKREF, "weakref.ReferenceType", "weakref" },  /* 3.10+ */
	{ PK_WEAKREF, "weakref", NULL },                     /* 3.6-3.9 */
	{ PK_FRAME, "frame", "frame" },
	{ PK_GEN, "generator", "generator" },
	{ PK_CORO, "coroutine", NULL },
	{ PK_ASYNCGEN, "async_generator", NULL },
	{ PK_BASEEXC, "BaseException", "exceptions.BaseException" },
	{ PK_OLDINSTANCE, NULL, "instance" },
	{ PK_FIXEDINT, NULL, "int" },
};

/* setobject.c's type of the dummy key (3.x; 2.7's dummy is a str). */
static const char set_dummy_name[] = "<dummy key> type";

static bool read_cstr(struct pc_py *py, uint64_t addr, char *buf, size_t cap)
{
	/* A short name may end a page before its mapping does: bytewise then. */
	if (!pc_mem_read(py->mem, addr, buf, cap - 1)) {
		size_t i = 0;
		for (; i < cap - 1 && pc_mem_read(py->mem, addr + i, buf + i, 1) && buf[i]; i++)
			;
		if (i == cap - 1 || buf[i])
			return false;
	}
	buf[cap - 1] = 0;
	return memchr(buf, 0, cap - 1) != NULL;
}

/* The tp_name of TYPE if it is a static type object in the interpreter's
 * file whose own type is `type` (once known). */
static bool static_type_name(struct pc_py *py, uint64_t type, char *buf, size_t cap)
{
	const struct pc_layout *L = py->L;
	uint64_t flags, name, meta;
	if (!type || (type & 7) || type < py->kinds_lo || type >= py->kinds_hi ||
	    !pc_u64(py, type + (uint64_t)L->tp_flags, &flags) || (flags & PC_TPFLAGS_HEAPTYPE) ||
	    !pc_u64(py, type + (uint64_t)L->ob_type, &meta) ||
	    (py->kind_type[PK_TYPE] && meta != py->kind_type[PK_TYPE]) ||
	    !pc_u64(py, type + (uint64_t)L->tp_name, &name) || !name)
		return false;
	return read_cstr(py, name, buf, cap);
}

static bool classic(const struct pc_py *py)
{
	return py->L->int_model == PC_INT_FIXED_AND_LONG;
}

static enum pc_kind kind_named(const struct pc_py *py, const char *name)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		const char *n = classic(py) ? kind_names[i].classic : kind_names[i].name;
		if (n && !strcmp(n, name))
			return kind_names[i].kind;
	}
	return PK_OTHER;
}

enum pc_kind pc_kind_by_name(struct pc_py *py, uint64_t type)
{
	char name[64];
	if (!py->kinds_hi || !static_type_name(py, type, name, sizeof(name)))
		return PK_OTHER;
	if (!py->set_dummy_type && !strcmp(name, set_dummy_name)) {
		py->set_dummy_type = type;
		return PK_OTHER;
	}
	enum pc_kind k = kind_named(py, name);
	/* A kind a symbol (or an earlier type) gave keeps its type. */
	if (k == PK_OTHER || py->kind_type[k])
		return PK_OTHER;
	py->kind_type[k] = type;
	return k;
}

/* 2.7's dummy: a str "<dummy key>" that nothing hashed.  A key a set
 * holds was hashed when it went in, and its str caches that hash. */
static bool string_dummy(struct pc_py *py, uint64_t key)
{
	static const char dummy[] = "<dummy key>";
	const struct pc_layout *L = py->L;
	int64_t size, hash;
	char buf[sizeof(dummy)];
	if (pc_ob_type(py, key) != py->kind_type[PK_BYTES] ||
	    !pc_mem_read(py->mem, key + (uint64_t)L->ob_size, &size, 8) || size != (int64_t)sizeof(dummy) - 1 ||
	    !pc_mem_read(py->mem, key + (uint64_t)L->string_shash, &hash, 8) || hash != -1 ||
	    !pc_mem_read(py->mem, key + (uint64_t)L->string_sval, buf, sizeof(buf)) ||
	    memcmp(buf, dummy, sizeof(dummy)))
		return false;
	py->set_dummy = key;
	return true;
}

bool pc_is_set_dummy(struct pc_py *py, uint64_t key)
{
	if (py->L->str_model == PC_STR_BYTES_UNICODE)
		return string_dummy(py, key);
	if (!py->kinds_hi)
		return false;
	uint64_t type = pc_ob_type(py, key);
	if (!type || type < py->kinds_lo || type >= py->kinds_hi)
		return false;
	if (!py->set_dummy_type) {
		for (int k = 1; k < PK_NKINDS; k++)
			if (py->kind_type[k] == type)
				return false;
		pc_kind_by_name(py, type);
	}
	return type == py->set_dummy_type;
}

/* A type and its bases. */
static void consider(struct pc_py *py, uint64_t type)
{
	for (int depth = 0; type && depth < 16; depth++) {
		pc_kind_by_name(py, type);
		if (!pc_u64(py, type + (uint64_t)py->L->tp_base, &type))
			return;
	}
}

/* A dict's keys' and values' types, and the values that are types. */
static bool consider_entry(void *arg, uint64_t key, uint64_t value)
{
	struct pc_py *py = arg;
	consider(py, pc_ob_type(py, key));
	uint64_t vt = pc_ob_type(py, value);
	consider(py, vt);
	if (vt && vt == py->kind_type[PK_TYPE])
		consider(py, value);
	return true;
}

bool pc_builtin_types_find(struct pc_py *py, uint64_t runtime)
{
	const struct pc_layout *L = py->L;
	uint64_t interps[PC_MAX_INTERPS], builtins = 0, modules = 0;
	if (pc_interpreters(py, runtime, interps, PC_MAX_INTERPS) < 1 ||
	    !pc_u64(py, interps[0] + (uint64_t)L->is_builtins, &builtins) || !builtins)
		return false;
	pc_u64(py, interps[0] + (uint64_t)L->is_modules, &modules);
	/* builtins is a dict; a dict's type is `type`, which is its own. */
	uint64_t dict = pc_ob_type(py, builtins), type = pc_ob_type(py, dict), meta = pc_ob_type(py, type);
	char name[64];
	if (!dict || !type || meta != type || !static_type_name(py, type, name, sizeof(name)) ||
	    kind_named(py, name) != PK_TYPE)
		return false;
	if (!py->kind_type[PK_TYPE])
		py->kind_type[PK_TYPE] = type;
	consider(py, dict);
	/* Its keys name the builtins: str (2.x: the bytes kind, what names
	 * are made of there) before any key is read as a name. */
	struct pc_dict_view v;
	if (!pc_dict_view(py, builtins, &v) || !v.nentries)
		return false;
	for (int64_t i = 0; i < v.nentries; i++) {
		uint64_t key;
		memcpy(&key, v.entries + i * v.esize + v.key_off, 8);
		if (key) {
			consider(py, pc_ob_type(py, key));
			break;
		}
	}
	pc_dict_foreach(py, builtins, consider_entry, py);
	if (modules)
		pc_dict_foreach(py, modules, consider_entry, py);
	return py->kind_type[PK_TYPE] == type && py->kind_type[PK_DICT] == dict && py->kind_type[PK_STR];
}
