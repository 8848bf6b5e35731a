#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "children.h"

/* The attachment the signal handler must undo.  Only one exists at a time. */
static struct pc_attach *volatile active;
static volatile int *interrupt_flag;

void pc_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

bool pc_attach_alive(pid_t pid)
{
	/* children.c reads /proc/PID/stat; a zombie does not count as alive. */
	struct pc_proc_id id;
	return pc_proc_stat(pid, &id);
}

int pc_thread_count(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static bool have_tid(const struct pc_attach *at, pid_t tid)
{
	for (size_t i = 0; i < at->ntids; i++)
		if (at->tids[i] == tid)
			return true;
	return false;
}

static bool add_tid(struct pc_attach *at, pid_t tid)
{
	if (at->ntids == at->cap) {
		size_t cap = at->cap ? at->cap * 2 : 16;
		pid_t *t = realloc(at->tids, cap * sizeof(*t));
		if (!t)
			return false;
		at->tids = t;
		int *s = realloc(at->sigs, cap * sizeof(*s));
		if (!s)
			return false;
		at->sigs = s;
		at->cap = cap;
	}
	at->tids[at->ntids] = tid;
	at->sigs[at->ntids] = 0;
	at->ntids++;
	return true;
}

static void drop_tid(struct pc_attach *at, size_t i)
{
	at->tids[i] = at->tids[at->ntids - 1];
	at->sigs[i] = at->sigs[at->ntids - 1];
	at->ntids--;
}

/* Explain why ptrace said EPERM, as strace does. */
static struct pc_error *explain_eperm(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	int tracer = 0;
	unsigned uid = (unsigned)-1;
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "TracerPid:", 10))
				tracer = atoi(line + 10);
			else if (!strncmp(line, "Uid:", 4))
				sscanf(line + 4, "%*u %u", &uid);
		}
		fclose(f);
	}
	if (tracer)
		return pc_error_new(PC_EXIT_PERM,
			"cannot trace process %d: it is already traced by process %d (a debugger?); detach that first",
			(int)pid, tracer);
	if (uid != (unsigned)-1 && uid != geteuid() && geteuid() != 0)
		return pc_error_new(PC_EXIT_PERM,
			"cannot trace process %d: it belongs to uid %u; run pycensus as that user or as root (CAP_SYS_PTRACE)",
			(int)pid, uid);
	int scope = -1;
	f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = -1;
		fclose(f);
	}
	if (scope >= 1)
		return pc_error_new(PC_EXIT_PERM,
			"cannot trace process %d: kernel.yama.ptrace_scope is %d; run as root, grant CAP_SYS_PTRACE, or set it to 0",
			(int)pid, scope);
	return pc_error_new(PC_EXIT_PERM,
		"cannot trace process %d: permission denied; run as its owner or as root (CAP_SYS_PTRACE)",
		(int)pid);
}

/* Wait until TID reports a ptrace stop.  Returns 1 stopped, 0 exited, -1 timed out. */
static int wait_stop(struct pc_attach *at, size_t i)
{
	pid_t tid = at->tids[i];
	for (int tries = 0; tries < 5000; tries++) {
		int status;
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 0;  /* ECHILD: gone */
		}
		if (r == 0) {
			pc_sleep_ms(1);
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return 0;
		if (WIFSTOPPED(status)) {
			int sig = WSTOPSIG(status);
			int event = (unsigned)status >> 16;
			/* A signal-delivery-stop, not our interrupt: keep the
			 * signal to hand back when we detach. */
			if (event == 0 && sig != SIGTRAP)
				at->sigs[i] = sig;
			return 1;
		}
	}
	return -1;
}

static struct pc_error *seize_one(struct pc_attach *at, pid_t tid, bool main_thread)
{
	for (int tries = 0; ptrace(PTRACE_SEIZE, tid, 0, 0) < 0; tries++) {
		int e = errno;
		if (e == ESRCH)
			return main_thread ? pc_error_new(PC_EXIT_NOPROC, "process %d does not exist", (int)tid) : NULL;
		/* The kernel also says EPERM, for a moment, to a thread that is
		 * exiting and to a process in the middle of execve() (both seen
		 * in the churn tests): try again for 50 ms (a thread gone by then
		 * gives ESRCH) before calling it a permission problem. */
		if (e == EPERM && tries < 25) {
			pc_sleep_ms(2);
			continue;
		}
		if (e == EPERM)
			return explain_eperm(at->pid);
		return pc_error_new(PC_EXIT_FAILED, "cannot attach to thread %d: %s", (int)tid, strerror(e));
	}
	if (!add_tid(at, tid)) {
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return pc_error_nomem();
	}
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0 && errno != ESRCH)
		return pc_error_new(PC_EXIT_FAILED, "cannot stop thread %d: %s", (int)tid, strerror(errno));
	int r = wait_stop(at, at->ntids - 1);
	if (r == 0) {
		drop_tid(at, at->ntids - 1);
		if (main_thread)
			return pc_error_new(PC_EXIT_NOPROC, "process %d exited while attaching", (int)tid);
	} else if (r < 0) {
		return pc_error_new(PC_EXIT_FAILED,
			"thread %d of process %d did not stop within 5 s (uninterruptible sleep?)", (int)tid, (int)at->pid);
	}
	return NULL;
}

static struct pc_error *scan_tasks(struct pc_attach *at, bool *found_new)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)at->pid);
	DIR *d = opendir(path);
	if (!d)
		return pc_error_new(PC_EXIT_NOPROC, "process %d exited while attaching", (int)at->pid);
	struct dirent *e;
	struct pc_error *err = NULL;
	*found_new = false;
	while (!err && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid <= 0 || have_tid(at, tid))
			continue;
		size_t before = at->ntids;
		err = seize_one(at, tid, false);
		if (at->ntids > before)
			*found_new = true;
	}
	closedir(d);
	return err;
}

struct pc_error *pc_attach_stop(struct pc_attach *at, pid_t pid)
{
	memset(at, 0, sizeof(*at));
	at->pid = pid;
	active = at;
	struct pc_error *err = seize_one(at, pid, true);
	bool found_new = true;
	/* A thread may be cloning while we attach; once every known thread is
	 * stopped and a scan finds none new, no more can appear. */
	for (int rounds = 0; !err && found_new; rounds++) {
		if (rounds > 1000) {
			err = pc_error_new(PC_EXIT_FAILED, "process %d keeps creating threads; cannot stop it", (int)pid);
			break;
		}
		err = scan_tasks(at, &found_new);
	}
	if (err) {
		pc_attach_release(at);
		return err;
	}
	at->stopped = true;
	return NULL;
}

void pc_attach_release(struct pc_attach *at)
{
	for (size_t i = 0; i < at->ntids; i++)
		ptrace(PTRACE_DETACH, at->tids[i], 0, (void *)(long)at->sigs[i]);
	at->ntids = 0;
	at->stopped = false;
	if (active == at)
		active = NULL;
	free(at->tids);
	free(at->sigs);
	at->tids = NULL;
	at->sigs = NULL;
	at->cap = 0;
}

/* Async-signal-safe: only system calls. */
static void detach_active(void)
{
	struct pc_attach *at = active;
	if (!at)
		return;
	active = NULL;
	for (size_t i = 0; i < at->ntids; i++)
		ptrace(PTRACE_DETACH, at->tids[i], 0, (void *)(long)at->sigs[i]);
	at->ntids = 0;
}

static void on_fatal(int sig)
{
	detach_active();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_interrupt(int sig)
{
	if (interrupt_flag) {
		*interrupt_flag = sig;
		/* The census in progress notices the flag; detaching here keeps the
		 * pause short even if it does not notice soon. */
		detach_active();
		return;
	}
	on_fatal(sig);
}

void pc_attach_install_signal_handlers(volatile int *flag)
{
	interrupt_flag = flag;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = flag ? SIG_DFL : on_fatal;
	if (!flag) {
		sigaction(SIGHUP, &sa, NULL);
	}
	sa.sa_handler = on_fatal;
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
}
