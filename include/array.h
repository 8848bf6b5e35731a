/* Growing a malloc'd array by doubling: the one policy the walkers'
 * stacks, edge lists and tables share. */
#ifndef PC_ARRAY_H
#define PC_ARRAY_H

#include <stddef.h>

/* P (CAP elements of ELEM bytes) made to hold NEED: P itself if it does,
 * else reallocated to FIRST elements or twice CAP, at least NEED, and
 * *CAP updated.  NULL when out of memory (P and *CAP left as they were). */
void *pc_array_reserve(void *p, size_t *cap, size_t need, size_t elem, size_t first);

#endif
