#include <stdio.h>
#include <string.h>

#include "debug_offsets.h"

/* One fact the record gives: the layout key, where its value lies in the
 * record, and where the size of the struct it belongs to lies (0: the
 * value is itself a size).  The record is all uint64_t after the cookie. */
struct pc_dbgoff_field {
	const char *key;
	uint16_t at, section;
};

struct pc_dbgoff_format {
	int major, minor;
	size_t size;
	const struct pc_dbgoff_field *fields;
	size_t nfields;
	const uint16_t *sections;  /* every section's size field */
	size_t nsections;
};

/* 3.13: Include/internal/pycore_runtime.h (struct _Py_DebugOffsets),
 * offsets as the DWARF of CPython 3.13.0 lays the struct out. */
static const struct pc_dbgoff_field fields_3_13[] = {
	{ "_PyRuntimeState.interpreters.head", 40, 24 },
	{ "PyInterpreterState.next", 64, 48 },
	{ "PyInterpreterState.threads.head|tstate_head", 72, 48 },
	{ "PyInterpreterState.gc", 80, 48 },
	{ "PyInterpreterState.modules|imports.modules", 88, 48 },
	{ "PyInterpreterState.sysdict", 96, 48 },
	{ "PyInterpreterState.builtins", 104, 48 },
	{ "PyThreadState.next", 168, 152 },
	{ "PyThreadState.current_frame", 184, 152 },
	{ "sizeof(_PyInterpreterFrame)", 224, 0 },
	{ "_PyInterpreterFrame.previous", 232, 224 },
	{ "_PyInterpreterFrame.f_code|f_executable", 240, 224 },
	{ "_PyInterpreterFrame.f_executable", 240, 224 },
	{ "_PyInterpreterFrame.prev_instr|instr_ptr", 248, 224 },
	{ "_PyInterpreterFrame.localsplus", 256, 224 },
	{ "_PyInterpreterFrame.owner", 264, 224 },
	{ "PyCodeObject.co_filename", 280, 272 },
	{ "PyCodeObject.co_name", 288, 272 },
	{ "PyCodeObject.co_qualname", 296, 272 },
	{ "PyCodeObject.co_linetable", 304, 272 },
	{ "PyCodeObject.co_firstlineno", 312, 272 },
	{ "PyCodeObject.co_localsplusnames", 328, 272 },
	{ "PyCodeObject.co_localspluskinds", 336, 272 },
	{ "PyCodeObject.co_code_adaptive", 344, 272 },
	{ "sizeof(PyObject)", 352, 0 },
	{ "PyObject.ob_type", 360, 352 },
	{ "sizeof(PyTypeObject)", 368, 0 },
	{ "PyTypeObject.tp_name", 376, 368 },
	{ "PyTypeObject.tp_flags", 392, 368 },
	{ "PyTupleObject.ob_item", 408, 400 },
	{ "PyVarObject.ob_size", 416, 400 },
	{ "PyListObject.ob_item", 432, 424 },
	{ "sizeof(PyDictObject)", 448, 0 },
	{ "PyDictObject.ma_keys", 456, 448 },
	{ "PyDictObject.ma_values", 464, 448 },
	{ "PyLongObject.long_value.lv_tag", 496, 488 },
	{ "PyLongObject.long_value.ob_digit|ob_digit", 504, 488 },
	{ "PyBytesObject.ob_sval", 528, 512 },
	{ "sizeof(PyUnicodeObject)", 536, 0 },
	{ "PyASCIIObject.length", 552, 536 },
	{ "sizeof(PyASCIIObject)", 560, 0 },
	{ "_gc_runtime_state.collecting", 576, 568 },
};

static const uint16_t sections_3_13[] = {
	24, 48, 152, 224, 272, 352, 368, 400, 424, 448, 472, 488, 512, 536, 568,
};

/* 3.14: Include/internal/pycore_debug_offsets.h, offsets as the DWARF of
 * Debian's 3.14.10 lays the struct out (760 bytes).  Over 3.13 it adds
 * the set and generator sections and the frame's stackpointer; its
 * llist_node and debugger_support parts carry no size and give no fact. */
static const struct pc_dbgoff_field fields_3_14[] = {
	{ "_PyRuntimeState.interpreters.head", 40, 24 },
	{ "PyInterpreterState.next", 64, 48 },
	{ "PyInterpreterState.threads.head|tstate_head", 72, 48 },
	{ "PyInterpreterState.gc", 88, 48 },
	{ "PyInterpreterState.modules|imports.modules", 96, 48 },
	{ "PyInterpreterState.sysdict", 104, 48 },
	{ "PyInterpreterState.builtins", 112, 48 },
	{ "PyThreadState.next", 192, 176 },
	{ "PyThreadState.current_frame", 208, 176 },
	{ "PyThreadState.thread_id", 216, 176 },
	{ "sizeof(_PyInterpreterFrame)", 248, 0 },
	{ "_PyInterpreterFrame.previous", 256, 248 },
	{ "_PyInterpreterFrame.f_code|f_executable", 264, 248 },
	{ "_PyInterpreterFrame.f_executable", 264, 248 },
	{ "_PyInterpreterFrame.prev_instr|instr_ptr", 272, 248 },
	{ "_PyInterpreterFrame.localsplus", 280, 248 },
	{ "_PyInterpreterFrame.owner", 288, 248 },
	{ "_PyInterpreterFrame.stackpointer", 296, 248 },
	{ "PyCodeObject.co_filename", 320, 312 },
	{ "PyCodeObject.co_name", 328, 312 },
	{ "PyCodeObject.co_qualname", 336, 312 },
	{ "PyCodeObject.co_linetable", 344, 312 },
	{ "PyCodeObject.co_firstlineno", 352, 312 },
	{ "PyCodeObject.co_localsplusnames", 368, 312 },
	{ "PyCodeObject.co_localspluskinds", 376, 312 },
	{ "PyCodeObject.co_code_adaptive", 384, 312 },
	{ "sizeof(PyObject)", 400, 0 },
	{ "PyObject.ob_type", 408, 400 },
	{ "sizeof(PyTypeObject)", 416, 0 },
	{ "PyTypeObject.tp_name", 424, 416 },
	{ "PyTypeObject.tp_flags", 440, 416 },
	{ "PyTupleObject.ob_item", 456, 448 },
	{ "PyVarObject.ob_size", 464, 448 },
	{ "PyListObject.ob_item", 480, 472 },
	{ "PySetObject.table", 512, 496 },
	{ "PySetObject.mask", 520, 496 },
	{ "sizeof(PyDictObject)", 528, 0 },
	{ "PyDictObject.ma_keys", 536, 528 },
	{ "PyDictObject.ma_values", 544, 528 },
	{ "PyLongObject.long_value.lv_tag", 576, 568 },
	{ "PyLongObject.long_value.ob_digit|ob_digit", 584, 568 },
	{ "PyBytesObject.ob_sval", 608, 592 },
	{ "sizeof(PyUnicodeObject)", 616, 0 },
	{ "PyASCIIObject.length", 632, 616 },
	{ "sizeof(PyASCIIObject)", 640, 0 },
	{ "_gc_runtime_state.collecting", 656, 648 },
	{ "PyGenObject.gi_name", 672, 664 },
	{ "PyGenObject.gi_iframe", 680, 664 },
	{ "PyGenObject.gi_frame_state", 688, 664 },
};

static const uint16_t sections_3_14[] = {
	24, 48, 176, 248, 312, 400, 416, 448, 472, 496, 528, 552, 568, 592, 616, 648, 664,
};

/* 3.15: as 3.14 with a longer thread_state, a size-less err_stackitem
 * after it, tp_basicsize and tp_dictoffset, a heap_type_object section,
 * the compact str's size and more of the gc section; offsets as the DWARF
 * of Debian's 3.15.2 lays the struct out (888 bytes). */
static const struct pc_dbgoff_field fields_3_15[] = {
	{ "_PyRuntimeState.interpreters.head", 40, 24 },
	{ "PyInterpreterState.next", 64, 48 },
	{ "PyInterpreterState.threads.head|tstate_head", 72, 48 },
	{ "PyInterpreterState.gc", 88, 48 },
	{ "PyInterpreterState.modules|imports.modules", 96, 48 },
	{ "PyInterpreterState.sysdict", 104, 48 },
	{ "PyInterpreterState.builtins", 112, 48 },
	{ "PyThreadState.next", 192, 176 },
	{ "PyThreadState.current_frame", 208, 176 },
	{ "PyThreadState.thread_id", 240, 176 },
	{ "sizeof(_PyInterpreterFrame)", 312, 0 },
	{ "_PyInterpreterFrame.previous", 320, 312 },
	{ "_PyInterpreterFrame.f_code|f_executable", 328, 312 },
	{ "_PyInterpreterFrame.f_executable", 328, 312 },
	{ "_PyInterpreterFrame.prev_instr|instr_ptr", 336, 312 },
	{ "_PyInterpreterFrame.localsplus", 344, 312 },
	{ "_PyInterpreterFrame.owner", 352, 312 },
	{ "_PyInterpreterFrame.stackpointer", 360, 312 },
	{ "PyCodeObject.co_filename", 384, 376 },
	{ "PyCodeObject.co_name", 392, 376 },
	{ "PyCodeObject.co_qualname", 400, 376 },
	{ "PyCodeObject.co_linetable", 408, 376 },
	{ "PyCodeObject.co_firstlineno", 416, 376 },
	{ "PyCodeObject.co_localsplusnames", 432, 376 },
	{ "PyCodeObject.co_localspluskinds", 440, 376 },
	{ "PyCodeObject.co_code_adaptive", 448, 376 },
	{ "sizeof(PyObject)", 464, 0 },
	{ "PyObject.ob_type", 472, 464 },
	{ "sizeof(PyTypeObject)", 480, 0 },
	{ "PyTypeObject.tp_name", 488, 480 },
	{ "PyTypeObject.tp_flags", 504, 480 },
	{ "PyTypeObject.tp_basicsize", 512, 480 },
	{ "PyTypeObject.tp_dictoffset", 520, 480 },
	{ "sizeof(PyHeapTypeObject)", 528, 0 },
	{ "PyHeapTypeObject.ht_cached_keys", 536, 528 },
	{ "PyTupleObject.ob_item", 552, 544 },
	{ "PyVarObject.ob_size", 560, 544 },
	{ "PyListObject.ob_item", 576, 568 },
	{ "PySetObject.table", 608, 592 },
	{ "PySetObject.mask", 616, 592 },
	{ "sizeof(PyDictObject)", 624, 0 },
	{ "PyDictObject.ma_keys", 632, 624 },
	{ "PyDictObject.ma_values", 640, 624 },
	{ "PyLongObject.long_value.lv_tag", 672, 664 },
	{ "PyLongObject.long_value.ob_digit|ob_digit", 680, 664 },
	{ "PyBytesObject.ob_sval", 704, 688 },
	{ "sizeof(PyUnicodeObject)", 712, 0 },
	{ "PyASCIIObject.length", 728, 712 },
	{ "sizeof(PyASCIIObject)", 736, 0 },
	{ "sizeof(PyCompactUnicodeObject)", 744, 0 },
	{ "_gc_runtime_state.collecting", 760, 752 },
	{ "PyGenObject.gi_name", 800, 792 },
	{ "PyGenObject.gi_iframe", 808, 792 },
	{ "PyGenObject.gi_frame_state", 816, 792 },
};

static const uint16_t sections_3_15[] = {
	24, 48, 176, 312, 376, 464, 480, 528, 544, 568, 592, 624, 648, 664, 688, 712, 752, 792,
};

#define FORMAT(maj, min, size, f, s) \
	{ maj, min, size, f, sizeof(f) / sizeof(f[0]), s, sizeof(s) / sizeof(s[0]) }

static const struct pc_dbgoff_format formats[] = {
	FORMAT(3, 13, 584, fields_3_13, sections_3_13),
	FORMAT(3, 14, 760, fields_3_14, sections_3_14),
	FORMAT(3, 15, 888, fields_3_15, sections_3_15),
};

static const struct pc_dbgoff_format *format_of(int major, int minor)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].major == major && formats[i].minor == minor)
			return &formats[i];
	return NULL;
}

bool pc_debug_offsets_known(int major, int minor)
{
	return format_of(major, minor) != NULL;
}

static uint64_t u64_at(const struct pc_debug_offsets *d, size_t at)
{
	uint64_t v;
	memcpy(&v, d->raw + at, 8);
	return v;
}

/* The header every record starts with: cookie, version, free_threaded. */
#define HDR_FREE_THREADED 16

struct pc_error *pc_debug_offsets_flavour(struct pc_mem *mem, uint64_t runtime, int major, int minor)
{
	unsigned char h[HDR_FREE_THREADED + 8];
	uint64_t ft;
	if (!runtime || !pc_mem_read(mem, runtime, h, sizeof(h)) || memcmp(h, "xdebugpy", 8))
		return NULL;
	memcpy(&ft, h + HDR_FREE_THREADED, 8);
	if (!ft)
		return NULL;
	return pc_error_new(PC_EXIT_NOTPY,
		"Python %d.%d is a free-threaded build (_Py_DebugOffsets.free_threaded); pycensus reads the default build only",
		major, minor);
}

/* A section larger than this is not a CPython struct: a wrong record. */
#define SECTION_MAX (1u << 20)

struct pc_error *pc_debug_offsets_read(struct pc_mem *mem, uint64_t runtime, int major, int minor,
				       struct pc_debug_offsets *out)
{
	memset(out, 0, sizeof(*out));
	const struct pc_dbgoff_format *f = format_of(major, minor);
	if (!f)
		return pc_error_new(PC_EXIT_NODEBUG, "pycensus does not know _Py_DebugOffsets of Python %d.%d",
				    major, minor);
	if (!pc_mem_read(mem, runtime, out->raw, f->size))
		return pc_error_new(PC_EXIT_NOTPY, "cannot read _Py_DebugOffsets at %#llx",
				    (unsigned long long)runtime);
	/* A libpython mapped but never initialised (ctypes loading a second
	 * copy) has the section's file bytes too; the cookie and version are
	 * static data, so they are checked against the version found
	 * elsewhere (Py_Version, the file name) and the runtime's own
	 * interpreter list is checked by the cross-check later. */
	if (memcmp(out->raw, "xdebugpy", 8))
		return pc_error_new(PC_EXIT_NOTPY, "_PyRuntime at %#llx does not start with the _Py_DebugOffsets cookie",
				    (unsigned long long)runtime);
	out->version = u64_at(out, 8);
	int vmaj = (int)(out->version >> 24), vmin = (int)((out->version >> 16) & 0xff);
	if (vmaj != major || vmin != minor)
		return pc_error_new(PC_EXIT_NOTPY,
			"_Py_DebugOffsets says Python %d.%d (%#llx) but the binary says %d.%d; refusing", vmaj, vmin,
			(unsigned long long)out->version, major, minor);
	struct pc_error *ft = pc_debug_offsets_flavour(mem, runtime, major, minor);
	if (ft)
		return ft;
	for (size_t i = 0; i < f->nsections; i++) {
		uint64_t size = u64_at(out, f->sections[i]);
		if (!size || size > SECTION_MAX)
			return pc_error_new(PC_EXIT_NOTPY,
				"_Py_DebugOffsets of Python %d.%d: a struct size (record offset %u) is %llu; refusing",
				major, minor, f->sections[i], (unsigned long long)size);
	}
	for (size_t i = 0; i < f->nfields; i++) {
		const struct pc_dbgoff_field *x = &f->fields[i];
		if (x->section && u64_at(out, x->at) >= u64_at(out, x->section))
			return pc_error_new(PC_EXIT_NOTPY,
				"_Py_DebugOffsets of Python %d.%d: %s = %llu lies outside its struct (%llu bytes); refusing",
				major, minor, x->key, (unsigned long long)u64_at(out, x->at),
				(unsigned long long)u64_at(out, x->section));
	}
	out->format = f;
	return NULL;
}

static enum pc_fact_state record_fact(void *ctx, const char *key, int64_t *value)
{
	const struct pc_debug_offsets *d = ctx;
	*value = -1;
	size_t n = strlen(key);
	if (!strncmp(key, "struct(", 7) && n > 8) {
		char type[PC_FACT_KEY], t[PC_FACT_KEY];
		snprintf(type, sizeof(type), "%.*s", (int)(n - 8), key + 7);
		for (size_t i = 0; i < d->format->nfields; i++)
			if (pc_layout_key_struct(d->format->fields[i].key, t, sizeof(t)) && !strcmp(t, type)) {
				*value = 1;
				return PC_FACT_VALUE;
			}
		return PC_FACT_UNKNOWN;
	}
	for (size_t i = 0; i < d->format->nfields; i++)
		if (!strcmp(d->format->fields[i].key, key)) {
			*value = (int64_t)u64_at(d, d->format->fields[i].at);
			return PC_FACT_VALUE;
		}
	return PC_FACT_UNKNOWN;
}

struct pc_layout_source pc_debug_offsets_source(struct pc_debug_offsets *d)
{
	return (struct pc_layout_source){ .name = "debug_offsets", .fact = record_fact, .ctx = d };
}

/* --- the cross-check ----------------------------------------------------- */

static bool read_cstr(struct pc_mem *mem, uint64_t addr, char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!pc_mem_read(mem, addr + i, buf + i, 1))
			return false;
		if (!buf[i])
			return true;
	}
	buf[len - 1] = 0;
	return true;
}

/* Generation 0's head, and whether its first object links back to it.
 * The target runs while this is read, so a link may be in flux: a few
 * tries before calling it a mismatch. */
static bool gc_links_back(const struct pc_layout *L, struct pc_mem *mem, uint64_t runtime,
			  const struct pc_check_types *types)
{
	for (int tries = 0; tries < 3; tries++) {
		const struct pc_gc_anchor *at = &L->gc.list[0].at;
		uint64_t base = runtime, head, next, prev;
		if (at->base == PC_GC_STATIC)
			base = at->symbol >= 0 && at->symbol < PC_GC_SYMBOLS ? types->gc_symbol[at->symbol] : 0;
		if (at->base == PC_GC_INTERP && !pc_mem_u64(mem, runtime + (uint64_t)L->rt_interp_head, &base))
			continue;
		head = base + (uint64_t)at->off;
		if (!pc_mem_u64(mem, head + (uint64_t)L->gc_next, &next))
			continue;
		next &= L->gc_next_mask;
		if (next == head)
			return true;
		if (pc_mem_u64(mem, next + (uint64_t)L->gc_prev, &prev) && (prev & L->gc_prev_mask) == head)
			return true;
		pc_mem_reset(mem);
	}
	return false;
}

struct pc_error *pc_layout_crosscheck(const struct pc_layout *L, struct pc_mem *mem, uint64_t runtime,
				      const struct pc_check_types *types, const char *build)
{
	uint64_t meta;
	if (!pc_mem_u64(mem, types->type + (uint64_t)L->ob_type, &meta) || meta != types->type)
		return pc_error_new(PC_EXIT_NOTPY,
			"the layout from %s does not fit this process: PyType_Type is not its own type (ob_type at %lld)",
			build, (long long)L->ob_type);
	struct {
		uint64_t addr;
		const char *name;
		int64_t basicsize;
	} want[] = {
		/* (2.7's int model has long beside int, its str model unicode beside str) */
		{ types->integer, L->int_model == PC_INT_FIXED_AND_LONG ? "long" : "int", L->long_digits },
		{ types->str, L->str_model == PC_STR_BYTES_UNICODE ? "unicode" : "str", L->unicode_size },
		{ types->dict, "dict", L->dict_size },
		{ types->tuple, "tuple", L->tuple_item },
		{ types->type, "type", L->heaptype_size },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t basic = 0, name = 0;
		char got[32] = "";
		if (!want[i].addr || !pc_mem_u64(mem, want[i].addr + (uint64_t)L->tp_basicsize, &basic) ||
		    !pc_mem_u64(mem, want[i].addr + (uint64_t)L->tp_name, &name) ||
		    !read_cstr(mem, name, got, sizeof(got)))
			return pc_error_new(PC_EXIT_NOTPY,
				"the layout from %s does not fit this process: cannot read the %s type object",
				build, want[i].name);
		if (strcmp(got, want[i].name))
			return pc_error_new(PC_EXIT_NOTPY,
				"the layout from %s does not fit this process: tp_name of %s reads \"%s\"", build,
				want[i].name, got);
		if ((int64_t)basic != want[i].basicsize)
			return pc_error_new(PC_EXIT_NOTPY,
				"the layout from %s does not fit this process: tp_basicsize of %s is %llu, the layout says %lld",
				build, want[i].name, (unsigned long long)basic, (long long)want[i].basicsize);
	}
	/* A libpython mapped twice (ctypes loading a second copy) has a
	 * _PyRuntime with the record but no interpreter: not this process's. */
	uint64_t interp = 0;
	if (L->gc.list[0].at.base == PC_GC_INTERP &&
	    (!pc_mem_u64(mem, runtime + (uint64_t)L->rt_interp_head, &interp) || !interp))
		return pc_error_new(PC_EXIT_NOTPY,
			"the runtime at %#llx has no interpreter: an uninitialised copy of libpython (loaded by ctypes?), or the layout from %s does not fit",
			(unsigned long long)runtime, build);
	/* Facts deep in PyInterpreterState, where a build with other options
	 * (Py_DEBUG's reference totals) has its fields 16 bytes further on
	 * than the release build a table came from: each must hold a dict. */
	if (interp || pc_mem_u64(mem, runtime + (uint64_t)L->rt_interp_head, &interp)) {
		struct {
			int64_t off;
			const char *fact;
		} dicts[] = {
			{ L->is_interned, "cached_objects.interned_strings" },
			{ L->is_types_builtins >= 0 ? L->is_types_builtins + L->builtin_state_tp_dict : -1,
			  "types.builtins[0].tp_dict" },
		};
		for (size_t i = 0; interp && i < sizeof(dicts) / sizeof(dicts[0]); i++) {
			uint64_t d = 0, dt = 0;
			if (dicts[i].off < 0)
				continue;
			if (!pc_mem_u64(mem, interp + (uint64_t)dicts[i].off, &d) || !d ||
			    !pc_mem_u64(mem, d + (uint64_t)L->ob_type, &dt) || dt != types->dict)
				return pc_error_new(PC_EXIT_NOTPY,
					"the layout from %s does not fit this process: PyInterpreterState.%s (at %lld) does not hold a dict",
					build, dicts[i].fact, (long long)dicts[i].off);
		}
	}
	if (!gc_links_back(L, mem, runtime, types))
		return pc_error_new(PC_EXIT_NOTPY,
			"the layout from %s does not fit this process: generation 0's first object does not link back to it",
			build);
	return NULL;
}
