#include <stdio.h>
#include <string.h>

#include "layout.h"

struct ctx {
	struct pc_dwarf_index *idx;
	const char *missing;   /* first required field not found */
	char buf[160];
};

/* Offset of the first of several alternative member paths ("a|b") that
 * exists; alternatives cover members renamed between versions. */
static int64_t find(struct ctx *c, const char *type, const char *paths, bool required)
{
	char tmp[160];
	const char *p = paths;
	while (*p) {
		size_t n = strcspn(p, "|");
		if (n >= sizeof(tmp))
			break;
		memcpy(tmp, p, n);
		tmp[n] = 0;
		int64_t off = pc_dwarf_offsetof(c->idx, type, tmp, NULL);
		if (off >= 0)
			return off;
		p += n;
		if (*p == '|')
			p++;
	}
	if (required && !c->missing) {
		snprintf(c->buf, sizeof(c->buf), "%s.%s", type, paths);
		c->missing = c->buf;
	}
	return -1;
}

static int64_t size_of(struct ctx *c, const char *types, bool required)
{
	char tmp[160];
	const char *p = types;
	while (*p) {
		size_t n = strcspn(p, "|");
		if (n >= sizeof(tmp))
			break;
		memcpy(tmp, p, n);
		tmp[n] = 0;
		int64_t s = pc_dwarf_sizeof(c->idx, tmp);
		if (s >= 0)
			return s;
		p += n;
		if (*p == '|')
			p++;
	}
	if (required && !c->missing) {
		snprintf(c->buf, sizeof(c->buf), "sizeof(%s)", types);
		c->missing = c->buf;
	}
	return -1;
}

#define REQ true
#define OPT false

static void init_objects(struct pc_layout *L, struct ctx *c)
{
	L->ob_type = find(c, "PyObject", "ob_type", REQ);
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
	L->ht_qualname = find(c, H, "ht_qualname", REQ);
	L->ht_cached_keys = find(c, H, "ht_cached_keys", REQ);
	L->ht_slots = find(c, H, "ht_slots", REQ);
	L->heaptype_size = size_of(c, H, REQ);

	L->memberdef_size = size_of(c, "PyMemberDef", REQ);
	L->md_type = find(c, "PyMemberDef", "type", REQ);
	L->md_offset = find(c, "PyMemberDef", "offset", REQ);
}

static void init_gc(struct pc_layout *L, struct ctx *c)
{
	L->gc_head_size = size_of(c, "PyGC_Head", REQ);
	L->gc_next = find(c, "PyGC_Head", "_gc_next", REQ);
	L->gc_prev = find(c, "PyGC_Head", "_gc_prev", REQ);
	/* Both words carry flags in their low two bits from 3.8 on. */
	L->gc_ptr_mask = ~(uint64_t)3;

	/* 3.8 keeps one GC state in the runtime; 3.9+ one per interpreter. */
	int64_t off = find(c, "_PyRuntimeState", "gc", OPT);
	if (off >= 0) {
		L->gc_in_runtime = true;
		L->gc_state = off;
	} else {
		L->gc_in_runtime = false;
		L->gc_state = find(c, "PyInterpreterState", "gc", REQ);
	}
	const char *G = "_gc_runtime_state";
	L->gc_generations = find(c, G, "generations", REQ);
	L->gc_generation_size = size_of(c, "gc_generation", REQ);
	L->gc_ngenerations = pc_dwarf_array_len(c->idx, G, "generations");
	if (L->gc_ngenerations <= 0 || L->gc_ngenerations > 8)
		L->gc_ngenerations = 3;
	L->gc_permanent = find(c, G, "permanent_generation", REQ);
	L->gc_collecting = find(c, G, "collecting", REQ);
}

static void init_runtime(struct pc_layout *L, struct ctx *c)
{
	L->rt_interp_head = find(c, "_PyRuntimeState", "interpreters.head", REQ);
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
		 pc_dwarf_array_len(c->idx, I, "types.builtins") > 0)
		arr = "types.builtins";
	L->is_types_builtins = -1;
	if (arr) {
		char p1[96];
		L->is_types_builtins = find(c, I, arr, REQ);
		L->is_types_builtins_len = pc_dwarf_array_len(c->idx, I, arr);
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
}

static void init_str(struct pc_layout *L, struct ctx *c)
{
	L->ascii_size = size_of(c, "PyASCIIObject", REQ);
	L->compact_size = size_of(c, "PyCompactUnicodeObject", REQ);
	L->unicode_size = size_of(c, "PyUnicodeObject", REQ);
	L->str_length = find(c, "PyASCIIObject", "length", REQ);
	L->str_wstr = find(c, "PyASCIIObject", "wstr", OPT);
	L->str_utf8_length = find(c, "PyCompactUnicodeObject", "utf8_length", REQ);
	L->str_utf8 = find(c, "PyCompactUnicodeObject", "utf8", REQ);
	L->str_wstr_length = find(c, "PyCompactUnicodeObject", "wstr_length", OPT);
	L->str_data = find(c, "PyUnicodeObject", "data", REQ);
	if (!pc_dwarf_bitfield(c->idx, "PyASCIIObject", "state.kind", &L->state_kind_byte,
			       &L->state_kind_bit, &L->state_kind_bits) ||
	    !pc_dwarf_bitfield(c->idx, "PyASCIIObject", "state.compact", &L->state_compact_byte,
			       &L->state_compact_bit, &(int){0}) ||
	    !pc_dwarf_bitfield(c->idx, "PyASCIIObject", "state.ascii", &L->state_ascii_byte,
			       &L->state_ascii_bit, &(int){0})) {
		if (!c->missing)
			c->missing = "PyASCIIObject.state bitfields";
	}
}

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
	L->ma_keys = find(c, "PyDictObject", "ma_keys", REQ);
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
	L->set_entry_key = find(c, "setentry", "key", REQ);

	L->set_mask = find(c, "PySetObject", "mask", REQ);
	L->set_table = find(c, "PySetObject", "table", REQ);
	L->set_smalltable = find(c, "PySetObject", "smalltable", REQ);
	L->set_entry_size = size_of(c, "setentry", REQ);

	L->bytearray_alloc = find(c, "PyByteArrayObject", "ob_alloc", REQ);
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
	L->co_extra = find(c, C, "co_extra", REQ);
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
	/* array.array: where the module is built into the interpreter its
	 * DWARF is here; built as a shared module (lib-dynload) it is not, and
	 * then the layout every version 3.8-3.13 shares is used (arrayobject:
	 * PyObject_VAR_HEAD, ob_item, allocated, ob_descr; arraydescr:
	 * typecode, itemsize). */
	L->array_allocated = find(c, "arrayobject", "allocated", OPT);
	L->array_descr = find(c, "arrayobject", "ob_descr", OPT);
	L->arraydescr_itemsize = find(c, "arraydescr", "itemsize", OPT);
	if (L->array_allocated < 0 || L->array_descr < 0 || L->arraydescr_itemsize < 0) {
		L->array_allocated = 32;
		L->array_descr = 40;
		L->arraydescr_itemsize = 4;
	}
	L->dq_block_size = size_of(c, "BLOCK", OPT);
	L->dq_blocklen = pc_dwarf_array_len(c->idx, "BLOCK", "data");
}

struct pc_error *pc_layout_init(struct pc_layout *L, struct pc_dwarf_index *idx, int major, int minor)
{
	memset(L, 0, sizeof(*L));
	L->major = major;
	L->minor = minor;
	struct ctx c = { .idx = idx };
	init_objects(L, &c);
	init_gc(L, &c);
	init_runtime(L, &c);
	init_str(L, &c);
	init_containers(L, &c);
	init_sizing(L, &c);
	/* sys.getsizeof added the type's GC header to static types only in
	 * 3.11 and 3.12 (measured: getsizeof(int) - sizeof(PyTypeObject)). */
	L->static_type_presize = major == 3 && (minor == 11 || minor == 12);
	L->has_preheader = major > 3 || (major == 3 && minor >= 11);
	L->static_types_no_dict = L->is_types_builtins >= 0;
	if (c.missing)
		return pc_error_new(PC_EXIT_NOTPY,
			"the debug information of this Python %d.%d lacks %s; pycensus cannot read it",
			major, minor, c.missing);
	/* Sanity: the fields we rely on must sit where any CPython has them. */
	if (L->ob_type != 8 || L->object_size != 16 || L->gc_head_size != 16)
		return pc_error_new(PC_EXIT_NOTPY,
			"unexpected object layout (ob_type at %lld, PyObject %lld bytes, PyGC_Head %lld bytes): a debug (Py_TRACE_REFS) or free-threaded build?",
			(long long)L->ob_type, (long long)L->object_size, (long long)L->gc_head_size);
	return NULL;
}
