/* A set of target addresses: one bit per 8-byte word of each mapping,
 * allocated for a mapping on its first use.  It takes 1/64 of the memory
 * it covers and needs no hashing, which matters at tens of millions of
 * objects. */
#ifndef PC_VISITED_H
#define PC_VISITED_H

#include "mem.h"

struct pc_visited;

/* A set over MEM's mappings as they are now; NULL when out of memory. */
struct pc_visited *pc_visited_create(const struct pc_mem *mem);
void pc_visited_destroy(struct pc_visited *v);

/* Add ADDR: 1 if it is new, 0 if it was there already (or memory for the
 * set ran out: see pc_visited_oom), -1 if ADDR is in no readable mapping. */
int pc_visited_mark(struct pc_visited *v, uint64_t addr);

/* Whether ADDR is in the set (no side effect). */
bool pc_visited_has(const struct pc_visited *v, uint64_t addr);

bool pc_visited_oom(const struct pc_visited *v);

/* Rank queries, so that a set of addresses numbers its members without
 * storing them: empty the set (its memory kept), fill it again, then
 * build the counts (1/512 of the set's own size).  pc_visited_rank then
 * gives the number of members below ADDR when ADDR is one (UINT64_MAX if
 * not), until the set changes.  False when out of memory. */
void pc_visited_clear(struct pc_visited *v);
bool pc_visited_rank_build(struct pc_visited *v);
uint64_t pc_visited_rank(const struct pc_visited *v, uint64_t addr);

/* Bytes in MEM's writable mappings: no object, and no sum of objects'
 * sizes, can be larger (a bound for what is read from a running target). */
uint64_t pc_mem_writable_bytes(const struct pc_mem *mem);

#endif
