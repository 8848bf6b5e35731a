/* The memory pycensus may hold: --max-memory, or by default a share of
 * what this machine and pycensus's own cgroup still have free.  Every large
 * allocation (mirror pages, the visited set, the walk's stacks) is charged
 * here before it is made, so a census that does not fit stops reading
 * instead of getting pycensus -- or, under a shared cgroup limit, the
 * target -- killed for lack of memory. */
#ifndef PC_MEMLIMIT_H
#define PC_MEMLIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* The share of the free memory the default ceiling takes (1/N). */
#define PC_MEMLIMIT_SHARE 2

/* Free memory as pycensus sees it: the smaller of MemAvailable and the
 * headroom (limit minus usage) of its own cgroup and every ancestor, v2
 * (memory.max, memory.current) or v1 (memory.limit_in_bytes,
 * memory.usage_in_bytes). */
uint64_t pc_memlimit_free(void);

/* The ceiling: BYTES, or 0 for the default (pc_memlimit_free() / SHARE). */
void pc_memlimit_set(uint64_t bytes);
uint64_t pc_memlimit_get(void);

/* Charge BYTES; false (nothing charged) if that would pass the ceiling. */
bool pc_memlimit_charge(uint64_t bytes);
void pc_memlimit_release(uint64_t bytes);

/* Bytes held now; the most held, and how many charges the ceiling
 * refused, since the last pc_memlimit_mark(). */
uint64_t pc_memlimit_held(void);
uint64_t pc_memlimit_peak(void);
uint64_t pc_memlimit_refusals(void);
void pc_memlimit_mark(void);

/* "512M", "2G", "1.5g", "4096" (bytes; K M G T are powers of 1024). */
bool pc_parse_size(const char *s, uint64_t *out);

#endif
