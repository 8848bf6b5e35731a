/* The head of the interpreters' list of a 2.7/3.6 without symbols:
 * pystate.c's static interp_head, found by what it points to. */
#ifndef PC_INTERP_HEAD_H
#define PC_INTERP_HEAD_H

#include "pyobj.h"

/* The address of interp_head in the writable data of the module mapped
 * at [LO, HI): the word pointing to a PyInterpreterState (modules, sysdict
 * and builtins dicts, a thread list; the dict type is PY's, else a static
 * type between PY->kinds_lo and kinds_hi) whose list of interpreters is the
 * longest.  HINT, if not 0, is where the exported accessor
 * PyInterpreterState_Head() reads it; it settles a tie (autoInterpreterState
 * points to the main interpreter too).  0 if none or a tie HINT does not
 * settle. */
uint64_t pc_find_interp_head(struct pc_py *py, uint64_t lo, uint64_t hi, uint64_t hint);

#endif
