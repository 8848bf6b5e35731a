/* The command line: parsing, help, and the one place exit codes are chosen. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cli.h"
#include "output.h"
#include "snapshot.h"

#ifndef PYCENSUS_VERSION
#define PYCENSUS_VERSION "0.1.0"
#endif

static const char usage_text[] =
"usage: pycensus snapshot [OPTIONS] PID        one census of one process; JSON on stdout\n"
"       pycensus watch    [OPTIONS] PID...     a census every interval; JSON Lines\n"
"       pycensus why      [OPTIONS] PID TYPE...  who holds the objects of each TYPE; JSON\n"
"       pycensus dump     [OPTIONS] PID        the object graph as a .heapsnapshot (DevTools, memlab)\n"
"       pycensus diff     [--format F] [--top N] OLD.json NEW.json   growth between two snapshots\n"
"       pycensus info     PID                  what pycensus found in the target; JSON\n"
"       pycensus --version | --help | COMMAND --help\n";

/* Shared by --help and snapshot --help. */
#define CENSUS_OPTIONS_HELP \
"  --scope gc|reachable   objects counted: GC-tracked only, or everything\n" \
"                         reachable from them and from the running frames\n" \
"                         (default: reachable)\n" \
"  --top N                keep the N types with the most bytes (totals cover all)\n" \
"  --format json|table    JSON for machines (default), an aligned table for people\n" \
"  --no-stop              read without stopping the target; the result is marked\n" \
"                         \"complete\": false if anything looked inconsistent\n" \
"  --timeout SECONDS      longest the target may stay stopped; past it pycensus\n" \
"                         resumes it and reports a partial result (\"complete\": false)\n" \
"  --max-memory SIZE      most memory pycensus may hold for a census (512M, 2G);\n" \
"                         past it the result is partial (\"complete\": false).\n" \
"                         Default: half of what the machine and pycensus's own\n" \
"                         cgroup have free\n"

static const char help_text[] =
"\n"
"pycensus counts and sizes the objects of a running CPython (2.7, 3.6-3.15) by type,\n"
"from outside: it stops the process with ptrace, reads its memory, and lets it\n"
"go.  It never writes to the target.\n"
"\n"
"Census options (snapshot, watch):\n"
CENSUS_OPTIONS_HELP
"\n"
"Watch options:\n"
"  --interval DURATION    time between censuses: 500ms, 30s, 5m, 1h; a plain\n"
"                         number is seconds (default 60s); the schedule does not\n"
"                         drift, and a round that overruns skips missed slots\n"
"  --count N              stop after N rounds\n"
"  --output FILE          append JSON Lines to FILE; SIGHUP reopens it\n"
"  --children             also census every Python process descended from PID\n"
"  --growth-rounds K      a type is a leak suspect when its count grew in each of\n"
"                         the last K rounds (default 3)\n"
"  --why                  each growing type also says who holds it (held_by:\n"
"                         its top path shapes, as why finds them)\n"
"  --prometheus FILE      also write the latest census in Prometheus text format\n"
"                         (the --top types of each process, 50 if not given)\n"
"  --daemon --pidfile F   detach from the terminal, PID in F; needs --output or\n"
"                         --prometheus; errors go to syslog\n"
"  --log FILE             with --daemon: errors go to FILE instead of syslog\n"
"\n"
"Why options (also --timeout, --max-memory):\n"
"  --format json|table|dot  JSON (default), one chain per line, or Graphviz\n"
"  --shapes N             at most N path shapes per type (default 10)\n"
"  --top N                the N objects retaining the most (default 10; 0: none)\n"
"\n"
"Dump options (also --scope, --timeout, --max-memory):\n"
"  --output FILE          write the .heapsnapshot to FILE, not standard output\n"
"  --with-values          name str nodes by their first 64 characters (default:\n"
"                         no str or bytes contents in the file)\n"
"\n"
"Exit codes:\n"
"  0  success\n"
"  1  the census failed (the target exited or changed under pycensus),\n"
"     or its output could not be written\n"
"  2  usage error\n"
"  3  no such process\n"
"  4  not a CPython process, or a version pycensus cannot read\n"
"  5  permission denied (see ptrace_scope, CAP_SYS_PTRACE)\n"
"  6  debug information not found (the message names what to install)\n"
"  7  unreadable or malformed input file (diff)\n"
"\n"
"See man pycensus(1).\n";

static const char snapshot_help[] =
"usage: pycensus snapshot [OPTIONS] PID\n"
"\n"
"One census of one process: one JSON object on standard output (indented), or\n"
"a table with --format table.\n"
"\n"
CENSUS_OPTIONS_HELP
"\n"
"Exit codes: pycensus --help.  See man pycensus(1).\n";

static const char info_help[] =
"usage: pycensus info PID\n"
"\n"
"Attaches, reports what pycensus found in the target as JSON (Python version,\n"
"runtime module, build-id, debug file, interpreter addresses, threads, the\n"
"structure layout from DWARF) and detaches, without taking a census.\n"
"\n"
"Exit codes: pycensus --help.  See man pycensus(1).\n";

/* The one PID left after the options: a session on it, signals set up so
 * that dying detaches.  Returns 0 or the exit code. */
static int open_one(int argc, char **argv, const char *cmd, struct pc_session **s)
{
	if (optind != argc - 1)
		return pc_usage_error("%s takes exactly one PID", cmd);
	pid_t pid;
	if (!pc_parse_pid(argv[optind], &pid))
		return pc_usage_error("'%s' is not a process ID", argv[optind]);
	pc_attach_install_signal_handlers(NULL);
	struct pc_error *err = pc_session_open(pid, s);
	return err ? pc_report(err) : 0;
}

static int cmd_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		PC_CENSUS_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pc_census_cli cli = { .snap = { .scope = PC_SCOPE_REACHABLE }, .out = { .pretty = true } };
	int opt;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'h') {
			pc_print(snapshot_help);
			return 0;
		}
		if (opt == '?')
			return PC_EXIT_USAGE;
		if (!pc_parse_census_option(opt, optarg, &cli))
			return PC_EXIT_USAGE;
	}
	struct pc_session *s;
	int code = open_one(argc, argv, "snapshot", &s);
	if (code)
		return code;
	struct pc_census c;
	struct pc_error *err;
	err = pc_snapshot(s, &cli.snap, &c);
	if (err) {
		pc_session_close(s);
		return pc_report(err);
	}
	/* The census names the binary and debug file with the session's
	 * strings: print before closing it. */
	if (pc_output_census(stdout, &c, &cli.out) < 0)
		pc_stdout_failed(errno);
	pc_census_fini(&c);
	pc_session_close(s);
	return 0;
}

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'h') {
			pc_print(info_help);
			return 0;
		}
		return PC_EXIT_USAGE;
	}
	struct pc_session *s;
	int code = open_one(argc, argv, "info", &s);
	if (code)
		return code;
	struct pc_info info;
	struct pc_error *err = pc_session_info(s, &info);
	if (err) {
		pc_session_close(s);
		return pc_report(err);
	}
	if (pc_output_info(stdout, s, &info) < 0)
		pc_stdout_failed(errno);
	pc_session_close(s);
	return 0;
}

static int run(int argc, char **argv)
{
	if (argc < 2)
		return pc_usage_error("missing command: snapshot, watch, why, dump, diff or info");
	const char *cmd = argv[1];
	/* getopt names the program after argv[0]: make its one-line errors
	 * read "pycensus: ..." whatever the subcommand. */
	static char progname[] = "pycensus";
	argv[1] = progname;
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		pc_print(usage_text);
		pc_print(help_text);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		pc_print("pycensus " PYCENSUS_VERSION "\n");
		return 0;
	}
	if (!strcmp(cmd, "snapshot"))
		return cmd_snapshot(argc - 1, argv + 1);
	if (!strcmp(cmd, "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(cmd, "watch"))
		return pc_cmd_watch(argc - 1, argv + 1);
	if (!strcmp(cmd, "why"))
		return pc_cmd_why(argc - 1, argv + 1);
	if (!strcmp(cmd, "dump"))
		return pc_cmd_dump(argc - 1, argv + 1);
	if (!strcmp(cmd, "diff"))
		return pc_cmd_diff(argc - 1, argv + 1);
	return pc_usage_error("unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
	return pc_close_stdout(run(argc, argv));
}
