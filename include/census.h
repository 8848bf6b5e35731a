/* The result of one census, and the aggregation that builds it: per-type
 * counts and bytes, totals, and what was left incomplete. */
#ifndef PC_CENSUS_H
#define PC_CENSUS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "gcwalk.h"
#include "mem.h"

enum pc_scope { PC_SCOPE_GC, PC_SCOPE_REACHABLE };

struct pc_type_count {
	char *name;
	uint64_t count, bytes;
	/* filled by watch/diff; has_delta says whether they mean anything */
	int64_t count_delta, bytes_delta;
	bool has_delta;
};

/* A leak suspect (watch): a type whose count grew in each of the last
 * ROUNDS censuses of a process.  NAME is borrowed from the census. */
struct pc_why_type;

struct pc_suspect {
	const char *name;
	uint64_t count, bytes;           /* now */
	int64_t count_growth, bytes_growth;  /* over those rounds */
	int rounds;
	double seconds;                  /* time those rounds spanned */
	const struct pc_why_type *why;   /* watch --why: who holds it, or NULL */
};

#define PC_MAX_WARNINGS 8

struct pc_census {
	pid_t pid;
	char time[40];            /* ISO 8601 UTC, milliseconds */
	char version[32];
	const char *binary, *debuginfo;
	char offsets[48];        /* where the layout came from: pc_layout.offsets */
	char offsets_table[400]; /* which table, and its build; "" for none */
	enum pc_scope scope;
	bool complete;
	uint64_t rss_bytes;
	int threads;
	uint64_t pause_us, elapsed_us;
	int stops;                /* pause_us is the sum of this many stops */
	struct pc_gc_stats gc;
	struct pc_read_stats read;
	uint64_t total_objects, total_bytes;
	uint64_t invalid;         /* objects whose type could not be read */
	struct pc_type_count *types;  /* sorted by bytes, largest first */
	size_t ntypes;
	char *warnings[PC_MAX_WARNINGS];
	int nwarnings;
	/* reachable scope: what gc.get_referents() would not have found,
	 * types whose references could not all be followed, bad pointers */
	bool reachable_stats;
	uint64_t skipped, hidden_objects, hidden_bytes;
	struct pc_type_count *hidden, *opaque;
	size_t nhidden, nopaque;
};

void pc_census_warn(struct pc_census *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Build the sorted per-type list from the counts in PY's type map. */
struct pc_error *pc_census_collect(struct pc_census *c, struct pc_py *py);

/* Sort TYPES by bytes (then count, then name) descending. */
void pc_census_sort(struct pc_type_count *types, size_t n);

void pc_census_fini(struct pc_census *c);

#endif
