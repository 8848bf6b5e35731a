/* The per-build layout table: the struct offsets and sizes that naming,
 * sizing, the GC walk and the traverse rules use, the encodings, the
 * layouts of extension modules the sizers read, and the behaviour
 * decisions derived from them.  Code asks this table; it does not branch on
 * version numbers, nor on whether an offset is known.
 *
 * It is built after discovery (which finds the binary, its runtime and
 * version, and builds nothing), with the target's memory open
 * (census/build_cache.c), from offset sources combined, asked in order
 * (pc_layout_from): DWARF, the interpreter's and its lib-dynload modules'
 * (layout/dwarf_offsets.c); the _Py_DebugOffsets record read from the
 * target's memory (3.13+, layout/debug_offsets.c); without DWARF, a table
 * generated from the DWARF of a real build of that version
 * (layout/builtin_table.c, data in the top-level layout/X.Y.Z.json),
 * which is then cross-checked against the target before use; last, the
 * "abi" source (layout/abi_table.c) for extension modules no interpreter
 * DWARF describes (array, _struct, BytesIO where shared; numpy; _ctypes),
 * which `offsets` does not name.  A test hook reads a table back from
 * `info`'s dump instead of the interpreter's sources.
 *
 * A source says of each fact: a value, absent in this build, or unknown to
 * it; the first that knows answers, and the table records which
 * (provenance, `info`'s layout.facts).  DWARF knows a member's absence only
 * of a struct it has a DIE for: a struct with none is unknown to it, not
 * absent.  A fact no source knows refuses the census with its name when a
 * source describes its struct (a gap in that source), when it is required,
 * or when a decision is asked of it (decisions are asked of structs every
 * version has: the frame model of PyFrameObject, the str model of
 * PyUnicodeObject); of a struct no source describes, an optional fact only
 * turns off what needs it (that type's traverse rule or sizer).  It never
 * makes a walker take another version's path.  In the int64_t fields below
 * -1 means "no value": absent, or (optional, of an undescribed struct)
 * unknown; walkers read such a field only under a decision that needs it.
 *
 * Walkers branch on the named decisions at the end (dict family, str model,
 * int model, name model, type sizeof, instance dict model, frame model,
 * thread frame, GC head model, interned model, stack top, code and
 * generator sizing, module state, BytesIO model, line model, zero-digit
 * rule, and what the structured rules and sizers decode), derived from the
 * facts in layout.c; the only version-keyed data is layout.c's behaviour
 * table (what sys.getsizeof counts, how many pre-header words, the 3.12
 * tagged dict-or-values word, whether co_lnotab's line deltas are signed),
 * which no struct describes.  The tp_flags bits below are ABI constants,
 * which DWARF does not describe either.
 *
 * The table is built once per build (build_cache.c shares it across the
 * processes of one build; a session points to it): it holds offsets and
 * sizes only, never addresses, which differ per process. */
#ifndef PC_LAYOUT_H
#define PC_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "dwarf_offsets.h"
#include "error.h"

/* tp_flags bits.  These are ABI constants of CPython's public headers, the
 * same in every version where they exist; DWARF does not describe macros. */
#define PC_TPFLAGS_STATIC_BUILTIN  (1UL << 1)   /* 3.12+ */
#define PC_TPFLAGS_INLINE_VALUES   (1UL << 2)   /* 3.13+ */
#define PC_TPFLAGS_MANAGED_WEAKREF (1UL << 3)   /* 3.12+ */
#define PC_TPFLAGS_MANAGED_DICT    (1UL << 4)   /* 3.11+ */
#define PC_TPFLAGS_PREHEADER       (PC_TPFLAGS_MANAGED_WEAKREF | PC_TPFLAGS_MANAGED_DICT)
#define PC_TPFLAGS_HEAPTYPE        (1UL << 9)
#define PC_TPFLAGS_HAVE_GC         (1UL << 14)
#define PC_TPFLAGS_LONG_SUBCLASS   (1UL << 24)
#define PC_TPFLAGS_LIST_SUBCLASS   (1UL << 25)
#define PC_TPFLAGS_TUPLE_SUBCLASS  (1UL << 26)
#define PC_TPFLAGS_BYTES_SUBCLASS  (1UL << 27)
#define PC_TPFLAGS_UNICODE_SUBCLASS (1UL << 28)
#define PC_TPFLAGS_DICT_SUBCLASS   (1UL << 29)
#define PC_TPFLAGS_BASE_EXC_SUBCLASS (1UL << 30)
#define PC_TPFLAGS_TYPE_SUBCLASS   (1UL << 31)

/* PyMemberDef.type of a __slots__ entry (structmember.h). */
#define PC_T_OBJECT_EX 16

/* What a source says of one fact. */
enum pc_fact_state { PC_FACT_UNKNOWN, PC_FACT_ABSENT, PC_FACT_VALUE };

/* One source of facts.  Keys name what is asked: "Type.member.path"
 * (offset; "a|b" alternatives where a member was renamed),
 * "sizeof(Type)", "len(Type.array)", "enum(NAME)",
 * "bitfield(Type.path).byte|.bit|.bits". */
struct pc_layout_source {
	const char *name;      /* provenance: "dwarf", "debug_offsets", "table", "abi" */
	enum pc_fact_state (*fact)(void *ctx, const char *key, int64_t *value);
	void *ctx;
	bool aside;            /* extension modules' ABI only: not named in `offsets` */
};

#define PC_FACT_KEY 80
#define PC_GC_LISTS 8
#define PC_GC_SYMBOLS 2
#define PC_LAYOUT_FACTS 512
#define PC_LAYOUT_SOURCES 5

struct pc_fact {
	char key[PC_FACT_KEY];
	int64_t value;
	uint8_t state;         /* enum pc_fact_state */
	uint8_t source;        /* index in pc_layout.sources */
};

/* The member lists traverse rules visit first (referents.c's specs name
 * them): the members of one struct this build has, absent ones skipped
 * (members come and go between versions). */
enum pc_members {
	PC_M_NONE,
	PC_M_TYPE,
	PC_M_FUNC,
	PC_M_CM,
	PC_M_SM,
	PC_M_CELL,
	PC_M_METHOD,
	PC_M_INSTANCEMETHOD,
	PC_M_METH,
	PC_M_DESCR,
	PC_M_PROPERTY,
	PC_M_MAPPINGPROXY,
	PC_M_WRAPPER,
	PC_M_WEAKREF,
	PC_M_BASEEXCEPTION,
	PC_M_MODULE,
	PC_M_NAMESPACE,
	PC_M_ASYNC_GEN,
	PC_M_ENUM,
	PC_M_ITER,
	PC_M_DICTVIEW,
	PC_M_SUPER,
	PC_M_MEMORY,
	PC_M_MBUF,
	PC_M_PARTIAL,
	PC_M_LRU_CACHE,
	PC_M_LRU_ELEM,        /* functools._lru_list_elem (GC up to 3.6) */
	PC_M_SLICE,           /* slice (GC from 3.14) */
	PC_M_SENTINEL,        /* sentinel (3.15) */
	PC_M_DEFDICT,
	PC_M_ODICT,
	PC_M_PATTERN,
	PC_M_FILEIO,
	PC_M_BUFFERED,
	PC_M_GA,
	PC_M_UNION,
	PC_M_TB,
	PC_M_LOCAL,
	PC_M_ABC_DATA,
	PC_M_SCANNER,
	PC_M_TUPLEGETTER,
	PC_M_COUNT,
	PC_M_TEXTIOWRAPPER,
	PC_M_CONTEXTVAR,
	PC_M_CONTEXT,
	PC_M_HAMT,
	PC_M_LAZY_IMPORT,
	PC_M_REPEAT,          /* itertools.repeat */
	PC_M_ATTRGETTER,      /* operator.attrgetter */
	PC_M_ITEMGETTER,      /* operator.itemgetter */
	PC_M_STRUCT,          /* _struct.Struct (3.11+: GC) */
	PC_M_TYPEVAR,         /* typing.TypeVar (3.12+: C) */
	PC_M_PARAMSPEC,       /* typing.ParamSpec (3.12+) */
	PC_M_TYPEALIAS,       /* typing.TypeAliasType (3.12+) */
	PC_M_CLASSOBJ,        /* old-style class (2.7) */
	PC_M_INSTANCE,        /* old-style instance (2.7) */
	PC_M_BYTESIO,         /* _io.BytesIO */
	PC_NMEMBERS
};

#define PC_MEMBERS_MAX 24

struct pc_member_list {
	int n;
	int64_t off[PC_MEMBERS_MAX];
	char name[PC_MEMBERS_MAX][32];   /* each member's path, for why's labels */
};

/* What the structured traverse rules decode: frames, generators,
 * lru_cache, deques, OrderedDict, modules and code objects. */
struct pc_rule_offs {
	/* frames <= 3.10 */
	int64_t f_localsplus, f_valuestack, f_stacktop, f_stackdepth;
	/* frames and generators 3.11+: the stack's top as a count of slots
	 * (stacktop, 3.11-3.13) or a pointer past the last (stackpointer, 3.14+) */
	int64_t iframe_owner, iframe_stacktop, iframe_stackpointer;
	int64_t owned_by_frame_object, owned_by_cstack;
	int64_t gi_frame_state;
	struct pc_member_list frame_fields;    /* PyFrameObject members visited */
	struct pc_member_list iframe_fields;   /* _PyInterpreterFrame members visited */
	struct pc_member_list gen_fields;
	/* lru_cache */
	int64_t lru_root, lru_next, lru_key, lru_result;
	/* deque */
	int64_t dq_leftblock, dq_rightblock, dq_rightindex, blk_data, blk_rightlink;
	/* OrderedDict */
	int64_t odnode_key, odnode_next;
	/* module */
	int64_t md_state, m_traverse, md_name;
	int64_t md_state_traverse, md_state_size;   /* 3.15+: in the module, not its def */
	/* code: every PyObject * member, all hidden from gc.get_referents */
	struct pc_member_list code_fields;
	int64_t co_cached;
	struct pc_member_list cached_fields;
};

struct pc_layout {
	int major, minor;      /* for messages only: never to choose a path */

	/* Where the facts came from: "dwarf", "table" or, for more than one
	 * source used, their names joined by "+". */
	char offsets[48];
	const char *table_from;   /* a table's version and build, else NULL */
	const char *sources[PC_LAYOUT_SOURCES];
	int nsources;
	int nfacts;
	struct pc_fact facts[PC_LAYOUT_FACTS];

	/* PyObject / PyVarObject; ob_refcnt is at 0, refcnt_size bytes */
	int64_t ob_type, object_size, ob_size, refcnt_size;
	int64_t ob_tid;            /* free-threaded builds only: refused */

	/* PyTypeObject / PyHeapTypeObject */
	int64_t tp_name, tp_basicsize, tp_itemsize, tp_flags, tp_dict, tp_base,
		tp_bases, tp_mro, tp_dictoffset, tp_members, tp_weaklistoffset,
		tp_subclasses, tp_traverse, type_size;
	int64_t ht_name, ht_qualname, ht_cached_keys, ht_slots, heaptype_size;
	/* name model PC_NAME_NAME: old-style classes and instances (2.7) */
	int64_t cl_dict, cl_name, in_class;

	/* PyMemberDef, for __slots__ */
	int64_t memberdef_size, md_type, md_offset;

	/* GC: the PyGC_Head before every GC object (16 bytes of two tagged
	 * links on 3.8+; a 32-byte union with its links and gc_refs under
	 * `gc.` on <= 3.7); its links' offsets and the bits of each link word
	 * that are the pointer (the rest are tags: 3.8+ flags in bits 0-1,
	 * 3.14.0's old-space bit in _gc_next's bit 0; none on <= 3.7). */
	int64_t gc_head_size, gc_next, gc_prev;
	uint64_t gc_next_mask, gc_prev_mask;
	/* <= 3.7: gc_refs, outside a collection -3 << gc_refs_shift for a
	 * tracked object (2.7: shift 0; 3.6/3.7: 1, bit 0 the finalized
	 * flag); -1 when the header has none (3.8+, the state in _gc_prev). */
	int64_t gc_refs;
	int gc_refs_shift;
	/* The GC list heads, each found from its anchor (see pc_gc_anchor). */
	struct pc_gc_lists {
		int n;                 /* heads in list[] */
		int ngenerations;      /* heads that count as generations (the first ones) */
		struct pc_gc_list {
			struct pc_gc_anchor {
				enum pc_gc_base {
					PC_GC_RUNTIME,  /* an offset inside _PyRuntime (3.7, 3.8) */
					PC_GC_INTERP,   /* inside each PyInterpreterState (3.9+) */
					PC_GC_STATIC,   /* from the address of gc_symbols[symbol] (2.7, 3.6) */
				} base;
				int symbol;         /* PC_GC_STATIC: index in gc_symbols */
				int64_t off;
			} at;
			char name[24];          /* "generations[0]", "young", "old[1]", "permanent_generation" */
			bool permanent;         /* the permanent generation: not a generation of gc.get_objects() */
		} list[PC_GC_LISTS];
		struct pc_gc_anchor collecting;   /* the int set while a collection runs */
		/* <= 3.7 (gc_head_model PC_GC_HEAD_REFS): a collection's marking
		 * shows in the headers' gc_refs, so a build whose collecting is
		 * a local symbol it lacks is still read (gcwalk.c). */
		bool collecting_by_refs;
		/* Statics the anchors name, as their symbols (resolved per
		 * process: the table holds no addresses), and for each an
		 * exported pointer whose value is the static's address when
		 * the symbol is local and a stripped build lacks it. */
		int nsymbols;
		char symbols[PC_GC_SYMBOLS][32], symbol_ptrs[PC_GC_SYMBOLS][32];
	} gc;

	/* Runtime, interpreters, threads */
	int64_t rt_interp_head;
	int64_t is_next, is_threads_head, is_modules, is_sysdict, is_builtins;
	int64_t is_types_builtins, is_types_builtins_len, builtin_state_size,
		builtin_state_tp_dict;
	int64_t ts_next;
	int64_t ts_frame;                 /* <= 3.10: PyFrameObject * */
	int64_t ts_cframe, cframe_current_frame;  /* 3.11/3.12 */
	int64_t ts_current_frame;         /* 3.13 */
	int64_t iframe_previous;          /* 3.11+ _PyInterpreterFrame.previous */
	int64_t is_interned;              /* 3.12+: the interned-string dict */
	/* for why's thread roots: the thread's id (threading.get_ident()),
	 * its dict, 3.13's thread-local key and sentinel; the first line of a
	 * code object (-1 where the build lacks one) */
	int64_t ts_thread_id, ts_dict, ts_local_key, ts_local_sentinel, co_firstlineno;
	/* for the line a frame runs (line model below): PyFrameObject.f_lasti
	 * (<= 3.10), _PyInterpreterFrame.prev_instr (3.11, 3.12) or instr_ptr
	 * (3.13+), a pointer into the code's co_code_adaptive (3.11+); the
	 * code's line table (co_lnotab, else co_linetable) and where a bytes
	 * object's (2.7: str's) characters start; -1 where absent */
	int64_t f_lasti, iframe_instr, co_code_adaptive, co_lines, lines_sval;

	/* str */
	int64_t ascii_size, compact_size, unicode_size, str_length,
		str_utf8_length, str_utf8, str_wstr, str_wstr_length, str_data;
	int64_t state_kind_byte, state_compact_byte, state_ascii_byte;
	int state_kind_bit, state_kind_bits, state_compact_bit, state_ascii_bit;

	/* str model PC_STR_BYTES_UNICODE (2.7): PyStringObject's characters,
	 * PyUnicodeObject's separate buffer and its Py_UNICODE width */
	int64_t string_sval, string_shash, ustr_length, ustr_buffer, py_unicode_size;

	/* int */
	int64_t long_digits, long_lv_tag, digit_size;

	/* list, tuple */
	int64_t list_item, list_allocated, tuple_item;

	/* dict */
	int64_t dict_size, ma_used, ma_keys, ma_values;
	int64_t dk_refcnt, dk_size, dk_log2_size, dk_log2_index_bytes, dk_kind,
		dk_usable, dk_nentries, dk_indices, dictkeys_size;
	int64_t dict_entry_size, dict_unicode_entry_size;
	int64_t dictvalues_values;  /* 3.13: values[] inside PyDictValues */
	int64_t dictvalues_valid, dictvalues_capacity, dictvalues_embedded;  /* 3.13, else -1 */
	int64_t dk_lookup;          /* <= 3.10 */
	int64_t set_entry_key;
	/* PC_DICT_OPEN (2.7): the table, its mask and the inline slots */
	int64_t ma_mask, ma_table, ma_smalltable;

	/* set */
	int64_t set_mask, set_table, set_smalltable, set_entry_size;

	/* bytearray; 3.15+ keeps its buffer in a bytes object (else -1) */
	int64_t bytearray_alloc, bytearray_bytes_object, bytes_sval;

	/* what the __sizeof__ of code, frames, generators, modules and
	 * deques read */
	int64_t co_nlocalsplus, co_stacksize, co_nlocals, co_cellvars, co_freevars,
		co_cell2arg, co_opcache, co_opcache_size, opcache_size, co_code, co_extra,
		code_extra_items;
	int64_t gi_code, gi_iframe, iframe_code, iframe_localsplus;
	int64_t f_frame, f_frame_data, frame_size, f_code;
	int64_t md_def, m_size;
	int64_t dq_leftindex, dq_block_size, dq_blocklen;
	int64_t dq_len;        /* the item count: ob_size, or 2.7's own len */
	int64_t od_fast_nodes_size, od_first, odnode_size;
	int64_t buffered_buffer, buffered_buffer_size;
	int64_t array_allocated, array_descr, arraydescr_itemsize;
	int64_t struct_codes, formatcode_size;   /* _struct.Struct */
	int64_t bytesio_buf;   /* _io.BytesIO */
	int64_t bytesio_buf_size;  /* 2.7: buf is a char * of this many bytes, else -1 (a bytes object) */

	/* Extension modules outside the interpreter's DWARF, from their public
	 * ABI where no DWARF describes them (the "abi" source). */
	struct pc_numpy_layout {
		/* PyArrayObject_fields; its size, the least an ndarray type's basicsize */
		int64_t data, nd, dimensions, descr, flags, fields_size;
		/* PyArray_Descr's elsize (offset, width) by numpy.dtype's basicsize */
		int ndescr;
		struct pc_numpy_descr { int64_t basicsize, elsize, width; } descr_abi[2];
		/* the fixed-size scalar types and their element sizes */
		int nscalars;
		struct pc_numpy_scalar { char name[24]; int64_t size; } scalar[24];
	} numpy;
	/* _ctypes' per-class part (StgDict 3.8-3.12; StgInfo 3.13+), by size */
	struct pc_stg_layout { int64_t size, length, elements, format, ndim; } stgdict[2], stginfo[2];
	int nstgdict, nstginfo;

	/* the traverse rules */
	struct pc_rule_offs ro;
	struct pc_member_list members[PC_NMEMBERS];

	/* encodings */
	int64_t entry_key, entry_value;             /* PyDictKeyEntry me_key, me_value */
	int64_t uentry_key, uentry_value;           /* 3.11+ PyDictUnicodeEntry, else -1 */
	int64_t lv_tag_shift;                       /* long_tagged: ndigits = lv_tag >> shift */
	int64_t digit_bits;                         /* bits a digit holds: 30 (4 bytes) or 15 */
	int64_t preheader_size;                     /* bytes before the GC header, 0 or 16 */
	int64_t preheader_dict, preheader_values;   /* from the object, -24 / -32; 0: none */
	uint64_t idict_values_tag;                  /* PC_IDICT_TAGGED: the bit set on values */
	int64_t frame_cleared;                      /* 3.11+ FRAME_CLEARED, else -1 */
	int64_t builtin_index_bias;                 /* static type i's state: tp_subclasses - bias */
	/* _PyStackRef (frames' slots, f_executable, f_funcobj; 3.14+): the
	 * low tag bits to clear, and the tag value of an int stored in the
	 * reference itself (not an object).  0, 0: plain PyObject *. */
	uint64_t stackref_tag_mask, stackref_int_tag;

	/* named decisions */
	enum pc_dict_family {
		PC_DICT_SIZE_LOOKUP,    /* dk_size, dk_lookup, {hash, key, value} entries (<= 3.10) */
		PC_DICT_LOG2_KIND,      /* dk_log2_size, dk_kind, unicode entries {key, value} */
		PC_DICT_OPEN,           /* no keys object: ma_table of ma_mask + 1 {hash, key, value}
					 * slots, 8 inline (ma_smalltable); keys always traversed (2.7) */
	} dict_family;
	enum pc_str_model {
		PC_STR_PEP393,          /* str is PEP 393's compact/legacy unicode; bytes is PyBytesObject */
		PC_STR_BYTES_UNICODE,   /* str is PyStringObject (the bytes kind, sized to ob_sval + len + 1);
					 * unicode a PyUnicodeObject with a separate Py_UNICODE buffer (2.7) */
	} str_model;
	enum pc_int_model {
		PC_INT_LONG,            /* one int type, digits; bool is an int of it */
		PC_INT_FIXED_AND_LONG,  /* PyIntObject (a C long, fixed size; bool is one) besides long (2.7) */
	} int_model;
	enum pc_name_model {
		PC_NAME_QUALNAME,       /* heap types: module + ht_qualname; builtins module "builtins" */
		PC_NAME_NAME,           /* no ht_qualname: module + ht_name; "__builtin__" and "exceptions"
					 * left out; old-style instances by their class (2.7) */
	} name_model;
	enum pc_type_sizeof {
		PC_TYPE_SIZEOF_HEAPTYPE,  /* type.__sizeof__: PyHeapTypeObject + ht_cached_keys */
		PC_TYPE_SIZEOF_DEFAULT,   /* no ht_cached_keys, no type.__sizeof__: basicsize + nslots * itemsize (2.7) */
	} type_sizeof;
	enum pc_idict_model {
		PC_IDICT_OFFSET,        /* tp_dictoffset only */
		PC_IDICT_VALUES_WORD,   /* pre-header words: values pointer, dict (3.11) */
		PC_IDICT_TAGGED,        /* one word: dict, or values tagged (3.12) */
		PC_IDICT_INLINE_VALUES, /* dict word; values inline after the object (3.13) */
	} idict_model;
	enum pc_frame_model {
		PC_FRAME_OBJECT,        /* PyFrameObject holds locals and stack (<= 3.10) */
		PC_FRAME_INTERP,        /* _PyInterpreterFrame, owned by a frame or generator */
	} frame_model;
	enum pc_thread_frame {
		PC_TF_FRAME,            /* PyThreadState.frame, a frame object (<= 3.10) */
		PC_TF_CFRAME,           /* ->cframe->current_frame (3.11, 3.12) */
		PC_TF_CURRENT,          /* ->current_frame (3.13) */
	} thread_frame;
	enum pc_gc_head_model {
		PC_GC_HEAD_TAGGED,      /* _gc_next/_gc_prev, flags in their low bits (3.8+) */
		PC_GC_HEAD_REFS,        /* a union with gc_refs: a tracked object's is -3 << shift (<= 3.7) */
	} gc_head_model;
	enum pc_interned_model {
		PC_INTERNED_STATIC,     /* the static dict `interned`, by its symbol (<= 3.11) */
		PC_INTERNED_INTERP,     /* each interpreter's cached_objects.interned_strings (3.12+) */
	} interned_model;
	enum pc_stack_top {
		PC_STACK_TOP_PTR,       /* PyFrameObject.f_stacktop, a pointer past the top (<= 3.9) */
		PC_STACK_DEPTH,         /* PyFrameObject.f_stackdepth, a count (3.10) */
		PC_STACK_SLOTS,         /* _PyInterpreterFrame.stacktop, slots from localsplus (3.11-3.13) */
		PC_STACK_POINTER,       /* _PyInterpreterFrame.stackpointer, NULL while running (3.14+) */
	} stack_top;
	enum pc_code_sizeof {
		PC_CODE_SIZEOF_FIXED,   /* basicsize + cell2arg + opcache, as present (<= 3.10) */
		PC_CODE_SIZEOF_UNITS,   /* a var-object of code units: the default size (3.11+) */
	} code_sizeof;
	enum pc_gen_code {
		PC_GEN_CODE_FIELD,      /* gi_code (2.7-3.11) */
		PC_GEN_CODE_IFRAME,     /* the code of the generator's embedded frame (3.12+) */
	} gen_code;
	enum pc_module_state {
		PC_MSTATE_NONE,         /* no module state (2.7) */
		PC_MSTATE_DEF,          /* md_state of md_def->m_size bytes, m_traverse in the def */
		PC_MSTATE_MODULE,       /* md_state_size and md_state_traverse in the module (3.15+) */
	} module_state;
	enum pc_bytesio_model {
		PC_BYTESIO_BYTES,       /* buf is a bytes object (3.x) */
		PC_BYTESIO_CHARS,       /* buf is a char * of buf_size bytes (2.7) */
	} bytesio_model;
	bool str_wstr_copy;         /* str may hold a legacy wchar_t copy (wstr, <= 3.11) */
	bool bytearray_bytes_buffer;  /* bytearray's buffer is a bytes object (3.15+) */
	bool old_instances_by_class;  /* old-style instances named by their class (2.7) */
	/* The structured traverse rules and sizers this layout has every fact
	 * for (else the type's referents are opaque, its size the default). */
	struct pc_decodes {
		bool frame, gen, lru, deque, odict;   /* traverse rules */
		bool deque_size, odict_size, buffered_size, array_size, struct_size, bytesio_size;   /* __sizeof__ */
	} decodes;
	enum pc_line_model {
		PC_LINES_NONE,          /* no position or no table known: the first line only */
		PC_LINES_LNOTAB,        /* co_lnotab's (bytecode delta, line delta) byte pairs;
					 * f_lasti in bytes (<= 3.9); line deltas signed if lnotab_signed */
		PC_LINES_PAIRS,         /* co_linetable's (bytecode delta, line delta or -128: none)
					 * pairs; f_lasti in code units (3.10) */
		PC_LINES_LOCATIONS,     /* co_linetable's location entries; prev_instr/instr_ptr
					 * into co_code_adaptive (3.11+) */
	} line_model;
	bool lnotab_signed;         /* co_lnotab's line deltas are signed bytes (3.6+), else unsigned (2.7) */
	int zero_int_digits;        /* digits sys.getsizeof counts for 0: 0, or 1 (3.11+) */
	bool static_type_presize;   /* 3.11, 3.12: getsizeof(static type) adds a GC header */
	bool long_tagged;           /* 3.12+: lv_tag instead of signed ob_size */
	bool has_preheader;         /* 3.11+: managed dict/weakref words before GC head */
	bool static_types_no_dict;  /* 3.12+: static builtin tp_dict in the interpreter */
};

/* Build L from SOURCES, asked in order.  Called once a build's target is
 * found and its memory readable (a source may read it). */
struct pc_error *pc_layout_build(struct pc_layout *L, const struct pc_layout_source *sources, int nsources,
				 int major, int minor);

/* The source of extension modules' ABI facts (array, _struct, _io,
 * numpy, _ctypes), named "abi", asked after the interpreter's sources. */
struct pc_layout_source pc_layout_abi_source(void);

/* The DWARF source over IDX. */
struct pc_layout_source pc_layout_dwarf_source(struct pc_dwarf_index *idx);

/* A table source: the "facts" of `info`'s JSON dump in the file PATH.  A
 * fact not in the file is unknown to it.  The source owns what it read;
 * free it with pc_layout_table_free. */
struct pc_error *pc_layout_table_source(const char *path, struct pc_layout_source *out);

/* What a table's facts (info's layout.facts[]: {"fact", "value"}, a null
 * value meaning absent) say of KEY; shared by the table sources. */
struct json_object;
enum pc_fact_state pc_layout_facts_find(struct json_object *facts, const char *key, int64_t *value);
void pc_layout_table_free(struct pc_layout_source *src);

/* The struct fact KEY is about ("T.path", "sizeof(T)", "len(T.x)",
 * "bitfield(T.x).y"), into TYPE; false for a key about none ("enum(X)").
 * A source answers "struct(T)" with a value when it describes T at all:
 * a fact it does not know of a struct it describes is a gap in it, which
 * refuses; of a struct no source describes, only what needs it refuses. */
bool pc_layout_key_struct(const char *key, char *type, size_t cap);

/* The layout from the target's sources, combined, asked in order: the
 * DWARF of IDX (NULL: none) and, for what the interpreter's lacks, that
 * of the NEXT extension modules in EXT the build keeps apart (2.7's
 * lib-dynload _collections...); then MORE (the _Py_DebugOffsets record
 * read from the target's memory, a table compiled in), and the "abi"
 * source last.  Test hook: a table named by PYCENSUS_TEST_LAYOUT_TABLE
 * instead of the interpreter's sources (the "abi" source still after it). */
struct pc_error *pc_layout_from(struct pc_layout *L, struct pc_dwarf_index *idx,
				struct pc_dwarf_index *const *ext, int next,
				const struct pc_layout_source *more, int nmore, int major, int minor);

#endif
