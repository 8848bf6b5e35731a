/* What each type's objects refer to, decided as gc.get_referents() decides
 * it: by the type's tp_traverse function.  Each traverse function CPython
 * defines for a builtin type is matched (by file and name in the DWARF,
 * else by the type that sets it: traverse_names.h) to a rule that decodes the same references from target memory.  A GC type
 * whose traverse has no rule is opaque: counted, never followed.
 *
 * References gc.get_referents() does not report but that keep memory alive
 * all the same (keys of str-keyed dicts, the contents of code objects and
 * of static types) are reported as "hidden" edges, so the walker can count
 * what they reach separately. */
#ifndef PC_REFERENTS_H
#define PC_REFERENTS_H

#include <elfutils/libdwfl.h>

#include "dwarf_offsets.h"
#include "pyobj.h"

enum pc_rule_kind {
	RULE_LEAF = 0,   /* not a GC type: no referents */
	RULE_OPAQUE,     /* a traverse pycensus does not know */
	RULE_SUBTYPE,    /* instances of classes: slots, __dict__, type, base */
	RULE_FIELDS,     /* only the rule's PyObject * fields */
	RULE_TUPLE, RULE_LIST, RULE_DICT, RULE_SET, RULE_TYPE,
	RULE_FRAME, RULE_GEN, RULE_LRU, RULE_DEQUE, RULE_ODICT,
	RULE_MODULE, RULE_STRUCTSEQ,
	RULE_INSTANCE,   /* 2.7's old-style instance: its class and __dict__ */
};

#define PC_RULE_MAX_FIELDS 16

struct pc_rule {
	const char *name;      /* the traverse function, for messages */
	enum pc_rule_kind kind;
	bool usable;           /* this build's DWARF has what the rule reads */
	int nfields;
	int64_t fields[PC_RULE_MAX_FIELDS];  /* PyObject * members visited first */
	const char *field_names[PC_RULE_MAX_FIELDS];  /* their C names (layout's) */
	/* Bit i: this build's traverse does not visit fields[i] (it did not
	 * yet), a hidden reference. */
	uint32_t hidden;
};

/* The rules of one interpreter build, shared by every process running it;
 * it also remembers which rule each traverse function met so far maps to. */
struct pc_rulebook;

/* L is the build's layout table (offsets shared with sizing); MOD is the
 * interpreter module: its symbols (and line tables, where two functions
 * share a name) name the traverse function a type points to, all read
 * here, so MOD and its DWARF may be let go of after.  MAJOR.MINOR.MICRO
 * is the build's version (MICRO -1: unknown): a traverse may visit more
 * in a later patch release. */
struct pc_error *pc_rulebook_create(const struct pc_layout *L, Dwfl_Module *mod, int major, int minor,
				    int micro, struct pc_rulebook **out);
void pc_rulebook_destroy(struct pc_rulebook *book);
/* Traverse functions of MOD too (read now, as above): an extension module
 * the build keeps apart (lib-dynload), at its addresses in the build's
 * first process. */
void pc_rulebook_add_module(struct pc_rulebook *book, Dwfl_Module *mod);
#define PC_EXT_MODULES 8

/* BOOK as seen from one process: DELTA is that process's load bias minus
 * the bias of the process MOD was found in (ASLR). */
struct pc_referents;
struct pc_error *pc_referents_create(struct pc_rulebook *book, uint64_t delta, struct pc_referents **out);
void pc_referents_destroy(struct pc_referents *R);

/* The rule for objects of type T (cached in T). */
const struct pc_rule *pc_rule_for(struct pc_py *py, const struct pc_referents *R, struct pc_type *t);

/* Called for each reference; HIDDEN marks one gc.get_referents() omits. */
typedef void (*pc_ref_fn)(void *arg, uint64_t ref, bool hidden);

/* Report the references of OBJ (of type T).  Returns 0, or these bits:
 * PC_REF_OPAQUE if part of it is beyond pycensus (its type is opaque),
 * PC_REF_DAMAGED if its memory is inconsistent (a list longer than its
 * allocation, an unreadable table): the object is still counted. */
#define PC_REF_OPAQUE 1
#define PC_REF_DAMAGED 2
int pc_referents(struct pc_py *py, const struct pc_referents *R, uint64_t obj,
		 struct pc_type *t, pc_ref_fn fn, void *arg);

/* What a reference is to its holder, for `why` paths: set by the rule
 * that reports it.  A is an address (the dict key, the shared-keys
 * table, the PyMemberDef), I an index or a field offset. */
enum pc_edge {
	PC_EDGE_OTHER = 0,
	PC_EDGE_INDEX,       /* I: tuple/list/deque item, frame local slot */
	PC_EDGE_DICT_VALUE,  /* A: its key */
	PC_EDGE_DICT_KEY,
	PC_EDGE_SET,
	PC_EDGE_ATTR,        /* A: shared keys table, I: entry (inline values) */
	PC_EDGE_SLOT,        /* A: the PyMemberDef of the slot */
	PC_EDGE_DICT,        /* an instance's __dict__ */
	PC_EDGE_CLASS,       /* an instance's type */
	PC_EDGE_FIELD,       /* I: offset of a C member, A: its C name (a char *) or 0 */
	PC_EDGE_LRU_KEY, PC_EDGE_LRU_VALUE,
	PC_EDGE_STACK,       /* a <= 3.10 frame's value stack */
	PC_EDGE_OPAQUE,      /* A: the holder's type; a word a conservative scan took */
};
struct pc_edge_label {
	enum pc_edge kind;
	uint64_t a;
	int64_t i;
};
typedef void (*pc_label_fn)(void *arg, uint64_t ref, bool hidden, const struct pc_edge_label *l);

/* pc_referents(), each reference with its label. */
int pc_referents_labelled(struct pc_py *py, const struct pc_referents *R, uint64_t obj,
			  struct pc_type *t, pc_label_fn fn, void *arg);

/* The references of a 3.11+ interpreter frame (a thread's running frames
 * are not objects), all reported as hidden.  RUNNING: the frame executing
 * when the target stopped, whose stack pointer is not in memory. */
void pc_referents_iframe(struct pc_py *py, const struct pc_referents *R, uint64_t frame,
			 pc_ref_fn fn, void *arg, bool running);

void pc_referents_iframe_labelled(struct pc_py *py, const struct pc_referents *R, uint64_t frame,
				  pc_label_fn fn, void *arg, bool running);

#endif
