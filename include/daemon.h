/* Running as a service (watch --daemon): detaching from the terminal, the
 * pidfile, and where notes for the operator go once there is no terminal. */
#ifndef PC_DAEMON_H
#define PC_DAEMON_H

#include <stdbool.h>

#include "error.h"

/* A note for the operator: "pycensus: ..." on stderr; after pc_daemonize,
 * to the log file if one was given, else to syslog. */
void pc_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Create PATH, lock it and write our PID.  Fails if another process holds
 * the lock (a pycensus already running with that pidfile).  Take it before
 * the slow start-up, so a second instance fails at once. */
struct pc_error *pc_pidfile_take(const char *path);
/* Remove the pidfile taken, if any. */
void pc_pidfile_release(void);

/* Detach: fork, new session, fork again, stdin and stdout to /dev/null,
 * stderr to LOG (appended) or /dev/null, working directory /.  The daemon
 * writes its PID into the pidfile taken (if any) and returns with *PARENT
 * false.  The original process waits until that is done and returns with
 * *PARENT true and the daemon's error if it failed, so a service manager
 * sees a failure and a pidfile that exists. */
struct pc_error *pc_daemonize(const char *log, bool *parent);

#endif
