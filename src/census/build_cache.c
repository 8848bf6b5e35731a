#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "build_cache.h"
#include "builtin_types.h"
#include "debug_offsets.h"
#include "interp_head.h"
#include "mem.h"

/* The builds later sessions may share: few (one per interpreter binary
 * watched), so a list. */
static struct pc_build *cache;
static unsigned serials;

/* --- files as mapped --------------------------------------------------- */

/* /proc/PID/maps whole, NUL-terminated; NULL if unreadable. */
static char *read_maps(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 16384, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	if (ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
}

struct map_line {
	uint64_t start, end, dev, ino;
	bool exec;
	const char *path;  /* into the maps text, up to the newline */
	size_t pathlen;
};

/* The next file-backed line of the maps text at *P; false at the end. */
static bool next_file(const char **p, struct map_line *m)
{
	while (**p) {
		const char *line = *p;
		const char *nl = strchr(line, '\n');
		*p = nl ? nl + 1 : line + strlen(line);
		unsigned maj, min;
		uint64_t off;
		char perms[5];
		int n = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &m->start, &m->end, perms, &off, &maj, &min, &m->ino, &n) < 7 || !n)
			continue;
		m->exec = perms[2] == 'x';
		m->path = line + n;
		m->pathlen = (size_t)((nl ? nl : *p) - m->path);
		m->dev = makedev(maj, min);
		/* A deleted file cannot be looked at again under its name. */
		static const char deleted[] = " (deleted)";
		if (m->ino == 0 || m->path[0] != '/' ||
		    (m->pathlen >= sizeof(deleted) - 1 &&
		     !memcmp(m->path + m->pathlen - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1)))
			continue;
		return true;
	}
	return false;
}

/* Size and mtime of the file M maps, seen from inside PID's mount
 * namespace; false unless it is the very file mapped (device and inode). */
static bool file_stat(pid_t pid, const struct map_line *m, struct pc_build_file *f)
{
	char path[4200];
	if (m->pathlen > 4000)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/root%.*s", (int)pid, (int)m->pathlen, m->path);
	struct stat st;
	if (stat(path, &st) < 0 || (uint64_t)st.st_dev != m->dev || (uint64_t)st.st_ino != m->ino)
		return false;
	f->dev = m->dev;
	f->ino = m->ino;
	f->size = (uint64_t)st.st_size;
	f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return true;
}

static bool same_file(const struct pc_build_file *a, const struct pc_build_file *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

static bool is_libpython(const struct map_line *m)
{
	const char *end = m->path + m->pathlen, *base = end;
	while (base > m->path && base[-1] != '/')
		base--;
	return memmem(base, (size_t)(end - base), "libpython", 9) != NULL;
}

/* The file that maps ADDR in PID, and where its lowest mapping lies. */
static bool file_at(pid_t pid, uint64_t addr, struct pc_build_file *f, uint64_t *base)
{
	char *maps = read_maps(pid);
	if (!maps)
		return false;
	struct map_line m;
	bool found = false;
	const char *p = maps;
	while (!found && next_file(&p, &m))
		found = addr >= m.start && addr < m.end;
	if (found) {
		uint64_t dev = m.dev, ino = m.ino;
		for (p = maps; next_file(&p, &m);)
			if (m.dev == dev && m.ino == ino)
				break;  /* the first is the lowest: the lines are sorted */
		*base = m.start;
		found = file_stat(pid, &m, f);
	}
	free(maps);
	return found;
}

static void add_file(struct pc_build *b, const struct pc_build_file *f, const char *path)
{
	for (int i = 0; i < b->nfiles; i++)
		if (same_file(&b->files[i], f))
			return;
	if (b->nfiles == PC_BUILD_FILES || !path)
		return;
	b->files[b->nfiles] = *f;
	if ((b->files[b->nfiles].path = strdup(path)))
		b->nfiles++;
}

/* The known build held in the file line M maps, if any.  Device and inode
 * pick candidates; size and mtime must agree too (an inode reused for
 * another file). */
static struct pc_build *build_of_file(pid_t pid, const struct map_line *m, const struct pc_build_file **file)
{
	struct pc_build_file f;
	bool statted = false;
	for (struct pc_build *b = cache; b; b = b->next)
		for (int i = 0; i < b->nfiles; i++) {
			if (b->files[i].dev != m->dev || b->files[i].ino != m->ino)
				continue;
			if (!statted && !file_stat(pid, m, &f))
				return NULL;
			statted = true;
			if (same_file(&f, &b->files[i])) {
				*file = &b->files[i];
				return b;
			}
		}
	return NULL;
}

struct pc_build *pc_build_find(pid_t pid, uint64_t *bias, const char **path)
{
	if (!cache || pid <= 0)
		return NULL;
	char *maps = read_maps(pid);
	if (!maps)
		return NULL;
	struct pc_build *b = NULL;
	const struct pc_build_file *known = NULL;
	struct map_line m, hit;
	for (const char *p = maps; !b && next_file(&p, &m);)
		if ((b = build_of_file(pid, &m, &known)))
			hit = m;
	/* The file must hold code this process runs (a tool may map an ELF
	 * file only to read it), and discovery prefers a libpython to the
	 * executable: a libpython of another file would be its choice, so
	 * let it choose. */
	bool runs = false;
	for (const char *p = maps; b && next_file(&p, &m);) {
		bool same = m.dev == hit.dev && m.ino == hit.ino;
		runs = runs || (same && m.exec);
		if (is_libpython(&m) && !same)
			b = NULL;
	}
	if (!runs)
		b = NULL;
	free(maps);
	if (!b)
		return NULL;
	*bias = hit.start - known->base_off;
	*path = known->path;
	b->refs++;
	return b;
}

/* --- learning a build --------------------------------------------------- */

/* The layout from every offset source this target has, combined, asked
 * in order: its DWARF (the interpreter's and its extension modules'); the
 * _Py_DebugOffsets record read from its memory (3.13+); and, without DWARF,
 * the table compiled in for its version, which is then trusted only once
 * the cross-check says it fits.  With DWARF a record that does not read is
 * left out; without, it refuses (exit 4).  Exit 6 when no source can stand
 * in for the DWARF.  MEM: the target's memory, NULL for none. */
static struct pc_error *layout_from_sources(struct pc_build *b, struct pc_mem *mem)
{
	struct pc_target *t = &b->target;
	struct pc_layout_source src[PC_LAYOUT_SOURCES] = { 0 }, tab = { 0 };
	int n = 0;
	bool table = false;
	struct pc_debug_offsets *rec = NULL;
	/* Free-threaded first: whatever else this build lacks follows from it. */
	struct pc_error *err = mem && t->pid > 0 ? pc_debug_offsets_flavour(mem, t->runtime, t->major, t->minor) : NULL;
	if (err)
		return err;
	if (!b->dwarf) {
		const char *from = NULL;
		char why[256] = "";
		if (t->pid <= 0 || !pc_builtin_table_source(t->major, t->minor, t->micro, &tab, &from, why, sizeof(why)))
			return pc_discover_nodebug(t, t->pid > 0 ? why : "");
		table = true;
		snprintf(b->table_from, sizeof(b->table_from), "%s", from);
		if (!mem)
			err = pc_error_new(PC_EXIT_FAILED, "cannot read the memory of process %d", (int)t->pid);
	}
	if (!err && mem && pc_debug_offsets_known(t->major, t->minor)) {
		if (!(rec = calloc(1, sizeof(*rec))))
			err = pc_error_nomem();
		else if ((err = pc_debug_offsets_read(mem, t->runtime, t->major, t->minor, rec)) && b->dwarf) {
			pc_error_destroy(err);   /* the DWARF answers without it */
			err = NULL;
		} else if (!err) {
			src[n++] = pc_debug_offsets_source(rec);
		}
	}
	if (!err && table) {
		src[n++] = tab;
		b->check = true;
	}
	if (!err)
		err = pc_layout_from(&b->layout, b->dwarf, b->ext_dwarf, b->next_ext, src, n, t->major, t->minor);
	if (!err && table)
		b->layout.table_from = b->table_from;
	if (table)
		pc_builtin_table_free(&tab);
	free(rec);
	return err;
}

/* The table's cross-check against the target (item 2 of issue 10). */
static struct pc_error *crosscheck(struct pc_build *b, struct pc_mem *mem)
{
	struct pc_check_types ty = {
		.type = b->kind_type[PK_TYPE], .integer = b->kind_type[PK_INT], .str = b->kind_type[PK_STR],
		.dict = b->kind_type[PK_DICT], .tuple = b->kind_type[PK_TUPLE],
	};
	memcpy(ty.gc_symbol, b->gc_symbol, sizeof(ty.gc_symbol));
	char build[520];
	snprintf(build, sizeof(build), "%s (%s) for %s", b->layout.offsets, b->table_from, b->target.module_path);
	struct pc_error *err = pc_layout_crosscheck(&b->layout, mem, b->target.runtime, &ty, build);
	/* The table is refused, not the target: its own DWARF would do. */
	if (err && err != pc_error_nomem() && strstr(err->msg, "does not fit this process")) {
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n,
			 "; a build other than the table's (debug, patched?): install its debug information");
	}
	return err;
}

/* Whether the traverse rules can name the build's functions: its static
 * ones (list_traverse...) are only in .symtab (or the debug file's), never
 * in .dynsym, so a --strip-all build leaves every GC type unnamed. */
static bool has_symtab(struct pc_target *t)
{
	if (t->dwarf)
		return true;
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(t->mod, &bias);
	for (Elf_Scn *scn = NULL; elf && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			return true;
	}
	return false;
}

/* The statics the GC lists are anchored at (2.7, 3.6: gcmodule.c's
 * generations and collecting): local symbols, in .symtab; without it, the
 * exported pointer to the static, read from the process. */
static struct pc_error *gc_symbols(struct pc_build *b, struct pc_mem *mem)
{
	const struct pc_gc_lists *g = &b->layout.gc;
	if (!g->nsymbols)
		return NULL;
	const char *names[2 * PC_GC_SYMBOLS];
	uint64_t addrs[2 * PC_GC_SYMBOLS];
	for (int i = 0; i < g->nsymbols; i++) {
		names[2 * i] = g->symbols[i];
		names[2 * i + 1] = g->symbol_ptrs[i];
	}
	pc_target_symbols(&b->target, names, addrs, (size_t)(2 * g->nsymbols));
	for (int i = 0; i < g->nsymbols; i++) {
		b->gc_symbol[i] = addrs[2 * i];
		if (!b->gc_symbol[i] && addrs[2 * i + 1] && mem)
			pc_mem_u64(mem, addrs[2 * i + 1], &b->gc_symbol[i]);
		if (!b->gc_symbol[i] && !(g->collecting_by_refs && g->collecting.symbol == i))
			return pc_error_new(PC_EXIT_NOTPY, "%s lacks the symbol %s%s%s, where its GC lists are",
					    b->target.module_path, g->symbols[i], g->symbol_ptrs[i][0] ? " or " : "",
					    g->symbol_ptrs[i]);
	}
	return NULL;
}

/* An extension module whose types the traverse rules and sizers decode,
 * built apart from the interpreter (lib-dynload): its DWARF and symbols. */
static int ext_module(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr start, void *arg)
{
	(void)ud;
	(void)start;
	static const char *const wanted[] = { "_collections", "_functools", "_io", "itertools", "operator",
					      "_struct" };
	struct pc_build *b = arg;
	const char *base = name ? strrchr(name, '/') : NULL;
	if (!base || !strstr(name, "/lib-dynload/") || b->next_ext >= PC_EXT_MODULES)
		return DWARF_CB_OK;
	base++;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		size_t n = strlen(wanted[i]);
		Dwarf_Addr bias;
		Dwarf *dw;
		if (strncmp(base, wanted[i], n) || base[n] != '.' || !(dw = dwfl_module_getdwarf(mod, &bias)))
			continue;
		struct pc_error *err = pc_dwarf_index_create(dw, &b->ext_dwarf[b->next_ext]);
		if (err) {
			pc_error_destroy(err);   /* its types stay opaque */
			continue;
		}
		b->ext_mod[b->next_ext++] = mod;
	}
	return DWARF_CB_OK;
}

/* No symbol names the builtin types (a binary without .dynsym, or
 * hiding them): found from the running interpreter instead, by name. */
static struct pc_error *kinds_by_name(struct pc_build *b, struct pc_mem *mem)
{
	struct pc_target *t = &b->target;
	Dwarf_Addr lo = 0, hi = 0;
	dwfl_module_info(t->mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL);
	struct pc_py py = { .L = &b->layout, .kinds_lo = lo, .kinds_hi = hi, .mem = mem };
	memcpy(py.kind_type, b->kind_type, sizeof(py.kind_type));
	if (!pc_builtin_types_find(&py, t->runtime))
		return pc_error_new(PC_EXIT_NOTPY,
				    "%s has no symbols for the builtin types (PyType_Type...), and its interpreter's builtins did not lead to them",
				    t->module_path);
	memcpy(b->kind_type, py.kind_type, sizeof(b->kind_type));
	b->kinds_lo = lo;
	b->kinds_hi = hi;
	return NULL;
}

/* 2.7/3.6 without .symtab: the static head of the interpreters' list
 * (discovery's runtime for them), found by what it points to. */
static struct pc_error *interp_head(struct pc_build *b, struct pc_mem *mem)
{
	struct pc_target *t = &b->target;
	uint64_t lo, hi;
	pc_target_extent(t, &lo, &hi);
	struct pc_py py = { .L = &b->layout, .mem = mem, .kinds_lo = lo, .kinds_hi = hi };
	memcpy(py.kind_type, b->kind_type, sizeof(py.kind_type));
	uint64_t hint = mem ? pc_target_accessor_static(t, mem, "PyInterpreterState_Head") : 0;
	t->runtime = mem ? pc_find_interp_head(&py, lo, hi, hint) : 0;
	if (!t->runtime)
		return pc_error_new(PC_EXIT_NODEBUG,
				    "%s has no symbol table, and the head of its interpreters' list (pystate.c's interp_head) is not one word of its data that PyInterpreterState_Head() reads: install its debug information",
				    t->module_path);
	t->runtime_by_scan = false;
	return NULL;
}

static struct pc_error *learn_with(struct pc_build *b, struct pc_mem *mem);

/* Discovery found the binary and its runtime; now its memory is opened and
 * the layout built from the sources, then the symbols and rules. */
static struct pc_error *learn(struct pc_build *b)
{
	struct pc_target *t = &b->target;
	struct pc_mem *mem = NULL;
	struct pc_error *mem_err = t->pid > 0 ? pc_mem_open(t->pid, &mem) : NULL;
	struct pc_error *err = NULL;
	bool dwarf = t->dwfl && pc_target_dwarf(t);
	/* (also without the interpreter's DWARF: their traverse functions) */
	if (t->dwfl && (dwarf || t->pid > 0))
		dwfl_getmodules(t->dwfl, ext_module, b, 0);
	if (dwarf)
		err = pc_dwarf_index_create(t->dwarf, &b->dwarf);
	b->from_dwarf = b->dwarf != NULL;
	/* Without DWARF the target's memory holds the other sources. */
	if (!err && mem_err && !b->dwarf) {
		err = mem_err;
		mem_err = NULL;
	}
	pc_error_destroy(mem_err);
	if (!err)
		err = learn_with(b, mem);
	pc_mem_close(mem);
	return err;
}

static struct pc_error *learn_with(struct pc_build *b, struct pc_mem *mem)
{
	struct pc_target *t = &b->target;
	struct pc_error *err = layout_from_sources(b, mem);
	if (err)
		return err;
	/* A table read back through the test hook is checked like one compiled in. */
	const char *hook = getenv("PYCENSUS_TEST_LAYOUT_TABLE");
	if (hook && *hook && t->pid > 0) {
		snprintf(b->table_from, sizeof(b->table_from), "table %s", hook);
		b->layout.table_from = b->table_from;
		b->check = true;
	}
	b->named = has_symtab(t);
	const char *names[PK_NKINDS + 3];
	uint64_t addrs[PK_NKINDS + 3];
	for (int k = 0; k < PK_NKINDS; k++)
		names[k] = pc_kind_symbol[k] ? pc_kind_symbol[k] : "";
	names[PK_NKINDS] = "_PySet_Dummy";
	names[PK_NKINDS + 1] = "lookdict";
	names[PK_NKINDS + 2] = "interned";
	pc_target_symbols(t, names, addrs, PK_NKINDS + 3);
	for (int k = 1; k < PK_NKINDS; k++)
		b->kind_type[k] = addrs[k];
	/* A kind under another name in this build (2.7's str is the bytes kind). */
	for (int k = 1; k < PK_NKINDS; k++)
		if (!b->kind_type[k] && pc_kind_symbol_alt[k])
			pc_target_symbols(t, &pc_kind_symbol_alt[k], &b->kind_type[k], 1);
	/* Where the pointer to the sets' dummy key is: exported, or a
	 * static of setobject.c (2.7) */
	b->set_dummy = addrs[PK_NKINDS];
	if (!b->set_dummy)
		pc_target_symbols(t, &(const char *){ "setobject.c:dummy" }, &b->set_dummy, 1);
	/* (the interpreter first: the types are then found from it) */
	if (t->runtime_by_scan && (err = interp_head(b, mem)))
		return err;
	if (!b->kind_type[PK_TYPE] && mem && (err = kinds_by_name(b, mem)))
		return err;
	b->lookdict = b->layout.dict_family == PC_DICT_SIZE_LOOKUP ? addrs[PK_NKINDS + 1] : 0;
	b->interned = b->layout.interned_model == PC_INTERNED_STATIC ? addrs[PK_NKINDS + 2] : 0;
	if ((err = gc_symbols(b, mem)))
		return err;
	err = pc_rulebook_create(&b->layout, t->mod, t->major, t->minor, t->micro, &b->rules);
	if (err)
		return err;
	for (int i = 0; i < b->next_ext; i++)
		pc_rulebook_add_module(b->rules, b->ext_mod[i]);
	if (!b->kind_type[PK_TYPE] || !b->kind_type[PK_STR] || !b->kind_type[PK_DICT])
		return pc_error_new(PC_EXIT_NOTPY, "%s lacks the symbols of the builtin types (PyType_Type...)",
				    t->module_path);
	return b->check && mem ? crosscheck(b, mem) : NULL;
}

/* Layout, symbols and rules are learnt: the DWARF, the symbol tables and
 * the decompressed sections libdwfl holds (tens of MiB for Debian's
 * compressed -dbg files) are not read again, so not kept for the run. */
static void drop_dwarf(struct pc_build *b)
{
	struct pc_target *t = &b->target;
	char *module = strdup(t->module_path ? t->module_path : "");
	char *debug = t->debug_path ? strdup(t->debug_path) : NULL;
	if (!module || (t->debug_path && !debug)) {
		free(module);
		free(debug);
		return;   /* kept: nothing lost but memory */
	}
	b->own_module_path = module;
	b->own_debug_path = debug;
	t->module_path = module;
	t->debug_path = debug;
	pc_dwarf_index_destroy(b->dwarf);
	b->dwarf = NULL;
	for (int i = 0; i < b->next_ext; i++) {
		pc_dwarf_index_destroy(b->ext_dwarf[i]);
		b->ext_dwarf[i] = NULL;
		b->ext_mod[i] = NULL;
	}
	b->next_ext = 0;
	if (t->dwfl)
		dwfl_end(t->dwfl);
	t->dwfl = NULL;
	t->mod = NULL;
	t->dwarf = NULL;
}

static void destroy(struct pc_build *b)
{
	free(b->own_module_path);
	free(b->own_debug_path);
	for (int i = 0; i < b->nfiles; i++)
		free(b->files[i].path);
	pc_rulebook_destroy(b->rules);
	pc_dwarf_index_destroy(b->dwarf);
	for (int i = 0; i < b->next_ext; i++)
		pc_dwarf_index_destroy(b->ext_dwarf[i]);
	pc_target_fini(&b->target);
	free(b);
}

struct pc_error *pc_build_get(struct pc_target *t, bool share, struct pc_build **out, uint64_t *bias,
			      bool *fresh)
{
	*bias = t->bias;
	struct pc_build_file f;
	uint64_t base = 0;
	Dwarf_Addr low = 0;
	dwfl_module_info(t->mod, NULL, &low, NULL, NULL, NULL, NULL, NULL);
	bool have_file = share && t->pid > 0 && file_at(t->pid, low, &f, &base);
	if (have_file)
		f.base_off = base - t->bias;
	for (struct pc_build *b = share ? cache : NULL; b; b = b->next) {
		/* The build-id says it when both have one; else the file. */
		bool same = false;
		if (t->build_id[0] && b->target.build_id[0])
			same = !strcmp(t->build_id, b->target.build_id);
		else
			for (int i = 0; !same && have_file && i < b->nfiles; i++)
				same = same_file(&f, &b->files[i]);
		if (!same)
			continue;
		if (have_file)
			add_file(b, &f, b->from_dwarf && t->elf_path ? t->elf_path : t->module_path);
		pc_target_fini(t);
		b->refs++;
		*fresh = false;
		*out = b;
		return NULL;
	}

	struct pc_build *b = calloc(1, sizeof(*b));
	if (!b) {
		pc_target_fini(t);
		return pc_error_nomem();
	}
	b->target = *t;
	memset(t, 0, sizeof(*t));
	struct pc_error *err = learn(b);
	if (err) {
		destroy(b);
		return err;
	}
	/* The bias the layout's sources settled on (the DWARF's, if read). */
	*bias = b->target.bias;
	drop_dwarf(b);
	if (have_file) {
		f.base_off = base - b->target.bias;
		add_file(b, &f, b->target.module_path);
	}
	b->serial = ++serials;
	b->refs = 1;
	if (share) {
		b->next = cache;
		cache = b;
	}
	*fresh = true;
	*out = b;
	return NULL;
}

void pc_build_release(struct pc_build *b)
{
	if (!b || --b->refs > 0)
		return;
	for (struct pc_build **p = &cache; *p; p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			break;
		}
	destroy(b);
}
