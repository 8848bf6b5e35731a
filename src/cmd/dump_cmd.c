/* The `dump` command line: options, one census whose why walk writes the
 * heap snapshot from the copy, the file put in place. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dump.h"

enum { OPT_DUMP_OUTPUT = 600, OPT_WITH_VALUES };

/* How many characters of a str --with-values keeps. */
#define VALUE_CHARS 64

static const char dump_help[] =
"usage: pycensus dump [OPTIONS] PID\n"
"\n"
"The reachable object graph as a Chrome DevTools heap snapshot (.heapsnapshot),\n"
"for DevTools' Memory panel and memlab: one node per object (named by its type,\n"
"sized as sys.getsizeof), one edge per reference (attributes and dict keys by\n"
"name, items by index), under synthetic roots: modules, each thread's frames,\n"
"the interpreter state.  The target is stopped once, as by snapshot; the file is\n"
"written from the copy after it runs again.\n"
"\n"
"  --output FILE          write to FILE (put in place when complete) instead of\n"
"                         standard output\n"
"  --scope gc|reachable   every reachable object (default), or only those on the\n"
"                         GC lists\n"
"  --with-values          name each str node by its first 64 characters; without\n"
"                         it the file holds no str or bytes contents\n"
"  --timeout SECONDS      longest the target may stay stopped\n"
"  --max-memory SIZE      most memory pycensus may hold for the census\n"
"\n"
"Exit codes: pycensus --help.  See man pycensus(1).\n";

/* The census's own warnings: the file has no place for them. */
static void warn_census(const struct pc_census *c)
{
	for (int i = 0; i < c->nwarnings; i++)
		fprintf(stderr, "pycensus: warning: %s\n", c->warnings[i]);
}

int pc_cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, OPT_DUMP_OUTPUT },
		{ "scope", required_argument, NULL, OPT_SCOPE },
		{ "with-values", no_argument, NULL, OPT_WITH_VALUES },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pc_census_cli cli = { .snap = { .scope = PC_SCOPE_REACHABLE } };
	struct pc_dump d = { 0 };
	const char *path = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			pc_print(dump_help);
			return 0;
		case '?':
			return PC_EXIT_USAGE;
		case OPT_DUMP_OUTPUT:
			path = optarg;
			break;
		case OPT_WITH_VALUES:
			d.with_values = VALUE_CHARS;
			break;
		default:
			if (!pc_parse_census_option(opt, optarg, &cli))
				return PC_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return pc_usage_error("dump takes exactly one PID");
	pid_t pid;
	if (!pc_parse_pid(argv[optind], &pid))
		return pc_usage_error("'%s' is not a process ID", argv[optind]);
	d.scope = cli.snap.scope;
	/* The walk that builds the graph covers every reachable object; the
	 * gc scope is a selection of its nodes. */
	cli.snap.scope = PC_SCOPE_REACHABLE;

	/* Opened before the target is stopped: a bad path costs it nothing.
	 * Written beside FILE, renamed over it once complete. */
	char *tmp = NULL;
	if (path) {
		if (asprintf(&tmp, "%s.partial", path) < 0)
			return pc_report(pc_error_nomem());
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		d.out = fd < 0 ? NULL : fdopen(fd, "w");
		if (!d.out) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			struct pc_error *err = pc_error_new(PC_EXIT_FAILED, "cannot create %s: %s", tmp, strerror(e));
			free(tmp);
			return pc_report(err);
		}
		d.out_name = tmp;
	} else {
		d.out = stdout;
		d.out_name = "standard output";
	}
	setvbuf(d.out, NULL, _IOFBF, 1 << 20);

	int code = 0;
	struct pc_why *w = pc_why_create(NULL, 0, 0, 0);
	if (!w) {
		code = pc_report(pc_error_nomem());
		goto out;
	}
	pc_why_on_graph(w, pc_dump_graph, &d);
	struct pc_session *s;
	struct pc_census c;
	struct pc_error *err = pc_census_with_why(pid, &cli.snap, w, &s, &c);
	if (err) {
		if (d.write_errno && !path) {
			/* said once, by pc_close_stdout() as for every command */
			pc_stdout_failed(d.write_errno);
			pc_error_destroy(err);
			code = PC_EXIT_FAILED;
		} else {
			code = pc_report(err);
		}
		goto out;
	}
	warn_census(&c);
	if (d.collisions)
		fprintf(stderr, "pycensus: warning: %llu objects share their id's hash with another; they took "
			"the next free id, which may differ in another dump\n", (unsigned long long)d.collisions);
	pc_census_fini(&c);
	pc_session_close(s);
	if (path) {
		FILE *f = d.out;
		d.out = NULL;
		if (fclose(f) || rename(tmp, path)) {
			code = pc_report(pc_error_new(PC_EXIT_FAILED, "cannot write %s: %s", path, strerror(errno)));
			unlink(tmp);
		}
	}
out:
	pc_why_destroy(w);
	if (path && d.out) {
		fclose(d.out);
		unlink(tmp);
	}
	free(tmp);
	return code;
}
