#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "types.h"

void pc_census_warn(struct pc_census *c, const char *fmt, ...)
{
	if (c->nwarnings >= PC_MAX_WARNINGS)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->warnings[c->nwarnings] = strdup(buf);
	if (c->warnings[c->nwarnings])
		c->nwarnings++;
}

static int by_bytes(const void *a, const void *b)
{
	const struct pc_type_count *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->name, y->name);
}

void pc_census_sort(struct pc_type_count *types, size_t n)
{
	qsort(types, n, sizeof(*types), by_bytes);
}

struct pc_error *pc_census_collect(struct pc_census *c, struct pc_py *py)
{
	size_t n = pc_typemap_count(py->types), cur = 0, k = 0;
	c->types = calloc(n ? n : 1, sizeof(*c->types));
	if (!c->types)
		return pc_error_nomem();
	struct pc_type *t;
	while ((t = pc_typemap_next(py->types, &cur))) {
		if (!t->count)
			continue;
		/* Distinct type objects can share a name (classes redefined, or
		 * the same class made twice); the user sees one row per name. */
		size_t j;
		for (j = 0; j < k; j++)
			if (!strcmp(c->types[j].name, t->name))
				break;
		if (j == k) {
			c->types[k].name = strdup(t->name);
			if (!c->types[k].name)
				return pc_error_nomem();
			k++;
		}
		c->types[j].count += t->count;
		c->types[j].bytes += t->bytes;
		c->total_objects += t->count;
		c->total_bytes += t->bytes;
	}
	c->ntypes = k;
	pc_census_sort(c->types, k);
	return NULL;
}

void pc_census_fini(struct pc_census *c)
{
	for (size_t i = 0; i < c->ntypes; i++)
		free(c->types[i].name);
	free(c->types);
	for (int i = 0; i < c->nwarnings; i++)
		free(c->warnings[i]);
	memset(c, 0, sizeof(*c));
}
