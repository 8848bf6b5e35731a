/* sys.getsizeof() computed from outside: __sizeof__ of the builtin the type
 * derives from, plus the GC header and pre-header. */
#ifndef PC_SIZEOF_H
#define PC_SIZEOF_H

#include "pyobj.h"

/* Size of the object at ADDR whose type is T; 0 if it cannot be read. */
uint64_t pc_sizeof(struct pc_py *py, uint64_t addr, const struct pc_type *t);

#endif
