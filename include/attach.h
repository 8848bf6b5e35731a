/* Stopping and resuming the target with ptrace.  pycensus only ever uses
 * PTRACE_SEIZE, PTRACE_INTERRUPT and PTRACE_DETACH: it never writes the
 * target's memory or registers.  Every thread is detached from one place
 * (pc_attach_release), also from the signal handlers. */
#ifndef PC_ATTACH_H
#define PC_ATTACH_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct pc_attach {
	pid_t pid;
	pid_t *tids;
	int *sigs;         /* signal to re-deliver on detach, per thread */
	size_t ntids, cap;
};

/* Seize and stop every thread of PID, re-scanning /proc/PID/task until no
 * new thread appears.  On error nothing stays attached. */
struct pc_error *pc_attach_stop(struct pc_attach *at, pid_t pid);

/* Detach every thread (the target runs again).  Idempotent.  A thread
 * that was seized but never stopped (uninterruptible sleep) cannot be
 * detached until it stops: it is kept as a straggler, let go as soon as it
 * stops (pc_attach_release_stragglers) or when pycensus exits. */
void pc_attach_release(struct pc_attach *at);

/* Let go of the stragglers that have stopped since.  A long-running
 * caller (watch) calls it when SIGCHLD says a tracee stopped. */
void pc_attach_release_stragglers(void);

/* How many times pycensus was suspended (SIGTSTP, SIGTTIN, SIGTTOU) while
 * it held a target stopped.  The handler lets the target go first, so a
 * census whose stop spans a change of this count was not read from a
 * stopped target and must be taken again. */
unsigned long pc_attach_broken_stops(void);

/* Whether the thread group still exists. */
bool pc_attach_alive(pid_t pid);

/* Count the threads of PID from /proc (0 if unknown). */
int pc_thread_count(pid_t pid);

/* Install handlers so that SIGINT, SIGTERM, SIGHUP, SIGQUIT and crashes
 * detach the target before pycensus dies, and SIGTSTP, SIGTTIN and SIGTTOU
 * detach it before pycensus suspends itself.  If INTERRUPT_FLAG is not
 * NULL, SIGINT/SIGTERM only set it (and detach) instead of exiting. */
void pc_attach_install_signal_handlers(volatile sig_atomic_t *interrupt_flag);

/* Sleep the given milliseconds unless interrupted. */
void pc_sleep_ms(unsigned ms);

/* Exit 5 for PID, which this user may not WHAT ("trace", "read the memory
 * map of"): the reason as far as /proc tells it (another user, a process
 * that is not dumpable, Yama's ptrace_scope, a container without
 * SYS_PTRACE) and what to do. */
struct pc_error *pc_perm_error(pid_t pid, const char *what);

#endif
