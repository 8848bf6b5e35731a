/* The "abi" offset source: facts of extension modules kept apart from the
 * interpreter, whose DWARF the interpreter's does not hold (lib-dynload's
 * array, _struct, _io in some builds; numpy; _ctypes), as their public
 * headers or their own DWARF lay them out.  Asked after the interpreter's
 * sources, so a DWARF that describes the struct answers first; each answer
 * is recorded with provenance "abi" (`info`'s layout.facts).  It knows
 * single facts, not whole structs: a fact of one of these structs that it
 * does not list stays unknown, and what needs it is off. */
#include <string.h>

#include "layout.h"

static const struct {
	const char *key;
	int64_t value;
} abi_facts[] = {
	/* array.array, arraymodule.c 3.8-3.15: arrayobject is
	 * PyObject_VAR_HEAD, ob_item, allocated, ob_descr; arraydescr is
	 * typecode, itemsize. */
	{ "arrayobject.allocated", 32 },
	{ "arrayobject.ob_descr", 40 },
	{ "arraydescr.itemsize", 4 },
	/* _struct.Struct: PyStructObject is PyObject_HEAD, s_size, s_len,
	 * s_codes; formatcode is fmtdef, offset, size, repeat. */
	{ "PyStructObject.s_codes", 32 },
	{ "sizeof(formatcode)", 32 },
	/* _io.BytesIO, 3.8-3.15: bytesio is PyObject_HEAD, buf. */
	{ "bytesio.buf", 16 },

	/* numpy's PyArrayObject_fields (numpy/ndarraytypes.h), unmoved from
	 * numpy 1.7 to 2.x: PyObject_HEAD, char *data, int nd, npy_intp
	 * *dimensions, npy_intp *strides, PyObject *base, PyArray_Descr
	 * *descr, int flags, PyObject *weakreflist. */
	{ "PyArrayObject_fields.data", 16 },
	{ "PyArrayObject_fields.nd", 24 },
	{ "PyArrayObject_fields.dimensions", 32 },
	{ "PyArrayObject_fields.descr", 56 },
	{ "PyArrayObject_fields.flags", 64 },
	{ "sizeof(PyArrayObject_fields)", 80 },
	/* PyArray_Descr, told apart by numpy.dtype's own basicsize (its
	 * sizeof).  numpy 1.x: PyObject_HEAD, typeobj, kind, type, byteorder,
	 * flags (chars), int type_num, int elsize, ... */
	{ "sizeof(PyArray_Descr_v1)", 96 },
	{ "PyArray_Descr_v1.elsize", 32 },
	{ "width(PyArray_Descr_v1.elsize)", 4 },
	/* numpy 2.x: PyObject_HEAD, typeobj, kind, type, byteorder,
	 * _former_flags, int type_num, npy_uint64 flags, npy_intp elsize, ...
	 * (seen: numpy 2.4.6, Debian sid, numpy.dtype.__basicsize__ 88) */
	{ "sizeof(PyArray_Descr_v2)", 88 },
	{ "PyArray_Descr_v2.elsize", 40 },
	{ "width(PyArray_Descr_v2.elsize)", 8 },
	/* numpy's fixed-size scalars: their element sizes, the C types of
	 * npy_common.h on LP64, the same in 1.x and 2.x (2.x names bool_
	 * "bool"). */
	{ "itemsize(numpy.bool_)", 1 }, { "itemsize(numpy.bool)", 1 },
	{ "itemsize(numpy.int8)", 1 }, { "itemsize(numpy.uint8)", 1 },
	{ "itemsize(numpy.int16)", 2 }, { "itemsize(numpy.uint16)", 2 },
	{ "itemsize(numpy.int32)", 4 }, { "itemsize(numpy.uint32)", 4 },
	{ "itemsize(numpy.int64)", 8 }, { "itemsize(numpy.uint64)", 8 },
	{ "itemsize(numpy.longlong)", 8 }, { "itemsize(numpy.ulonglong)", 8 },
	{ "itemsize(numpy.float16)", 2 }, { "itemsize(numpy.float32)", 4 },
	{ "itemsize(numpy.float64)", 8 }, { "itemsize(numpy.float128)", 16 },
	{ "itemsize(numpy.complex64)", 8 }, { "itemsize(numpy.complex128)", 16 },
	{ "itemsize(numpy.complex256)", 32 },
	{ "itemsize(numpy.datetime64)", 8 }, { "itemsize(numpy.timedelta64)", 8 },

	/* _ctypes' per-class part, from the DWARF of _ctypes.so (pyenv
	 * 3.8.18-3.13.0; Debian sid's python3.14/3.15-dbg), told apart by its
	 * size.  StgDictObject (3.8-3.12), after its PyDictObject: size,
	 * align, length, ffi_type (size, alignment, type, elements), proto,
	 * 3 funcs, argtypes, converters, restype, checker, flags, format,
	 * ndim, shape. */
	{ "sizeof(StgDictObject_38)", 144 },
	{ "StgDictObject_38.length", 16 },
	{ "StgDictObject_38.ffi_type_pointer.elements", 40 },
	{ "StgDictObject_38.format", 120 },
	{ "StgDictObject_38.ndim", 128 },
	/* StgInfo (3.13): initialized, size, align, length, ffi_type, proto,
	 * 3 funcs, argtypes, converters, restype, checker, module, flags,
	 * format, ndim, shape */
	{ "sizeof(StgInfo_313)", 160 },
	{ "StgInfo_313.length", 24 },
	{ "StgInfo_313.ffi_type_pointer.elements", 48 },
	{ "StgInfo_313.format", 136 },
	{ "StgInfo_313.ndim", 144 },
	/* 3.14 adds a field before format */
	{ "sizeof(StgInfo_314)", 168 },
	{ "StgInfo_314.length", 24 },
	{ "StgInfo_314.ffi_type_pointer.elements", 48 },
	{ "StgInfo_314.format", 144 },
	{ "StgInfo_314.ndim", 152 },
};

static enum pc_fact_state abi_fact(void *ctx, const char *key, int64_t *value)
{
	(void)ctx;
	*value = -1;
	for (size_t i = 0; i < sizeof(abi_facts) / sizeof(abi_facts[0]); i++)
		if (!strcmp(abi_facts[i].key, key)) {
			*value = abi_facts[i].value;
			return PC_FACT_VALUE;
		}
	return PC_FACT_UNKNOWN;   /* struct(T) too: single facts, not structs */
}

struct pc_layout_source pc_layout_abi_source(void)
{
	return (struct pc_layout_source){ .name = "abi", .fact = abi_fact, .aside = true };
}
