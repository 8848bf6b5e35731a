#include <string.h>

#include "pyobj.h"

const char *const pc_kind_symbol[PK_NKINDS] = {
	[PK_OTHER] = NULL,
	[PK_OBJECT] = "PyBaseObject_Type",
	[PK_TYPE] = "PyType_Type",
	[PK_INT] = "PyLong_Type",
	[PK_BOOL] = "PyBool_Type",
	[PK_FLOAT] = "PyFloat_Type",
	[PK_COMPLEX] = "PyComplex_Type",
	[PK_STR] = "PyUnicode_Type",
	[PK_BYTES] = "PyBytes_Type",
	[PK_BYTEARRAY] = "PyByteArray_Type",
	[PK_TUPLE] = "PyTuple_Type",
	[PK_LIST] = "PyList_Type",
	[PK_DICT] = "PyDict_Type",
	[PK_SET] = "PySet_Type",
	[PK_FROZENSET] = "PyFrozenSet_Type",
	[PK_FUNCTION] = "PyFunction_Type",
	[PK_CODE] = "PyCode_Type",
	[PK_MODULE] = "PyModule_Type",
	[PK_CELL] = "PyCell_Type",
	[PK_METHOD] = "PyMethod_Type",
	[PK_CFUNCTION] = "PyCFunction_Type",
	[PK_PROPERTY] = "PyProperty_Type",
	[PK_CLASSMETHOD] = "PyClassMethod_Type",
	[PK_STATICMETHOD] = "PyStaticMethod_Type",
	[PK_WEAKREF] = "_PyWeakref_RefType",
	[PK_FRAME] = "PyFrame_Type",
	[PK_GEN] = "PyGen_Type",
	[PK_CORO] = "PyCoro_Type",
	[PK_ASYNCGEN] = "PyAsyncGen_Type",
	[PK_BASEEXC] = "_PyExc_BaseException",
	[PK_OLDINSTANCE] = "PyInstance_Type",
	[PK_FIXEDINT] = "PyInt_Type",
};

const char *const pc_kind_symbol_alt[PK_NKINDS] = {
	[PK_BYTES] = "PyString_Type",
};

uint64_t pc_ob_type(struct pc_py *py, uint64_t addr)
{
	uint64_t t;
	if ((addr & 7) || !pc_u64(py, addr + (uint64_t)py->L->ob_type, &t) || (t & 7) || !t)
		return 0;
	return t;
}


static size_t put_utf8(char *buf, size_t pos, size_t cap, uint32_t c)
{
	char tmp[4];
	size_t n;
	if (c < 0x80) {
		tmp[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		tmp[0] = (char)(0xc0 | (c >> 6));
		tmp[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		tmp[0] = (char)(0xe0 | (c >> 12));
		tmp[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		tmp[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		tmp[0] = (char)(0xf0 | (c >> 18));
		tmp[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		tmp[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		tmp[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	if (pos + n >= cap)
		return pos;
	memcpy(buf + pos, tmp, n);
	return pos + n;
}

static unsigned state_bits(const unsigned char *obj, int64_t byte, int bit, int nbits)
{
	uint32_t w;
	memcpy(&w, obj + byte, 4);
	return (w >> bit) & ((1u << nbits) - 1);
}

bool pc_str_header(struct pc_py *py, uint64_t addr, struct pc_str_header *h)
{
	const struct pc_layout *L = py->L;
	if (L->str_model == PC_STR_BYTES_UNICODE) {
		/* A unicode object: its Py_UNICODE characters in their own buffer. */
		h->raw = pc_mem_ptr(py->mem, addr, (size_t)L->unicode_size);
		if (!h->raw)
			return false;
		memcpy(&h->len, h->raw + L->ustr_length, 8);
		memcpy(&h->data, h->raw + L->ustr_buffer, 8);
		h->kind = (unsigned)L->py_unicode_size;
		h->compact = h->ascii = false;
		return h->len >= 0;
	}
	/* A compact str may end a mapping before sizeof(PyUnicodeObject). */
	h->raw = pc_mem_ptr(py->mem, addr, (size_t)L->unicode_size);
	if (!h->raw)
		h->raw = pc_mem_ptr(py->mem, addr, (size_t)L->compact_size);
	if (!h->raw)
		return false;
	memcpy(&h->len, h->raw + L->str_length, 8);
	h->kind = state_bits(h->raw, L->state_kind_byte, L->state_kind_bit, L->state_kind_bits);
	h->compact = state_bits(h->raw, L->state_compact_byte, L->state_compact_bit, 1);
	h->ascii = state_bits(h->raw, L->state_ascii_byte, L->state_ascii_bit, 1);
	if (h->len < 0 || (h->kind != 1 && h->kind != 2 && h->kind != 4))
		return false;
	if (h->compact)
		h->data = addr + (uint64_t)(h->ascii ? L->ascii_size : L->compact_size);
	else if (!pc_u64(py, addr + (uint64_t)L->str_data, &h->data))
		return false;
	return true;
}

long pc_str_read(struct pc_py *py, uint64_t addr, char *buf, size_t cap)
{
	const struct pc_layout *L = py->L;
	if (cap == 0)
		return -1;
	buf[0] = 0;
	uint64_t type = pc_ob_type(py, addr);
	if (!type)
		return -1;
	if (L->str_model == PC_STR_BYTES_UNICODE) {
		/* 2.7's str, the bytes kind, is what names are made of. */
		uint64_t flags;
		int64_t len;
		if (type == py->kind_type[PK_BYTES] ||
		    (pc_u64(py, type + (uint64_t)L->tp_flags, &flags) && (flags & PC_TPFLAGS_BYTES_SUBCLASS))) {
			if (!pc_i64(py, addr + (uint64_t)L->ob_size, &len) || len < 0)
				return -1;
			size_t n = (size_t)len < cap - 1 ? (size_t)len : cap - 1;
			if (n && !pc_mem_read(py->mem, addr + (uint64_t)L->string_sval, buf, n))
				return -1;
			buf[n] = 0;
			return (long)n;
		}
	}
	if (type != py->kind_type[PK_STR]) {
		/* str subclasses keep the same layout; check the flag. */
		uint64_t flags;
		if (!pc_u64(py, type + (uint64_t)L->tp_flags, &flags) || !(flags & PC_TPFLAGS_UNICODE_SUBCLASS))
			return -1;
	}
	struct pc_str_header h;
	if (!pc_str_header(py, addr, &h))
		return -1;
	unsigned kind = h.kind;
	size_t n = (size_t)h.len;
	if (n > cap - 1)
		n = cap - 1;  /* long strings are truncated: names are short */
	const unsigned char *d = pc_mem_ptr(py->mem, h.data, n * kind + 1);
	if (!d)
		return -1;
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t c;
		if (kind == 1)
			c = d[i];
		else if (kind == 2) {
			uint16_t v;
			memcpy(&v, d + 2 * i, 2);
			c = v;
		} else
			memcpy(&c, d + 4 * i, 4);
		pos = put_utf8(buf, pos, cap, c);
	}
	buf[pos] = 0;
	return (long)pos;
}

/* Hard caps: a dict bigger than this is corrupt for our purposes. */
#define MAX_DICT_ENTRIES (1LL << 32)

bool pc_dict_keys(struct pc_py *py, uint64_t keys, struct pc_dict_keys *k)
{
	const struct pc_layout *L = py->L;
	const unsigned char *raw = pc_mem_ptr(py->mem, keys, (size_t)L->dictkeys_size);
	if (!raw)
		return false;
	k->raw = raw;
	memcpy(&k->refcnt, raw + L->dk_refcnt, 8);
	memcpy(&k->nentries, raw + L->dk_nentries, 8);
	memcpy(&k->usable, raw + L->dk_usable, 8);
	if (L->dict_family == PC_DICT_LOG2_KIND) {
		uint8_t log2_size = raw[L->dk_log2_size], log2_ixb = raw[L->dk_log2_index_bytes];
		/* An index is 1, 2, 4 or 8 bytes a slot. */
		if (log2_size > 40 || log2_ixb < log2_size || log2_ixb > log2_size + 3)
			return false;
		k->slots = (int64_t)1 << log2_size;
		k->index_bytes = 1ULL << log2_ixb;
		k->unicode = raw[L->dk_kind] != 0;
	} else {
		memcpy(&k->slots, raw + L->dk_size, 8);
		if (k->slots <= 0 || k->slots > (1LL << 40))
			return false;
		int64_t s = k->slots;
		int ix = s <= 0xff ? 1 : s <= 0xffff ? 2 : s <= 0xffffffffLL ? 4 : 8;
		k->index_bytes = (uint64_t)(ix * s);
		/* Before 3.11 the lookup function tells all-str-key tables
		 * apart; not known yet, pc_dict_view looks at the keys. */
		uint64_t lookup;
		memcpy(&lookup, raw + L->dk_lookup, 8);
		k->unicode = !py->lookdict || lookup != py->lookdict;
	}
	/* Entries are used or usable slots: neither count exceeds the slots. */
	if (k->nentries < 0 || k->nentries > k->slots || k->usable < 0 || k->usable > k->slots)
		return false;
	/* Only 3.11+ gives all-str tables their own, shorter entries. */
	k->entry_size = (uint64_t)(L->dict_family == PC_DICT_LOG2_KIND && k->unicode ? L->dict_unicode_entry_size
								    : L->dict_entry_size);
	return true;
}

/* Before 3.11, without the symbol of lookdict (strip --strip-all): a table
 * holding a key that is not an exact str has been switched to lookdict for
 * good (insertdict does it), so its dk_lookup is lookdict.  Until such a
 * table is met, a table is all-str keyed if its keys are; one that held a
 * non-str key once and holds only str now is the case this misses. */
static void learn_lookdict(struct pc_py *py, uint64_t keys, struct pc_dict_view *v)
{
	for (int64_t i = 0; i < v->nentries; i++) {
		uint64_t key, val;
		memcpy(&key, v->entries + i * v->esize + v->key_off, 8);
		memcpy(&val, v->entries + i * v->esize + v->value_off, 8);
		if (!key || !val || pc_ob_type(py, key) == py->kind_type[PK_STR])
			continue;
		v->general = true;
		pc_u64(py, keys + (uint64_t)py->L->dk_lookup, &py->lookdict);
		return;
	}
}

bool pc_dict_view(struct pc_py *py, uint64_t addr, struct pc_dict_view *v)
{
	const struct pc_layout *L = py->L;
	memset(v, 0, sizeof(*v));
	const unsigned char *d = pc_mem_ptr(py->mem, addr, (size_t)L->dict_size);
	if (!d)
		return false;
	if (L->dict_family == PC_DICT_OPEN) {
		/* The table's every slot; empty and deleted ones have no value.
		 * dict_traverse visits every key. */
		uint64_t table, mask;
		memcpy(&table, d + L->ma_table, 8);
		memcpy(&mask, d + L->ma_mask, 8);
		if (!table || mask >= (uint64_t)MAX_DICT_ENTRIES || ((mask + 1) & mask))
			return false;
		v->nentries = (int64_t)mask + 1;
		v->esize = L->dict_entry_size;
		v->key_off = L->entry_key;
		v->value_off = L->entry_value;
		v->general = true;
		v->entries = pc_mem_ptr(py->mem, table, (size_t)(v->nentries * v->esize));
		return v->entries != NULL;
	}
	uint64_t keys, values;
	memcpy(&keys, d + L->ma_keys, 8);
	memcpy(&values, d + L->ma_values, 8);
	struct pc_dict_keys k;
	if (!pc_dict_keys(py, keys, &k) || k.nentries > k.slots ||
	    (L->dict_family == PC_DICT_SIZE_LOOKUP && k.slots > MAX_DICT_ENTRIES))
		return false;
	v->keys = keys;
	int64_t nentries = k.nentries;
	uint64_t entries = keys + (uint64_t)L->dk_indices + k.index_bytes;
	v->esize = (int64_t)k.entry_size;
	v->general = !k.unicode;
	/* 3.11+ unicode entries are {key, value}; others {hash, key, value}. */
	bool unicode = L->dict_family == PC_DICT_LOG2_KIND && k.unicode;
	if (nentries < 0)
		return false;
	v->nentries = nentries;
	v->key_off = unicode ? L->uentry_key : L->entry_key;
	v->value_off = unicode ? L->uentry_value : L->entry_value;
	if (nentries) {
		v->entries = pc_mem_ptr(py->mem, entries, (size_t)(nentries * v->esize));
		if (!v->entries)
			return false;
	}
	if (L->dict_family == PC_DICT_SIZE_LOOKUP && !py->lookdict && !values && nentries)
		learn_lookdict(py, keys, v);
	if (values) {
		if (nentries) {
			v->values = pc_mem_ptr(py->mem, values + (uint64_t)L->dictvalues_values, (size_t)nentries * 8);
			if (!v->values)
				return false;
		}
		if (L->idict_model == PC_IDICT_INLINE_VALUES) {
			const uint8_t *e = pc_mem_ptr(py->mem, values + (uint64_t)L->dictvalues_embedded, 1);
			v->embedded = e && *e;
		}
	}
	return true;
}

bool pc_dict_foreach(struct pc_py *py, uint64_t addr, pc_dict_fn fn, void *arg)
{
	struct pc_dict_view v;
	if (!pc_dict_view(py, addr, &v))
		return false;
	for (int64_t i = 0; i < v.nentries; i++) {
		uint64_t key, val;
		memcpy(&key, v.entries + i * v.esize + v.key_off, 8);
		if (v.values)
			memcpy(&val, v.values + i * 8, 8);
		else
			memcpy(&val, v.entries + i * v.esize + v.value_off, 8);
		if (!key || !val)
			continue;
		if (!fn(arg, key, val))
			break;
	}
	return true;
}

struct get_str {
	struct pc_py *py;
	const char *name;
	uint64_t found;
};

static bool match_key(void *arg, uint64_t key, uint64_t value)
{
	struct get_str *g = arg;
	char buf[128];
	if (pc_str_read(g->py, key, buf, sizeof(buf)) >= 0 && !strcmp(buf, g->name)) {
		g->found = value;
		return false;
	}
	return true;
}

uint64_t pc_dict_get_str(struct pc_py *py, uint64_t dict, const char *name)
{
	struct get_str g = { py, name, 0 };
	if (!dict)
		return 0;
	pc_dict_foreach(py, dict, match_key, &g);
	return g.found;
}

bool pc_int_value(struct pc_py *py, uint64_t addr, int64_t *out)
{
	const struct pc_layout *L = py->L;
	uint64_t ndigits;
	int sign;
	if (L->long_tagged) {
		uint64_t tag;
		if (!pc_u64(py, addr + (uint64_t)L->long_lv_tag, &tag))
			return false;
		ndigits = tag >> L->lv_tag_shift;
		sign = 1 - (int)(tag & 3);
	} else {
		int64_t size;
		if (!pc_i64(py, addr + (uint64_t)L->ob_size, &size))
			return false;
		if (size < -2 || size > 2)
			return false;
		sign = size < 0 ? -1 : size > 0;
		ndigits = (uint64_t)(size < 0 ? -size : size);
	}
	if (ndigits > 2)
		return false;
	/* Digits of DIGIT_SIZE bytes hold DIGIT_BITS bits each. */
	if (L->digit_size != 4 && L->digit_size != 2)
		return false;
	uint8_t raw[8] = { 0 };
	if (ndigits && !pc_mem_read(py->mem, addr + (uint64_t)L->long_digits, raw, ndigits * (uint64_t)L->digit_size))
		return false;
	int64_t d[2] = { 0, 0 };
	for (uint64_t i = 0; i < ndigits; i++) {
		uint32_t x = 0;
		memcpy(&x, raw + i * (uint64_t)L->digit_size, (size_t)L->digit_size);
		d[i] = x;
	}
	int64_t v = d[0] | (d[1] << L->digit_bits);
	*out = sign * v;
	return true;
}

uint64_t pc_thread_frame(struct pc_py *py, uint64_t ts)
{
	const struct pc_layout *L = py->L;
	uint64_t frame = 0, cf;
	if (L->thread_frame == PC_TF_FRAME)
		pc_u64(py, ts + (uint64_t)L->ts_frame, &frame);
	else if (L->thread_frame == PC_TF_CURRENT)
		pc_u64(py, ts + (uint64_t)L->ts_current_frame, &frame);
	else if (pc_u64(py, ts + (uint64_t)L->ts_cframe, &cf) && cf)
		pc_u64(py, cf + (uint64_t)L->cframe_current_frame, &frame);
	return frame;
}
