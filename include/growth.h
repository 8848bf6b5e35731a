/* How censuses of a process change: per-type deltas against an earlier
 * census, the union of two censuses (diff), and the short history of a
 * process's censuses that names leak suspects (watch). */
#ifndef PC_GROWTH_H
#define PC_GROWTH_H

#include <stdint.h>

#include "census.h"

/* One entry per type present in OLD or CUR (count and bytes as in CUR, 0 if
 * absent), with deltas, sorted by bytes_delta, then count_delta, largest
 * first.  *OUT's names are borrowed from the censuses; free(*OUT). */
struct pc_error *pc_census_compare(const struct pc_census *old, const struct pc_census *cur,
				   struct pc_type_count **out, size_t *n);

/* The last ROUNDS censuses of one process. */
struct pc_history;

struct pc_history *pc_history_create(int rounds);
void pc_history_destroy(struct pc_history *h);

/* The latest census pushed, NULL if none. */
const struct pc_census *pc_history_latest(const struct pc_history *h);

/* Deltas of CUR (taken at monotonic time NOW_US) against the latest census,
 * and the types whose count grew in each of the last ROUNDS censuses up to
 * CUR, by bytes grown, largest first (none until ROUNDS censuses are
 * held).  Suspect names point into CUR; free(*SUS). */
struct pc_error *pc_history_compare(const struct pc_history *h, struct pc_census *cur,
				    uint64_t now_us, struct pc_suspect **sus, size_t *nsus);

/* The types that will be growing if their count rises once more: their
 * count rose across every census held (a full window but the next one),
 * at most MAX, largest byte growth first.  *NAMES are copies; free each
 * and the array.  None until the history holds ROUNDS censuses. */
struct pc_error *pc_history_rising(const struct pc_history *h, size_t max, char ***names, size_t *n);

/* Move CUR into the history (CUR is left empty), dropping the oldest. */
struct pc_error *pc_history_push(struct pc_history *h, struct pc_census *cur, uint64_t now_us);

#endif
