/* Members a traverse function began to visit in a patch release
 * (src/layout/traverse_since.c). */
#ifndef PC_TRAVERSE_SINCE_H
#define PC_TRAVERSE_SINCE_H

#include <stdbool.h>

/* Whether traverse function FN visits MEMBER in MAJOR.MINOR.MICRO (MICRO
 * -1: unknown): a member it holds but does not visit is a hidden
 * reference, not a referent. */
bool pc_traverse_visits(const char *fn, const char *member, int major, int minor, int micro);

#endif
