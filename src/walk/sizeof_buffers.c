#include <string.h>

#include "sizeof.h"
#include "sizeof_buffers.h"
#include "types.h"

/* numpy's PyArrayObject_fields and PyArray_Descr, _ctypes' per-class
 * part: facts of the layout (pc_layout.numpy, .stgdict, .stginfo; the
 * "abi" source where no DWARF describes them).  The flags and the most
 * dimensions are numpy's public constants. */
#define NPY_ARRAY_OWNDATA 0x4
#define NPY_MAXDIMS_ANY 64      /* 32 in numpy 1.x, 64 in 2.x */

/* Where PyArray_Descr keeps the element size, which numpy 2 moved, is told
 * apart by the size of numpy.dtype itself (its tp_basicsize), the base of
 * every dtype class, which differs between the two.  A dtype's own class
 * says nothing: numpy 2's legacy dtypes (Float64DType...) are 120 bytes,
 * StringDType 144, numpy 1's np.dtype[float64] 96.  A numpy.dtype of a
 * size the layout does not list is a numpy pycensus does not know: its
 * arrays' data is left out rather than guessed, and counted
 * (pc_numpy_unknown_dtypes). */
static uint64_t unknown_dtypes;

uint64_t pc_numpy_unknown_dtypes(void)
{
	return unknown_dtypes;
}

/* numpy.dtype among the bases of dtype class DT (itself, in numpy 1 for
 * dtypes made before np.dtype[...] classes, or a few levels up). */
static const struct pc_type *dtype_root(struct pc_py *py, const struct pc_type *dt)
{
	for (int depth = 0; dt && depth < 8; depth++) {
		if (dt->name && strcmp(dt->name, "numpy.dtype") == 0)
			return dt;
		dt = dt->base ? pc_type_get(py, dt->base) : NULL;
	}
	return NULL;
}

/* The element size of the dtype at DESCR, -1 if unknown or damaged. */
static int64_t descr_elsize(struct pc_py *py, uint64_t descr)
{
	struct pc_type *t = descr ? pc_type_of(py, descr) : NULL;
	const struct pc_type *dt = t ? dtype_root(py, t) : NULL;
	const struct pc_numpy_layout *np = &py->L->numpy;
	for (int i = 0; dt && i < np->ndescr; i++) {
		const struct pc_numpy_descr *a = &np->descr_abi[i];
		if (dt->basicsize != a->basicsize)
			continue;
		int64_t v = 0;
		if (!pc_mem_read(py->mem, descr + (uint64_t)a->elsize, &v, (size_t)a->width))
			return -1;
		if (a->width == 4)
			v = (int32_t)v;
		return v >= 0 && v < (1LL << 40) ? v : -1;
	}
	unknown_dtypes++;
	return -1;
}

/* numpy's array_sizeof: the type's basicsize, the shape and strides
 * (2 * nd npy_intp), and the data if the array owns it (OWNDATA):
 * elsize * product of the shape. */
static bool ndarray_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	const struct pc_numpy_layout *np = &py->L->numpy;
	*n = (uint64_t)t->basicsize;
	/* An ndarray type whose basicsize cannot hold the fields is not this
	 * layout; a layout with a field unknown sizes none. */
	if (np->data < 0 || np->nd < 0 || np->dimensions < 0 || np->descr < 0 || np->flags < 0 ||
	    np->fields_size <= 0 || t->basicsize < np->fields_size)
		return true;
	int32_t nd = 0, flags = 0;
	uint64_t dims, descr, data;
	if (!pc_mem_read(py->mem, addr + (uint64_t)np->nd, &nd, 4) ||
	    !pc_mem_read(py->mem, addr + (uint64_t)np->flags, &flags, 4) ||
	    !pc_u64(py, addr + (uint64_t)np->dimensions, &dims) || !pc_u64(py, addr + (uint64_t)np->descr, &descr) ||
	    !pc_u64(py, addr + (uint64_t)np->data, &data) || nd < 0 || nd > NPY_MAXDIMS_ANY || (nd && !dims))
		return false;
	*n += (uint64_t)nd * 16;
	if (!(flags & NPY_ARRAY_OWNDATA))
		return true;
	int64_t shape[NPY_MAXDIMS_ANY];
	if (nd && !pc_mem_read(py->mem, dims, shape, (size_t)nd * 8))
		return false;
	int64_t elsize = descr_elsize(py, descr);
	if (elsize < 0)
		return true;
	uint64_t bytes = (uint64_t)elsize;
	for (int i = 0; i < nd; i++)
		if (shape[i] < 0 || __builtin_mul_overflow(bytes, (uint64_t)shape[i], &bytes))
			return false;
	/* The data is in the target: no larger than the mapping holding it. */
	if (bytes && (!data || !pc_mem_fits(py->mem, data, bytes)))
		return false;
	return !__builtin_add_overflow(*n, bytes, n);
}

/* bytesio_sizeof: the object and, unless shared with a caller
 * (refcount > 1), its buffer, a bytes object, as sys.getsizeof sizes it.
 * bytesio: PyObject_HEAD, PyObject *buf (3.8-3.15). */
static bool bytesio_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	uint64_t buf, refcnt = 0, bn;
	*n = (uint64_t)t->basicsize;
	if (!py->L->decodes.bytesio_size)
		return true;
	if (!pc_u64(py, addr + (uint64_t)py->L->bytesio_buf, &buf))
		return false;
	if (!buf)
		return true;
	if (py->L->bytesio_model == PC_BYTESIO_CHARS) {
		/* 2.7: a plain buffer of buf_size bytes */
		int64_t size;
		if (!pc_i64(py, addr + (uint64_t)py->L->bytesio_buf_size, &size) || size < 0 || size > (1LL << 40))
			return false;
		*n += (uint64_t)size;
		return true;
	}
	struct pc_type *bt = pc_type_of(py, buf);
	if (!bt || !pc_mem_read(py->mem, buf, &refcnt, (size_t)py->L->refcnt_size))
		return false;
	if (refcnt > 1)
		return true;
	return pc_sizeof(py, buf, bt, &bn) && !__builtin_add_overflow(*n, bn, n);
}

/* numpy's gentype_sizeof: a scalar's basicsize plus its dtype's element
 * size, the layout's for the fixed-size scalar types.  Strings and voids
 * are flexible: their builtin base (str, bytes) sizes them, or their
 * basicsize. */
int64_t pc_numpy_scalar_size(const struct pc_layout *L, const char *name)
{
	if (strncmp(name, "numpy.", 6))
		return -1;
	for (int i = 0; i < L->numpy.nscalars; i++)
		if (!strcmp(name, L->numpy.scalar[i].name))
			return L->numpy.scalar[i].size;
	return -1;
}

/* ctypes keeps, per class, what its C code needs about the type (size,
 * ffi_type, PEP 3118 format and shape): up to 3.12 in the class's dict, a
 * dict subclass (StgDictObject), from 3.13 in the class object itself
 * (StgInfo, after the type's own struct, where PyObject_GetTypeData puts
 * it).  Their __sizeof__ (stgdict.c PyCStgDict_sizeof, _ctypes.c
 * CType_Type.__sizeof__) add the format string (strlen + 1), the shape
 * (ndim Py_ssize_t) and, when allocated, the ffi element pointers
 * (length + 1).
 *
 * _ctypes is an extension module, so libpython's DWARF has neither struct:
 * the layout's stgdict/stginfo facts are told apart by the size of the
 * struct, which the target gives: the StgDict type's basicsize less
 * dict's, or CType_Type's basicsize less type's (both aligned to 16:
 * PyType_FromMetaClass rounds up the base's basicsize and the StgInfo's
 * size).  A size not listed is a layout pycensus does not know: the extra
 * buffers are then left out rather than guessed. */

/* The layout whose struct fills SIZE bytes, its size rounded up to ALIGN
 * (a negative basicsize in a PyType_Spec is so rounded). */
static const struct pc_stg_layout *stg_abi(const struct pc_stg_layout *abis, int nabis, int64_t size,
					    int64_t align)
{
	for (int i = 0; i < nabis; i++)
		if (((abis[i].size + align - 1) & ~(align - 1)) == size)
			return &abis[i];
	return NULL;
}

/* The length of the C string at ADDR, read in aligned chunks (never across
 * a page), -1 if unreadable or longer than a format string can be here. */
static int64_t target_strlen(struct pc_py *py, uint64_t addr)
{
	enum { CHUNK = 64, MAX = 1 << 20 };
	char buf[CHUNK];
	uint64_t p = addr;
	while (p - addr < MAX) {
		uint64_t end = (p | (CHUNK - 1)) + 1;
		size_t len = (size_t)(end - p);
		if (!pc_mem_read(py->mem, p, buf, len))
			return -1;
		const char *z = memchr(buf, 0, len);
		if (z)
			return (int64_t)(p - addr) + (z - buf);
		p = end;
	}
	return -1;
}

/* What the ctypes part at BASE (an StgDict's start, or a class's StgInfo)
 * of layout A adds: format, shape, ffi elements. */
static bool stg_extra(struct pc_py *py, uint64_t base, const struct pc_stg_layout *a, uint64_t *n)
{
	uint64_t format, elements;
	int64_t length;
	int32_t ndim;
	if (!pc_u64(py, base + (uint64_t)a->format, &format) || !pc_u64(py, base + (uint64_t)a->elements, &elements) ||
	    !pc_i64(py, base + (uint64_t)a->length, &length) || !pc_mem_read(py->mem, base + (uint64_t)a->ndim, &ndim, 4) ||
	    ndim < 0 || ndim > 1 << 20 || (elements && (length < 0 || length > 1LL << 32)))
		return false;
	uint64_t add = (uint64_t)ndim * 8;
	if (format) {
		int64_t len = target_strlen(py, format);
		if (len < 0)
			return false;
		add += (uint64_t)len + 1;
	}
	if (elements)
		add += ((uint64_t)length + 1) * 8;
	return !__builtin_add_overflow(*n, add, n);
}

bool pc_sizeof_stgdict(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	struct pc_type *dict = t->base ? pc_type_get(py, t->base) : NULL;
	if (!dict)
		return true;
	/* A subclass of StgDict: the struct is its nearest static base's. */
	const struct pc_type *s = t;
	for (int depth = 0; s->flags & PC_TPFLAGS_HEAPTYPE; depth++) {
		if (depth >= 64)        /* a base cycle: damaged */
			return true;
		s = dict;
		dict = s->base ? pc_type_get(py, s->base) : NULL;
		if (!dict)
			return true;
	}
	const struct pc_stg_layout *a = stg_abi(py->L->stgdict, py->L->nstgdict, s->basicsize - dict->basicsize, 1);
	/* PyCStgDict_sizeof came in 3.7: without it a StgDict is a dict to
	 * sys.getsizeof.  Asked of the type, not of a version number. */
	if (!a || !s->dict || !pc_dict_get_str(py, s->dict, "__sizeof__"))
		return true;
	/* _PyDict_SizeOf counts the type's basicsize, which holds the ctypes
	 * part already; PyCStgDict_sizeof adds that part once more. */
	*n += (uint64_t)a->size;
	return stg_extra(py, addr + (uint64_t)dict->basicsize, a, n);
}

/* CType_Type.__sizeof__ (3.13+): the metatype's basicsize and items (not
 * type.__sizeof__'s cached keys), and what the StgInfo owns.  T is the
 * class's metatype; the StgInfo follows type's own struct, aligned as
 * PyObject_GetTypeData aligns it (max_align_t, 16 on x86-64). */
static bool ctype_size(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	int64_t nitems = 0;
	if (!pc_i64(py, addr + (uint64_t)py->L->ob_size, &nitems) || nitems < 0 || nitems > 1 << 20)
		return false;
	*n = (uint64_t)(t->basicsize + t->itemsize * nitems);
	/* CType_Type is the metatype or one of its bases; its base is type. */
	const struct pc_type *ct = t;
	for (int depth = 0; ct && strcmp(ct->name, "_ctypes.CType_Type"); depth++)
		ct = depth < 64 && ct->base ? pc_type_get(py, ct->base) : NULL;
	struct pc_type *tt = ct && ct->base ? pc_type_get(py, ct->base) : NULL;
	if (!tt)
		return true;
	int64_t off = (tt->basicsize + 15) & ~(int64_t)15;
	const struct pc_stg_layout *a = stg_abi(py->L->stginfo, py->L->nstginfo, ct->basicsize - off, 16);
	return !a || stg_extra(py, addr + (uint64_t)off, a, n);
}

bool pc_sizeof_buffer(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n)
{
	switch (t->sizer) {
	case SZ_NDARRAY:
		return ndarray_size(py, addr, t, n);
	case SZ_BYTESIO:
		return bytesio_size(py, addr, t, n);
	case SZ_NPSCALAR:
		*n = (uint64_t)(t->basicsize + t->sizer_bytes);
		return true;
	case SZ_CTYPE:
		return ctype_size(py, addr, t, n);
	default:
		*n = (uint64_t)t->basicsize;
		return true;
	}
}
