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

struct best {
	struct pc_py *py;
	uint64_t at, hint;
	int n;
	bool tie, hint_ok;
};

static bool consider(void *arg, uint64_t at, uint64_t value)
{
	struct best *b = arg;
	int len = pc_mem_index(b->py->mem, value) < 0 ? 0 : chain(b->py, value);
	if (!len)
		return true;
	b->hint_ok |= at == b->hint;
	if (len > b->n) {
		b->at = at;
		b->n = len;
		b->tie = false;
	} else if (len == b->n) {
		b->tie = true;
	}
	return true;
}

uint64_t pc_find_interp_head(struct pc_py *py, uint64_t lo, uint64_t hi, uint64_t hint)
{
	struct best b = { .py = py, .hint = hint };
	/* .data, and .bss, which may run on past the file's last page into
	 * an anonymous mapping: LO, HI bound the module with its .bss */
	pc_mem_data_pointers(py->mem, lo, hi, consider, &b);
	/* Equal lists: the accessor says which word is the head. */
	uint64_t p = 0;
	if (b.hint_ok && pc_u64(py, hint, &p) && chain(py, p) == b.n)
		return hint;
	return b.tie ? 0 : b.at;
}
