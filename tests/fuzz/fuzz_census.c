/* libFuzzer harness: corrupt a real process's memory image, run both
 * censuses over it, render each as JSON and as the table, and check what
 * was printed.  The image is restored after each input.  PYCENSUS_FUZZ_IMAGE
 * names it (tests/fuzz/dump_image makes one).
 *
 * An input is a list of 13-byte records {u32 k, u8 mode, u64 v}.  A quarter
 * of the modes write raw words anywhere (K picks the word): V itself, a
 * small delta, a pointer into some mapping, a pointer just before the word.
 * The others aim at the objects of the image, found once by a census of the
 * pristine image and sorted into classes (tuple, list, dict, str, int, set,
 * type, code, frame...) whose interesting fields come from the layout table:
 * K picks a class and an object, the low byte of V a field of it, the rest
 * of V what is written:
 *   length  an extreme count: 0, 1, -1, INT64_MIN, INT64_MAX, 2^60, 2^31...
 *   pointer another object, the middle of one, an unaligned address, the
 *           object itself, the field itself, a type, NULL, unmapped memory
 *   type    ob_type made another object (not a type), a type of another
 *           kind, the object itself
 *   cycle   a pointer field of two objects of a class made to point at each
 *           other (tp_base chains, GC list links, frame links), or at itself
 *   name    the name of a type that owns objects (tp_name, ht_qualname)
 *           made a pointer as above: names of raw bytes
 * Fields reached through a pointer (a dict's keys, a frame's interpreter
 * frame, a type's mro) are counted too.
 *
 * The line-table decoder (lineno.c) also runs over each input's raw bytes
 * in every format.
 *
 * Every rendering must be valid: the JSON strict JSON in valid UTF-8, the
 * table free of control characters; a violation aborts, which libFuzzer
 * reports as a crash.  PYCENSUS_FUZZ_NO_OUTPUT_CHECK=1 turns the check off.
 * At exit the harness prints on stderr how many mutations of each kind it
 * made (of how many tried: a field may not exist or be writable) and what
the censuses found ("fuzz_census: stats ..."). */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin_types.h"
#include "gcwalk.h"
#include "image.h"
#include "interned.h"
#include "interp_head.h"
#include "lineno.h"
#include "output.h"
#include "snapshot.h"
#include "why.h"

static struct pc_image img;
static struct pc_session *session;
static struct pc_mem *mem;
static uint64_t nwords;       /* words in writable mappings */
static bool check_output = true;

#define MAX_RECORDS 64
#define MAX_WRITES (2 * MAX_RECORDS)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --- the objects of the image and their fields ------------------------- */

enum cls {
	C_OTHER, C_TUPLE, C_LIST, C_DICT, C_STR, C_INT, C_BYTES, C_SET, C_BYTEARRAY, C_TYPE, C_CODE,
	C_FRAME, C_GEN, C_NCLS,
	/* fields only: of every object, of every GC object */
	C_ANY = C_NCLS, C_GC
};

struct field {
	enum cls cls;
	bool ptr;           /* holds a pointer (else a length or count) */
	int width;          /* 4 or 8 bytes */
	int64_t via;        /* offset of a pointer to follow first, -1 for none */
	int64_t off;        /* from the object (or the pointee); GC fields from the GC head */
};

#define MAX_FIELDS 96
static struct field fields[MAX_FIELDS];
static int nfields;

struct objs {
	uint64_t *addr;
	size_t n, cap;
};
static struct objs by_cls[C_NCLS];
static size_t nobjs;
static struct objs used_types;   /* types that own objects: their names are printed */

/* A field at OFF, through the pointer at VIA if HAS_VIA; offsets of -1
 * are fields this version's layout lacks. */
static void field(enum cls c, bool ptr, int width, bool has_via, int64_t via, int64_t off)
{
	if (off < 0 || (has_via && via < 0) || nfields == MAX_FIELDS)
		return;
	fields[nfields++] = (struct field){ c, ptr, width, has_via ? via : -1, off };
}

#define LEN(c, off) field(c, false, 8, false, 0, off)
#define LEN4(c, off) field(c, false, 4, false, 0, off)
#define PTR(c, off) field(c, true, 8, false, 0, off)
#define VIA_LEN(c, via, off) field(c, false, 8, true, via, off)
#define VIA_PTR(c, via, off) field(c, true, 8, true, via, off)

static void fields_init(const struct pc_layout *L)
{
	PTR(C_ANY, L->ob_type);
	LEN(C_ANY, L->ob_size);
	PTR(C_GC, L->gc_next);
	PTR(C_GC, L->gc_prev);
	LEN(C_TUPLE, L->ob_size);
	PTR(C_TUPLE, L->tuple_item);
	PTR(C_TUPLE, L->tuple_item + 8);
	LEN(C_LIST, L->ob_size);
	LEN(C_LIST, L->list_allocated);
	PTR(C_LIST, L->list_item);
	VIA_PTR(C_LIST, L->list_item, 0);
	LEN(C_DICT, L->ma_used);
	PTR(C_DICT, L->ma_keys);
	PTR(C_DICT, L->ma_values);
	VIA_LEN(C_DICT, L->ma_keys, L->dk_refcnt);
	VIA_LEN(C_DICT, L->ma_keys, L->dk_nentries);
	VIA_LEN(C_DICT, L->ma_keys, L->dk_usable);
	VIA_LEN(C_DICT, L->ma_keys, L->dk_size);
	VIA_LEN(C_DICT, L->ma_keys, L->dk_log2_size);
	VIA_LEN(C_DICT, L->ma_keys, L->dk_indices);
	VIA_PTR(C_DICT, L->ma_values, 0);
	LEN(C_STR, L->str_length);
	LEN(C_STR, L->str_utf8_length);
	LEN(C_STR, L->str_wstr_length);
	LEN4(C_STR, L->state_kind_byte);
	PTR(C_STR, L->str_utf8);
	PTR(C_STR, L->str_wstr);
	PTR(C_STR, L->str_data);
	LEN(C_INT, L->long_tagged ? L->long_lv_tag : L->ob_size);
	LEN(C_BYTES, L->ob_size);
	LEN(C_SET, L->set_mask);
	PTR(C_SET, L->set_table);
	VIA_PTR(C_SET, L->set_table, L->set_entry_key);
	LEN(C_BYTEARRAY, L->bytearray_alloc);
	LEN(C_BYTEARRAY, L->ob_size);
	PTR(C_TYPE, L->tp_base);
	PTR(C_TYPE, L->tp_mro);
	PTR(C_TYPE, L->tp_bases);
	PTR(C_TYPE, L->tp_dict);
	PTR(C_TYPE, L->tp_name);
	PTR(C_TYPE, L->tp_subclasses);
	PTR(C_TYPE, L->tp_members);
	PTR(C_TYPE, L->tp_traverse);
	PTR(C_TYPE, L->ht_name);
	PTR(C_TYPE, L->ht_qualname);
	PTR(C_TYPE, L->ht_cached_keys);
	PTR(C_TYPE, L->ht_slots);
	LEN(C_TYPE, L->tp_basicsize);
	LEN(C_TYPE, L->tp_itemsize);
	LEN(C_TYPE, L->tp_flags);
	LEN(C_TYPE, L->tp_dictoffset);
	LEN(C_TYPE, L->tp_weaklistoffset);
	LEN(C_TYPE, L->ob_size);  /* a heap type's __slots__ count */
	VIA_LEN(C_TYPE, L->tp_mro, L->ob_size);
	VIA_PTR(C_TYPE, L->tp_mro, L->tuple_item);
	VIA_PTR(C_TYPE, L->tp_bases, L->tuple_item);
	LEN4(C_CODE, L->co_nlocalsplus);
	LEN4(C_CODE, L->co_nlocals);
	LEN4(C_CODE, L->co_stacksize);
	PTR(C_CODE, L->co_cellvars);
	PTR(C_CODE, L->co_freevars);
	PTR(C_CODE, L->co_code);
	PTR(C_CODE, L->co_extra);
	PTR(C_CODE, L->co_opcache);
	VIA_LEN(C_CODE, L->co_cellvars, L->ob_size);
	/* the running line of why's frame roots: the table, its length, the
	 * first line; the frames' instruction positions */
	PTR(C_CODE, L->co_lines);
	VIA_LEN(C_CODE, L->co_lines, L->ob_size);
	LEN4(C_CODE, L->co_firstlineno);
	LEN4(C_FRAME, L->f_lasti);
	VIA_PTR(C_FRAME, L->f_frame, L->iframe_instr);
	PTR(C_FRAME, L->f_code);
	PTR(C_FRAME, L->f_frame);
	VIA_PTR(C_FRAME, L->f_frame, L->iframe_code);
	VIA_PTR(C_FRAME, L->f_frame, L->iframe_previous);
	VIA_LEN(C_FRAME, L->f_code, L->co_nlocalsplus);
	PTR(C_GEN, L->gi_code);
	if (L->gi_iframe >= 0) {
		PTR(C_GEN, L->gi_iframe + L->iframe_code);
		PTR(C_GEN, L->gi_iframe + L->iframe_previous);
		if (L->iframe_instr >= 0)
			PTR(C_GEN, L->gi_iframe + L->iframe_instr);
	}
}

static void add_obj(struct objs *o, uint64_t addr)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 256;
		uint64_t *a = realloc(o->addr, cap * sizeof(*a));
		if (!a)
			return;
		o->addr = a;
		o->cap = cap;
	}
	o->addr[o->n++] = addr;
}

/* What the object at ADDR is, from its type's flags (or address). */
static enum cls classify(uint64_t addr)
{
	const struct pc_layout *L = session->layout;
	uint64_t type, flags;
	if (!pc_mem_u64(mem, addr + (uint64_t)L->ob_type, &type) ||
	    !pc_mem_u64(mem, type + (uint64_t)L->tp_flags, &flags))
		return C_OTHER;
	static const struct { uint64_t flag; enum cls cls; } by_flag[] = {
		{ PC_TPFLAGS_TYPE_SUBCLASS, C_TYPE }, { PC_TPFLAGS_TUPLE_SUBCLASS, C_TUPLE },
		{ PC_TPFLAGS_LIST_SUBCLASS, C_LIST }, { PC_TPFLAGS_DICT_SUBCLASS, C_DICT },
		{ PC_TPFLAGS_UNICODE_SUBCLASS, C_STR }, { PC_TPFLAGS_LONG_SUBCLASS, C_INT },
		{ PC_TPFLAGS_BYTES_SUBCLASS, C_BYTES },
	};
	for (size_t i = 0; i < sizeof(by_flag) / sizeof(by_flag[0]); i++)
		if (flags & by_flag[i].flag)
			return by_flag[i].cls;
	static const struct { enum pc_kind kind; enum cls cls; } by_kind[] = {
		{ PK_SET, C_SET }, { PK_FROZENSET, C_SET }, { PK_BYTEARRAY, C_BYTEARRAY }, { PK_CODE, C_CODE },
		{ PK_FRAME, C_FRAME }, { PK_GEN, C_GEN }, { PK_CORO, C_GEN }, { PK_ASYNCGEN, C_GEN },
	};
	for (size_t i = 0; i < sizeof(by_kind) / sizeof(by_kind[0]); i++)
		if (type == session->kind_type[by_kind[i].kind])
			return by_kind[i].cls;
	return C_OTHER;
}

/* Every object a census of the pristine image counts, by class (from the
 * reachable walk's PYCENSUS_DEBUG_DUMP list). */
static void objects_init(void)
{
	char path[] = "/tmp/fuzz_census_objects.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return;
	close(fd);
	setenv("PYCENSUS_DEBUG_DUMP", path, 1);
	struct pc_census c;
	if (!pc_census_image(session, mem, PC_SCOPE_REACHABLE, &c))
		pc_census_fini(&c);
	unsetenv("PYCENSUS_DEBUG_DUMP");
	FILE *f = fopen(path, "r");
	unsigned long long addr;
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		uint64_t type;
		if (sscanf(line, "%llx", &addr) != 1)
			continue;
		add_obj(&by_cls[classify(addr)], addr);
		nobjs++;
		if (!pc_mem_u64(mem, addr + (uint64_t)session->layout->ob_type, &type))
			continue;
		size_t i;
		for (i = 0; i < used_types.n && used_types.addr[i] != type; i++)
			;
		if (i == used_types.n)
			add_obj(&used_types, type);
	}
	if (f)
		fclose(f);
	unlink(path);
}

/* --- mutations ---------------------------------------------------------- */

enum { K_WORD, K_LEN, K_PTR, K_TYPE, K_CYCLE, K_NAME, K_N };
static const char *const kind_name[K_N] = { "word", "length", "pointer", "type", "cycle", "name" };

static struct stats {
	uint64_t inputs, kinds[K_N], tried[K_N];
	uint64_t censuses, with_invalid, invalid_max, broken_gc, skipped, renders;
	uint64_t whys, why_shapes, why_unrooted, why_dominators;
	uint64_t interp_heads, interned, marked;  /* finders that answered */
	uint64_t lines[PC_LINE_UNKNOWN + 1];   /* line-table decodes by status */
} stats;

struct writes {
	unsigned char *where[MAX_WRITES];
	unsigned char old[MAX_WRITES][8];
	int width[MAX_WRITES];
	int n;
};

/* The image's bytes for target address ADDR, if WIDTH bytes there are in
 * one writable mapping. */
static unsigned char *bytes_at(uint64_t addr, int width)
{
	for (size_t i = 0; i < img.nmaps; i++) {
		struct pc_mem_buffer *b = &img.maps[i];
		if (addr >= b->start && addr < b->end)
			return b->writable && addr + (uint64_t)width <= b->end ? b->data + (addr - b->start) : NULL;
	}
	return NULL;
}

static bool put(struct writes *w, uint64_t addr, uint64_t value, int width)
{
	unsigned char *p = bytes_at(addr, width);
	if (!p || w->n == MAX_WRITES)
		return false;
	w->where[w->n] = p;
	w->width[w->n] = width;
	memcpy(w->old[w->n], p, (size_t)width);
	memcpy(p, &value, (size_t)width);  /* little-endian: the low bytes */
	w->n++;
	return true;
}

static uint64_t *word_at(uint64_t k, uint64_t *addr)
{
	k %= nwords;
	for (size_t i = 0; i < img.nmaps; i++) {
		struct pc_mem_buffer *b = &img.maps[i];
		if (!b->writable)
			continue;
		uint64_t n = (b->end - b->start) / 8;
		if (k < n) {
			*addr = b->start + k * 8;
			return (uint64_t *)(void *)(b->data + k * 8);
		}
		k -= n;
	}
	return NULL;
}

/* The original random-word mutations. */
static bool mutate_word(struct writes *w, uint32_t k, uint8_t mode, uint64_t v)
{
	uint64_t addr, nv;
	uint64_t *word = word_at(k, &addr);
	if (!word)
		return false;
	switch (mode % 4) {
	case 0:
		nv = v;
		break;
	case 1:
		nv = *word + (uint64_t)(int64_t)(int8_t)v;
		break;
	case 2: {
		const struct pc_mem_buffer *b = &img.maps[v % img.nmaps];
		nv = b->start + ((v >> 16) % (b->end - b->start));
		break;
	}
	default:
		nv = addr - ((v % 64) * 8);
		break;
	}
	return put(w, addr, nv, 8);
}

static const uint64_t extremes[] = {
	0, 1, (uint64_t)-1, (uint64_t)INT64_MIN, (uint64_t)INT64_MAX, 1ULL << 60, 1ULL << 31,
	(1ULL << 31) - 1, 1ULL << 32, 1ULL << 40, 1ULL << 47, (uint64_t)-(1LL << 31), 0x80, 0xffff,
};
#define NEXTREMES (sizeof(extremes) / sizeof(extremes[0]))

static uint64_t any_obj(uint64_t v)
{
	uint64_t i = v % nobjs;
	for (int c = 0; c < C_NCLS; c++) {
		if (i < by_cls[c].n)
			return by_cls[c].addr[i];
		i -= by_cls[c].n;
	}
	return 0;
}

/* A pointer value for the field at ADDR of object OBJ. */
static uint64_t pointer(uint64_t v, uint64_t obj, uint64_t addr, bool gc_head)
{
	uint64_t other = any_obj(v >> 8), head = gc_head ? (uint64_t)session->layout->gc_head_size : 0;
	const struct objs *types = &by_cls[C_TYPE];
	switch (v % 9) {
	case 0:
		return other - head;
	case 1:
		return other + 8 * (1 + ((v >> 3) & 7));     /* the middle of another */
	case 2:
		return other + 1 + ((v >> 3) % 7);            /* unaligned */
	case 3:
		return obj - head;                             /* itself */
	case 4:
		return addr;                                   /* the field itself */
	case 5:
		return types->n ? types->addr[(v >> 8) % types->n] : other;
	case 6:
		return 0;
	case 7:
		return 0x1000 + ((v >> 8) & 0xff8);            /* unmapped */
	default:
		return (v >> 8) & ~7ULL;                       /* anywhere */
	}
}

/* Field number V of an object of class C that is (not) a GC object. */
static const struct field *pick_field(enum cls c, bool gc, bool want_ptr, uint64_t v)
{
	const struct field *ok[MAX_FIELDS];
	int n = 0;
	for (int i = 0; i < nfields; i++)
		if ((fields[i].cls == c || fields[i].cls == C_ANY || (gc && fields[i].cls == C_GC)) &&
		    (!want_ptr || fields[i].ptr))
			ok[n++] = &fields[i];
	return n ? ok[v % (uint64_t)n] : NULL;
}

/* Where field F of the object at OBJ is, following F->via. */
static bool field_addr(const struct field *f, uint64_t obj, uint64_t *addr)
{
	uint64_t base = obj;
	if (f->cls == C_GC)
		base = obj - (uint64_t)session->layout->gc_head_size;
	if (f->via >= 0 && (!pc_mem_u64(mem, obj + (uint64_t)f->via, &base) || !base))
		return false;
	*addr = base + (uint64_t)f->off;
	return true;
}

static bool is_gc(uint64_t obj)
{
	uint64_t type, flags;
	return pc_mem_u64(mem, obj + (uint64_t)session->layout->ob_type, &type) &&
	       pc_mem_u64(mem, type + (uint64_t)session->layout->tp_flags, &flags) && (flags & PC_TPFLAGS_HAVE_GC);
}

/* The name of a type that owns objects (tp_name of a static type, the
 * qualified name of a heap type) made to point into other objects, their
 * middle, unaligned: names of raw bytes, as a damaged heap gives them. */
static bool mutate_name(struct writes *w, uint32_t k, uint64_t v)
{
	const struct pc_layout *L = session->layout;
	if (!used_types.n)
		return false;
	uint64_t type = used_types.addr[k % used_types.n], flags, addr;
	if (!pc_mem_u64(mem, type + (uint64_t)L->tp_flags, &flags))
		return false;
	addr = type + (uint64_t)((flags & PC_TPFLAGS_HEAPTYPE) && (v & 1) ? L->ht_qualname : L->tp_name);
	return put(w, addr, pointer(v >> 1, type, addr, false), 8);
}

static bool mutate_object(struct writes *w, int kind, uint32_t k, uint64_t v)
{
	/* K: the class in its top byte, the object in the rest. */
	enum cls c = (enum cls)((k >> 24) % C_NCLS);
	if (!by_cls[c].n)
		c = C_OTHER;
	if (!by_cls[c].n)
		return false;
	uint64_t obj = by_cls[c].addr[(k & 0xffffff) % by_cls[c].n], addr;
	bool gc = is_gc(obj);
	const struct field *f;
	if (kind == K_TYPE) {
		static const struct field ob_type = { C_ANY, true, 8, -1, 0 };
		f = &ob_type;
		addr = obj + (uint64_t)session->layout->ob_type;
	} else {
		f = pick_field(c, gc, kind != K_LEN, v & 0xff);
		if (!f || !field_addr(f, obj, &addr))
			return false;
	}
	v >>= 8;
	switch (kind) {
	case K_LEN:
		/* A length field, or a pointer made a length. */
		return put(w, addr, v % (NEXTREMES + 1) == NEXTREMES ? v >> 4 : extremes[v % (NEXTREMES + 1)],
			   f->width);
	case K_PTR:
	case K_TYPE:
		return put(w, addr, pointer(v, obj, addr, f->cls == C_GC), f->width);
	default: {
		/* Two objects of the class point at each other through F (or
		 * one at itself), as through its GC head for GC fields. */
		uint64_t other = by_cls[c].addr[(v >> 1) % by_cls[c].n], other_addr;
		if (v & 1)
			other = obj;
		uint64_t head = f->cls == C_GC ? (uint64_t)session->layout->gc_head_size : 0;
		if (f->via >= 0 || !field_addr(f, other, &other_addr))
			return put(w, addr, obj - head, f->width);
		return put(w, addr, other - head, f->width) && put(w, other_addr, obj - head, f->width);
	}
	}
}

/* --- the output check --------------------------------------------------- */

/* Length of the valid UTF-8 sequence at S (N bytes left) and its code
 * point, or 0 if it is not one (overlong, surrogate, beyond U+10FFFF). */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static void violation(const char *what, const char *problem, const char *buf, size_t len, size_t at)
{
	size_t from = at > 60 ? at - 60 : 0, to = at + 60 < len ? at + 60 : len;
	fprintf(stderr, "fuzz_census: the %s output %s at byte %zu of %zu: \"", what, problem, at, len);
	for (size_t i = from; i < to; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			fputc(ch, stderr);
		else
			fprintf(stderr, "\\x%02x", ch);
	}
	fprintf(stderr, "\"\n(PYCENSUS_FUZZ_NO_OUTPUT_CHECK=1 turns this check off)\n");
	abort();
}

static void check_json(const char *buf, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_char((const unsigned char *)buf + i, len - i, &cp);
		if (!n)
			violation("JSON", "is not valid UTF-8", buf, len, i);
		i += n;
	}
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	size_t body = len;
	while (body && (buf[body - 1] == '\n'))
		body--;
	json_object *o = json_tokener_parse_ex(tok, buf, (int)body);
	enum json_tokener_error err = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || err != json_tokener_success || used != body) {
		json_object_put(o);
		violation("JSON", o ? "has bytes after the document" : json_tokener_error_desc(err), buf, len,
			  used);
	}
	if (!json_object_is_type(o, json_type_object))
		violation("JSON", "is not an object", buf, len, 0);
	json_object_put(o);
}

/* No C0 or C1 control character but the newlines between rows. */
static void check_table(const char *buf, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_char((const unsigned char *)buf + i, len - i, &cp);
		if (!n)
			cp = (unsigned char)buf[i], n = 1;  /* a raw byte: not our concern here */
		if ((cp < 0x20 && cp != '\n') || cp == 0x7f || (n > 1 && cp >= 0x80 && cp < 0xa0))
			violation("table", "has a control character", buf, len, i);
		i += n;
	}
}

static void render(const struct pc_census *c, enum pc_format format)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	struct pc_output_opts o = { .format = format };
	int r = pc_output_census(f, c, &o);
	fclose(f);
	if (r == 0 && check_output) {
		if (format == PC_FORMAT_JSON)
			check_json(buf, len);
		else
			check_table(buf, len);
	}
	stats.renders++;
	free(buf);
}

static void census(enum pc_scope scope)
{
	struct pc_census c;
	if (pc_census_image(session, mem, scope, &c))
		return;
	stats.censuses++;
	if (c.invalid) {
		stats.with_invalid++;
		if (c.invalid > stats.invalid_max)
			stats.invalid_max = c.invalid;
	}
	stats.broken_gc += c.gc.broken;
	stats.skipped += c.skipped > 0;
	render(&c, PC_FORMAT_JSON);
	render(&c, PC_FORMAT_TABLE);
	pc_census_fini(&c);
}

/* What finds statics by their contents when a build has no symbols for
 * them (the interpreters' head and the interned dict of 2.7/3.6, the
 * collection seen in GC headers, the sets' dummy key), over the damaged
 * image: each must answer or give up. */
static struct pc_error *finders_on_copy(void *arg, struct pc_session *s, struct pc_py *py)
{
	(void)arg;
	/* (an image's mappings have no paths: the runtime's own and the next) */
	long i = pc_mem_index(py->mem, s->target.runtime);
	if (i >= 0) {
		const struct pc_mapping *m = &py->mem->maps[i];
		uint64_t hi = (size_t)i + 1 < py->mem->nmaps ? py->mem->maps[i + 1].end : m->end;
		uint64_t head = s->target.runtime + (uint64_t)py->L->rt_interp_head;
		stats.interp_heads += pc_find_interp_head(py, m->start, hi, head) == head;
		stats.interned += pc_find_interned_in(py, m->start, hi) != 0;
	}
	if (py->L->gc_head_model == PC_GC_HEAD_REFS)
		stats.marked += pc_gc_marked(py, s->target.runtime);
	const enum cls keys[] = { C_STR, C_BYTES };
	uint64_t dummy = py->set_dummy;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (size_t j = 0; j < by_cls[keys[k]].n && j < 64; j++) {
			py->set_dummy = 0;
			pc_is_set_dummy(py, by_cls[keys[k]].addr[j]);
		}
	py->set_dummy = dummy;
	return NULL;
}

static void finders(void)
{
	struct pc_snapshot_opts o = { .scope = PC_SCOPE_GC, .on_copy = finders_on_copy };
	struct pc_census c;
	if (!pc_census_image_opts(session, mem, &o, &c))
		pc_census_fini(&c);
}

/* `why` over the same damaged image: the walk from the roots, paths by
 * shape, unrooted objects, the dominator tree over the decoded graph; its
 * JSON, table and dot renderings checked as the census's are. */
static void why(void)
{
	static char *names[] = { "list", "function", "cell" };   /* few shapes each: fast */
	struct pc_why *w = pc_why_create(names, (int)(sizeof(names) / sizeof(names[0])), 3, 5);
	if (!w)
		return;
	struct pc_snapshot_opts o = { .scope = PC_SCOPE_GC, .on_copy = pc_why_on_copy, .on_copy_arg = w };
	struct pc_census c;
	if (!pc_census_image_opts(session, mem, &o, &c)) {
		const struct pc_why_report *r = pc_why_result(w);
		stats.whys++;
		for (int k = 0; k < r->ntypes; k++) {
			stats.why_shapes += r->types[k].nshapes;
			stats.why_unrooted += r->types[k].unrooted;
		}
		stats.why_dominators += r->nsuspects;
		for (int f = 0; f < 3; f++) {
			char *buf = NULL;
			size_t len = 0;
			FILE *out = open_memstream(&buf, &len);
			if (!out)
				continue;
			int rc = pc_why_print(out, r, &c, f == 0 ? PC_WHY_JSON : f == 1 ? PC_WHY_TABLE : PC_WHY_DOT);
			fclose(out);
			if (rc == 0 && check_output) {
				if (f == 0)
					check_json(buf, len);
				else
					check_table(buf, len);
			}
			stats.renders++;
			free(buf);
		}
		pc_census_fini(&c);
	}
	pc_why_destroy(w);
}

static void print_stats(void)
{
	fprintf(stderr, "fuzz_census: stats inputs %llu;", (unsigned long long)stats.inputs);
	for (int k = 0; k < K_N; k++)
		fprintf(stderr, " %s %llu/%llu", kind_name[k], (unsigned long long)stats.kinds[k],
			(unsigned long long)stats.tried[k]);
	fprintf(stderr, "; objects %zu; censuses %llu, with invalid %llu (max %llu), broken gc list %llu, "
		"skipped pointers %llu; why %llu (shapes %llu, unrooted %llu, dominators %llu); "
		"found interp_head %llu, interned %llu, marked lists %llu; renders %llu%s\n",
		nobjs, (unsigned long long)stats.censuses, (unsigned long long)stats.with_invalid,
		(unsigned long long)stats.invalid_max, (unsigned long long)stats.broken_gc,
		(unsigned long long)stats.skipped, (unsigned long long)stats.whys,
		(unsigned long long)stats.why_shapes, (unsigned long long)stats.why_unrooted,
		(unsigned long long)stats.why_dominators, (unsigned long long)stats.interp_heads,
		(unsigned long long)stats.interned, (unsigned long long)stats.marked, (unsigned long long)stats.renders,
		check_output ? ", checked" : ", not checked");
	fprintf(stderr, "fuzz_census: lines ok %llu, no line %llu, bad table %llu\n",
		(unsigned long long)stats.lines[PC_LINE_OK], (unsigned long long)stats.lines[PC_LINE_NO_LINE],
		(unsigned long long)stats.lines[PC_LINE_BAD_TABLE]);
}

/* The line-table decoder straight over the input's bytes, in every
 * format, at an address its first bytes choose (beyond the table too):
 * any bytes must give an answer or a refusal, never a read outside them.
 * (The tables of the image's code objects, damaged by the mutations,
 * are decoded by the why walk's frame roots.) */
static void lines(const uint8_t *data, size_t size)
{
	static const enum pc_lines_format formats[] = { PC_LINES_LNOTAB_UNSIGNED, PC_LINES_LNOTAB_SIGNED,
							PC_LINES_PAIRS_310, PC_LINES_LOCATION_ENTRIES };
	uint16_t a = 0;
	if (size >= 2)
		memcpy(&a, data, 2);
	/* a copy of exactly SIZE bytes: ASan sees any read past them */
	uint8_t *tab = malloc(size ? size : 1);
	if (!tab)
		return;
	memcpy(tab, data, size);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		int32_t line;
		int64_t addrs[] = { a, (int64_t)size * 2 - 2, -1, INT64_MAX };
		for (size_t k = 0; k < sizeof(addrs) / sizeof(addrs[0]); k++) {
			enum pc_line_status st = pc_lines_addr2line(formats[i], tab, size, (int32_t)(a * 7919u), addrs[k],
								    &line);
			if (st <= PC_LINE_UNKNOWN)
				stats.lines[st]++;
		}
	}
	free(tab);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *file = getenv("PYCENSUS_FUZZ_IMAGE");
	if (!file || pc_image_load(file, &img) < 0) {
		fprintf(stderr, "fuzz_census: set PYCENSUS_FUZZ_IMAGE to an image from dump_image\n");
		exit(2);
	}
	struct pc_error *err = pc_session_open_offline(img.path, img.bias, img.major, img.minor, &session);
	if (!err)
		err = pc_mem_open_buffers(img.maps, img.nmaps, &mem);
	if (err) {
		fprintf(stderr, "fuzz_census: %s\n", err->msg);
		exit(2);
	}
	for (size_t i = 0; i < img.nmaps; i++)
		if (img.maps[i].writable)
			nwords += (img.maps[i].end - img.maps[i].start) / 8;
	const char *off = getenv("PYCENSUS_FUZZ_NO_OUTPUT_CHECK");
	check_output = !(off && *off && strcmp(off, "0"));
	fields_init(session->layout);
	objects_init();
	atexit(print_stats);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct writes w = { .n = 0 };
	stats.inputs++;
	for (size_t off = 0; off + 13 <= size && off / 13 < MAX_RECORDS; off += 13) {
		uint32_t k;
		uint8_t mode = data[off + 4];
		uint64_t v;
		memcpy(&k, data + off, 4);
		memcpy(&v, data + off + 5, 8);
		/* A quarter raw words, the rest aimed at objects. */
		int kind = mode % 16 < 4 ? K_WORD : 1 + (mode % 16 - 4) % (K_N - 1);
		bool done = kind == K_WORD   ? mutate_word(&w, k, mode, v)
			    : kind == K_NAME ? mutate_name(&w, k, v)
					     : nobjs && mutate_object(&w, kind, k, v);
		stats.kinds[kind] += done;
		stats.tried[kind]++;
	}
	lines(data, size);
	census(PC_SCOPE_REACHABLE);
	census(PC_SCOPE_GC);
	finders();
	why();
	while (w.n-- > 0)
		memcpy(w.where[w.n], w.old[w.n], (size_t)w.width[w.n]);
	return 0;
}
