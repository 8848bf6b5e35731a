/* Time as pycensus reports it: a monotonic microsecond clock for pauses,
 * deadlines and schedules, and ISO 8601 UTC timestamps for snapshots. */
#ifndef PC_CLOCK_H
#define PC_CLOCK_H

#include <stddef.h>
#include <stdint.h>

uint64_t pc_now_us(void);

/* "2026-11-21T22:10:00.123Z" into BUF (at least 32 bytes). */
void pc_iso_time(char *buf, size_t len);

#endif
