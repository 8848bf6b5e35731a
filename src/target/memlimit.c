#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "memlimit.h"

static uint64_t limit, held, peak, refusals;

static bool read_u64(const char *path, uint64_t *out)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char buf[64];
	bool ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return false;
	if (!strncmp(buf, "max", 3)) {
		*out = UINT64_MAX;
		return true;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return false;
	*out = v;
	return true;
}

static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return UINT64_MAX;
	char line[256];
	unsigned long long kb;
	uint64_t v = UINT64_MAX;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
			v = (uint64_t)kb * 1024;
			break;
		}
	fclose(f);
	return v;
}

/* Headroom of the cgroup at DIR/REL and of each ancestor up to DIR: a
 * parent's limit binds its children too. */
static uint64_t headroom(const char *dir, const char *rel, const char *max_file, const char *cur_file)
{
	char path[4096], sub[4096];
	snprintf(sub, sizeof(sub), "%s", rel);
	uint64_t best = UINT64_MAX;
	for (;;) {
		uint64_t max, cur;
		bool have_max = snprintf(path, sizeof(path), "%s%s/%s", dir, sub, max_file) < (int)sizeof(path) &&
				read_u64(path, &max);
		/* v1 reports "no limit" as a huge page-aligned number. */
		if (have_max && max < (UINT64_MAX >> 2) &&
		    snprintf(path, sizeof(path), "%s%s/%s", dir, sub, cur_file) < (int)sizeof(path) &&
		    read_u64(path, &cur))
			best = cur < max ? (max - cur < best ? max - cur : best) : 0;
		char *slash = strrchr(sub, '/');
		if (!slash)
			break;
		*slash = 0;
	}
	return best;
}

static uint64_t cgroup_headroom(void)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return UINT64_MAX;
	uint64_t best = UINT64_MAX;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *ctrl = strchr(line, ':'), *rel = ctrl ? strchr(ctrl + 1, ':') : NULL;
		if (!rel)
			continue;
		*rel++ = 0;
		ctrl++;
		if (!strcmp(rel, "/"))
			rel = "";
		uint64_t h = UINT64_MAX;
		if (!*ctrl)
			h = headroom("/sys/fs/cgroup", rel, "memory.max", "memory.current");
		else if (strstr(ctrl, "memory"))
			h = headroom("/sys/fs/cgroup/memory", rel, "memory.limit_in_bytes",
				     "memory.usage_in_bytes");
		if (h < best)
			best = h;
	}
	fclose(f);
	return best;
}

uint64_t pc_memlimit_free(void)
{
	uint64_t a = mem_available(), c = cgroup_headroom();
	uint64_t v = a < c ? a : c;
	return v == UINT64_MAX ? (1ULL << 32) : v;
}

void pc_memlimit_set(uint64_t bytes)
{
	limit = bytes ? bytes : pc_memlimit_free() / PC_MEMLIMIT_SHARE;
}

uint64_t pc_memlimit_get(void)
{
	if (!limit)
		pc_memlimit_set(0);
	return limit;
}

bool pc_memlimit_charge(uint64_t bytes)
{
	if (bytes > pc_memlimit_get() || held > limit - bytes) {
		refusals++;
		return false;
	}
	held += bytes;
	if (held > peak)
		peak = held;
	return true;
}

void pc_memlimit_release(uint64_t bytes)
{
	held = bytes < held ? held - bytes : 0;
}

uint64_t pc_memlimit_held(void)
{
	return held;
}

uint64_t pc_memlimit_peak(void)
{
	return peak;
}

void pc_memlimit_mark(void)
{
	peak = held;
	refusals = 0;
}

uint64_t pc_memlimit_refusals(void)
{
	return refusals;
}

bool pc_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !(v > 0) || s[0] == '-')
		return false;
	if (*end) {
		const char *u = strchr("KMGT", *end & ~0x20);
		/* Also K/KB/KiB and so on. */
		const char *rest = end + 1;
		if (!u || !*u || !(!*rest || !strcasecmp(rest, "b") || !strcasecmp(rest, "ib")))
			return false;
		for (const char *k = "KMGT"; k <= u; k++)
			v *= 1024;
	}
	if (v < 1 || v > 9.0e18)
		return false;
	*out = (uint64_t)v;
	return true;
}
