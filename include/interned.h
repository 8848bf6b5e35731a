/* The interned-strings dict of a 3.8-3.11 interpreter without symbols: a
 * static variable of unicodeobject.c, found by its contents. */
#ifndef PC_INTERNED_H
#define PC_INTERNED_H

#include "pyobj.h"

/* The address of the variable that points to the interned dict (a dict of
 * str whose every key is its own value) in the writable data of the
 * module holding RUNTIME, or 0 if there is not exactly one. */
uint64_t pc_find_interned(struct pc_py *py, uint64_t runtime);

/* The same over the writable mappings inside [LO, HI). */
uint64_t pc_find_interned_in(struct pc_py *py, uint64_t lo, uint64_t hi);

#endif
