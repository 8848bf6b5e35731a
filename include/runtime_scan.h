/* Finding _PyRuntime by its _Py_DebugOffsets cookie (3.13+) when neither
 * the .dynsym symbol nor the .PyRuntime section names it, and telling an
 * initialised runtime from the static image of a second libpython that
 * ctypes (dlopen) mapped but never ran. */
#ifndef PC_RUNTIME_SCAN_H
#define PC_RUNTIME_SCAN_H

#include <stdint.h>

#include "mem.h"

/* 1 if RT starts a plausible _Py_DebugOffsets record (cookie "xdebugpy", a
 * 3.13+ version, a free_threaded flag of 0 or 1, the runtime's size in
 * bounds and its interpreter list inside it) whose runtime has a main
 * interpreter; 0 if the record is there but the runtime is not
 * initialised (or the record is not plausible); -1 if there is no cookie
 * (before 3.13: nothing to tell by).  *VERSION: the record's
 * PY_VERSION_HEX. */
int pc_runtime_initialised(struct pc_mem *mem, uint64_t rt, uint64_t *version);

/* Scan the writable mappings inside [LO, HI) (one module: its .data, and
 * the .bss after it) for initialised records; up to MAX addresses into RT.
 * Returns how many were found. */
int pc_runtime_scan(struct pc_mem *mem, uint64_t lo, uint64_t hi, uint64_t *rt, int max);

#endif
