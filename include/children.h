/* The processes below a set of PIDs, read from /proc: how watch --children
 * finds worker processes as they start.  Also tells a process from a later
 * one that reuses its PID, and notices when a process exec()s. */
#ifndef PC_CHILDREN_H
#define PC_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* What /proc/PID/stat says about who a process is. */
struct pc_proc_id {
	pid_t ppid;
	unsigned long long start;       /* clock ticks after boot: PID reuse */
	unsigned long long startcode, startstack;  /* change on exec (ASLR) */
};

/* Read PID's identity.  False if the process is gone or a zombie: neither
 * can be censused. */
bool pc_proc_stat(pid_t pid, struct pc_proc_id *id);

/* Whether two readings are the same process, running the same program. */
bool pc_proc_same(const struct pc_proc_id *a, const struct pc_proc_id *b);

struct pc_descendant {
	pid_t pid;
	struct pc_proc_id id;
};

/* Every live process below one of ROOTS (the roots themselves excluded),
 * from one scan of /proc, parents before their children.  *OUT is
 * malloc'd (NULL when *N is 0). */
struct pc_error *pc_descendants(const pid_t *roots, size_t nroots,
				struct pc_descendant **out, size_t *n);

#endif
