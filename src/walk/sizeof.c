#include <string.h>

#include "sizeof.h"
#include "sizeof_buffers.h"
#include "types.h"

/* Every number below comes from the target's memory, which may be damaged
 * (or, with --no-stop, changing under us).  So every sum and product is
 * checked, every length must be one an object could have, and each part of
 * an object must lie inside the target's mappings: a tuple claiming 2^60
 * items is damage, never 2^63 bytes. */

/* No count of items can exceed this: it keeps products of counts and item
 * sizes far from overflowing before the finer checks below. */
#define MAX_COUNT (1LL << 47)

static bool add(uint64_t *n, uint64_t x)
{
	return !__builtin_add_overflow(*n, x, n);
}

/* *N += COUNT * EACH. */
static bool add_items(uint64_t *n, uint64_t count, uint64_t each)
{
	uint64_t x;
	return !__builtin_mul_overflow(count, each, &x) && add(n, x);
}

/* A length or count read from the target: 0..MAX_COUNT. */
static bool count_ok(int64_t v)
{
	return v >= 0 && v <= MAX_COUNT;
}

/* Whether LEN bytes at ADDR lie in the target's memory: inside one group
 * of adjacent readable mappings.  No object, nor any buffer it owns, can be
 * larger than the mapping that holds it. */
static bool fits(struct pc_py *py, uint64_t addr, uint64_t len)
{
	const struct pc_mem *mem = py->mem;
	uint64_t end;
	if (__builtin_add_overflow(addr, len, &end))
		return false;
	/* Sizing has just read ADDR's mapping, most likely: try it first. */
	size_t i = mem->last;
	if (i >= mem->nmaps || addr < mem->maps[i].start || addr >= mem->maps[i].end) {
		long j = pc_mem_index(mem, addr);
		if (j < 0)
			return false;
		i = (size_t)j;
	}
	const struct pc_mapping *m = &mem->maps[i];
	return m->readable && end <= mem->maps[m->group_last].end;
}

/* Bytes the target has mapped readable, learnt once per census: a bound on
 * any one object's size, whatever it is made of. */
static uint64_t mapped(struct pc_py *py)
{
	if (!py->mapped) {
		for (size_t i = 0; i < py->mem->nmaps; i++)
			if (py->mem->maps[i].readable)
				py->mapped += py->mem->maps[i].end - py->mem->maps[i].start;
	}
	return py->mapped;
}

/* What sys.getsizeof adds to __sizeof__: the GC header (and from 3.11 the
 * managed dict/weakref pre-header).  Type objects are special: a static
 * type has no GC header even though `type` is a GC type. */
static bool presize(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	bool gc = t->flags & PC_TPFLAGS_HAVE_GC;
	*n = 0;
	if (t->kind == PK_TYPE) {
		uint64_t flags;
		if (!pc_u64(py, addr + (uint64_t)L->tp_flags, &flags))
			return false;
		if (!(flags & PC_TPFLAGS_HEAPTYPE) && !L->static_type_presize)
			return true;
	}
	*n = gc ? (uint64_t)L->gc_head_size : 0;
	if (t->flags & PC_TPFLAGS_PREHEADER)
		*n += (uint64_t)L->preheader_size;
	return true;
}

/* basicsize + ob_size * itemsize, all of it inside the object. */
static bool default_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	*n = (uint64_t)t->basicsize;
	if (t->itemsize <= 0)
		return true;
	int64_t size;
	return pc_i64(py, addr + (uint64_t)py->L->ob_size, &size) && count_ok(size) &&
	       add_items(n, (uint64_t)size, (uint64_t)t->itemsize) && fits(py, addr, *n);
}

static bool int_size(struct pc_py *py, uint64_t addr, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	uint64_t ndigits;
	if (L->long_tagged) {
		uint64_t tag;
		if (!pc_u64(py, addr + (uint64_t)L->long_lv_tag, &tag))
			return false;
		ndigits = tag >> L->lv_tag_shift;
	} else {
		/* The sign of ob_size is the number's; INT64_MIN has no
		 * magnitude, and is damage anyway. */
		int64_t size;
		if (!pc_i64(py, addr + (uint64_t)L->ob_size, &size) || size < -MAX_COUNT)
			return false;
		ndigits = (uint64_t)(size < 0 ? -size : size);
	}
	if (ndigits > (uint64_t)MAX_COUNT)
		return false;
	/* 3.11 started to count a zero as one digit. */
	if (ndigits == 0)
		ndigits = (uint64_t)L->zero_int_digits;
	*n = (uint64_t)L->long_digits;
	return add_items(n, ndigits, (uint64_t)L->digit_size) && fits(py, addr, *n);
}

/* LEN + 1 characters of KIND bytes, NUL included. */
static bool chars(uint64_t len, uint64_t kind, uint64_t *n)
{
	*n = 0;
	return len < (uint64_t)MAX_COUNT && add_items(n, len + 1, kind);
}

static bool str_size(struct pc_py *py, uint64_t addr, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	struct pc_str_header h;
	if (!pc_str_header(py, addr, &h))
		return false;
	uint64_t len = (uint64_t)h.len, data;
	bool compact_ascii = h.compact && h.ascii;
	if (!chars(len, compact_ascii ? 1 : h.kind, &data))
		return false;
	if (h.compact) {
		/* The characters follow the header, in the object. */
		*n = (uint64_t)(compact_ascii ? L->ascii_size : L->compact_size);
		if (!add(n, data) || !fits(py, addr, *n))
			return false;
	} else {
		*n = (uint64_t)L->unicode_size;
		if (h.data && (!fits(py, h.data, data) || !add(n, data)))
			return false;
	}
	if (!compact_ascii) {
		uint64_t utf8, bytes;
		int64_t utf8_len;
		memcpy(&utf8, h.raw + L->str_utf8, 8);
		memcpy(&utf8_len, h.raw + L->str_utf8_length, 8);
		if (utf8 && utf8 != h.data &&
		    (utf8_len < 0 || !chars((uint64_t)utf8_len, 1, &bytes) || !fits(py, utf8, bytes) || !add(n, bytes)))
			return false;
	}
	if (L->str_wstr_copy) {
		/* <= 3.11: a wchar_t copy made by the legacy API. */
		uint64_t wstr, bytes;
		memcpy(&wstr, h.raw + L->str_wstr, 8);
		if (wstr && wstr != h.data) {
			int64_t wlen = h.len;
			if (!compact_ascii)
				memcpy(&wlen, h.raw + L->str_wstr_length, 8);
			if (wlen < 0 || !chars((uint64_t)wlen, 4, &bytes) || !fits(py, wstr, bytes) || !add(n, bytes))
				return false;
		}
	}
	return true;
}

/* str model PC_STR_BYTES_UNICODE (2.7): str (the bytes kind) is
 * ob_sval + len + 1, whatever the type's basicsize; unicode is the struct
 * and its own buffer of len + 1 Py_UNICODE. */
static bool string_size(struct pc_py *py, uint64_t addr, uint64_t *n)
{
	int64_t len;
	if (!pc_i64(py, addr + (uint64_t)py->L->ob_size, &len) || !count_ok(len))
		return false;
	*n = (uint64_t)py->L->string_sval + (uint64_t)len + 1;
	return fits(py, addr, *n);
}

static bool unicode_size(struct pc_py *py, uint64_t addr, uint64_t *n)
{
	struct pc_str_header h;
	uint64_t data;
	if (!pc_str_header(py, addr, &h) || !chars((uint64_t)h.len, h.kind, &data) || (h.data && !fits(py, h.data, data)))
		return false;
	*n = (uint64_t)py->L->unicode_size;
	return add(n, data);
}

/* Size of a dict's keys object as _PyDict_KeysSize counts it, which is
 * also what was allocated at KEYS. */
static bool keys_size(struct pc_py *py, uint64_t keys, const struct pc_dict_keys *k, uint64_t *n)
{
	/* pc_dict_keys bounds slots (2^40) and index_bytes (2^43). */
	*n = (uint64_t)py->L->dictkeys_size + k->index_bytes + (uint64_t)(2 * k->slots / 3) * k->entry_size;
	return fits(py, keys, *n);
}

/* dict.__sizeof__; *K gets the keys object for odict_size. */
static bool dict_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n,
		      struct pc_dict_keys *k)
{
	const struct pc_layout *L = py->L;
	uint64_t keys, values, ks;
	if (L->dict_family == PC_DICT_OPEN) {
		/* The table, unless it is the inline one. */
		uint64_t table, mask;
		*n = (uint64_t)t->basicsize;
		if (!pc_u64(py, addr + (uint64_t)L->ma_table, &table) || !pc_u64(py, addr + (uint64_t)L->ma_mask, &mask) ||
		    mask >= (1ULL << 40) || ((mask + 1) & mask))
			return false;
		if (table == addr + (uint64_t)L->ma_smalltable)
			return true;
		uint64_t bytes = (mask + 1) * (uint64_t)L->dict_entry_size;
		return fits(py, table, bytes) && add(n, bytes);
	}
	if (!pc_u64(py, addr + (uint64_t)L->ma_keys, &keys) ||
	    !pc_u64(py, addr + (uint64_t)L->ma_values, &values) || !pc_dict_keys(py, keys, k))
		return false;
	*n = (uint64_t)t->basicsize;
	/* pc_dict_keys bounds nentries and usable by slots (2^40). */
	if (values) {
		if (L->dict_family == PC_DICT_LOG2_KIND)
			*n += (uint64_t)(k->nentries + k->usable) * 8;
		else
			*n += (uint64_t)(2 * k->slots / 3) * 8;
	}
	/* Shared keys are counted in the type object. */
	if (k->refcnt == 1) {
		if (!keys_size(py, keys, k, &ks))
			return false;
		*n += ks;
	}
	return true;
}

static uint64_t round8(uint64_t n)
{
	return (n + 7) & ~7ULL;
}

/* ob_size of the tuple (or bytes) at OBJ, -1 if it is not one the object
 * could hold at ITEM bytes an item (a loose bound: its header is left out). */
static int64_t var_len(struct pc_py *py, uint64_t obj, uint64_t item)
{
	int64_t n;
	if (!pc_i64(py, obj + (uint64_t)py->L->ob_size, &n) || !count_ok(n) || !fits(py, obj, (uint64_t)n * item))
		return -1;
	return n;
}

/* Slots a frame of CODE needs: co_nlocalsplus + co_stacksize (3.11+). */
static int64_t frame_slots(struct pc_py *py, uint64_t code)
{
	const struct pc_layout *L = py->L;
	int32_t nlocalsplus = 0, stacksize = 0;
	if (!pc_mem_read(py->mem, code + (uint64_t)L->co_nlocalsplus, &nlocalsplus, 4) ||
	    !pc_mem_read(py->mem, code + (uint64_t)L->co_stacksize, &stacksize, 4) || nlocalsplus < 0 ||
	    stacksize < 0)
		return -1;
	return (int64_t)nlocalsplus + stacksize;
}

static bool code_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	if (L->code_sizeof == PC_CODE_SIZEOF_UNITS) {
		if (!default_size(py, addr, t, n))
			return false;
		*n = round8(*n);
	} else {
		*n = (uint64_t)t->basicsize;
		uint64_t cell2arg, cells;
		if (L->co_cell2arg >= 0 && pc_u64(py, addr + (uint64_t)L->co_cell2arg, &cell2arg) && cell2arg &&
		    pc_u64(py, addr + (uint64_t)L->co_cellvars, &cells) && cells) {
			int64_t ncells = var_len(py, cells, 8);
			if (ncells < 0)
				return false;
			*n += (uint64_t)ncells * 8;
		}
		/* 3.8-3.10: once a code object is hot it has an opcache: its
		 * entries and a one-byte map per code unit. */
		uint8_t opcache = 0;
		uint64_t cache, codebytes;
		if (L->co_opcache >= 0 && L->opcache_size > 0 &&
		    pc_u64(py, addr + (uint64_t)L->co_opcache, &cache) && cache &&
		    pc_mem_read(py->mem, addr + (uint64_t)L->co_opcache_size, &opcache, 1) &&
		    pc_u64(py, addr + (uint64_t)L->co_code, &codebytes) && codebytes) {
			int64_t ncode = var_len(py, codebytes, 1);
			if (ncode < 0)
				return false;
			*n += opcache * (uint64_t)L->opcache_size + (uint64_t)ncode / 2;
		}
	}
	uint64_t extra;
	int64_t ce_size;
	if (L->code_extra_items >= 0 && pc_u64(py, addr + (uint64_t)L->co_extra, &extra) && extra &&
	    pc_i64(py, extra, &ce_size) && ce_size > 0 && ce_size < 4096)
		*n += (uint64_t)L->code_extra_items + (uint64_t)ce_size * 8;
	return true;
}

static bool frame_size(struct pc_py *py, uint64_t addr, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	uint64_t code;
	if (L->frame_model == PC_FRAME_INTERP) {
		/* The frame data (and its SLOTS) are allocated with the object. */
		uint64_t f;
		int64_t slots;
		if (!pc_u64(py, addr + (uint64_t)L->f_frame, &f) || !pc_u64(py, f + (uint64_t)L->iframe_code, &code) ||
		    (slots = frame_slots(py, code)) < 0)
			return false;
		*n = (uint64_t)(L->f_frame_data + L->iframe_localsplus + slots * 8);
		return fits(py, addr, *n);
	}
	int32_t nlocals, stacksize;
	uint64_t cells, frees;
	if (!pc_u64(py, addr + (uint64_t)L->f_code, &code) ||
	    !pc_mem_read(py->mem, code + (uint64_t)L->co_nlocals, &nlocals, 4) ||
	    !pc_mem_read(py->mem, code + (uint64_t)L->co_stacksize, &stacksize, 4) ||
	    !pc_u64(py, code + (uint64_t)L->co_cellvars, &cells) ||
	    !pc_u64(py, code + (uint64_t)L->co_freevars, &frees) || nlocals < 0 || stacksize < 0)
		return false;
	int64_t ncells = cells ? var_len(py, cells, 8) : 0, nfrees = frees ? var_len(py, frees, 8) : 0;
	if (ncells < 0 || nfrees < 0)
		return false;
	/* Each term is below 2^47: no overflow. */
	int64_t extras = (int64_t)stacksize + nlocals + ncells + nfrees;
	*n = (uint64_t)(L->frame_size + (extras - 1) * 8);
	return fits(py, addr, *n);
}

static bool gen_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	if (L->frame_model == PC_FRAME_OBJECT)
		return default_size(py, addr, t, n);
	uint64_t code;
	int64_t slots;
	uint64_t where = L->gen_code == PC_GEN_CODE_FIELD ? addr + (uint64_t)L->gi_code
					 : addr + (uint64_t)(L->gi_iframe + L->iframe_code);
	if (!pc_u64(py, where, &code) || (slots = frame_slots(py, code)) < 0)
		return false;
	*n = (uint64_t)(L->gi_iframe + L->iframe_localsplus + slots * 8);
	return fits(py, addr, *n);
}

/* deque.__sizeof__: the object plus every block its items span. */
static bool deque_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	int64_t left, size;
	if (!L->decodes.deque_size)
		return default_size(py, addr, t, n);
	if (!pc_i64(py, addr + (uint64_t)L->dq_leftindex, &left) ||
	    !pc_i64(py, addr + (uint64_t)L->dq_len, &size) || left < 0 || left >= L->dq_blocklen ||
	    !count_ok(size))
		return false;
	uint64_t blocks = (uint64_t)(left + size + L->dq_blocklen - 1) / (uint64_t)L->dq_blocklen;
	*n = (uint64_t)t->basicsize;
	return add_items(n, blocks, (uint64_t)L->dq_block_size);
}

/* OrderedDict.__sizeof__: the dict, its node index and one node per item. */
static bool odict_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	struct pc_dict_keys k;
	uint64_t first;
	int64_t fast, used;
	if (!dict_size(py, addr, t, n, &k))
		return false;
	if (!L->decodes.odict_size)
		return true;
	/* The node index has one entry per slot of the keys it was built for;
	 * there is one node per item. */
	if (!pc_i64(py, addr + (uint64_t)L->od_fast_nodes_size, &fast) ||
	    !pc_i64(py, addr + (uint64_t)L->ma_used, &used) ||
	    !pc_u64(py, addr + (uint64_t)L->od_first, &first) || !count_ok(fast) || !count_ok(used))
		return false;
	*n += (uint64_t)fast * 8;
	return !first || add_items(n, (uint64_t)used, (uint64_t)L->odnode_size);
}

/* _io.Buffered*.__sizeof__: the object and its buffer. */
static bool buffered_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	uint64_t buf;
	int64_t size;
	*n = (uint64_t)t->basicsize;
	if (!L->decodes.buffered_size || !pc_u64(py, addr + (uint64_t)L->buffered_buffer, &buf) || !buf)
		return true;
	if (!pc_i64(py, addr + (uint64_t)L->buffered_buffer_size, &size) || !count_ok(size) ||
	    !fits(py, buf, (uint64_t)size))
		return false;
	*n += (uint64_t)size;
	return true;
}

/* array.array.__sizeof__: the object and its buffer (allocated items of
 * its typecode's size), sized from the header, never read. */
static bool array_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	uint64_t descr;
	int64_t allocated;
	int32_t itemsize;
	*n = (uint64_t)t->basicsize;
	if (!L->decodes.array_size)
		return true;
	if (!pc_i64(py, addr + (uint64_t)L->array_allocated, &allocated) ||
	    !pc_u64(py, addr + (uint64_t)L->array_descr, &descr) ||
	    !pc_mem_read(py->mem, descr + (uint64_t)L->arraydescr_itemsize, &itemsize, 4))
		return false;
	return count_ok(allocated) && itemsize > 0 && itemsize <= 16 &&
	       add_items(n, (uint64_t)allocated, (uint64_t)itemsize);
}

/* _struct.Struct.__sizeof__: the object and its format codes, one more
 * than those before the terminating code whose fmtdef is NULL. */
static bool struct_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	uint64_t codes, fmtdef;
	*n = (uint64_t)t->basicsize;
	if (!L->decodes.struct_size)
		return true;
	if (!pc_u64(py, addr + (uint64_t)L->struct_codes, &codes))
		return false;
	uint64_t each = (uint64_t)L->formatcode_size;
	/* A format has at most as many codes as characters; 4M codes is
	 * damage, and bounds the read of a garbage array. */
	for (uint64_t i = 0;; i++) {
		if (i >= (1u << 22) || !fits(py, codes, (i + 1) * each))
			return false;
		if (!pc_u64(py, codes + i * each, &fmtdef))
			return false;
		if (!fmtdef)
			return add_items(n, i + 1, each);
	}
}

static bool list_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	int64_t allocated;
	uint64_t items;
	*n = (uint64_t)t->basicsize;
	if (!pc_i64(py, addr + (uint64_t)L->list_allocated, &allocated))
		return false;
	/* list.sort() sets allocated to -1 while it runs: no damage. */
	if (allocated == -1 || allocated == 0)
		return true;
	return count_ok(allocated) && pc_u64(py, addr + (uint64_t)L->list_item, &items) &&
	       fits(py, items, (uint64_t)allocated * 8) && add_items(n, (uint64_t)allocated, 8);
}

static bool set_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	uint64_t table, mask;
	*n = (uint64_t)t->basicsize;
	/* A table has a power of two of entries. */
	if (!pc_u64(py, addr + (uint64_t)L->set_table, &table) || !pc_u64(py, addr + (uint64_t)L->set_mask, &mask) ||
	    mask >= (1ULL << 40) || ((mask + 1) & mask))
		return false;
	if (table == addr + (uint64_t)L->set_smalltable)
		return true;
	uint64_t bytes = (mask + 1) * (uint64_t)L->set_entry_size;
	return fits(py, table, bytes) && add(n, bytes);
}

static bool type_size(struct pc_py *py, uint64_t addr, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	uint64_t flags, cached, ks;
	if (!pc_u64(py, addr + (uint64_t)L->tp_flags, &flags))
		return false;
	if (L->type_sizeof == PC_TYPE_SIZEOF_DEFAULT) {
		/* object.__sizeof__: type's basicsize, its itemsize a slot */
		struct pc_type *tt = pc_type_of(py, addr);
		return tt && default_size(py, addr, tt, n);
	}
	if (!(flags & PC_TPFLAGS_HEAPTYPE)) {
		*n = (uint64_t)L->type_size;
		return true;
	}
	*n = (uint64_t)L->heaptype_size;
	struct pc_dict_keys k;
	if (!pc_u64(py, addr + (uint64_t)L->ht_cached_keys, &cached))
		return false;
	if (!cached)
		return true;
	if (!pc_dict_keys(py, cached, &k) || !keys_size(py, cached, &k, &ks))
		return false;
	*n += ks;
	return true;
}

static bool bytearray_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	const struct pc_layout *L = py->L;
	int64_t alloc;
	uint64_t bytes;
	*n = (uint64_t)t->basicsize;
	/* Where the buffer is is not in the layout table: mapped() bounds it. */
	if (!pc_i64(py, addr + (uint64_t)L->bytearray_alloc, &alloc) || !count_ok(alloc) || !add(n, (uint64_t)alloc))
		return false;
	/* 3.15+: a buffer is a bytes object; unless empty (b"" is shared)
	 * its header and trailing NUL count too. */
	if (L->bytearray_bytes_buffer) {
		if (!pc_u64(py, addr + (uint64_t)L->bytearray_bytes_object, &bytes))
			return false;
		if (bytes && alloc && !add(n, (uint64_t)L->bytes_sval + 1))
			return false;
	}
	return true;
}

static bool size_by_kind(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	struct pc_dict_keys k;
	const struct pc_layout *L = py->L;
	switch (t->kind) {
	case PK_INT:
		return int_size(py, addr, n);
	case PK_BOOL:
		/* beside a long type, bool is a fixed-size int */
		return L->int_model == PC_INT_FIXED_AND_LONG ? default_size(py, addr, t, n) : int_size(py, addr, n);
	case PK_STR:
		return L->str_model == PC_STR_BYTES_UNICODE ? unicode_size(py, addr, n) : str_size(py, addr, n);
	case PK_BYTES:
		if (L->str_model == PC_STR_BYTES_UNICODE)
			return string_size(py, addr, n);
		break;
	case PK_LIST:
		return list_size(py, addr, t, n);
	case PK_SET:
	case PK_FROZENSET:
		return set_size(py, addr, t, n);
	case PK_BYTEARRAY:
		return bytearray_size(py, addr, t, n);
	case PK_DICT:
		if (t->sizer == SZ_STGDICT)
			return dict_size(py, addr, t, n, &k) && pc_sizeof_stgdict(py, addr, t, n);
		return t->sizer == SZ_ODICT ? odict_size(py, addr, t, n) : dict_size(py, addr, t, n, &k);
	case PK_TYPE:
		/* A ctypes class (3.13+): its metatype's __sizeof__, not type's. */
		if (t->sizer == SZ_CTYPE)
			return pc_sizeof_buffer(py, addr, t, n);
		return type_size(py, addr, n);
	case PK_CODE:
		return code_size(py, addr, t, n);
	case PK_FRAME:
		return frame_size(py, addr, n);
	case PK_GEN:
	case PK_CORO:
	case PK_ASYNCGEN:
		return gen_size(py, addr, t, n);
	default:
		break;
	}
	switch (t->sizer) {
	case SZ_DEQUE:
		return deque_size(py, addr, t, n);
	case SZ_ODICT:
		return odict_size(py, addr, t, n);
	case SZ_DICT:
		return dict_size(py, addr, t, n, &(struct pc_dict_keys){ 0 });
	case SZ_BUFFERED:
		return buffered_size(py, addr, t, n);
	case SZ_ARRAY:
		return array_size(py, addr, t, n);
	case SZ_STRUCT:
		return struct_size(py, addr, t, n);
	case SZ_NDARRAY:
	case SZ_BYTESIO:
	case SZ_NPSCALAR:
		return pc_sizeof_buffer(py, addr, t, n);
	default:
		return default_size(py, addr, t, n);
	}
}

bool pc_sizeof(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *size)
{
	uint64_t n = 0, pre;
	*size = 0;
	/* types.c bounds these; a type object is target data too. */
	if (t->basicsize < 0 || t->basicsize > MAX_COUNT || t->itemsize > MAX_COUNT)
		return false;
	if (!size_by_kind(py, addr, t, &n) || !presize(py, addr, t, &pre) || !add(&n, pre) || n == 0 ||
	    n > mapped(py))
		return false;
	*size = n;
	return true;
}

bool pc_sizeof_add(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *total)
{
	uint64_t n;
	bool ok = pc_sizeof(py, addr, t, &n);
	pc_bytes_add(total, n);
	return ok;
}
