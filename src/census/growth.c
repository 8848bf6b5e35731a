/* Comparing censuses by type name.  Censuses are sorted by bytes, so each
 * comparison looks names up in an index sorted by name. */
#include <stdlib.h>
#include <string.h>

#include "growth.h"

static int by_name(const void *a, const void *b)
{
	const struct pc_type_count *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* Pointers to C's types sorted by name; free() it. */
static struct pc_error *name_index(const struct pc_census *c, const struct pc_type_count ***out)
{
	const struct pc_type_count **idx = malloc((c->ntypes ? c->ntypes : 1) * sizeof(*idx));
	if (!idx)
		return pc_error_nomem();
	for (size_t i = 0; i < c->ntypes; i++)
		idx[i] = &c->types[i];
	qsort(idx, c->ntypes, sizeof(*idx), by_name);
	*out = idx;
	return NULL;
}

static const struct pc_type_count *lookup(const struct pc_type_count *const *idx, size_t n,
					  const char *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = strcmp(idx[mid]->name, name);
		if (!r)
			return idx[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void set_delta(struct pc_type_count *t, const struct pc_type_count *before)
{
	t->count_delta = (int64_t)t->count - (int64_t)(before ? before->count : 0);
	t->bytes_delta = (int64_t)t->bytes - (int64_t)(before ? before->bytes : 0);
	t->has_delta = true;
}

static void deltas_indexed(const struct pc_type_count *const *idx, size_t n, struct pc_census *cur)
{
	for (size_t i = 0; i < cur->ntypes; i++)
		set_delta(&cur->types[i], lookup(idx, n, cur->types[i].name));
}

static int by_growth(const void *a, const void *b)
{
	const struct pc_type_count *x = a, *y = b;
	if (x->bytes_delta != y->bytes_delta)
		return x->bytes_delta > y->bytes_delta ? -1 : 1;
	if (x->count_delta != y->count_delta)
		return x->count_delta > y->count_delta ? -1 : 1;
	return strcmp(x->name, y->name);
}

struct pc_error *pc_census_compare(const struct pc_census *old, const struct pc_census *cur,
				   struct pc_type_count **out, size_t *n)
{
	const struct pc_type_count **a = NULL, **b = NULL;
	struct pc_error *err = name_index(old, &a);
	if (!err)
		err = name_index(cur, &b);
	struct pc_type_count *res = NULL;
	if (!err && !(res = calloc(old->ntypes + cur->ntypes + 1, sizeof(*res))))
		err = pc_error_nomem();
	if (err) {
		free(a);
		free(b);
		return err;
	}
	/* Merge the two name-sorted lists. */
	size_t i = 0, j = 0, k = 0;
	while (i < old->ntypes || j < cur->ntypes) {
		int r = i == old->ntypes ? 1 : j == cur->ntypes ? -1 : strcmp(a[i]->name, b[j]->name);
		const struct pc_type_count *was = r <= 0 ? a[i++] : NULL;
		const struct pc_type_count *now = r >= 0 ? b[j++] : NULL;
		struct pc_type_count *t = &res[k++];
		/* Borrowed, never freed through this array. */
		t->name = (char *)(now ? now->name : was->name);
		t->count = now ? now->count : 0;
		t->bytes = now ? now->bytes : 0;
		set_delta(t, was);
	}
	free(a);
	free(b);
	qsort(res, k, sizeof(*res), by_growth);
	*out = res;
	*n = k;
	return NULL;
}

struct entry {
	struct pc_census c;
	const struct pc_type_count **byname;
	uint64_t t_us;
};

struct pc_history {
	int rounds, len, head;   /* ring[(head + i) % rounds], i = 0 the oldest */
	struct entry *ring;
};

struct pc_history *pc_history_create(int rounds)
{
	if (rounds < 1)
		rounds = 1;
	struct pc_history *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->rounds = rounds;
	h->ring = calloc((size_t)rounds, sizeof(*h->ring));
	if (!h->ring) {
		free(h);
		return NULL;
	}
	return h;
}

static struct entry *at(const struct pc_history *h, int i)
{
	return &h->ring[(h->head + i) % h->rounds];
}

static void drop_oldest(struct pc_history *h)
{
	struct entry *e = at(h, 0);
	pc_census_fini(&e->c);
	free(e->byname);
	e->byname = NULL;
	h->head = (h->head + 1) % h->rounds;
	h->len--;
}

void pc_history_destroy(struct pc_history *h)
{
	if (!h)
		return;
	while (h->len)
		drop_oldest(h);
	free(h->ring);
	free(h);
}

const struct pc_census *pc_history_latest(const struct pc_history *h)
{
	return h->len ? &at(h, h->len - 1)->c : NULL;
}

static uint64_t count_in(const struct entry *e, const char *name)
{
	const struct pc_type_count *t = lookup(e->byname, e->c.ntypes, name);
	return t ? t->count : 0;
}

static int by_bytes_growth(const void *a, const void *b)
{
	const struct pc_suspect *x = a, *y = b;
	if (x->bytes_growth != y->bytes_growth)
		return x->bytes_growth > y->bytes_growth ? -1 : 1;
	if (x->count_growth != y->count_growth)
		return x->count_growth > y->count_growth ? -1 : 1;
	return strcmp(x->name, y->name);
}

struct pc_error *pc_history_compare(const struct pc_history *h, struct pc_census *cur,
				    uint64_t now_us, struct pc_suspect **sus, size_t *nsus)
{
	*sus = NULL;
	*nsus = 0;
	if (!h->len)
		return NULL;
	const struct entry *last = at(h, h->len - 1);
	deltas_indexed(last->byname, last->c.ntypes, cur);
	if (h->len < h->rounds)
		return NULL;

	struct pc_suspect *s = NULL;
	size_t n = 0;
	const struct entry *first = at(h, h->len - h->rounds);
	for (size_t i = 0; i < cur->ntypes; i++) {
		const struct pc_type_count *t = &cur->types[i];
		/* Walk back through the window: each census must hold fewer
		 * than the one after it.  One flat round clears the type, so a
		 * cache that filled up and stopped is not a suspect. */
		uint64_t later = t->count;
		bool rising = true;
		for (int r = h->len - 1; rising && r >= h->len - h->rounds; r--) {
			uint64_t c = count_in(at(h, r), t->name);
			rising = c < later;
			later = c;
		}
		if (!rising)
			continue;
		if (!s && !(s = calloc(cur->ntypes, sizeof(*s))))
			return pc_error_nomem();
		const struct pc_type_count *old = lookup(first->byname, first->c.ntypes, t->name);
		s[n++] = (struct pc_suspect){
			.name = t->name,
			.count = t->count,
			.bytes = t->bytes,
			.count_growth = (int64_t)t->count - (int64_t)(old ? old->count : 0),
			.bytes_growth = (int64_t)t->bytes - (int64_t)(old ? old->bytes : 0),
			.rounds = h->rounds,
			.seconds = (double)(now_us - first->t_us) / 1e6,
		};
	}
	if (n)
		qsort(s, n, sizeof(*s), by_bytes_growth);
	*sus = s;
	*nsus = n;
	return NULL;
}

struct rising {
	const char *name;
	int64_t growth;
};

static int by_rising(const void *a, const void *b)
{
	const struct rising *x = a, *y = b;
	return x->growth != y->growth ? (x->growth > y->growth ? -1 : 1) : strcmp(x->name, y->name);
}

struct pc_error *pc_history_rising(const struct pc_history *h, size_t max, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	if (h->len < h->rounds || !max)
		return NULL;
	const struct entry *last = at(h, h->len - 1), *first = at(h, h->len - h->rounds);
	struct rising *r = calloc(last->c.ntypes ? last->c.ntypes : 1, sizeof(*r));
	if (!r)
		return pc_error_nomem();
	size_t nr = 0;
	for (size_t i = 0; i < last->c.ntypes; i++) {
		const struct pc_type_count *t = &last->c.types[i];
		uint64_t later = t->count;
		bool rising = true;
		for (int k = h->len - 2; rising && k >= h->len - h->rounds; k--) {
			uint64_t c = count_in(at(h, k), t->name);
			rising = c < later;
			later = c;
		}
		if (rising) {
			const struct pc_type_count *old = lookup(first->byname, first->c.ntypes, t->name);
			r[nr++] = (struct rising){ t->name, (int64_t)t->bytes - (int64_t)(old ? old->bytes : 0) };
		}
	}
	qsort(r, nr, sizeof(*r), by_rising);
	if (nr > max)
		nr = max;
	char **out = calloc(nr ? nr : 1, sizeof(*out));
	if (!out) {
		free(r);
		return pc_error_nomem();
	}
	for (size_t i = 0; i < nr; i++)
		if (!(out[i] = strdup(r[i].name))) {
			while (i--)
				free(out[i]);
			free(out);
			free(r);
			return pc_error_nomem();
		}
	free(r);
	*names = out;
	*n = nr;
	return NULL;
}

struct pc_error *pc_history_push(struct pc_history *h, struct pc_census *cur, uint64_t now_us)
{
	const struct pc_type_count **idx;
	struct pc_error *err = name_index(cur, &idx);
	if (err)
		return err;
	if (h->len == h->rounds)
		drop_oldest(h);
	struct entry *e = at(h, h->len);
	e->c = *cur;
	e->byname = idx;
	e->t_us = now_us;
	h->len++;
	memset(cur, 0, sizeof(*cur));
	return NULL;
}
