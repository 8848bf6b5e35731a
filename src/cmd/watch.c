/* `pycensus watch`: a census of each process every interval, as JSON Lines.
 *
 * The loop keeps one session per process (discovery and DWARF indexing are
 * the slow part; the sessions of processes running one interpreter build
 * share what is learnt from its DWARF, see build_cache.h) and a short
 * history of its censuses for deltas and leak suspects.  Rounds are due at t0 + k * interval on the monotonic clock, so
 * the schedule does not drift; a round that runs past the next slot skips
 * the slots it missed instead of running them back to back. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "array.h"
#include "attach.h"
#include "children.h"
#include "cli.h"
#include "daemon.h"
#include "growth.h"
#include "output.h"
#include "prometheus.h"
#include "snapshot.h"
#include "why.h"

#define DEFAULT_INTERVAL_US (60 * 1000000ull)
#define DEFAULT_GROWTH_ROUNDS 3
#define MAX_GROWTH_ROUNDS 1000

struct target {
	pid_t pid;
	pid_t root;              /* the PID given that this one descends from */
	pid_t parent;
	struct pc_proc_id id;
	bool given;              /* named on the command line */
	bool gone;
	struct pc_session *s;    /* NULL: not censused (not a readable Python) */
	struct pc_history *hist;
	long seq;
};

struct watch {
	struct pc_census_cli cli;
	uint64_t interval_us;
	long count;              /* rounds to run, 0 for no limit */
	int growth_rounds;
	bool children, daemon;
	bool why;                /* --why: paths to the growing types */
	char *output, *prometheus, *pidfile, *log;  /* absolute when --daemon */
	FILE *out;
	bool out_broken;         /* the last write failed: noted once */
	bool prom_broken;        /* the last --prometheus write failed: noted once */
	bool write_failed;       /* some output was lost: exit status 1 */
	struct target *t;
	size_t nt, cap;
	long round;              /* the slot being run, 1-based */
	uint64_t next_due;       /* monotonic time the next slot is due */
};

/* SIGINT/SIGTERM, set by attach.c's handler (which also detaches the
 * target being censused); SIGHUP and SIGCHLD, set here.  SIGCHLD comes
 * when a tracee stops: a thread that never reached its stop and was left
 * seized (attach.c's stragglers) is let go as soon as it does. */
static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t hup, chld;

static void on_hup(int sig)
{
	(void)sig;
	hup = 1;
}

static void on_chld(int sig)
{
	(void)sig;
	chld = 1;
}

/* "30s", "5m", "1h", "500ms", "1.5s"; a plain number is seconds. */
static bool parse_duration(const char *s, uint64_t *us)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v <= 0 || !strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		return false;
	double unit;
	if (!*end || !strcmp(end, "s"))
		unit = 1e6;
	else if (!strcmp(end, "ms"))
		unit = 1e3;
	else if (!strcmp(end, "m"))
		unit = 60e6;
	else if (!strcmp(end, "h"))
		unit = 3600e6;
	else if (!strcmp(end, "d"))
		unit = 86400e6;
	else
		return false;
	double t = v * unit;
	if (t < 1000 || t > 1e15)  /* 1 ms .. 30 years */
		return false;
	*us = (uint64_t)t;
	return true;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* --daemon changes directory to /: keep relative paths meaning what the
 * user meant. */
static char *absolute(const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	size_t n = strlen(cwd) + strlen(path) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", cwd, path);
	return p;
}

static const char watch_usage[] =
"usage: pycensus watch [OPTIONS] PID...\n"
"\n"
"A census of each PID every interval, one JSON object per line.  From the\n"
"second census of a PID on, each type carries count_delta and bytes_delta\n"
"against the previous one, and \"growing\" lists the types whose count grew in\n"
"each of the last K censuses (leak suspects), largest byte growth first.\n"
"Lines with an \"event\" key instead report a process that started (a child\n"
"found by --children), exited, or failed one round (retried the next).\n"
"Stops after --count rounds, when every process has exited, or on SIGINT or\n"
"SIGTERM (exit status 0; targets are always left running).  A line or\n"
"--prometheus file that cannot be written is noted once on stderr, watching\n"
"goes on, and the exit status is 1.\n"
"\n"
"  --scope gc|reachable   objects counted (default: reachable)\n"
"  --top N                keep the N types with the most bytes per census\n"
"  --format json|table    JSON Lines (default) or a table per census\n"
"  --no-stop              read without stopping the targets\n"
"  --timeout SECONDS      longest a target may stay stopped per census\n"
"  --max-memory SIZE      most memory pycensus may hold for a census (512M, 2G;\n"
"                         default: half of what is free); censuses run one\n"
"                         at a time, so this bounds the whole watch\n"
"  --interval DURATION    time between rounds: 500ms, 30s, 5m, 1h; a plain\n"
"                         number is seconds (default 60s).  Rounds are due on a\n"
"                         fixed schedule; one that runs past the next is marked\n"
"                         \"overrun\": true and the slots it missed are skipped\n"
"  --count N              stop after N rounds\n"
"  --output FILE          append to FILE instead of stdout; SIGHUP reopens it\n"
"  --children             also census every Python process below each PID, as\n"
"                         workers start and exit; other processes are skipped.\n"
"                         A PID that is not Python itself is then allowed\n"
"  --growth-rounds K      a type is growing when its count rose in each of the\n"
"                         last K censuses (default 3)\n"
"  --prometheus FILE      after each round, replace FILE with the latest census\n"
"                         of each process in Prometheus text format (gauges\n"
"                         pycensus_objects and pycensus_bytes by pid and type;\n"
"                         the --top types, 50 if not given)\n"
"  --daemon               detach from the terminal; needs --pidfile and\n"
"                         --output or --prometheus; notes go to syslog or --log\n"
"  --pidfile FILE         write the PID of pycensus to FILE, locked: a second\n"
"                         pycensus with the same pidfile refuses to start\n"
"  --log FILE             with --daemon: notes go to FILE, not syslog\n"
"  --why                  each entry of \"growing\" also says who holds the type:\n"
"                         held_by, its top 3 path shapes from a root, as why\n"
"                         finds them, in the same stop (the 8 types that would\n"
"                         grow if they rose once more are followed)\n";

static void usage_help(void)
{
	pc_print(watch_usage);
}

enum { OPT_LOG = OPT_PIDFILE + 100, OPT_WHY };

/* --why: the types followed per census, and shapes printed per type. */
#define WHY_TYPES 8
#define WHY_SHAPES 3

/* Returns -1 to go on, else the exit code. */
static int parse_args(struct watch *w, int argc, char **argv, pid_t **pids, size_t *npids)
{
	static const struct option opts[] = {
		PC_CENSUS_OPTIONS,
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "children", no_argument, NULL, OPT_CHILDREN },
		{ "growth-rounds", required_argument, NULL, OPT_GROWTH_ROUNDS },
		{ "prometheus", required_argument, NULL, OPT_PROMETHEUS },
		{ "daemon", no_argument, NULL, OPT_DAEMON },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "why", no_argument, NULL, OPT_WHY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *paths[4] = { NULL };  /* output, prometheus, pidfile, log */
	int opt;
	long v;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage_help();
			return 0;
		case '?':
			return PC_EXIT_USAGE;
		case OPT_INTERVAL:
			if (!parse_duration(optarg, &w->interval_us))
				return pc_usage_error("--interval takes a duration like 500ms, 30s, 5m or 1h, not '%s'",
						      optarg);
			break;
		case OPT_COUNT:
			if (!parse_long(optarg, 1, LONG_MAX, &w->count))
				return pc_usage_error("--count takes a positive number, not '%s'", optarg);
			break;
		case OPT_GROWTH_ROUNDS:
			if (!parse_long(optarg, 1, MAX_GROWTH_ROUNDS, &v))
				return pc_usage_error("--growth-rounds takes a number from 1 to %d, not '%s'",
						      MAX_GROWTH_ROUNDS, optarg);
			w->growth_rounds = (int)v;
			break;
		case OPT_OUTPUT:
			paths[0] = optarg;
			break;
		case OPT_PROMETHEUS:
			paths[1] = optarg;
			break;
		case OPT_PIDFILE:
			paths[2] = optarg;
			break;
		case OPT_LOG:
			paths[3] = optarg;
			break;
		case OPT_CHILDREN:
			w->children = true;
			break;
		case OPT_DAEMON:
			w->daemon = true;
			break;
		case OPT_WHY:
			w->why = true;
			break;
		default:
			if (!pc_parse_census_option(opt, optarg, &w->cli))
				return PC_EXIT_USAGE;
		}
	}
	if (optind == argc)
		return pc_usage_error("watch needs at least one PID");
	if (w->daemon && !paths[2])
		return pc_usage_error("--daemon needs --pidfile: it is how the daemon is found and stopped");
	if (w->daemon && !paths[0] && !paths[1])
		return pc_usage_error("--daemon needs --output or --prometheus: there is no terminal to print to");
	if (w->why && w->cli.snap.no_stop)
		return pc_usage_error("--why walks the copy a stopped census leaves: not with --no-stop");
	if (paths[3] && !w->daemon)
		return pc_usage_error("--log is for --daemon; without it notes go to stderr");
	for (int i = 0; i < 4; i++) {
		if (!paths[i])
			continue;
		if (!paths[i][0])
			return pc_usage_error("empty file name");
		char *p = w->daemon ? absolute(paths[i]) : strdup(paths[i]);
		if (!p)
			return pc_report(pc_error_new(PC_EXIT_FAILED, "cannot resolve %s: %s", paths[i], strerror(errno)));
		*(i == 0 ? &w->output : i == 1 ? &w->prometheus : i == 2 ? &w->pidfile : &w->log) = p;
	}
	*pids = calloc((size_t)(argc - optind), sizeof(**pids));
	if (!*pids)
		return pc_report(pc_error_nomem());
	for (int i = optind; i < argc; i++) {
		pid_t pid;
		if (!pc_parse_pid(argv[i], &pid)) {
			free(*pids);
			return pc_usage_error("'%s' is not a process ID", argv[i]);
		}
		bool dup = false;
		for (size_t j = 0; j < *npids; j++)
			dup |= (*pids)[j] == pid;
		if (!dup)
			(*pids)[(*npids)++] = pid;
	}
	return -1;
}

/* --- output ------------------------------------------------------------- */

static struct pc_error *open_output(const char *path, FILE **out)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "a");
	if (!f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return pc_error_new(PC_EXIT_FAILED, "cannot open %s: %s", path, strerror(e));
	}
	*out = f;
	return NULL;
}

/* SIGHUP: logrotate has moved the file away; start a new one at the same
 * path.  On failure keep writing to the old one. */
static void reopen_output(struct watch *w)
{
	hup = 0;
	if (!w->output)
		return;
	FILE *f;
	struct pc_error *err = open_output(w->output, &f);
	if (err) {
		pc_note("SIGHUP: %s; still writing to the previous file", err->msg);
		pc_error_destroy(err);
		return;
	}
	fclose(w->out);
	w->out = f;
	w->out_broken = false;
}

static void wrote(struct watch *w, int r)
{
	if (r >= 0 && fflush(w->out) == 0) {
		w->out_broken = false;
		return;
	}
	/* Go on: a full disk may be freed, and the next line then lands. */
	if (!w->out_broken)
		pc_note("cannot write to %s: %s", w->output ? w->output : "standard output", strerror(errno));
	w->out_broken = true;
	w->write_failed = true;
	/* Drop what stdio still holds of the lost line: retried later it
	 * would fail again at exit, or land in the middle of a later line. */
	clearerr(w->out);
	__fpurge(w->out);
}

static void event(struct watch *w, const struct target *t, const char *what, const struct pc_error *err)
{
	struct pc_event e = {
		.event = what,
		.pid = t->pid,
		.parent = t->given ? 0 : t->parent,
		.root = t->given ? 0 : t->root,
		.round = w->round,
		.message = err ? err->msg : NULL,
		.code = err ? (int)err->code : 0,
	};
	wrote(w, pc_output_event(w->out, &e, w->cli.out.format));
}

/* --- targets ------------------------------------------------------------ */

static struct target *add_target(struct watch *w, pid_t pid)
{
	struct target *t = pc_array_reserve(w->t, &w->cap, w->nt + 1, sizeof(*t), 8);
	if (!t)
		return NULL;
	w->t = t;
	t = &w->t[w->nt++];
	memset(t, 0, sizeof(*t));
	t->pid = t->root = pid;
	return t;
}

static struct target *find_target(struct watch *w, pid_t pid)
{
	for (size_t i = 0; i < w->nt; i++)
		if (w->t[i].pid == pid && !w->t[i].gone)
			return &w->t[i];
	return NULL;
}

static void close_target(struct target *t)
{
	pc_session_close(t->s);
	pc_history_destroy(t->hist);
	t->s = NULL;
	t->hist = NULL;
}

static struct pc_error *open_session(struct watch *w, struct target *t)
{
	struct pc_error *err = pc_session_open(t->pid, &t->s);
	if (err)
		return err;
	t->hist = pc_history_create(w->growth_rounds);
	if (!t->hist) {
		pc_session_close(t->s);
		t->s = NULL;
		return pc_error_nomem();
	}
	t->seq = 0;
	return NULL;
}

/* A process found below a target: census it if it is a Python pycensus can
 * read, else remember it quietly so it is not looked at again. */
static void adopt(struct watch *w, const struct pc_descendant *d)
{
	struct target *parent = find_target(w, d->id.ppid);
	pid_t root = parent ? parent->root : d->id.ppid;
	struct target *t = add_target(w, d->pid);
	if (!t) {
		pc_note("out of memory; not watching process %d", (int)d->pid);
		return;
	}
	t->root = root;
	t->parent = d->id.ppid;
	t->id = d->id;
	struct pc_error *err = open_session(w, t);
	if (!err) {
		event(w, t, "started", NULL);
		return;
	}
	if (err->code == PC_EXIT_NOPROC) {
		t->gone = true;        /* exited before we looked */
	} else if (err->code != PC_EXIT_NOTPY) {
		/* Permission or debug info: it will not get better by itself,
		 * so say it once and skip the process from now on. */
		event(w, t, "error", err);
		pc_note("process %d (below %d): %s; skipping it", (int)t->pid, (int)root, err->msg);
	}
	pc_error_destroy(err);
}

static void find_children(struct watch *w)
{
	/* Search below every process already known, not only the PIDs given:
	 * a worker whose master died is reparented, and its own children
	 * should still be found. */
	pid_t *roots = malloc((w->nt ? w->nt : 1) * sizeof(*roots));
	if (!roots)
		return;
	size_t n = 0;
	for (size_t i = 0; i < w->nt; i++)
		if (!w->t[i].gone)
			roots[n++] = w->t[i].pid;
	struct pc_descendant *d;
	size_t nd;
	struct pc_error *err = pc_descendants(roots, n, &d, &nd);
	free(roots);
	if (err) {
		pc_note("cannot look for child processes: %s", err->msg);
		pc_error_destroy(err);
		return;
	}
	for (size_t i = 0; i < nd && !stop_signal; i++) {
		struct target *t = find_target(w, d[i].pid);
		if (t && t->id.start == d[i].id.start)
			continue;  /* known (an exec is handled in the round) */
		if (t) {
			/* The PID was reused: the process we knew is gone. */
			t->gone = true;
			if (t->s)
				event(w, t, "exited", NULL);
		}
		adopt(w, &d[i]);
	}
	free(d);
}

/* Drop the targets marked gone, keeping the order. */
static void sweep(struct watch *w)
{
	size_t k = 0;
	for (size_t i = 0; i < w->nt; i++) {
		if (w->t[i].gone)
			close_target(&w->t[i]);
		else
			w->t[k++] = w->t[i];
	}
	w->nt = k;
}

/* Whether the process is still the one we know.  A process that ran
 * exec() is a new program: the old census history means nothing for it. */
static bool still_there(struct watch *w, struct target *t)
{
	struct pc_proc_id now;
	bool alive = pc_proc_stat(t->pid, &now) && now.start == t->id.start;
	if (!alive) {
		t->gone = true;
		if (t->s || t->given)
			event(w, t, "exited", NULL);
		return false;
	}
	if (pc_proc_same(&now, &t->id))
		return true;
	t->id = now;
	if (t->s)
		event(w, t, "exited", NULL);
	close_target(t);
	struct pc_error *err = open_session(w, t);
	if (!err) {
		event(w, t, "started", NULL);
		return true;
	}
	if (t->given && !w->children && err->code == PC_EXIT_NOTPY) {
		/* Nothing left to watch in it. */
		t->gone = true;
	} else if (err->code != PC_EXIT_NOTPY) {
		event(w, t, "error", err);
		pc_note("process %d: %s", (int)t->pid, err->msg);
	}
	pc_error_destroy(err);
	return false;
}

/* --- one census ----------------------------------------------------------- */

/* --why: a why walk on this census's copy for the types that will be
 * growing if they rise once more (the history says which before the
 * stop), so a growing type's holders come from the same stop. */
static struct pc_why *why_for(struct watch *w, struct target *t, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	if (!w->why || !t->hist)
		return NULL;
	struct pc_error *err = pc_history_rising(t->hist, WHY_TYPES, names, n);
	if (err) {
		pc_note("process %d: %s", (int)t->pid, err->msg);
		pc_error_destroy(err);
		return NULL;
	}
	return *n ? pc_why_create(*names, (int)*n, WHY_SHAPES, 0) : NULL;
}

static void why_done(struct pc_why *why, char **names, size_t n)
{
	pc_why_destroy(why);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void census(struct watch *w, struct target *t)
{
	struct pc_census c;
	uint64_t started = pc_now_us();
	char **why_names;
	size_t nwhy;
	struct pc_why *why = why_for(w, t, &why_names, &nwhy);
	struct pc_snapshot_opts snap = w->cli.snap;
	if (why) {
		snap.on_copy = pc_why_on_copy;
		snap.on_copy_arg = why;
	}
	struct pc_error *err = pc_snapshot(t->s, &snap, &c);
	if (stop_signal) {
		/* Abandoned half way: counts of a partial walk would read as a
		 * sudden drop, so nothing is printed. */
		if (err)
			pc_error_destroy(err);
		else
			pc_census_fini(&c);
		why_done(why, why_names, nwhy);
		return;
	}
	if (err) {
		why_done(why, why_names, nwhy);
		if (!still_there(w, t)) {
			pc_error_destroy(err);
			return;
		}
		event(w, t, "error", err);
		pc_note("process %d: %s (will retry next round)", (int)t->pid, err->msg);
		pc_error_destroy(err);
		return;
	}
	t->seq++;
	struct pc_suspect *sus = NULL;
	size_t nsus = 0;
	err = pc_history_compare(t->hist, &c, started, &sus, &nsus);
	if (err) {
		pc_note("process %d: %s", (int)t->pid, err->msg);
		pc_error_destroy(err);
	}
	if (why) {
		const struct pc_why_report *r = pc_why_result(why);
		for (size_t i = 0; i < nsus; i++)
			for (int k = 0; k < r->ntypes; k++)
				if (!strcmp(sus[i].name, r->types[k].name))
					sus[i].why = &r->types[k];
	}
	struct pc_output_opts o = w->cli.out;
	o.seq = t->seq;
	o.round = w->round;
	o.root = t->given ? 0 : t->root;
	o.overrun = pc_now_us() > w->next_due;
	o.has_growing = t->seq >= 2;
	o.growth_rounds = w->growth_rounds;
	o.growing = sus;
	o.ngrowing = nsus;
	o.session = t->s;
	int r = pc_output_census(w->out, &c, &o);
	if (r >= 0 && o.format == PC_FORMAT_TABLE)
		r = fputc('\n', w->out) == EOF ? -1 : 0;
	wrote(w, r);
	free(sus);
	why_done(why, why_names, nwhy);
	err = pc_history_push(t->hist, &c, started);
	if (err) {
		pc_note("process %d: %s", (int)t->pid, err->msg);
		pc_error_destroy(err);
		pc_census_fini(&c);
	}
}

static void write_prometheus(struct watch *w)
{
	const struct pc_census **cs = malloc((w->nt ? w->nt : 1) * sizeof(*cs));
	if (!cs)
		return;
	size_t n = 0;
	for (size_t i = 0; i < w->nt; i++) {
		const struct pc_census *c = w->t[i].hist ? pc_history_latest(w->t[i].hist) : NULL;
		if (c)
			cs[n++] = c;
	}
	size_t top = w->cli.out.top ? w->cli.out.top : PC_PROMETHEUS_TOP;
	struct pc_error *err = pc_prometheus_write(w->prometheus, cs, n, top);
	free(cs);
	if (err) {
		if (!w->prom_broken)
			pc_note("%s", err->msg);
		w->prom_broken = true;
		w->write_failed = true;
		pc_error_destroy(err);
	} else {
		w->prom_broken = false;
	}
}

static void run_round(struct watch *w)
{
	if (w->children)
		find_children(w);
	for (size_t i = 0; i < w->nt && !stop_signal; i++) {
		struct target *t = &w->t[i];
		if (hup)
			reopen_output(w);
		if (t->gone || !still_there(w, t) || !t->s)
			continue;
		census(w, t);
	}
	if (stop_signal)
		return;
	sweep(w);
	if (w->prometheus)
		write_prometheus(w);
}

/* Whether anything is left to watch: a process being censused, or a PID
 * given with --children (Python workers may still appear below it). */
static bool anything_left(const struct watch *w)
{
	for (size_t i = 0; i < w->nt; i++)
		if (!w->t[i].gone && (w->t[i].s || (w->t[i].given && w->children)))
			return true;
	return false;
}

/* Whether some process that counts for anything_left still runs, from
 * /proc alone: cheap enough to ask every second while waiting. */
static bool any_running(const struct watch *w)
{
	for (size_t i = 0; i < w->nt; i++) {
		const struct target *t = &w->t[i];
		struct pc_proc_id now;
		if (!t->gone && (t->s || (t->given && w->children)) && pc_proc_stat(t->pid, &now) &&
		    now.start == t->id.start)
			return true;
	}
	return false;
}

/* Sleep until DUE on the monotonic clock, waking for signals, and every
 * second to see whether everything watched has exited (then there is no
 * point waiting out a long interval).  The signals are blocked between
 * checking the flags and sleeping and unblocked atomically by ppoll, so one
 * arriving in between is not lost for a whole interval.  Returns false if
 * nothing is left to watch. */
static bool wait_until(struct watch *w, uint64_t due)
{
	sigset_t block, old, waiting;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	/* SIGCHLD stays blocked outside this wait (pc_cmd_watch): it is
	 * wanted only here, not in the middle of a census. */
	waiting = old;
	sigdelset(&waiting, SIGCHLD);
	bool left = true;
	while (!stop_signal) {
		if (chld) {
			chld = 0;
			pc_attach_release_stragglers();
		}
		if (hup) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			reopen_output(w);
			sigprocmask(SIG_BLOCK, &block, NULL);
			continue;
		}
		uint64_t now = pc_now_us();
		if (now >= due)
			break;
		if (!(left = any_running(w)))
			break;
		uint64_t nap = due - now < 1000000u ? due - now : 1000000u;
		struct timespec ts = { (time_t)(nap / 1000000u), (long)(nap % 1000000u) * 1000 };
		ppoll(NULL, 0, &ts, &waiting);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return left;
}

static void loop(struct watch *w)
{
	uint64_t t0 = pc_now_us();
	uint64_t slot = 0;       /* 0-based slot of the current round */
	for (long done = 0; !stop_signal;) {
		w->round = (long)slot + 1;
		w->next_due = t0 + (slot + 1) * w->interval_us;
		run_round(w);
		done++;
		if (stop_signal || (w->count && done >= w->count) || !anything_left(w))
			break;
		uint64_t now = pc_now_us();
		uint64_t next = slot + 1;
		if (now > w->next_due) {
			next = (now - t0) / w->interval_us + 1;
			pc_note("round %ld took %.3f s, longer than the %.3f s interval; skipping %llu census slot%s",
				w->round, (double)(now - (t0 + slot * w->interval_us)) / 1e6, w->interval_us / 1e6,
				(unsigned long long)(next - slot - 1), next - slot - 1 == 1 ? "" : "s");
		}
		slot = next;
		if (!wait_until(w, t0 + slot * w->interval_us)) {
			/* Everything exited while we waited: report it now. */
			for (size_t i = 0; i < w->nt; i++)
				if (!w->t[i].gone)
					still_there(w, &w->t[i]);
			break;
		}
		/* Woken past the next slot too: pycensus was suspended (Ctrl-Z)
		 * while it waited.  Run the slot of now, skipping the missed. */
		now = pc_now_us();
		if (now >= t0 + (slot + 1) * w->interval_us)
			slot = (now - t0) / w->interval_us;
	}
}

/* --- setup ---------------------------------------------------------------- */

/* Open a session for each PID given.  A PID that is not a Python process is
 * an error, unless --children is on: then it is a parent to look under. */
static struct pc_error *open_given(struct watch *w, const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct target *t = add_target(w, pids[i]);
		if (!t)
			return pc_error_nomem();
		t->given = true;
		if (!pc_proc_stat(t->pid, &t->id))
			return pc_error_new(PC_EXIT_NOPROC, "no such process: %d", (int)t->pid);
		t->parent = t->id.ppid;
		struct pc_error *err = open_session(w, t);
		if (err && w->children && err->code == PC_EXIT_NOTPY) {
			pc_error_destroy(err);
			err = NULL;
		}
		if (err)
			return err;
	}
	return NULL;
}

static void watch_fini(struct watch *w)
{
	for (size_t i = 0; i < w->nt; i++)
		close_target(&w->t[i]);
	free(w->t);
	/* Standard output is flushed and checked by main(). */
	if (w->out && w->out != stdout && fclose(w->out) != 0) {
		pc_note("cannot write to %s: %s", w->output, strerror(errno));
		w->write_failed = true;
	}
	w->out = NULL;
	free(w->output);
	free(w->prometheus);
	free(w->pidfile);
	free(w->log);
}

int pc_cmd_watch(int argc, char **argv)
{
	struct watch w = {
		.cli = { .snap = { .scope = PC_SCOPE_REACHABLE, .interrupted = &stop_signal } },
		.interval_us = DEFAULT_INTERVAL_US,
		.growth_rounds = DEFAULT_GROWTH_ROUNDS,
		.out = stdout,
	};
	pid_t *pids = NULL;
	size_t npids = 0;
	int rc = parse_args(&w, argc, argv, &pids, &npids);
	if (rc >= 0) {
		watch_fini(&w);
		return rc;
	}
	/* Everything that can fail for a reason the user must fix fails here,
	 * on the terminal, before --daemon detaches. */
	struct pc_error *err = NULL;
	if (w.pidfile)
		err = pc_pidfile_take(w.pidfile);
	if (!err && w.output)
		err = open_output(w.output, &w.out);
	if (!err)
		err = open_given(&w, pids, npids);
	free(pids);
	bool parent = false;
	if (!err && w.daemon)
		err = pc_daemonize(w.log, &parent);
	if (err || parent) {
		/* The original process of --daemon: done once the daemon runs. */
		rc = err ? pc_report(err) : 0;
		watch_fini(&w);
		if (err)
			pc_pidfile_release();
		return rc;
	}

	pc_attach_install_signal_handlers(&stop_signal);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	sigset_t chldset;
	sigemptyset(&chldset);
	sigaddset(&chldset, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chldset, NULL);

	loop(&w);

	if (stop_signal && w.daemon)
		pc_note("stopped by %s", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
	watch_fini(&w);
	pc_pidfile_release();
	return w.write_failed ? PC_EXIT_FAILED : 0;
}
