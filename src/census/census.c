#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "sizeof.h"
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

/* Add COUNT/BYTES to the row named NAME of LIST (N rows, room for more);
 * *OVERFLOW is set if a sum of bytes had to stop at UINT64_MAX. */
static bool add_row(struct pc_type_count *list, size_t *n, const char *name, uint64_t count, uint64_t bytes,
		    bool *overflow)
{
	size_t j;
	for (j = 0; j < *n; j++)
		if (!strcmp(list[j].name, name))
			break;
	if (j == *n) {
		list[j].name = strdup(name);
		if (!list[j].name)
			return false;
		(*n)++;
	}
	list[j].count += count;
	*overflow |= !pc_bytes_add(&list[j].bytes, bytes);
	return true;
}

static struct pc_error *collect_extras(struct pc_census *c, struct pc_py *py, bool *overflow)
{
	size_t n = pc_typemap_count(py->types), cur = 0;
	c->hidden = calloc(n ? n : 1, sizeof(*c->hidden));
	c->opaque = calloc(n ? n : 1, sizeof(*c->opaque));
	if (!c->hidden || !c->opaque)
		return pc_error_nomem();
	struct pc_type *t;
	while ((t = pc_typemap_next(py->types, &cur))) {
		if (t->hidden_count &&
		    !add_row(c->hidden, &c->nhidden, t->name, t->hidden_count, t->hidden_bytes, overflow))
			return pc_error_nomem();
		if (t->opaque_count && !add_row(c->opaque, &c->nopaque, t->name, t->opaque_count, 0, overflow))
			return pc_error_nomem();
	}
	pc_census_sort(c->hidden, c->nhidden);
	pc_census_sort(c->opaque, c->nopaque);
	return NULL;
}

struct pc_error *pc_census_collect(struct pc_census *c, struct pc_py *py)
{
	size_t n = pc_typemap_count(py->types), cur = 0, k = 0;
	c->types = calloc(n ? n : 1, sizeof(*c->types));
	if (!c->types)
		return pc_error_nomem();
	struct pc_type *t;
	/* Each object's size is bounded (sizeof.c), but a heap damaged in
	 * many places could still add up past 2^64: say so, never wrap. */
	bool overflow = false;
	while ((t = pc_typemap_next(py->types, &cur))) {
		if (!t->count)
			continue;
		/* Distinct type objects can share a name (classes redefined, or
		 * the same class made twice); the user sees one row per name. */
		if (!add_row(c->types, &k, t->name, t->count, t->bytes, &overflow)) {
			c->ntypes = k;  /* so pc_census_fini frees the names */
			return pc_error_nomem();
		}
		c->total_objects += t->count;
		overflow |= t->bytes == UINT64_MAX || !pc_bytes_add(&c->total_bytes, t->bytes);
	}
	c->ntypes = k;
	pc_census_sort(c->types, k);
	struct pc_error *err = c->reachable_stats ? collect_extras(c, py, &overflow) : NULL;
	overflow |= c->hidden_bytes == UINT64_MAX;
	if (overflow) {
		c->complete = false;
		pc_census_warn(c, "sizes add up past 2^64 bytes (damaged memory?); byte totals stop there");
	}
	return err;
}

void pc_census_fini(struct pc_census *c)
{
	for (size_t i = 0; i < c->ntypes; i++)
		free(c->types[i].name);
	free(c->types);
	for (int i = 0; i < c->nwarnings; i++)
		free(c->warnings[i]);
	for (size_t i = 0; i < c->nhidden; i++)
		free(c->hidden[i].name);
	for (size_t i = 0; i < c->nopaque; i++)
		free(c->opaque[i].name);
	free(c->hidden);
	free(c->opaque);
	memset(c, 0, sizeof(*c));
}
