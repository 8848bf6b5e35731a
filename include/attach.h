/* Stopping and resuming the target with ptrace.  pycensus only ever uses
 * PTRACE_SEIZE, PTRACE_INTERRUPT and PTRACE_DETACH: it never writes the
 * target's memory or registers.  Every thread is detached from one place
 * (pc_attach_release), also from the fatal-signal handler. */
#ifndef PC_ATTACH_H
#define PC_ATTACH_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct pc_attach {
	pid_t pid;
	pid_t *tids;
	int *sigs;         /* signal to re-deliver on detach, per thread */
	size_t ntids, cap;
	bool stopped;
};

/* Seize and stop every thread of PID, re-scanning /proc/PID/task until no
 * new thread appears.  On error nothing stays attached. */
struct pc_error *pc_attach_stop(struct pc_attach *at, pid_t pid);

/* Detach every thread (the target runs again).  Idempotent. */
void pc_attach_release(struct pc_attach *at);

/* Whether the thread group still exists. */
bool pc_attach_alive(pid_t pid);

/* Count the threads of PID from /proc (0 if unknown). */
int pc_thread_count(pid_t pid);

/* Install handlers so that SIGINT, SIGTERM, SIGHUP, SIGQUIT and crashes
 * detach the target before pycensus dies.  If INTERRUPT_FLAG is not NULL,
 * SIGINT/SIGTERM only set it (and detach) instead of exiting. */
void pc_attach_install_signal_handlers(volatile int *interrupt_flag);

/* Sleep the given milliseconds unless interrupted. */
void pc_sleep_ms(unsigned ms);

#endif
