/* The `why` command line: options, one census with the why walk on its
 * copy, the report. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "why.h"

enum { OPT_WHY_SHAPES = 512 };

static const char why_help[] =
"usage: pycensus why [OPTIONS] PID TYPE...\n"
"\n"
"Who holds the objects of each TYPE (a type name as snapshot prints it): their\n"
"count and bytes, and the shortest reference paths from a root (a module by\n"
"name, sys, builtins, a thread's frame) to them, grouped by shape, with how\n"
"many objects follow each shape and one sample address.  Objects no root\n"
"reaches are reported as unrooted.  The target is stopped once, as by snapshot.\n"
"\n"
"  --format json|table|dot  JSON (default), one chain per line, or Graphviz\n"
"  --shapes N             print at most N shapes per type (default 10)\n"
"  --top N                the N objects that retain the most bytes (default 10;\n"
"                         0: no dominator tree)\n"
"  --timeout SECONDS      longest the target may stay stopped\n"
"  --max-memory SIZE      most memory pycensus may hold for the census\n"
"\n"
"Exit codes: pycensus --help.  See man pycensus(1).\n";

int pc_cmd_why(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "shapes", required_argument, NULL, OPT_WHY_SHAPES },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pc_census_cli cli = { .snap = { .scope = PC_SCOPE_REACHABLE } };
	enum pc_why_format format = PC_WHY_JSON;
	unsigned long shapes = 10, top = 10;
	int opt;
	char *end;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			pc_print(why_help);
			return 0;
		case '?':
			return PC_EXIT_USAGE;
		case OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				format = PC_WHY_JSON;
			else if (!strcmp(optarg, "table"))
				format = PC_WHY_TABLE;
			else if (!strcmp(optarg, "dot"))
				format = PC_WHY_DOT;
			else
				return pc_usage_error("--format takes json, table or dot, not '%s'", optarg);
			break;
		case OPT_WHY_SHAPES:
			errno = 0;
			shapes = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || shapes == 0 || optarg[0] == '-')
				return pc_usage_error("--shapes takes a positive number, not '%s'", optarg);
			break;
		case OPT_TOP:
			errno = 0;
			top = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-')
				return pc_usage_error("--top takes a number, not '%s'", optarg);
			break;
		default:
			if (!pc_parse_census_option(opt, optarg, &cli))
				return PC_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return pc_usage_error("why needs a PID and at least one TYPE");
	pid_t pid;
	if (!pc_parse_pid(argv[optind], &pid))
		return pc_usage_error("'%s' is not a process ID", argv[optind]);
	if (optind + 1 >= argc)
		return pc_usage_error("why needs at least one TYPE after the PID");
	struct pc_why *w = pc_why_create(argv + optind + 1, argc - optind - 1, shapes, top);
	if (!w)
		return pc_report(pc_error_nomem());
	struct pc_session *s;
	struct pc_census c;
	struct pc_error *err = pc_census_with_why(pid, &cli.snap, w, &s, &c);
	if (err) {
		pc_why_destroy(w);
		return pc_report(err);
	}
	if (pc_why_print(stdout, pc_why_result(w), &c, format) < 0)
		pc_stdout_failed(errno);
	pc_census_fini(&c);
	pc_session_close(s);
	pc_why_destroy(w);
	return 0;
}
