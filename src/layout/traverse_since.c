/* Which members of a traverse function's object it visits in a given
 * release, where that changed in a patch release: version knowledge the
 * walkers' rules ask of here rather than compare versions themselves.
 * Measured with gc.get_referents() on the builds named. */
#include <stdbool.h>
#include <string.h>

#include "traverse_since.h"

/* Members a traverse function began to visit in a patch release (or a
 * minor one), the first such release of each minor version: before it the member holds its
 * object all the same, a reference gc.get_referents() does not report.
 * gh-140000 (NEWS of 3.13.10, 3.14.1, 3.15.0a1): the name of TypeVar,
 * ParamSpec and TypeAliasType; 3.14 added TypeAliasType's qualname, which
 * only 3.15 visits (measured: gc.get_referents() on 3.14.10, 3.15.2). */
static const struct visited_since {
	const char *fn, *member;
	int major, minor, micro;
} visited_since[] = {
	{ "typevar_traverse", "name", 3, 13, 10 },
	{ "typevar_traverse", "name", 3, 14, 1 },
	{ "typevar_traverse", "name", 3, 15, 0 },
	{ "paramspec_traverse", "name", 3, 13, 10 },
	{ "paramspec_traverse", "name", 3, 14, 1 },
	{ "paramspec_traverse", "name", 3, 15, 0 },
	{ "typealias_traverse", "name", 3, 13, 10 },
	{ "typealias_traverse", "name", 3, 14, 1 },
	{ "typealias_traverse", "name", 3, 15, 0 },
	{ "typealias_traverse", "qualname", 3, 15, 0 },
	/* BytesIO's buffer: visited since the type became a heap type (3.12;
	 * measured: gc.get_referents() of a BytesIO on 3.11.7 and 3.12.1) */
	{ "bytesio_traverse", "buf", 3, 12, 0 },
};

/* Whether FN visits MEMBER in MAJOR.MINOR.MICRO: always, unless listed
 * above; in a listed minor version from its release on (MICRO -1, unknown:
 * not); in another, if it is newer than one listed. */
bool pc_traverse_visits(const char *fn, const char *member, int major, int minor, int micro)
{
	int v = major * 100 + minor;
	bool listed = false, newer = false;
	for (size_t i = 0; i < sizeof(visited_since) / sizeof(visited_since[0]); i++) {
		const struct visited_since *e = &visited_since[i];
		if (strcmp(e->fn, fn) || strcmp(e->member, member))
			continue;
		int ev = e->major * 100 + e->minor;
		if (ev == v)
			return micro >= e->micro;
		listed = true;
		newer = newer || v > ev;
	}
	return !listed || newer;
}
