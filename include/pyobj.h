/* Decoding CPython objects from target memory: the process view shared by
 * the walkers (memory + layout + well-known types) and the small decoders
 * every walker needs (strings, dicts, type objects). */
#ifndef PC_PYOBJ_H
#define PC_PYOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "mem.h"

/* Builtin types pycensus knows how to size and follow.  A type whose
 * nearest builtin base is one of these shares its layout. */
enum pc_kind {
	PK_OTHER = 0,
	PK_OBJECT, PK_TYPE, PK_INT, PK_BOOL, PK_FLOAT, PK_COMPLEX, PK_STR, PK_BYTES,
	PK_BYTEARRAY, PK_TUPLE, PK_LIST, PK_DICT, PK_SET, PK_FROZENSET,
	PK_FUNCTION, PK_CODE, PK_MODULE, PK_CELL, PK_METHOD, PK_CFUNCTION,
	PK_PROPERTY, PK_CLASSMETHOD, PK_STATICMETHOD, PK_WEAKREF, PK_FRAME,
	PK_GEN, PK_CORO, PK_ASYNCGEN, PK_BASEEXC,
	PK_OLDINSTANCE,   /* name model PC_NAME_NAME: old-style instance, named by its class */
	PK_FIXEDINT,      /* int model PC_INT_FIXED_AND_LONG: the fixed-size int (2.7's int) */
	PK_NKINDS
};

/* Types outside the builtin kinds whose C __sizeof__ pycensus mirrors.
 * They are static types in some versions and heap types in others, so
 * they are known by name (and their subclasses by their base). */
enum pc_sizer { SZ_DEFAULT = 0, SZ_DEQUE, SZ_ODICT, SZ_BUFFERED, SZ_ARRAY, SZ_STRUCT,
	SZ_DICT /* dict's layout, not a dict subclass: 3.15's frozendict */,
	SZ_NDARRAY, SZ_BYTESIO, SZ_NPSCALAR, SZ_STGDICT, SZ_CTYPE /* sizeof_buffers.c */ };

/* What the census learns about a type object, once per type. */
struct pc_type {
	uint64_t addr;
	char *name;
	uint64_t flags;
	int64_t basicsize, itemsize, dictoffset, weaklistoffset;
	uint64_t base, dict, members;
	enum pc_kind kind;     /* own kind or that of the nearest builtin base */
	bool valid;
	uint64_t traverse;     /* tp_traverse */
	int64_t nslots;        /* ob_size of a heap type: its __slots__ members */
	uint64_t cached_keys;  /* ht_cached_keys of a heap type */
	const void *rule;      /* referents rule, resolved on first use */
	/* census accumulators */
	uint64_t count, bytes;
	uint64_t hidden_count, hidden_bytes;  /* reached only by hidden edges */
	bool opaque;           /* its references could not all be followed */
	uint64_t opaque_count; /* objects of it that were so */
	enum pc_sizer sizer;   /* a non-builtin __sizeof__ pycensus mirrors */
	int64_t sizer_bytes;   /* SZ_NPSCALAR: the bytes it adds */
	bool payload_only;     /* holds no object, only pointers to payload: not scanned */
};

struct pc_typemap;  /* address -> struct pc_type, see types.c */

struct pc_py {
	struct pc_mem *mem;
	const struct pc_layout *L;
	uint64_t kind_type[PK_NKINDS];   /* address of each builtin type object */
	uint64_t set_dummy;              /* the <dummy> key of sets */
	uint64_t interp_main;            /* the main PyInterpreterState */
	uint64_t sysdict;                /* main interpreter's sys.__dict__ */
	struct pc_typemap *types;
	uint64_t invalid;                /* objects that could not be decoded */
	uint64_t lookdict;               /* <= 3.10: dk_lookup of general dicts */
	uint64_t mapped;                 /* readable bytes mapped, 0 until sizeof.c needs it */
	uint64_t gc_symbol[PC_GC_SYMBOLS]; /* addresses of L->gc.symbols (2.7, 3.6: GC statics) */
	/* No symbol names the builtin types (builtin_types.h): the
	 * interpreter file's addresses, where the kinds still unknown are
	 * looked for by name; 0 when symbols gave them. */
	uint64_t kinds_lo, kinds_hi;
	uint64_t set_dummy_type;         /* the sets' dummy key's type, so found */
};

/* Symbol names of the kinds, for discovery, and the name a build without
 * the first one gives that kind (2.7's str, PyString_Type, is the bytes kind). */
extern const char *const pc_kind_symbol[PK_NKINDS];
extern const char *const pc_kind_symbol_alt[PK_NKINDS];

/* The fixed part of a str: length, kind (1, 2 or 4 bytes a character),
 * compact/ascii flags and where its characters are.  RAW points at least
 * sizeof(PyCompactUnicodeObject) bytes of the object.  False if it is not a
 * readable, sane str header. */
struct pc_str_header {
	const unsigned char *raw;
	int64_t len;
	unsigned kind;
	bool compact, ascii;
	uint64_t data;
};
bool pc_str_header(struct pc_py *py, uint64_t addr, struct pc_str_header *h);

/* Read a str object as UTF-8 into BUF (NUL-terminated, truncated to CAP-1).
 * Returns the byte length, or -1 if ADDR is not a readable str. */
long pc_str_read(struct pc_py *py, uint64_t addr, char *buf, size_t cap);

/* A PyDictKeysObject: its counts, slots, the bytes of its index table and
 * of one entry, and whether dict_traverse skips its keys (all str). */
struct pc_dict_keys {
	const unsigned char *raw;
	int64_t refcnt, nentries, usable, slots;
	uint64_t index_bytes, entry_size;
	bool unicode;
};
bool pc_dict_keys(struct pc_py *py, uint64_t keys, struct pc_dict_keys *k);

/* A decoded dict: local copies of its entries and (split) values. */
struct pc_dict_view {
	int64_t nentries;
	const unsigned char *entries;  /* nentries entries of esize bytes */
	int64_t esize, key_off, value_off;
	const unsigned char *values;   /* split dicts: nentries pointers, else NULL */
	bool general;     /* keys are visited by dict_traverse (not all-str keys) */
	bool embedded;    /* 3.13: values live inline in the owning object */
	uint64_t keys;    /* the PyDictKeysObject */
};
bool pc_dict_view(struct pc_py *py, uint64_t addr, struct pc_dict_view *v);

/* Call FN for each (key, value) of the dict at ADDR; stop early if FN
 * returns false.  Returns false if the dict cannot be decoded. */
typedef bool (*pc_dict_fn)(void *arg, uint64_t key, uint64_t value);
bool pc_dict_foreach(struct pc_py *py, uint64_t addr, pc_dict_fn fn, void *arg);

/* Value for the str key NAME in the dict at ADDR, 0 if absent. */
uint64_t pc_dict_get_str(struct pc_py *py, uint64_t dict, const char *name);

/* The newest frame thread state TS runs: a frame object where the layout's
 * thread_frame model is PC_TF_FRAME, else an interpreter frame; 0 if none
 * or unreadable. */
uint64_t pc_thread_frame(struct pc_py *py, uint64_t ts);

/* Value of the int at ADDR if it fits in 62 bits. */
bool pc_int_value(struct pc_py *py, uint64_t addr, int64_t *out);

/* ob_type of the object at ADDR, 0 if unreadable or misaligned. */
uint64_t pc_ob_type(struct pc_py *py, uint64_t addr);

static inline bool pc_u64(struct pc_py *py, uint64_t addr, uint64_t *out)
{
	return pc_mem_u64(py->mem, addr, out);
}

static inline bool pc_i64(struct pc_py *py, uint64_t addr, int64_t *out)
{
	return pc_mem_read(py->mem, addr, out, 8);
}

#endif
