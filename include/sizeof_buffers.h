/* sys.getsizeof of objects whose __sizeof__ adds a C buffer they own and
 * whose layout is not CPython's own: numpy arrays (numpy's public ABI)
 * and io.BytesIO.  (io.StringIO has no __sizeof__: sys.getsizeof leaves
 * its buffer out, and so does pycensus.) */
#ifndef PC_SIZEOF_BUFFERS_H
#define PC_SIZEOF_BUFFERS_H

#include "pyobj.h"

/* __sizeof__ of the object at ADDR of type T, whose sizer is one of
 * SZ_NDARRAY, SZ_BYTESIO or SZ_NPSCALAR, into *N (the GC header not included).  False if the object is damaged, or (numpy) its dtype's
 * layout is none pycensus knows: then *N is the fixed part only. */
bool pc_sizeof_buffer(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *n);

/* The value size numpy's scalar type NAME (its tp_name) adds to its
 * basicsize in sys.getsizeof, -1 if NAME is none of numpy's fixed-size
 * scalar types. */
int64_t pc_numpy_scalar_size(const char *name);

#endif
