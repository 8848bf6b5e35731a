/* Offsets without DWARF: the _Py_DebugOffsets record CPython 3.13+ keeps
 * at the start of _PyRuntime, read from target memory and validated; the
 * layout tables compiled in from layout/X.Y.json (scripts/gen-layout-table)
 * for what it does not give; and the cross-check that a layout built from
 * them fits the target before any census trusts it. */
#ifndef PC_DEBUG_OFFSETS_H
#define PC_DEBUG_OFFSETS_H

#include <stdint.h>

#include "error.h"
#include "layout.h"
#include "mem.h"

/* The record as read: its bytes, and which layout of it they follow. */
struct pc_debug_offsets {
	unsigned char raw[1024];
	const struct pc_dbgoff_format *format;
	uint64_t version;      /* PY_VERSION_HEX it carries */
};

/* Read and validate the record at RUNTIME (&_PyRuntime) in MEM: the
 * "xdebugpy" cookie, a version of MAJOR.MINOR, the default (not
 * free-threaded) build, every section size non-zero and under 1 MiB and
 * every offset inside its section.  Exit 4 naming what did not fit. */
struct pc_error *pc_debug_offsets_read(struct pc_mem *mem, uint64_t runtime, int major, int minor,
				       struct pc_debug_offsets *out);

/* The record's header, the same in every version that has one (3.13+):
 * if RUNTIME starts with the cookie and the record says the build is
 * free-threaded, exit 4 saying so; NULL otherwise (no cookie: nothing to
 * say).  Asked before any table is trusted: a free-threaded build's
 * layout is none pycensus reads, whatever its version's record looks like. */
struct pc_error *pc_debug_offsets_flavour(struct pc_mem *mem, uint64_t runtime, int major, int minor);

/* Whether this pycensus knows the record's layout for MAJOR.MINOR. */
bool pc_debug_offsets_known(int major, int minor);

/* The source over a validated record; D must outlive it. */
struct pc_layout_source pc_debug_offsets_source(struct pc_debug_offsets *d);

/* The table compiled in for MAJOR.MINOR (of the patch releases tables
 * exist for, the newest not after MICRO, else the oldest; MICRO -1:
 * unknown), as a source named "table"; *BUILD says which table and the
 * build it was generated from.  A table whose "first_patch" is after
 * MICRO (or MICRO unknown) does not describe the target (3.14.0-3.14.4's
 * incremental GC heads) and is never taken.  False if none: WHY (CAP
 * bytes) then says why, after a comma, for an error message. */
bool pc_builtin_table_source(int major, int minor, int micro, struct pc_layout_source *out, const char **build,
			     char *why, size_t cap);
void pc_builtin_table_free(struct pc_layout_source *src);

/* The types the cross-check reads, by their addresses in the target. */
struct pc_check_types {
	uint64_t type, integer, str, dict, tuple;
	uint64_t gc_symbol[PC_GC_SYMBOLS];  /* the statics L->gc names (2.7, 3.6) */
};

/* Check L against the running target before trusting it: PyType_Type is
 * its own type; int, str, dict, tuple and type have the tp_basicsize and
 * tp_name L implies; the first links of generation 0 point back.  BUILD
 * names the layout's origin in the message (exit 4). */
struct pc_error *pc_layout_crosscheck(const struct pc_layout *L, struct pc_mem *mem, uint64_t runtime,
				      const struct pc_check_types *types, const char *build);

#endif
