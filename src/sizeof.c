#include <string.h>

#include "sizeof.h"

/* What sys.getsizeof adds to __sizeof__: the GC header (and from 3.11 the
 * managed dict/weakref pre-header).  Type objects are special: a static
 * type has no GC header even though `type` is a GC type. */
static uint64_t presize(struct pc_py *py, uint64_t addr, const struct pc_type *t)
{
	const struct pc_layout *L = py->L;
	bool gc = t->flags & PC_TPFLAGS_HAVE_GC;
	if (t->kind == PK_TYPE) {
		uint64_t flags;
		if (!pc_u64(py, addr + (uint64_t)L->tp_flags, &flags))
			return 0;
		if (!(flags & PC_TPFLAGS_HEAPTYPE) && !L->static_type_presize)
			return 0;
	}
	uint64_t n = gc ? (uint64_t)L->gc_head_size : 0;
	if (L->has_preheader && (t->flags & PC_TPFLAGS_PREHEADER))
		n += 16;
	return n;
}

static uint64_t default_size(struct pc_py *py, uint64_t addr, const struct pc_type *t)
{
	uint64_t n = (uint64_t)t->basicsize;
	if (t->itemsize > 0) {
		int64_t size;
		if (!pc_i64(py, addr + (uint64_t)py->L->ob_size, &size))
			return 0;
		if (size < 0)
			size = -size;
		n += (uint64_t)size * (uint64_t)t->itemsize;
	}
	return n;
}

static uint64_t int_size(struct pc_py *py, uint64_t addr)
{
	const struct pc_layout *L = py->L;
	uint64_t ndigits;
	if (L->long_tagged) {
		uint64_t tag;
		if (!pc_u64(py, addr + (uint64_t)L->long_lv_tag, &tag))
			return 0;
		ndigits = tag >> 3;
	} else {
		int64_t size;
		if (!pc_i64(py, addr + (uint64_t)L->ob_size, &size))
			return 0;
		ndigits = (uint64_t)(size < 0 ? -size : size);
	}
	/* 3.11 started to count a zero as one digit. */
	if (ndigits == 0 && (L->major > 3 || L->minor >= 11))
		ndigits = 1;
	return (uint64_t)L->long_digits + ndigits * (uint64_t)L->digit_size;
}

static uint64_t str_size(struct pc_py *py, uint64_t addr)
{
	const struct pc_layout *L = py->L;
	struct pc_str_header h;
	if (!pc_str_header(py, addr, &h))
		return 0;
	uint64_t n, len = (uint64_t)h.len;
	bool compact_ascii = h.compact && h.ascii;
	if (compact_ascii)
		n = (uint64_t)L->ascii_size + len + 1;
	else if (h.compact)
		n = (uint64_t)L->compact_size + (len + 1) * h.kind;
	else
		n = (uint64_t)L->unicode_size + (h.data ? (len + 1) * h.kind : 0);
	if (!compact_ascii) {
		uint64_t utf8;
		int64_t utf8_len;
		memcpy(&utf8, h.raw + L->str_utf8, 8);
		memcpy(&utf8_len, h.raw + L->str_utf8_length, 8);
		if (utf8 && utf8 != h.data && utf8_len >= 0)
			n += (uint64_t)utf8_len + 1;
	}
	if (L->str_wstr >= 0) {
		/* <= 3.11: a wchar_t copy made by the legacy API. */
		uint64_t wstr;
		memcpy(&wstr, h.raw + L->str_wstr, 8);
		if (wstr && wstr != h.data) {
			int64_t wlen = h.len;
			if (!compact_ascii)
				memcpy(&wlen, h.raw + L->str_wstr_length, 8);
			if (wlen >= 0)
				n += ((uint64_t)wlen + 1) * 4;
		}
	}
	return n;
}

/* Size of a dict's keys object as _PyDict_KeysSize counts it. */
static uint64_t keys_size(const struct pc_layout *L, const struct pc_dict_keys *k)
{
	return (uint64_t)L->dictkeys_size + k->index_bytes + (uint64_t)(2 * k->slots / 3) * k->entry_size;
}

static uint64_t dict_size(struct pc_py *py, uint64_t addr, const struct pc_type *t)
{
	const struct pc_layout *L = py->L;
	uint64_t keys, values;
	struct pc_dict_keys k;
	if (!pc_u64(py, addr + (uint64_t)L->ma_keys, &keys) ||
	    !pc_u64(py, addr + (uint64_t)L->ma_values, &values) || !pc_dict_keys(py, keys, &k))
		return 0;
	uint64_t n = (uint64_t)t->basicsize;
	if (values) {
		if (L->dk_log2_size >= 0)
			n += (uint64_t)(k.nentries + k.usable) * 8;
		else
			n += (uint64_t)(2 * k.slots / 3) * 8;
	}
	/* Shared keys are counted in the type object. */
	if (k.refcnt == 1)
		n += keys_size(L, &k);
	return n;
}

static uint64_t round8(uint64_t n)
{
	return (n + 7) & ~7ULL;
}

static int64_t tuple_len(struct pc_py *py, uint64_t tuple)
{
	int64_t n = 0;
	if (tuple)
		pc_i64(py, tuple + (uint64_t)py->L->ob_size, &n);
	return n < 0 ? 0 : n;
}

/* Slots a frame of CODE needs: co_nlocalsplus + co_stacksize (3.11+). */
static int64_t frame_slots(struct pc_py *py, uint64_t code)
{
	const struct pc_layout *L = py->L;
	int32_t nlocalsplus = 0, stacksize = 0;
	if (!pc_mem_read(py->mem, code + (uint64_t)L->co_nlocalsplus, &nlocalsplus, 4) ||
	    !pc_mem_read(py->mem, code + (uint64_t)L->co_stacksize, &stacksize, 4))
		return -1;
	return (int64_t)nlocalsplus + stacksize;
}

static uint64_t code_size(struct pc_py *py, uint64_t addr, const struct pc_type *t)
{
	const struct pc_layout *L = py->L;
	uint64_t n;
	if (L->co_nlocalsplus >= 0) {
		n = round8(default_size(py, addr, t));
	} else {
		n = (uint64_t)t->basicsize;
		uint64_t cell2arg, cells;
		if (L->co_cell2arg >= 0 && pc_u64(py, addr + (uint64_t)L->co_cell2arg, &cell2arg) && cell2arg &&
		    pc_u64(py, addr + (uint64_t)L->co_cellvars, &cells) && cells)
			n += (uint64_t)tuple_len(py, cells) * 8;
		/* 3.8-3.10: once a code object is hot it has an opcache: its
		 * entries and a one-byte map per code unit. */
		uint8_t opcache = 0;
		uint64_t cache, codebytes;
		if (L->co_opcache >= 0 && L->opcache_size > 0 &&
		    pc_u64(py, addr + (uint64_t)L->co_opcache, &cache) && cache &&
		    pc_mem_read(py->mem, addr + (uint64_t)L->co_opcache_size, &opcache, 1) &&
		    pc_u64(py, addr + (uint64_t)L->co_code, &codebytes) && codebytes)
			n += opcache * (uint64_t)L->opcache_size + (uint64_t)tuple_len(py, codebytes) / 2;
	}
	uint64_t extra;
	int64_t ce_size;
	if (L->code_extra_items >= 0 && pc_u64(py, addr + (uint64_t)L->co_extra, &extra) && extra &&
	    pc_i64(py, extra, &ce_size) && ce_size > 0 && ce_size < 4096)
		n += (uint64_t)L->code_extra_items + (uint64_t)ce_size * 8;
	return n;
}

static uint64_t frame_size(struct pc_py *py, uint64_t addr)
{
	const struct pc_layout *L = py->L;
	uint64_t code;
	if (L->f_frame >= 0) {
		uint64_t f;
		int64_t slots;
		if (!pc_u64(py, addr + (uint64_t)L->f_frame, &f) || !pc_u64(py, f + (uint64_t)L->iframe_code, &code) ||
		    (slots = frame_slots(py, code)) < 0)
			return 0;
		return (uint64_t)(L->f_frame_data + L->iframe_localsplus + slots * 8);
	}
	int32_t nlocals, stacksize;
	uint64_t cells, frees;
	if (!pc_u64(py, addr + (uint64_t)L->f_code, &code) ||
	    !pc_mem_read(py->mem, code + (uint64_t)L->co_nlocals, &nlocals, 4) ||
	    !pc_mem_read(py->mem, code + (uint64_t)L->co_stacksize, &stacksize, 4) ||
	    !pc_u64(py, code + (uint64_t)L->co_cellvars, &cells) ||
	    !pc_u64(py, code + (uint64_t)L->co_freevars, &frees))
		return 0;
	int64_t extras = (int64_t)stacksize + nlocals + tuple_len(py, cells) + tuple_len(py, frees);
	return (uint64_t)(L->frame_size + (extras - 1) * 8);
}

static uint64_t gen_size(struct pc_py *py, uint64_t addr, const struct pc_type *t)
{
	const struct pc_layout *L = py->L;
	if (L->gi_iframe < 0)
		return default_size(py, addr, t);
	uint64_t code;
	int64_t slots;
	uint64_t where = L->gi_code >= 0 ? addr + (uint64_t)L->gi_code
					 : addr + (uint64_t)(L->gi_iframe + L->iframe_code);
	if (!pc_u64(py, where, &code) || (slots = frame_slots(py, code)) < 0)
		return 0;
	return (uint64_t)(L->gi_iframe + L->iframe_localsplus + slots * 8);
}

/* deque.__sizeof__: the object plus every block its items span. */
static uint64_t deque_size(struct pc_py *py, uint64_t addr, const struct pc_type *t)
{
	const struct pc_layout *L = py->L;
	int64_t left, size;
	if (L->dq_leftindex < 0 || L->dq_blocklen <= 0 || L->dq_block_size <= 0 ||
	    !pc_i64(py, addr + (uint64_t)L->dq_leftindex, &left) ||
	    !pc_i64(py, addr + (uint64_t)L->ob_size, &size) || left < 0 || size < 0)
		return default_size(py, addr, t);
	uint64_t blocks = (uint64_t)(left + size + L->dq_blocklen - 1) / (uint64_t)L->dq_blocklen;
	return (uint64_t)t->basicsize + blocks * (uint64_t)L->dq_block_size;
}

/* OrderedDict.__sizeof__: the dict, its node index and one node per item. */
static uint64_t odict_size(struct pc_py *py, uint64_t addr, const struct pc_type *t)
{
	const struct pc_layout *L = py->L;
	uint64_t n = dict_size(py, addr, t), first;
	int64_t fast, used;
	if (!n || L->od_fast_nodes_size < 0 || L->odnode_size <= 0 ||
	    !pc_i64(py, addr + (uint64_t)L->od_fast_nodes_size, &fast) ||
	    !pc_i64(py, addr + (uint64_t)L->ma_used, &used) ||
	    !pc_u64(py, addr + (uint64_t)L->od_first, &first) || fast < 0 || used < 0)
		return n;
	n += (uint64_t)fast * 8;
	if (first)
		n += (uint64_t)used * (uint64_t)L->odnode_size;
	return n;
}

/* _io.Buffered*.__sizeof__: the object and its buffer. */
static uint64_t buffered_size(struct pc_py *py, uint64_t addr, const struct pc_type *t)
{
	const struct pc_layout *L = py->L;
	uint64_t buf;
	int64_t size;
	uint64_t n = (uint64_t)t->basicsize;
	if (L->buffered_buffer >= 0 && pc_u64(py, addr + (uint64_t)L->buffered_buffer, &buf) && buf &&
	    pc_i64(py, addr + (uint64_t)L->buffered_buffer_size, &size) && size > 0)
		n += (uint64_t)size;
	return n;
}

/* array.array.__sizeof__: the object and its buffer (allocated items of
 * its typecode's size), sized from the header, never read. */
static uint64_t array_size(struct pc_py *py, uint64_t addr, const struct pc_type *t)
{
	const struct pc_layout *L = py->L;
	uint64_t descr;
	int64_t allocated;
	int32_t itemsize;
	if (!pc_i64(py, addr + (uint64_t)L->array_allocated, &allocated) ||
	    !pc_u64(py, addr + (uint64_t)L->array_descr, &descr) ||
	    !pc_mem_read(py->mem, descr + (uint64_t)L->arraydescr_itemsize, &itemsize, 4) ||
	    allocated < 0 || allocated > (1LL << 48) || itemsize <= 0 || itemsize > 16)
		return (uint64_t)t->basicsize;
	return (uint64_t)t->basicsize + (uint64_t)allocated * (uint64_t)itemsize;
}

uint64_t pc_sizeof(struct pc_py *py, uint64_t addr, const struct pc_type *t)
{
	const struct pc_layout *L = py->L;
	uint64_t n = 0, v;
	switch (t->kind) {
	case PK_INT:
	case PK_BOOL:
		n = int_size(py, addr);
		break;
	case PK_STR:
		n = str_size(py, addr);
		break;
	case PK_LIST:
		if (pc_u64(py, addr + (uint64_t)L->list_allocated, &v) && v < (1ULL << 40))
			n = (uint64_t)t->basicsize + v * 8;
		break;
	case PK_SET:
	case PK_FROZENSET: {
		uint64_t table, mask;
		if (pc_u64(py, addr + (uint64_t)L->set_table, &table) &&
		    pc_u64(py, addr + (uint64_t)L->set_mask, &mask) && mask < (1ULL << 40)) {
			n = (uint64_t)t->basicsize;
			if (table != addr + (uint64_t)L->set_smalltable)
				n += (mask + 1) * (uint64_t)L->set_entry_size;
		}
		break;
	}
	case PK_BYTEARRAY:
		if (pc_u64(py, addr + (uint64_t)L->bytearray_alloc, &v) && v < (1ULL << 48))
			n = (uint64_t)t->basicsize + v;
		break;
	case PK_DICT:
		n = t->sizer == SZ_ODICT ? odict_size(py, addr, t) : dict_size(py, addr, t);
		break;
	case PK_TYPE: {
		uint64_t flags, cached;
		if (!pc_u64(py, addr + (uint64_t)L->tp_flags, &flags))
			break;
		if (!(flags & PC_TPFLAGS_HEAPTYPE)) {
			n = (uint64_t)L->type_size;
			break;
		}
		n = (uint64_t)L->heaptype_size;
		struct pc_dict_keys k;
		if (pc_u64(py, addr + (uint64_t)L->ht_cached_keys, &cached) && cached &&
		    pc_dict_keys(py, cached, &k))
			n += keys_size(L, &k);
		break;
	}
	case PK_CODE:
		n = code_size(py, addr, t);
		break;
	case PK_FRAME:
		n = frame_size(py, addr);
		break;
	case PK_GEN:
	case PK_CORO:
	case PK_ASYNCGEN:
		n = gen_size(py, addr, t);
		break;
	default:
		switch (t->sizer) {
		case SZ_DEQUE:
			n = deque_size(py, addr, t);
			break;
		case SZ_ODICT:
			n = odict_size(py, addr, t);
			break;
		case SZ_BUFFERED:
			n = buffered_size(py, addr, t);
			break;
		case SZ_ARRAY:
			n = array_size(py, addr, t);
			break;
		default:
			n = default_size(py, addr, t);
		}
		break;
	}
	if (n == 0)
		return 0;
	return n + presize(py, addr, t);
}
