#include "interp_head.h"

/* Interpreters in one list, at most: more is a loop or not a list. */
#define MAX_CHAIN 64

/* Whether TYPE can be the dict type: its symbol's, or, with no symbol
 * (a binary that exports no type), a static type of the interpreter's
 * file whose own type is its own type's type (type(dict) is type, and
 * type(type) is type). */
static bool dict_type(struct pc_py *py, uint64_t type)
{
	uint64_t meta, metameta;
	if (py->kind_type[PK_DICT])
		return type == py->kind_type[PK_DICT];
	return type && type >= py->kinds_lo && type < py->kinds_hi && (meta = pc_ob_type(py, type)) &&
	       meta >= py->kinds_lo && meta < py->kinds_hi && (metameta = pc_ob_type(py, meta)) == meta &&
	       meta != type;
}

/* Whether P looks like a live PyInterpreterState: its modules, sys and
 * builtins dicts (of one type), and a thread state. */
static bool interp_like(struct pc_py *py, uint64_t p)
{
	const struct pc_layout *L = py->L;
	uint64_t d, t, type = 0;
	if (!p || (p & 7))
		return false;
	const int64_t dicts[] = { L->is_modules, L->is_sysdict, L->is_builtins };
	for (size_t i = 0; i < sizeof(dicts) / sizeof(dicts[0]); i++) {
		if (dicts[i] < 0 || !pc_u64(py, p + (uint64_t)dicts[i], &d) || !d)
			return false;
		uint64_t ty = pc_ob_type(py, d);
		if ((type && ty != type) || !dict_type(py, ty))
			return false;
		type = ty;
	}
	return pc_u64(py, p + (uint64_t)L->is_threads_head, &t) && t && !(t & 7) && pc_mem_ptr(py->mem, t, 8);
}

/* The interpreters listed from P on, 0 if P is not one. */
static int chain(struct pc_py *py, uint64_t p)
{
	int n = 0;
	while (p && n < MAX_CHAIN && interp_like(py, p)) {
		n++;
		if (!pc_u64(py, p + (uint64_t)py->L->is_next, &p))
			break;
	}
	return n;
}

uint64_t pc_find_interp_head(struct pc_py *py, uint64_t lo, uint64_t hi, uint64_t hint)
{
	const struct pc_mem *mem = py->mem;
	uint64_t best = 0;
	int best_n = 0;
	bool tie = false, hint_ok = false;
	for (size_t m = 0; m < mem->nmaps; m++) {
		const struct pc_mapping *map = &mem->maps[m];
		/* .data, and .bss, which may run on past the file's last page
		 * into an anonymous mapping */
		if (!map->writable || !map->readable || map->end <= lo || map->start >= hi)
			continue;
		const uint64_t *words = pc_mem_ptr(py->mem, map->start, (size_t)(map->end - map->start));
		if (!words)
			continue;
		size_t n = (size_t)(map->end - map->start) / 8;
		for (size_t w = 0; w < n; w++) {
			uint64_t p = words[w];
			if (!p || (p & 7) || pc_mem_index(mem, p) < 0)
				continue;
			int len = chain(py, p);
			if (!len)
				continue;
			uint64_t at = map->start + w * 8;
					if (at == hint)
				hint_ok = true;
			if (len > best_n) {
				best = at;
				best_n = len;
				tie = false;
			} else if (len == best_n) {
				tie = true;
			}
		}
	}
	/* Equal lists: the accessor says which word is the head. */
	if (hint_ok) {
		uint64_t p = 0;
		if (pc_u64(py, hint, &p) && chain(py, p) == best_n)
			return hint;
	}
	return tie ? 0 : best;
}
