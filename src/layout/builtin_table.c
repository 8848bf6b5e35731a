/* The layout tables compiled into pycensus: layout/X.Y.json, each the
 * facts `pycensus info` read from the DWARF of one real build
 * (scripts/gen-layout-table), embedded by the Makefile as
 * pc_layout_tables[]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "debug_offsets.h"

extern const char *const pc_layout_tables[];

struct builtin {
	json_object *root, *facts;
	char build[400];
};

static enum pc_fact_state builtin_fact(void *ctx, const char *key, int64_t *value)
{
	return pc_layout_facts_find(((struct builtin *)ctx)->facts, key, value);
}

static const char *get_str(json_object *o, const char *a, const char *b)
{
	json_object *x, *y;
	if (!json_object_object_get_ex(o, a, &x) || !json_object_object_get_ex(x, b, &y))
		return NULL;
	return json_object_get_string(y);
}

/* The patch release a table came from ("3.13.18" -> 18), -1 if unsaid. */
static int table_micro(json_object *root)
{
	const char *p = get_str(root, "table", "patch");
	int a, b, c;
	return p && sscanf(p, "%d.%d.%d", &a, &b, &c) == 3 ? c : -1;
}

/* The first patch release a table describes ("3.14.5" -> 5), -1 if any. */
static int table_first_micro(json_object *root)
{
	const char *p = get_str(root, "table", "first_patch");
	int a, b, c;
	return p && sscanf(p, "%d.%d.%d", &a, &b, &c) == 3 ? c : -1;
}

bool pc_builtin_table_source(int major, int minor, int micro, struct pc_layout_source *out, const char **build,
			     char *why, size_t cap)
{
	char want[16];
	snprintf(want, sizeof(want), "%d.%d", major, minor);
	snprintf(why, cap, ", and pycensus has no layout table for Python %s", want);
	/* Test hook: as if this pycensus had no table (a version newer than
	 * it), for the exit-6 path every supported version has left. */
	const char *none = getenv("PYCENSUS_TEST_NO_TABLES");
	if (none && *none)
		return false;
	/* The newest table not newer than the target (a layout that changed
	 * in a patch release stays changed), else the oldest. */
	json_object *best = NULL;
	int best_micro = -1;
	bool best_fits = false;
	for (size_t i = 0; pc_layout_tables[i]; i++) {
		json_object *root = json_tokener_parse(pc_layout_tables[i]), *lay, *facts;
		const char *v = root ? get_str(root, "table", "version") : NULL;
		if (!v || strcmp(v, want) || !json_object_object_get_ex(root, "layout", &lay) ||
		    !json_object_object_get_ex(lay, "facts", &facts) || !json_object_is_type(facts, json_type_array)) {
			json_object_put(root);
			continue;
		}
		int m = table_micro(root), first = table_first_micro(root);
		if (first >= 0 && micro < first) {
			/* a layout fact differs before FIRST: never this table */
			const char *from = get_str(root, "table", "patch");
			const char *differs = get_str(root, "table", "before_first_patch");
			char target[64];
			if (micro >= 0)
				snprintf(target, sizeof(target), "%s.%d", want, micro);
			else
				snprintf(target, sizeof(target), "%s with an unknown patch release", want);
			snprintf(why, cap,
				 ", and pycensus's layout table %s describes %s.%d and later only (before it: %s), not %s",
				 from ? from : want, want, first, differs ? differs : "another layout", target);
			json_object_put(root);
			continue;
		}
		bool fits = micro >= 0 && m <= micro;
		bool better = !best || (fits && (!best_fits || m > best_micro)) ||
			      (!fits && !best_fits && m < best_micro);
		if (better) {
			json_object_put(best);
			best = root;
			best_micro = m;
			best_fits = fits;
		} else {
			json_object_put(root);
		}
	}
	if (!best)
		return false;
	struct builtin *b = calloc(1, sizeof(*b));
	json_object *lay;
	if (!b) {
		json_object_put(best);
		return false;
	}
	b->root = best;
	json_object_object_get_ex(best, "layout", &lay);
	json_object_object_get_ex(lay, "facts", &b->facts);
	const char *from = get_str(best, "table", "build");
	const char *patch = get_str(best, "table", "patch");
	snprintf(b->build, sizeof(b->build), "table %s, generated from %s", patch ? patch : want, from ? from : "?");
	*build = b->build;
	*out = (struct pc_layout_source){ .name = "table", .fact = builtin_fact, .ctx = b };
	return true;
}

void pc_builtin_table_free(struct pc_layout_source *src)
{
	struct builtin *b = src->ctx;
	if (b)
		json_object_put(b->root);
	free(b);
	src->ctx = NULL;
}
