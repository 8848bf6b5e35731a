#include "conservative.h"
#include "types.h"

/* A word is taken as a reference only if what it points to passes every
 * check pycensus makes of an object: its ob_type a type object that reads
 * as one (named, ready, its own type a type), its count not 0 and not a
 * free-list link (a freed object keeps its type word).  Data that happens to hold such a word is
 * rare; a type object is never taken (static ones are not objects the GC
 * lists, and heap ones are reached through their modules). */
/* Whether the object at V looks freed to pymalloc: the allocator links
 * a free block through its first word, which for an object without a GC
 * header is its reference count.  No count is the address of mapped
 * memory (immortal counts of 3.12+ are below 2^32 or carry flags above
 * bit 47). */
static bool freed(struct pc_py *py, uint64_t v)
{
	uint64_t word;
	return pc_u64(py, v, &word) && word && !(word & 7) && pc_mem_index(py->mem, word) >= 0;
}

size_t pc_conservative_scan(struct pc_py *py, uint64_t addr, uint64_t len, uint64_t self, uint64_t skip,
			    void (*fn)(void *arg, uint64_t obj), void *arg)
{
	if (len > PC_CONSERVATIVE_MAX)
		len = PC_CONSERVATIVE_MAX;
	len &= ~7ULL;
	const uint64_t *p = len ? pc_mem_ptr(py->mem, addr, (size_t)len) : NULL;
	if (!p)
		return 0;
	size_t found = 0;
	for (uint64_t i = 0; i < len / 8; i++) {
		uint64_t v = p[i];
		if (skip && addr + i * 8 == skip)
			continue;
		if (!v || (v & 7) || v == self || pc_mem_index(py->mem, v) < 0)
			continue;
		/* An unmapped type word is no object's: checked before the
		 * type map remembers the address (it keeps what it was asked). */
		uint64_t tp = pc_ob_type(py, v);
		if (!tp || pc_mem_index(py->mem, tp) < 0)
			continue;
		struct pc_type *t = pc_type_get(py, tp);
		if (!t || t->kind == PK_TYPE || !pc_alive(py, v) || freed(py, v))
			continue;
		fn(arg, v);
		found++;
	}
	return found;
}
