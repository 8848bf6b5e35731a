/* The latest censuses in Prometheus text exposition format, for
 * node_exporter's textfile collector (watch --prometheus). */
#ifndef PC_PROMETHEUS_H
#define PC_PROMETHEUS_H

#include <stddef.h>

#include "census.h"
#include "error.h"

#define PC_PROMETHEUS_TOP 50

/* Write per-type object and byte gauges of the N censuses (one per process)
 * to PATH, keeping each census's TOP types with the most bytes (0: all).
 * The file is replaced atomically: written under a temporary name in the
 * same directory, then renamed, so the collector never reads half a file. */
struct pc_error *pc_prometheus_write(const char *path, const struct pc_census *const *cs, size_t n,
				     size_t top);

#endif
