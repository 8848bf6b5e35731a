/* Pieces of the command line shared by the commands (main.c, watch.c,
 * diff.c). */
#ifndef PC_CLI_H
#define PC_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "output.h"
#include "snapshot.h"

enum {
	OPT_SCOPE = 256, OPT_TOP, OPT_FORMAT, OPT_NO_STOP, OPT_TIMEOUT, OPT_MAX_MEMORY,
	OPT_INTERVAL, OPT_COUNT, OPT_OUTPUT, OPT_CHILDREN, OPT_GROWTH_ROUNDS,
	OPT_PROMETHEUS, OPT_DAEMON, OPT_PIDFILE,
};

/* getopt_long entries of the census options snapshot and watch share;
 * pc_parse_census_option handles them. */
#define PC_CENSUS_OPTIONS \
	{ "scope", required_argument, NULL, OPT_SCOPE }, \
	{ "top", required_argument, NULL, OPT_TOP }, \
	{ "format", required_argument, NULL, OPT_FORMAT }, \
	{ "no-stop", no_argument, NULL, OPT_NO_STOP }, \
	{ "timeout", required_argument, NULL, OPT_TIMEOUT }, \
	{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY }

struct pc_census_cli {
	struct pc_snapshot_opts snap;
	struct pc_output_opts out;
};

/* Print "pycensus: MESSAGE (try 'pycensus --help')"; returns PC_EXIT_USAGE. */
int pc_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the error's one line; returns its exit code. */
int pc_report(struct pc_error *err);
bool pc_parse_pid(const char *s, pid_t *pid);
/* A write to standard output failed with ERR (errno; 0 if unknown). */
void pc_stdout_failed(int err);
/* Print TEXT (help, usage) on standard output, noting a failed write. */
void pc_print(const char *text);
/* Flush and close standard output before exiting with RC.  A write that
 * failed, before or now, is one line on stderr and PC_EXIT_FAILED (RC if
 * that already says the command failed).  main() calls it for every
 * command, so --help, --version and every document are checked alike. */
int pc_close_stdout(int rc);
/* Handle one of the census options shared by snapshot and watch. */
bool pc_parse_census_option(int opt, const char *arg, struct pc_census_cli *cli);
/* One census of PID whose copy is also walked by the why walk W (why,
 * dump): signal handlers, the session, the stop.  On success *S is open
 * and *C filled; on failure neither needs closing. */
struct pc_why;
struct pc_error *pc_census_with_why(pid_t pid, struct pc_snapshot_opts *snap, struct pc_why *w,
				    struct pc_session **s, struct pc_census *c);

int pc_cmd_watch(int argc, char **argv);
int pc_cmd_diff(int argc, char **argv);
int pc_cmd_why(int argc, char **argv);
int pc_cmd_dump(int argc, char **argv);

#endif
