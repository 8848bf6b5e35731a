#include <stdlib.h>
#include <string.h>

#include "memlimit.h"
#include "visited.h"

struct pc_visited {
	const struct pc_mem *mem;
	uint64_t **bits;        /* per mapping, NULL until used */
	size_t n;
	uint64_t charged;       /* to the memory ceiling, released at the end */
	bool oom;
	/* rank queries (pc_visited_rank_build): per mapping, the members
	 * before it and before each block of RANK_WORDS words */
	uint64_t *base;
	uint64_t **blocks;
};

#define RANK_WORDS 8

/* One bit per 8-byte word of the mapping, in whole 64-bit words. */
static size_t bitmap_bytes(const struct pc_mapping *m)
{
	return (size_t)((m->end - m->start) / 8 + 63) / 64 * 8;
}

struct pc_visited *pc_visited_create(const struct pc_mem *mem)
{
	struct pc_visited *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->mem = mem;
	v->n = mem->nmaps;
	v->bits = calloc(v->n ? v->n : 1, sizeof(*v->bits));
	if (!v->bits) {
		free(v);
		return NULL;
	}
	return v;
}

void pc_visited_destroy(struct pc_visited *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		free(v->bits[i]);
		if (v->blocks)
			free(v->blocks[i]);
	}
	free(v->blocks);
	free(v->base);
	pc_memlimit_release(v->charged);
	free(v->bits);
	free(v);
}

int pc_visited_mark(struct pc_visited *v, uint64_t addr)
{
	long i = pc_mem_index(v->mem, addr);
	if (i < 0 || (size_t)i >= v->n)
		return -1;
	const struct pc_mapping *m = &v->mem->maps[i];
	if (!m->readable)
		return -1;
	if (!v->bits[i]) {
		/* Charged to the ceiling like the mirror (memlimit.h). */
		size_t bytes = bitmap_bytes(m);
		if (!pc_memlimit_charge(bytes)) {
			v->oom = true;
			return 0;
		}
		v->bits[i] = calloc(bytes / 8, 8);
		if (!v->bits[i]) {
			pc_memlimit_release(bytes);
			v->oom = true;
			return 0;
		}
		v->charged += bytes;
	}
	uint64_t bit = (addr - m->start) / 8;
	uint64_t *word = &v->bits[i][bit / 64];
	uint64_t mask = 1ULL << (bit % 64);
	if (*word & mask)
		return 0;
	*word |= mask;
	return 1;
}

bool pc_visited_has(const struct pc_visited *v, uint64_t addr)
{
	long i = pc_mem_index(v->mem, addr);
	if (i < 0 || (size_t)i >= v->n || !v->bits[i])
		return false;
	uint64_t bit = (addr - v->mem->maps[i].start) / 8;
	return v->bits[i][bit / 64] >> (bit % 64) & 1;
}

void pc_visited_clear(struct pc_visited *v)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->bits[i])
			memset(v->bits[i], 0, bitmap_bytes(&v->mem->maps[i]));
}

bool pc_visited_rank_build(struct pc_visited *v)
{
	v->base = calloc(v->n ? v->n : 1, sizeof(*v->base));
	v->blocks = calloc(v->n ? v->n : 1, sizeof(*v->blocks));
	if (!v->base || !v->blocks)
		return false;
	uint64_t total = 0;
	for (size_t i = 0; i < v->n; i++) {
		v->base[i] = total;
		if (!v->bits[i])
			continue;
		size_t words = bitmap_bytes(&v->mem->maps[i]) / 8;
		size_t nb = (words + RANK_WORDS - 1) / RANK_WORDS;
		uint64_t *b = malloc((nb ? nb : 1) * sizeof(*b));
		if (!b)
			return false;
		v->blocks[i] = b;
		uint64_t in = 0;
		for (size_t w = 0; w < words; w++) {
			if (w % RANK_WORDS == 0)
				b[w / RANK_WORDS] = in;
			in += (uint64_t)__builtin_popcountll(v->bits[i][w]);
		}
		total += in;
	}
	return true;
}

uint64_t pc_visited_rank(const struct pc_visited *v, uint64_t addr)
{
	long i = pc_mem_index(v->mem, addr);
	if (i < 0 || (size_t)i >= v->n || !v->bits[i] || !v->blocks || !v->blocks[i])
		return UINT64_MAX;
	uint64_t bit = (addr - v->mem->maps[i].start) / 8;
	const uint64_t *words = v->bits[i];
	size_t w = (size_t)(bit / 64);
	uint64_t mask = 1ULL << (bit % 64);
	if (!(words[w] & mask))
		return UINT64_MAX;
	uint64_t r = v->base[i] + v->blocks[i][w / RANK_WORDS];
	for (size_t k = w - w % RANK_WORDS; k < w; k++)
		r += (uint64_t)__builtin_popcountll(words[k]);
	return r + (uint64_t)__builtin_popcountll(words[w] & (mask - 1));
}

bool pc_visited_oom(const struct pc_visited *v)
{
	return v->oom;
}

uint64_t pc_mem_writable_bytes(const struct pc_mem *mem)
{
	uint64_t bytes = 0;
	for (size_t i = 0; i < mem->nmaps; i++)
		if (mem->maps[i].writable)
			bytes += mem->maps[i].end - mem->maps[i].start;
	return bytes;
}
