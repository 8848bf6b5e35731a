/* Command-line pieces shared by every command: usage errors, reporting an
 * error as its one line, and the census options of snapshot and watch. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cli.h"
#include "memlimit.h"
#include "why.h"

int pc_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "pycensus: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (try 'pycensus --help')\n");
	va_end(ap);
	return PC_EXIT_USAGE;
}

/* errno of the first failed write to standard output: what runs between
 * the write and pc_close_stdout (freeing, detaching) may change errno. */
static int stdout_errno;

void pc_stdout_failed(int err)
{
	if (!stdout_errno)
		stdout_errno = err ? err : EIO;
}

void pc_print(const char *text)
{
	if (fputs(text, stdout) == EOF)
		pc_stdout_failed(errno);
}

int pc_close_stdout(int rc)
{
	/* Output is buffered: a full disk or a closed pipe often shows only
	 * when the buffer is flushed or the stream closed, here. */
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout))
		pc_stdout_failed(errno);
	errno = 0;
	if (fclose(stdout) != 0)
		pc_stdout_failed(errno);
	if (!stdout_errno)
		return rc;
	fprintf(stderr, "pycensus: cannot write to standard output: %s\n", strerror(stdout_errno));
	return rc ? rc : PC_EXIT_FAILED;
}

int pc_report(struct pc_error *err)
{
	int code = err->code;
	fprintf(stderr, "pycensus: %s\n", err->msg);
	pc_error_destroy(err);
	return code;
}

bool pc_parse_pid(const char *s, pid_t *pid)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || v > INT_MAX)
		return false;
	*pid = (pid_t)v;
	return true;
}

bool pc_parse_census_option(int opt, const char *arg, struct pc_census_cli *cli)
{
	char *end;
	switch (opt) {
	case OPT_SCOPE:
		if (!strcmp(arg, "gc"))
			cli->snap.scope = PC_SCOPE_GC;
		else if (!strcmp(arg, "reachable"))
			cli->snap.scope = PC_SCOPE_REACHABLE;
		else
			return pc_usage_error("--scope takes gc or reachable, not '%s'", arg), false;
		return true;
	case OPT_TOP: {
		errno = 0;
		unsigned long v = strtoul(arg, &end, 10);
		if (errno || *end || end == arg || v == 0 || arg[0] == '-')
			return pc_usage_error("--top takes a positive number, not '%s'", arg), false;
		cli->out.top = v;
		return true;
	}
	case OPT_FORMAT:
		if (!strcmp(arg, "json"))
			cli->out.format = PC_FORMAT_JSON;
		else if (!strcmp(arg, "table"))
			cli->out.format = PC_FORMAT_TABLE;
		else
			return pc_usage_error("--format takes json or table, not '%s'", arg), false;
		return true;
	case OPT_NO_STOP:
		cli->snap.no_stop = true;
		return true;
	case OPT_TIMEOUT: {
		errno = 0;
		double v = strtod(arg, &end);
		if (errno || *end || end == arg || !(v > 0) || v > 86400)
			return pc_usage_error("--timeout takes a positive number of seconds, not '%s'", arg), false;
		cli->snap.timeout_ms = (unsigned)(v * 1000 + 0.5);
		if (!cli->snap.timeout_ms)
			cli->snap.timeout_ms = 1;
		return true;
	}
	case OPT_MAX_MEMORY:
		if (!pc_parse_size(arg, &cli->snap.max_memory))
			return pc_usage_error("--max-memory takes a size such as 512M or 2G, not '%s'", arg), false;
		return true;
	}
	return false;
}


struct pc_error *pc_census_with_why(pid_t pid, struct pc_snapshot_opts *snap, struct pc_why *w,
				    struct pc_session **s, struct pc_census *c)
{
	pc_attach_install_signal_handlers(NULL);
	struct pc_error *err = pc_session_open(pid, s);
	if (err)
		return err;
	snap->on_copy = pc_why_on_copy;
	snap->on_copy_arg = w;
	err = pc_snapshot(*s, snap, c);
	if (err)
		pc_session_close(*s);
	return err;
}
