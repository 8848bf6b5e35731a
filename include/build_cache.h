/* What the processes running one interpreter build have in common, learnt
 * once and shared by their sessions: the layout table, the symbols the
 * census needs and the traverse rules (learnt from the DWARF, which is then
 * let go of).  `watch --children` over
 * N workers of one binary then holds one of each, not N.
 *
 * A build is known by its build-id, or, without one, by the file that holds
 * it (device, inode, size, mtime).  A new process is matched to a known
 * build from its memory map alone, reading no ELF or DWARF; per process
 * only the load bias differs (ASLR).  Extension modules need nothing per
 * process: their traverse functions are opaque in every process alike.
 * Builds are reference-counted, and the last session to let go of one
 * frees it, so worker churn does not grow pycensus. */
#ifndef PC_BUILD_CACHE_H
#define PC_BUILD_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "discover.h"
#include "dwarf_offsets.h"
#include "error.h"
#include "layout.h"
#include "pyobj.h"
#include "referents.h"

/* A file as mapped: which one it is, its name as discovery found it, and
 * its lowest mapping's address less the load bias (the same in every
 * process that maps it). */
struct pc_build_file {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	uint64_t base_off;
	char *path;
};

#define PC_BUILD_FILES 4

struct pc_build {
	/* As found in the first process: it owns the Dwfl, and the
	 * addresses here (symbols, runtime, rules) are in that process. */
	struct pc_target target;
	struct pc_dwarf_index *dwarf;
	bool from_dwarf;        /* learnt from DWARF (kept after the index is let go of) */
	/* Extension modules kept apart from the interpreter whose types the
	 * rules decode (2.7's lib-dynload _collections, _functools, _io,
	 * itertools, operator, _struct), loaded when the build was learnt:
	 * their DWARF. */
	struct pc_dwarf_index *ext_dwarf[PC_EXT_MODULES];
	Dwfl_Module *ext_mod[PC_EXT_MODULES];
	int next_ext;
	struct pc_layout layout;
	uint64_t kind_type[PK_NKINDS];
	uint64_t set_dummy;
	uint64_t lookdict;      /* <= 3.10: dk_lookup of general dicts */
	uint64_t interned;      /* <= 3.11: &interned (static dict pointer) */
	uint64_t gc_symbol[PC_GC_SYMBOLS];  /* the statics layout.gc names (2.7, 3.6) */
	/* No symbol named the builtin types: the interpreter file's
	 * addresses, where they were found by name (builtin_types.h) */
	uint64_t kinds_lo, kinds_hi;
	struct pc_rulebook *rules;
	/* The target's file names once its Dwfl is let go of (the build
	 * keeps no DWARF after learning it) */
	char *own_module_path, *own_debug_path;
	char table_from[400];   /* the layout table used and its build, "" for none */
	bool check;             /* a table: cross-check it against the target */
	bool named;             /* a symbol table names its functions (traverse rules) */

	struct pc_build_file files[PC_BUILD_FILES];  /* files seen holding it */
	int nfiles;
	unsigned serial;        /* 1, 2, ... in the order builds were learnt */
	unsigned refs;          /* sessions using it */
	struct pc_build *next;
};

/* A known build that process PID maps, from /proc/PID/maps alone: a new
 * reference, PID's load bias in *BIAS and the file's name in *PATH (owned
 * by the build).  NULL if none matches (or in doubt): then discover the
 * process and call pc_build_get. */
struct pc_build *pc_build_find(pid_t pid, uint64_t *bias, const char **path);

/* The build of T, a discovered target: a known one with the same build-id
 * or file, or else one learnt now from T's DWARF, which takes T's Dwfl.
 * Either way T is finished with.  *BIAS gets T's load bias, *FRESH whether
 * the build was learnt now.  SHARE false: a private build (memory images). */
struct pc_error *pc_build_get(struct pc_target *t, bool share, struct pc_build **out, uint64_t *bias,
			      bool *fresh);

/* Drop one reference; the last frees the build. */
void pc_build_release(struct pc_build *b);

#endif
