/* Loop detection for chains of pointers followed through the target's
 * memory (Brent's algorithm, no allocation).  A live target's links, read
 * at different moments, can close a loop that never comes back to the
 * list's head; without this a walk only ends at its cap, after hundreds
 * of millions of steps. */
#ifndef PC_CHAIN_H
#define PC_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

struct pc_chain {
	uint64_t saved, power, steps;
};

static inline void pc_chain_init(struct pc_chain *c)
{
	c->saved = 0;
	c->power = 1;
	c->steps = 0;
}

/* Whether NODE, the next node of the chain, was seen before: once the
 * saved node lies on a loop, the walk meets it again within a few times
 * the loop's length. */
static inline bool pc_chain_loops(struct pc_chain *c, uint64_t node)
{
	if (node == c->saved)
		return true;
	if (++c->steps == c->power) {
		c->saved = node;
		c->power *= 2;
		c->steps = 0;
	}
	return false;
}

#endif
