/* The builtin type objects (the kinds of pyobj.h) found from the running
 * interpreter when no symbol names them: a binary whose .dynsym hides them
 * or has none.  A kind's type object is the static type, in the
 * interpreter's own file, whose tp_name is the kind's (names are data:
 * include the 2.x object model's, chosen by the layout's int model).
 *
 * Eagerly, from what the runtime leads to: the main interpreter's builtins
 * dict (its type is dict, dict's type is type, its keys are str, its values
 * the builtin classes and functions) and its modules dict.  The kinds that
 * nothing there names (function, code, frame, generator...) are learnt the
 * first time the census meets their type (types.c asks pc_kind_by_name). */
#ifndef PC_BUILTIN_TYPES_H
#define PC_BUILTIN_TYPES_H

#include <stdint.h>

#include "pyobj.h"

/* Fill the kinds of PY->kind_type still 0 (and PY->set_dummy_type is
 * unset) from the runtime at RUNTIME; PY->kinds_lo/hi bound the
 * interpreter's file.  False if the type, dict and str types were not
 * all found: then nothing here can be trusted. */
bool pc_builtin_types_find(struct pc_py *py, uint64_t runtime);

/* The kind of the type object at TYPE if it is the static type, in the
 * interpreter's file, that a kind still unknown is named by; the kind is
 * then remembered in PY->kind_type.  PK_OTHER otherwise, or when
 * PY->kinds_hi is 0 (every kind came from a symbol). */
enum pc_kind pc_kind_by_name(struct pc_py *py, uint64_t type);

/* Whether KEY is the dummy key of sets (3.x: the one object of the static
 * type "<dummy key> type"; 2.7: a str "<dummy key>" never hashed), for a
 * build whose _PySet_Dummy (setobject.c's dummy) is unknown.  Found, it is
 * PY->set_dummy from then on. */
bool pc_is_set_dummy(struct pc_py *py, uint64_t key);

#endif
