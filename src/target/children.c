/* Process-tree discovery from /proc/PID/stat.  The kernel keeps no list of
 * a process's children that covers every thread's forks (/proc/PID/task/
 * TID/children is per thread and optional), so one pass over /proc gives
 * every process's parent and the tree is walked from that. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "children.h"

/* Parse the fields after the command name, which may itself hold spaces
 * and parentheses: everything up to the last ')' is skipped. */
static bool parse_stat(char *buf, char *state, struct pc_proc_id *id)
{
	char *p = strrchr(buf, ')');
	if (!p)
		return false;
	/* field[i] is field i + 3 of proc(5): 3 state, 4 ppid, 22 starttime,
	 * 26 startcode, 28 startstack. */
	char *field[26], *save = NULL;
	int n = 0;
	for (char *tok = strtok_r(p + 1, " \n", &save); tok && n < 26; tok = strtok_r(NULL, " \n", &save))
		field[n++] = tok;
	if (n < 26)
		return false;
	*state = field[0][0];
	id->ppid = (pid_t)strtol(field[1], NULL, 10);
	id->start = strtoull(field[19], NULL, 10);
	id->startcode = strtoull(field[23], NULL, 10);
	id->startstack = strtoull(field[25], NULL, 10);
	return true;
}

bool pc_proc_stat(pid_t pid, struct pc_proc_id *id)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char state;
	if (!parse_stat(buf, &state, id))
		return false;
	return state != 'Z' && state != 'X' && state != 'x';
}

bool pc_proc_same(const struct pc_proc_id *a, const struct pc_proc_id *b)
{
	return a->start == b->start && a->startcode == b->startcode && a->startstack == b->startstack;
}

static int by_parent(const void *a, const void *b)
{
	const struct pc_descendant *x = a, *y = b;
	if (x->id.ppid != y->id.ppid)
		return x->id.ppid < y->id.ppid ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Every live process in /proc with its parent, sorted by parent. */
static struct pc_error *scan_proc(struct pc_descendant **out, size_t *n)
{
	DIR *d = opendir("/proc");
	if (!d)
		return pc_error_new(PC_EXIT_FAILED, "cannot list /proc: %s", strerror(errno));
	struct pc_descendant *all = NULL;
	size_t len = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		struct pc_descendant p = { .pid = pid };
		if (!pc_proc_stat(pid, &p.id))
			continue;  /* exited since readdir, or a zombie */
		if (len == cap) {
			size_t c = cap ? cap * 2 : 256;
			struct pc_descendant *a = realloc(all, c * sizeof(*a));
			if (!a) {
				free(all);
				closedir(d);
				return pc_error_nomem();
			}
			all = a;
			cap = c;
		}
		all[len++] = p;
	}
	closedir(d);
	if (len)
		qsort(all, len, sizeof(*all), by_parent);
	*out = all;
	*n = len;
	return NULL;
}

static bool listed(const struct pc_descendant *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].pid == pid)
			return true;
	return false;
}

struct pc_error *pc_descendants(const pid_t *roots, size_t nroots,
				struct pc_descendant **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct pc_descendant *all = NULL;
	size_t nall = 0;
	struct pc_error *err = scan_proc(&all, &nall);
	if (err)
		return err;
	/* Breadth first: the result doubles as the queue, so parents come
	 * before their children.  Never more entries than processes. */
	struct pc_descendant *res = malloc((nall ? nall : 1) * sizeof(*res));
	if (!res) {
		free(all);
		return pc_error_nomem();
	}
	size_t len = 0;
	for (size_t q = 0; q < nroots + len; q++) {
		pid_t parent = q < nroots ? roots[q] : res[q - nroots].pid;
		/* First entry with this parent, by binary search. */
		size_t lo = 0, hi = nall;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (all[mid].id.ppid < parent)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo; i < nall && all[i].id.ppid == parent; i++) {
			pid_t pid = all[i].pid;
			bool is_root = false;
			for (size_t r = 0; r < nroots; r++)
				is_root |= roots[r] == pid;
			/* A root below another root is reported as a root only;
			 * the check also guards against a malformed tree. */
			if (!is_root && !listed(res, len, pid))
				res[len++] = all[i];
		}
	}
	free(all);
	if (!len) {
		free(res);
		res = NULL;
	}
	*out = res;
	*n = len;
	return NULL;
}
