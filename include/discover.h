/* Finding the interpreter in the target: its modules (libdwfl), the one that
 * holds _PyRuntime, its version, its symbols and its debug information. */
#ifndef PC_DISCOVER_H
#define PC_DISCOVER_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct pc_target {
	pid_t pid;
	Dwfl *dwfl;
	Dwfl_Module *mod;        /* the module holding _PyRuntime */
	const char *module_path; /* its file (as found; the file opened once its DWARF is) */
	const char *elf_path;    /* the file libdwfl opened for it */
	const char *debug_path;  /* where its DWARF came from */
	Dwarf *dwarf;            /* NULL: not looked for yet (pc_target_dwarf), or none */
	Dwarf_Addr bias;
	char build_id[81];
	int major, minor;        /* from Py_Version or the file name */
	int micro;               /* from Py_Version, -1 if unknown (< 3.11) */
	uint64_t runtime;        /* &_PyRuntime; 2.7/3.6: &interp_head */
	bool runtime_by_scan;    /* 2.7/3.6 without .symtab: runtime still 0, found
				  * from the layout (pc_find_interp_head) */
	uint64_t py_version_addr; /* &Py_Version, 0 if absent (< 3.11) */
};

/* Everything here works on a running target: nothing is stopped.
 * Discovery finds the module holding the runtime, its address, version and
 * build-id; it builds no layout and looks for no DWARF (the layout's
 * sources have their say later, with the target's memory open), so it
 * exits only when there is no CPython to read. */
struct pc_error *pc_discover(pid_t pid, struct pc_target *t);

/* T's DWARF, one of the layout's offset sources: false if there is none.
 * Found, it sets t->dwarf, t->debug_path and the load bias it implies, and
 * names the binary by the file opened (t->elf_path). */
bool pc_target_dwarf(struct pc_target *t);
void pc_target_fini(struct pc_target *t);

/* Exit 6 for T, which has no DWARF (t->dwarf NULL): WHY says why no other
 * offset source could stand in; the message says what to install. */
struct pc_error *pc_discover_nodebug(struct pc_target *t, const char *why);

/* The interpreter described by DEBUGFILE (an ELF with DWARF and symbols),
 * as if loaded at BIAS: for memory images. */
struct pc_error *pc_discover_offline(const char *debugfile, uint64_t bias, int major, int minor,
				     struct pc_target *t);

/* Where T's module is mapped, its .bss included (libdwfl's bounds end
 * with the file's last page). */
void pc_target_extent(struct pc_target *t, uint64_t *lo, uint64_t *hi);

/* The static a one-instruction exported accessor FUNC returns
 * (x86-64: `mov rax, [rip + disp]; ret`, maybe after endbr64), read from
 * the code mapped in MEM; 0 if FUNC is not that. */
struct pc_mem;
uint64_t pc_target_accessor_static(struct pc_target *t, struct pc_mem *mem, const char *func);

/* Look up N symbols in one pass over the symbol table; absent ones get 0. */
void pc_target_symbols(struct pc_target *t, const char *const *names, uint64_t *addrs, size_t n);

#endif
