/* sys.getsizeof() computed from outside: __sizeof__ of the builtin the type
 * derives from, plus the GC header and pre-header. */
#ifndef PC_SIZEOF_H
#define PC_SIZEOF_H

#include "pyobj.h"

/* Size of the object at ADDR whose type is T into *SIZE.  False, with *SIZE
 * 0, if the object is damaged: a field its size depends on is unreadable, or
 * holds a length or count that no object in the target's memory could have
 * (negative, or more than the mapping holding it, or than all the target
 * has mapped).  Callers count such an object as invalid. */
bool pc_sizeof(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *size);

/* *TOTAL += N, stopping at UINT64_MAX instead of wrapping; false if it
 * stopped. */
static inline bool pc_bytes_add(uint64_t *total, uint64_t n)
{
	if (__builtin_add_overflow(*total, n, total)) {
		*total = UINT64_MAX;
		return false;
	}
	return true;
}

/* pc_sizeof() added to *TOTAL with pc_bytes_add(); false if the object is
 * damaged. */
bool pc_sizeof_add(struct pc_py *py, uint64_t addr, const struct pc_type *t, uint64_t *total);

#endif
