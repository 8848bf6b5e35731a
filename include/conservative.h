/* Following what pycensus cannot decode: the words of a C object's memory
 * that are the addresses of live objects. */
#ifndef PC_CONSERVATIVE_H
#define PC_CONSERVATIVE_H

#include "pyobj.h"

/* Call FN(ARG, v) for each aligned word v in the LEN bytes at ADDR that is
 * the address of a live object (a valid type, a non-zero reference count)
 * other than a type object and other than SELF, the word at SKIP (if not
 * 0: a weak reference list, which no traverse visits) left out; the number
 * of such words.  LEN is cut to PC_CONSERVATIVE_MAX. */
#define PC_CONSERVATIVE_MAX 4096
size_t pc_conservative_scan(struct pc_py *py, uint64_t addr, uint64_t len, uint64_t self, uint64_t skip,
			    void (*fn)(void *arg, uint64_t obj), void *arg);

#endif
