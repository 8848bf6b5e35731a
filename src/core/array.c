#include <stdint.h>
#include <stdlib.h>

#include "array.h"

void *pc_array_reserve(void *p, size_t *cap, size_t need, size_t elem, size_t first)
{
	if (need <= *cap)
		return p;
	size_t n = *cap ? *cap * 2 : first;
	if (n < need)
		n = need;
	if (n > SIZE_MAX / elem)
		return NULL;
	void *q = realloc(p, n * elem);
	if (q)
		*cap = n;
	return q;
}
