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
		if (!(flags & PC_TPFLAGS_HEAPTYPE))
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

static unsigned bits(const unsigned char *h, int64_t byte, int bit, int n)
{
	uint32_t w;
	memcpy(&w, h + byte, 4);
	return (w >> bit) & ((1u << n) - 1);
}

static uint64_t str_size(struct pc_py *py, uint64_t addr)
{
	const struct pc_layout *L = py->L;
	const unsigned char *h = pc_mem_ptr(py->mem, addr, (size_t)L->unicode_size);
	if (!h)
		h = pc_mem_ptr(py->mem, addr, (size_t)L->compact_size);
	if (!h)
		return 0;
	int64_t len;
	memcpy(&len, h + L->str_length, 8);
	unsigned kind = bits(h, L->state_kind_byte, L->state_kind_bit, L->state_kind_bits);
	bool compact = bits(h, L->state_compact_byte, L->state_compact_bit, 1);
	bool ascii = bits(h, L->state_ascii_byte, L->state_ascii_bit, 1);
	if (len < 0)
		return 0;
	uint64_t n, data;
	if (compact && ascii) {
		n = (uint64_t)L->ascii_size + (uint64_t)len + 1;
		data = addr + (uint64_t)L->ascii_size;
	} else if (compact) {
		n = (uint64_t)L->compact_size + ((uint64_t)len + 1) * kind;
		data = addr + (uint64_t)L->compact_size;
	} else {
		n = (uint64_t)L->unicode_size;
		memcpy(&data, h + L->str_data, 8);
		if (data)
			n += ((uint64_t)len + 1) * kind;
	}
	if (!(compact && ascii)) {
		uint64_t utf8;
		int64_t utf8_len;
		memcpy(&utf8, h + L->str_utf8, 8);
		memcpy(&utf8_len, h + L->str_utf8_length, 8);
		if (utf8 && utf8 != data && utf8_len >= 0)
			n += (uint64_t)utf8_len + 1;
	}
	if (L->str_wstr >= 0) {
		/* <= 3.11: a wchar_t copy made by the legacy API. */
		uint64_t wstr;
		memcpy(&wstr, h + L->str_wstr, 8);
		if (wstr && wstr != data) {
			int64_t wlen = len;
			if (!(compact && ascii))
				memcpy(&wlen, h + L->str_wstr_length, 8);
			if (wlen >= 0)
				n += ((uint64_t)wlen + 1) * 4;
		}
	}
	return n;
}

/* Size of a dict's keys object as _PyDict_KeysSize counts it. */
static bool keys_size(struct pc_py *py, uint64_t keys, uint64_t *size, int64_t *refcnt,
		      int64_t *nentries, int64_t *usable, int64_t *dk_size)
{
	const struct pc_layout *L = py->L;
	const unsigned char *k = pc_mem_ptr(py->mem, keys, (size_t)L->dictkeys_size);
	if (!k)
		return false;
	memcpy(refcnt, k + L->dk_refcnt, 8);
	memcpy(nentries, k + L->dk_nentries, 8);
	memcpy(usable, k + L->dk_usable, 8);
	if (L->dk_log2_size >= 0) {
		uint8_t log2 = k[L->dk_log2_size], log2ix = k[L->dk_log2_index_bytes], kind = k[L->dk_kind];
		if (log2 > 40 || log2ix > 43)
			return false;
		*dk_size = (int64_t)1 << log2;
		uint64_t es = kind == 0 ? (uint64_t)L->dict_entry_size : (uint64_t)L->dict_unicode_entry_size;
		*size = (uint64_t)L->dictkeys_size + (1ULL << log2ix) + (uint64_t)(2 * *dk_size / 3) * es;
	} else {
		memcpy(dk_size, k + L->dk_size, 8);
		if (*dk_size <= 0 || *dk_size > (1LL << 40))
			return false;
		int64_t s = *dk_size;
		int ix = s <= 0xff ? 1 : s <= 0xffff ? 2 : s <= 0xffffffffLL ? 4 : 8;
		*size = (uint64_t)L->dictkeys_size + (uint64_t)(ix * s) +
			(uint64_t)(2 * s / 3) * (uint64_t)L->dict_entry_size;
	}
	return true;
}

static uint64_t dict_size(struct pc_py *py, uint64_t addr, const struct pc_type *t)
{
	const struct pc_layout *L = py->L;
	uint64_t keys, values, ksize;
	int64_t refcnt, nentries, usable, dsize;
	if (!pc_u64(py, addr + (uint64_t)L->ma_keys, &keys) ||
	    !pc_u64(py, addr + (uint64_t)L->ma_values, &values) ||
	    !keys_size(py, keys, &ksize, &refcnt, &nentries, &usable, &dsize))
		return 0;
	uint64_t n = (uint64_t)t->basicsize;
	if (values) {
		if (L->dk_log2_size >= 0)
			n += (uint64_t)(nentries + usable) * 8;
		else
			n += (uint64_t)(2 * dsize / 3) * 8;
	}
	/* Shared keys are counted in the type object. */
	if (refcnt == 1)
		n += ksize;
	return n;
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
		n = dict_size(py, addr, t);
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
		if (pc_u64(py, addr + (uint64_t)L->ht_cached_keys, &cached) && cached) {
			uint64_t ksize;
			int64_t a, b, c, d;
			if (keys_size(py, cached, &ksize, &a, &b, &c, &d))
				n += ksize;
		}
		break;
	}
	default:
		n = default_size(py, addr, t);
		break;
	}
	if (n == 0)
		return 0;
	return n + presize(py, addr, t);
}
