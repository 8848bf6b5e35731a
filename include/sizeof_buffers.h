/* sys.getsizeof of objects whose __sizeof__ adds a C buffer they own and
 * whose layout is not CPython's own: numpy arrays (numpy's public ABI)
 * io.BytesIO, ctypes' StgDict (3.8-3.12) and ctypes classes (3.13+, whose
 * metatypes carry StgInfo).  (io.StringIO has no __sizeof__: sys.getsizeof leaves
 * its buffer out, and so does pycensus.) */
#ifndef PC_SIZEOF_BUFFERS_H
#define PC_SIZEOF_BUFFERS_H

#include "pyobj.h"

/* __sizeof__ of the object at ADDR of type T, whose sizer is one of
 * SZ_NDARRAY, SZ_BYTESIO, SZ_NPSCALAR or SZ_CTYPE, into *N (the GC header not included).  False if the object is damaged, or (numpy) its dtype's
 * layout is none pycensus knows: then *N is the fixed part only. */
bool pc_sizeof_buffer(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n);

/* How many numpy arrays had their data left out because numpy.dtype's
 * layout (its basicsize) is none pycensus knows, in this process so far:
 * the census says so in a warning. */
uint64_t pc_numpy_unknown_dtypes(void);

/* The value size numpy's scalar type NAME (its tp_name) adds to its
 * basicsize in sys.getsizeof, -1 if NAME is none of numpy's fixed-size
 * scalar types. */
int64_t pc_numpy_scalar_size(const struct pc_layout *L, const char *name);

/* What ctypes' StgDict at ADDR, of type T (SZ_STGDICT), adds to the dict
 * size *N: its C fields and the buffers they own.  False if damaged; a
 * StgDict of a layout pycensus does not know adds nothing. */
bool pc_sizeof_stgdict(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n);

#endif
