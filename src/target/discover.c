#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "discover.h"
#include "mem.h"
#include "procfs_root.h"
#include "runtime_scan.h"

static char *debuginfo_path;

/* Seconds libdebuginfod waits for a server to start answering. */
#define PC_DEBUGINFOD_TIMEOUT "10"

/* The process whose modules libdwfl is finding: its callbacks carry no
 * context, and pycensus discovers one process at a time. */
static pid_t finding_pid;

/* The target's files as the target sees them (its root may be a
 * container's), or its mappings when they were deleted or replaced. */
static int find_elf(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr base, char **file_name,
		    Elf **elfp)
{
	if (name[0] != '/' || finding_pid <= 0)
		return dwfl_linux_proc_find_elf(mod, ud, name, base, file_name, elfp);
	*elfp = NULL;
	return pc_proc_open_mapped(finding_pid, name, base, file_name);
}

/* An ELF file at PATH whose build-id is BITS (any, if LEN is 0). */
static int open_debug_file(const char *path, const unsigned char *bits, int len, char **opened)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	bool ok = len <= 0;
	Elf *elf = ok ? NULL : elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf) {
		const void *id;
		ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
		ok = n == len && !memcmp(id, bits, (size_t)len);
		elf_end(elf);
	}
	if (ok && (*opened = strdup(path)))
		return fd;
	close(fd);
	return -1;
}

/* The debug file installed inside the target's root (a container's -dbg
 * package): by build-id, then by debuglink next to the file and under
 * /usr/lib/debug, as gdb and libdwfl look on the host. */
static int find_in_target_root(Dwfl_Module *mod, pid_t pid, const char *name, const char *debuglink,
			       char **found)
{
	char path[4400];
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &bits, &vaddr);
	if (len > 0) {
		int k = snprintf(path, sizeof(path), "/proc/%d/root/usr/lib/debug/.build-id/%02x/", (int)pid, bits[0]);
		for (int i = 1; i < len && k < (int)sizeof(path) - 8; i++)
			k += snprintf(path + k, sizeof(path) - (size_t)k, "%02x", bits[i]);
		snprintf(path + k, sizeof(path) - (size_t)k, ".debug");
		int fd = open_debug_file(path, bits, len, found);
		if (fd >= 0)
			return fd;
	}
	if (!debuglink || name[0] != '/' || strchr(debuglink, '/'))
		return -1;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", name);
	char *slash = strrchr(dir, '/');
	*slash = 0;
	static const char *const layouts[] = {"/proc/%d/root/usr/lib/debug%s/%s", "/proc/%d/root%s/.debug/%s",
					      "/proc/%d/root%s/%s"};
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		snprintf(path, sizeof(path), layouts[i], (int)pid, dir, debuglink);
		/* Without a build-id to check, a debuglink name is all there is:
		 * libdwfl's standard search trusts it the same way. */
		int fd = open_debug_file(path, bits, len, found);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

#define MISSES 16
#define MISS_SECONDS 60

/* Whether the build-id BITS missed its debug file in the last
 * MISS_SECONDS; with RECORD, remember that it just did. */
static bool recent_miss(const unsigned char *bits, int len, bool record)
{
	static struct { unsigned char id[40]; int len; time_t when; } miss[MISSES];
	static unsigned next;
	time_t now = time(NULL);
	if (len > 40)
		len = 40;
	if (record) {
		memcpy(miss[next % MISSES].id, bits, (size_t)len);
		miss[next % MISSES].len = len;
		miss[next % MISSES].when = now;
		next++;
		return true;
	}
	for (int i = 0; i < MISSES; i++)
		if (miss[i].len == len && !memcmp(miss[i].id, bits, (size_t)len) && now - miss[i].when < MISS_SECONDS)
			return true;
	return false;
}

/* Debug files inside the target's root first (local, and the build the
 * container runs), then libdwfl's standard search: the host's
 * /usr/lib/debug, and debuginfod by build-id when DEBUGINFOD_URLS is set. */
static int find_debuginfo(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr base, const char *file_name,
			  const char *debuglink, GElf_Word crc, char **debuginfo_file_name)
{
	pid_t pid = pc_proc_path_pid(file_name);
	if (pid > 0 && !pc_proc_same_root(pid)) {
		int fd = find_in_target_root(mod, pid, name, debuglink, debuginfo_file_name);
		if (fd >= 0)
			return fd;
	}
	/* libdwfl asks again for a module whose debug file it did not get
	 * (its symbol table, then its DWARF): a miss is remembered for a
	 * while, so that a debuginfod server that does not answer costs one
	 * timeout, not one per question. */
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &bits, &vaddr);
	if (len > 0 && recent_miss(bits, len, false))
		return -1;
	int fd = dwfl_standard_find_debuginfo(mod, ud, name, base, file_name, debuglink, crc, debuginfo_file_name);
	if (fd < 0 && len > 0)
		recent_miss(bits, len, true);
	/* libdwfl names no file for what debuginfod fetched: the descriptor
	 * says where its cache keeps it, for `info`'s debuginfo. */
	if (fd >= 0 && !*debuginfo_file_name) {
		char link[64], path[4096];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, path, sizeof(path) - 1);
		if (n > 0) {
			path[n] = 0;
			*debuginfo_file_name = strdup(path);
		}
	}
	return fd;
}

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

#define MAX_CANDIDATES 8

struct find_ctx {
	Dwfl_Module *best;
	int best_rank;
	uint64_t runtime;
	bool old_python;  /* _PyGC_generation0 without _PyRuntime: 2.7/3.6 */
	/* Every module defining a _PyRuntime, with its rank: two libpythons
	 * (ctypes loading a second copy) are told apart in memory. */
	struct { Dwfl_Module *mod; uint64_t rt; int rank; } cand[MAX_CANDIDATES];
	int ncand;
	int version;      /* PY_VERSION_HEX >> 16 of a record found by scanning */
};

static void add_candidate(struct find_ctx *ctx, Dwfl_Module *mod, uint64_t rt, int rank)
{
	if (ctx->ncand < MAX_CANDIDATES) {
		ctx->cand[ctx->ncand].mod = mod;
		ctx->cand[ctx->ncand].rt = rt;
		ctx->cand[ctx->ncand].rank = rank;
		ctx->ncand++;
	}
	if (rank > ctx->best_rank || !ctx->best) {
		ctx->best = mod;
		ctx->best_rank = rank;
		ctx->runtime = rt;
	}
}

/* A defined symbol's address in the process: its value plus the load
 * bias.  libdwfl adjusts by the section the symbol names, and objcopy
 * --remove-section renumbers sections without rewriting .dynsym's indices
 * (a copy stripped of its build-id note), so that section can be the wrong
 * one; the value itself is a link-time address in an executable or a
 * shared object alike. */
static uint64_t symbol_address(Dwfl_Module *mod, const GElf_Sym *sym, GElf_Addr dwfl_addr)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	GElf_Ehdr eh;
	if (!elf || !gelf_getehdr(elf, &eh) || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
		return dwfl_addr;
	return sym->st_value + bias;
}

static uint64_t module_symbol(Dwfl_Module *mod, const char *name)
{
	int n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *s = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		if (s && sym.st_shndx != SHN_UNDEF && !strcmp(s, name) &&
		    (GELF_ST_TYPE(sym.st_info) == STT_OBJECT || GELF_ST_TYPE(sym.st_info) == STT_FUNC ||
		     GELF_ST_TYPE(sym.st_info) == STT_NOTYPE))
			return symbol_address(mod, &sym, addr);
	}
	return 0;
}

/* &_PyRuntime: its symbol (.symtab, or .dynsym in a stripped file), else
 * the start of the .PyRuntime section 3.13+ puts it in (a binary that
 * exports nothing keeps its section headers even after strip --strip-all). */
static uint64_t runtime_of(Dwfl_Module *mod)
{
	uint64_t rt = module_symbol(mod, "_PyRuntime");
	if (rt)
		return rt;
	/* 2.7 and 3.6 have no runtime struct: the static head of the
	 * interpreters' list (pystate.c's interp_head, a local symbol) stands
	 * for it, and the layout finds that head at offset 0. */
	if (module_symbol(mod, "_PyGC_generation0"))
		return module_symbol(mod, "interp_head");
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) < 0)
		return 0;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		const char *name;
		if (gelf_getshdr(scn, &sh) && (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
		    !strcmp(name, ".PyRuntime") && sh.sh_addr)
			return sh.sh_addr + bias;
	}
	return 0;
}

/* 2 for a libpython, 1 for a python executable (python3.11, python3.13d),
 * else 0. */
static int python_rank(const char *base)
{
	if (base && strstr(base, "libpython"))
		return 2;
	if (base && !strncmp(base, "python", 6) && !strstr(base, ".so"))
		return 1;
	return 0;
}

static int find_runtime(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr start, void *arg)
{
	(void)ud;
	(void)start;
	struct find_ctx *ctx = arg;
	const char *base = name ? strrchr(name, '/') : NULL;
	base = base ? base + 1 : name;
	/* Look only in modules that can be an interpreter: the executable or a
	 * libpython.  Scanning libc's symbols for _PyRuntime is wasted time,
	 * and so are extension modules (_json.cpython-311-....so): reading a
	 * module's symbols looks for its debug file, through debuginfod too. */
	int rank = python_rank(base);
	if (!rank)
		return DWARF_CB_OK;
	uint64_t rt = runtime_of(mod);
	if (!rt) {
		/* 2.7/3.6 stripped of .symtab: interp_head is found by what it
		 * points to once the layout is known (pc_find_interp_head) */
		if (module_symbol(mod, "_PyGC_generation0")) {
			ctx->old_python = true;
			add_candidate(ctx, mod, 0, rank);
		}
		return DWARF_CB_OK;
	}
	add_candidate(ctx, mod, rt, rank);
	return DWARF_CB_OK;
}

/* Embedders name their binary anything; look at every module if the usual
 * names gave nothing. */
static int find_runtime_any(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr start, void *arg)
{
	(void)ud;
	(void)name;
	(void)start;
	struct find_ctx *ctx = arg;
	if (ctx->best)
		return DWARF_CB_ABORT;
	uint64_t rt = runtime_of(mod);
	if (rt) {
		add_candidate(ctx, mod, rt, 0);
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

struct scan_ctx {
	struct find_ctx *find;
	struct pc_mem *mem;
};

/* 3.13+ with neither the symbol nor the section (a binary that exports
 * nothing and lost its section headers, a renamed section): the
 * _Py_DebugOffsets cookie in the module's writable data. */
static int scan_module(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr start, void *arg)
{
	(void)ud;
	(void)start;
	struct scan_ctx *sc = arg;
	const char *base = name ? strrchr(name, '/') : NULL;
	base = base ? base + 1 : name;
	int rank = python_rank(base);
	if (!rank)
		return DWARF_CB_OK;
	Dwarf_Addr low = 0, high = 0;
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	uint64_t rt[MAX_CANDIDATES];
	int n = pc_runtime_scan(sc->mem, low, high, rt, MAX_CANDIDATES);
	for (int i = 0; i < n; i++)
		add_candidate(sc->find, mod, rt[i], rank);
	return DWARF_CB_OK;
}

/* Of several runtimes (two libpythons mapped), the initialised one: a
 * copy ctypes mapped has the record's static bytes but no interpreter.
 * Before 3.13 there is no record to tell by: the first stays. */
static void pick_initialised(struct find_ctx *ctx, struct pc_mem *mem)
{
	int best = -1, best_rank = -1;
	for (int i = 0; i < ctx->ncand; i++) {
		uint64_t v = 0;
		int ok = pc_runtime_initialised(mem, ctx->cand[i].rt, &v);
		if (ok == 0)
			continue;
		if (ctx->cand[i].rank > best_rank) {
			best = i;
			best_rank = ctx->cand[i].rank;
		}
	}
	if (best >= 0) {
		ctx->best = ctx->cand[best].mod;
		ctx->best_rank = ctx->cand[best].rank;
		ctx->runtime = ctx->cand[best].rt;
	} else {
		ctx->best = NULL;
	}
}

static void version_from_name(const char *path, int *major, int *minor)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *p = strstr(base, "python");
	if (p && sscanf(p + 6, "%d.%d", major, minor) == 2)
		return;
	*major = *minor = 0;
}

/* Py_Version is a const in .rodata: read it from the file, no stop needed. */
static int version_from_symbol(struct pc_target *t)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(t->mod, &bias);
	if (!elf || !t->py_version_addr)
		return -1;
	uint64_t vaddr = t->py_version_addr - bias;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		if (vaddr >= sh.sh_addr && vaddr + 4 <= sh.sh_addr + sh.sh_size) {
			Elf_Data *d = elf_getdata(scn, NULL);
			if (!d || !d->d_buf || vaddr - sh.sh_addr + 4 > d->d_size)
				return -1;
			uint32_t v;
			memcpy(&v, (char *)d->d_buf + (vaddr - sh.sh_addr), 4);
			t->major = (int)(v >> 24);
			t->minor = (int)((v >> 16) & 0xff);
			t->micro = (int)((v >> 8) & 0xff);
			return 0;
		}
	}
	return -1;
}

/* Before 3.11 (no Py_Version): the interpreter's own version string,
 * "3.6.15 (default, ...)", which Py_GetVersion() formats at start-up into
 * its function-local static buffer (char version[250]; GCC names the
 * symbol "version.N").  Read from the running process; needs .symtab. */
static int version_from_buffer(struct pc_target *t)
{
	int n = dwfl_module_getsymtab(t->mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *s = dwfl_module_getsym_info(t->mod, i, &sym, &addr, NULL, NULL, NULL);
		if (!s || strncmp(s, "version", 7) || (s[7] && s[7] != '.') || sym.st_size != 250 ||
		    GELF_ST_TYPE(sym.st_info) != STT_OBJECT || sym.st_shndx == SHN_UNDEF)
			continue;
		char buf[32] = "", path[64];
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		ssize_t got = pread(fd, buf, sizeof(buf) - 1, (off_t)symbol_address(t->mod, &sym, addr));
		close(fd);
		int major, minor, micro;
		if (got > 0 && sscanf(buf, "%d.%d.%d", &major, &minor, &micro) == 3 && major >= 2 && major <= 3) {
			t->major = major;
			t->minor = minor;
			t->micro = micro;
			return 0;
		}
		return -1;
	}
	return -1;
}

static const char *debug_hint(struct pc_target *t, char *buf, size_t len)
{
	const char *path = t->module_path;
	if (!pc_proc_same_root(t->pid) && t->build_id[0])
		snprintf(buf, len,
			 "it runs in another root (a container): install its debug package there (/usr/lib/debug/.build-id/%.2s/%s.debug inside it), put that file under this side's /usr/lib/debug, or set DEBUGINFOD_URLS",
			 t->build_id, t->build_id + 2);
	else if (!strncmp(path, "/usr/", 5) && t->major)
		snprintf(buf, len, "install the python%d.%d-dbg package (apt-get install python%d.%d-dbg)",
			 t->major, t->minor, t->major, t->minor);
	else if (t->build_id[0])
		snprintf(buf, len,
			 "install debug info for %s (build-id %s, looked for /usr/lib/debug/.build-id/%.2s/%s.debug) or use a build with -g",
			 path, t->build_id, t->build_id, t->build_id + 2);
	else
		snprintf(buf, len, "rebuild %s with -g or install its debug info", path);
	return buf;
}

struct pc_error *pc_discover(pid_t pid, struct pc_target *t)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	struct stat st;
	if (pid <= 0 || stat(path, &st) < 0)
		return pc_error_new(PC_EXIT_NOPROC, "no such process: %d", (int)pid);

	finding_pid = pid;
	/* A debuginfod server that accepts and never answers would hold
	 * discovery for libdebuginfod's default 90 s, three times (its
	 * retries): 10 s once, unless the user says otherwise (nothing is
	 * stopped meanwhile). */
	setenv("DEBUGINFOD_TIMEOUT", PC_DEBUGINFOD_TIMEOUT, 0);
	setenv("DEBUGINFOD_RETRY_LIMIT", "0", 0);
	t->dwfl = dwfl_begin(&proc_callbacks);
	if (!t->dwfl)
		return pc_error_new(PC_EXIT_FAILED, "libdwfl: %s", dwfl_errmsg(-1));
	dwfl_report_begin(t->dwfl);
	int r = dwfl_linux_proc_report(t->dwfl, pid);
	dwfl_report_end(t->dwfl, NULL, NULL);
	if (r != 0) {
		if (r > 0 && (r == ENOENT || r == ESRCH))
			return pc_error_new(PC_EXIT_NOPROC, "no such process: %d", (int)pid);
		if (r > 0 && (r == EACCES || r == EPERM))
			return pc_perm_error(pid, "read the memory map of");
		return pc_error_new(PC_EXIT_FAILED, "cannot list the modules of process %d: %s", (int)pid,
				    r > 0 ? strerror(r) : dwfl_errmsg(-1));
	}

	struct find_ctx ctx = {0};
	dwfl_getmodules(t->dwfl, find_runtime, &ctx, 0);
	if (!ctx.best && !ctx.old_python)
		dwfl_getmodules(t->dwfl, find_runtime_any, &ctx, 0);
	if (ctx.ncand > 1 || (!ctx.best && !ctx.old_python)) {
		struct pc_mem *mem = NULL;
		if (!pc_mem_open(pid, &mem)) {
			if (!ctx.best) {
				/* Python-named modules only: reading every module's
				 * data is what a process that is not Python would cost. */
				struct scan_ctx sc = { &ctx, mem };
				dwfl_getmodules(t->dwfl, scan_module, &sc, 0);
			}
			if (ctx.ncand > 1)
				pick_initialised(&ctx, mem);
			if (ctx.best) {
				uint64_t v = 0;
				if (pc_runtime_initialised(mem, ctx.runtime, &v) == 1)
					ctx.version = (int)(v >> 16);
			}
			pc_mem_close(mem);
		}
	}
	if (!ctx.best) {
		if (pc_proc_root_denied(pid)) {
			const char *hint = pc_container_hint();
			return pc_error_new(PC_EXIT_PERM,
				"cannot open the files of process %d through /proc/%d/root: permission denied; %s",
				(int)pid, (int)pid, hint ? hint : "run as its owner or as root (CAP_SYS_PTRACE)");
		}
		return pc_error_new(PC_EXIT_NOTPY,
			"process %d is not a CPython process (no module defines _PyRuntime)", (int)pid);
	}
	t->mod = ctx.best;
	t->runtime = ctx.runtime;
	t->runtime_by_scan = !ctx.runtime && ctx.old_python;
	t->module_path = dwfl_module_info(t->mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	const unsigned char *bits;
	GElf_Addr vaddr;
	int idlen = dwfl_module_build_id(t->mod, &bits, &vaddr);
	for (int i = 0; i < idlen && i < 40; i++)
		sprintf(t->build_id + 2 * i, "%02x", bits[i]);

	t->py_version_addr = module_symbol(t->mod, "Py_Version");
	t->micro = -1;
	if (version_from_symbol(t) < 0 && version_from_buffer(t) < 0)
		version_from_name(t->module_path, &t->major, &t->minor);
	/* A name without the version (an embedder's libpython, a copy) and no
	 * Py_Version: the record's, when it was read. */
	if (!t->major && ctx.version) {
		t->major = ctx.version >> 8;
		t->minor = ctx.version & 0xff;
	}
	if ((t->major == 3 && t->minor < 6 && t->minor > 0) || (t->major == 2 && t->minor != 7))
		return pc_error_new(PC_EXIT_NOTPY,
			"process %d runs Python %d.%d: unsupported version (pycensus reads 2.7, 3.6-3.15)",
			(int)pid, t->major, t->minor);
	if (t->major == 3 && t->minor > 15)
		return pc_error_new(PC_EXIT_NOTPY,
			"process %d runs Python %d.%d: unsupported version (pycensus reads 2.7, 3.6-3.15)",
			(int)pid, t->major, t->minor);

	/* Discovery ends here: the binary, its runtime and version.  Its
	 * DWARF is one offset source among others, looked for when the layout
	 * is built (pc_target_dwarf), once the target's memory is open. */
	GElf_Addr bias = 0;
	dwfl_module_getelf(t->mod, &bias);
	t->bias = bias;
	const char *mainfile = NULL;
	dwfl_module_info(t->mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
	t->elf_path = mainfile;
	return NULL;
}

bool pc_target_dwarf(struct pc_target *t)
{
	if (t->dwarf)
		return true;
	if (!t->mod || !(t->dwarf = dwfl_module_getdwarf(t->mod, &t->bias)))
		return false;
	const char *mainfile = NULL, *debugfile = NULL;
	dwfl_module_info(t->mod, NULL, NULL, NULL, NULL, NULL, &mainfile, &debugfile);
	t->debug_path = debugfile ? debugfile : mainfile;
	if (mainfile)
		t->module_path = mainfile;
	return true;
}

struct pc_error *pc_discover_nodebug(struct pc_target *t, const char *why)
{
	char hint[512];
	return pc_error_new(PC_EXIT_NODEBUG, "no debug information for %s%s: %s", t->module_path, why,
			    debug_hint(t, hint, sizeof(hint)));
}

void pc_target_fini(struct pc_target *t)
{
	if (t->dwfl)
		dwfl_end(t->dwfl);
	memset(t, 0, sizeof(*t));
}

void pc_target_extent(struct pc_target *t, uint64_t *lo, uint64_t *hi)
{
	Dwarf_Addr low = 0, high = 0;
	dwfl_module_info(t->mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	*lo = low;
	*hi = high;
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(t->mod, &bias);
	size_t n;
	if (!elf || elf_getphdrnum(elf, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr + ph.p_memsz + bias > *hi)
			*hi = ph.p_vaddr + ph.p_memsz + bias;
	}
}

uint64_t pc_target_accessor_static(struct pc_target *t, struct pc_mem *mem, const char *func)
{
	uint64_t at = t->mod ? module_symbol(t->mod, func) : 0;
	unsigned char code[16];
	if (!at || !pc_mem_read(mem, at, code, sizeof(code)))
		return 0;
	/* [endbr64] mov rax, [rip + disp32]; ret */
	size_t i = !memcmp(code, "\xf3\x0f\x1e\xfa", 4) ? 4 : 0;
	if (memcmp(code + i, "\x48\x8b\x05", 3) || code[i + 7] != 0xc3)
		return 0;
	int32_t disp;
	memcpy(&disp, code + i + 3, 4);
	return at + i + 7 + (uint64_t)(int64_t)disp;
}

void pc_target_symbols(struct pc_target *t, const char *const *names, uint64_t *addrs, size_t n)
{
	for (size_t k = 0; k < n; k++)
		addrs[k] = 0;
	int nsyms = dwfl_module_getsymtab(t->mod);
	const char *file = "";   /* the source file of the local symbols that follow */
	for (int i = 1; i < nsyms; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *s = dwfl_module_getsym_info(t->mod, i, &sym, &addr, NULL, NULL, NULL);
		if (s && GELF_ST_TYPE(sym.st_info) == STT_FILE)
			file = s;
		addr = symbol_address(t->mod, &sym, addr);
		if (!s || sym.st_shndx == SHN_UNDEF ||
		    (GELF_ST_TYPE(sym.st_info) != STT_OBJECT && GELF_ST_TYPE(sym.st_info) != STT_FUNC))
			continue;
		/* LTO renames statics "name.lto_priv.0": accept such suffixes
		 * on local symbols. */
		bool local = GELF_ST_BIND(sym.st_info) == STB_LOCAL;
		for (size_t k = 0; k < n; k++) {
			/* "file.c:name": the static of that source file (2.7 has
			 * two statics named dummy) */
			const char *name = names[k], *colon = local ? strchr(name, ':') : NULL;
			if (colon) {
				if (strncmp(file, name, (size_t)(colon - name)) || file[colon - name])
					continue;
				name = colon + 1;
			}
			size_t len = strlen(name);
			if (!addrs[k] && len && !strncmp(s, name, len) &&
			    (s[len] == 0 || (local && s[len] == '.')))
				addrs[k] = addr;
		}
	}
}

static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

struct pc_error *pc_discover_offline(const char *debugfile, uint64_t bias, int major, int minor,
				     struct pc_target *t)
{
	memset(t, 0, sizeof(*t));
	t->dwfl = dwfl_begin(&offline_callbacks);
	if (!t->dwfl)
		return pc_error_new(PC_EXIT_FAILED, "libdwfl: %s", dwfl_errmsg(-1));
	dwfl_report_begin(t->dwfl);
	/* Report it where the imaged process had it, so symbol addresses match. */
	t->mod = dwfl_report_elf(t->dwfl, "python", debugfile, -1, bias, false);
	dwfl_report_end(t->dwfl, NULL, NULL);
	if (!t->mod)
		return pc_error_new(PC_EXIT_INPUT, "cannot read %s: %s", debugfile, dwfl_errmsg(-1));
	t->module_path = debugfile;
	t->debug_path = debugfile;
	t->major = major;
	t->minor = minor;
	t->micro = -1;
	t->dwarf = dwfl_module_getdwarf(t->mod, &t->bias);
	if (!t->dwarf)
		return pc_error_new(PC_EXIT_NODEBUG, "no debug information in %s", debugfile);
	t->runtime = runtime_of(t->mod);
	return NULL;
}
