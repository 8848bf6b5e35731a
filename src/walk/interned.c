#include <string.h>

#include "interned.h"

/* Fewer entries than this is not the interned dict of a running
 * interpreter (a bare `python -c pass` interns thousands). */
#define MIN_INTERNED 256
/* Entries checked key == value, str, of a candidate: all of them up to this. */
#define CHECK_ENTRIES 4096

struct check {
	struct pc_py *py;
	int64_t n;
	bool ok;
};

static bool same_str(void *arg, uint64_t key, uint64_t value)
{
	struct check *c = arg;
	/* (2.7 interns its str, PyStringObject: the bytes kind) */
	enum pc_kind str = c->py->L->str_model == PC_STR_BYTES_UNICODE ? PK_BYTES : PK_STR;
	if (key != value || pc_ob_type(c->py, key) != c->py->kind_type[str]) {
		c->ok = false;
		return false;
	}
	return ++c->n < CHECK_ENTRIES;
}

static bool interned_dict(struct pc_py *py, uint64_t d)
{
	struct pc_dict_view v;
	if (pc_ob_type(py, d) != py->kind_type[PK_DICT] || !pc_dict_view(py, d, &v) || v.values ||
	    v.nentries < MIN_INTERNED)
		return false;
	struct check c = { py, 0, true };
	return pc_dict_foreach(py, d, same_str, &c) && c.ok && c.n >= MIN_INTERNED;
}

uint64_t pc_find_interned(struct pc_py *py, uint64_t runtime)
{
	const struct pc_mem *mem = py->mem;
	long i = pc_mem_index(mem, runtime);
	if (i < 0)
		return 0;
	/* The module's writable mappings around _PyRuntime (which may lie in
	 * the anonymous one its .bss runs into) and that anonymous one. */
	size_t lo = (size_t)i, hi = (size_t)i;
	if (!mem->maps[lo].path && lo > 0 && mem->maps[lo - 1].end == mem->maps[lo].start)
		lo--;
	const char *path = mem->maps[lo].path;
	if (!path)
		return 0;
	while (lo > 0 && mem->maps[lo - 1].path && !strcmp(mem->maps[lo - 1].path, path) &&
	       mem->maps[lo - 1].end == mem->maps[lo].start)
		lo--;
	while (hi + 1 < mem->nmaps && mem->maps[hi + 1].start == mem->maps[hi].end &&
	       (mem->maps[hi + 1].path ? !strcmp(mem->maps[hi + 1].path, path) : mem->maps[hi].path != NULL))
		hi++;
	return pc_find_interned_in(py, mem->maps[lo].start, mem->maps[hi].end);
}

struct found {
	struct pc_py *py;
	uint64_t at;
	bool two;
};

static bool interned_at(void *arg, uint64_t at, uint64_t value)
{
	struct found *f = arg;
	if (!interned_dict(f->py, value))
		return true;
	if (f->at && f->at != at) {
		f->two = true;  /* neither is known to be it */
		return false;
	}
	f->at = at;
	return true;
}

uint64_t pc_find_interned_in(struct pc_py *py, uint64_t lo, uint64_t hi)
{
	struct found f = { py, 0, false };
	pc_mem_data_pointers(py->mem, lo, hi, interned_at, &f);
	return f.two ? 0 : f.at;
}
