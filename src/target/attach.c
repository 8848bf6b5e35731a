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
#include "clock.h"
#include "procfs_root.h"

/* How long a thread may take to reach its stop, and how much longer it
 * gets when it is let go without having stopped. */
#define STOP_WAIT_MS 5000
#define RELEASE_WAIT_MS 100
#define MAX_STRAGGLERS 64

/* The attachment the signal handlers must undo.  Only one exists at a
 * time.  Its thread list changes only with the signals below blocked
 * (guard), so a handler never sees it half updated or freed. */
static struct pc_attach *volatile active;
static volatile sig_atomic_t *interrupt_flag;
static volatile sig_atomic_t broken_stops;

/* Threads seized that never stopped, so could not be detached: each is
 * let go once it stops (its PTRACE_INTERRUPT stays pending until then). */
static pid_t stragglers[MAX_STRAGGLERS];
static size_t nstragglers;

static const int guarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU };

static void guard(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(guarded_signals) / sizeof(*guarded_signals); i++)
		sigaddset(&set, guarded_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void unguard(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

/* The guarded signal waiting for the guard to drop, 0 if none: waiting
 * for a thread to stop gives up for it, so Ctrl-C or Ctrl-Z is not held
 * back for seconds. */
static int signal_waiting(const sigset_t *old)
{
	sigset_t pend;
	if (sigpending(&pend) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(guarded_signals) / sizeof(*guarded_signals); i++) {
		int sig = guarded_signals[i];
		/* In watch, SIGHUP only reopens the output file. */
		if (sig == SIGHUP && interrupt_flag)
			continue;
		if (sigismember(&pend, sig) && !sigismember(old, sig))
			return sig;
	}
	return 0;
}

unsigned long pc_attach_broken_stops(void)
{
	return (unsigned long)broken_stops;
}

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

/* What /proc says a thread is doing: its state letter and, if the kernel
 * tells, the function it sleeps in. */
static void thread_state(pid_t pid, pid_t tid, char *state, char *wchan, size_t n)
{
	char path[96], buf[512];
	*state = '?';
	snprintf(wchan, n, "?");
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	FILE *f = fopen(path, "re");
	if (f) {
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		buf[len] = 0;
		char *p = strrchr(buf, ')');  /* the name may hold spaces and ')' */
		if (p && p[1] == ' ' && p[2])
			*state = p[2];
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (f) {
		size_t len = fread(buf, 1, n - 1 < sizeof(buf) - 1 ? n - 1 : sizeof(buf) - 1, f);
		buf[len] = 0;
		if (len && strcmp(buf, "0"))
			memcpy(wchan, buf, len + 1);
		fclose(f);
	}
}

/* Explain why ptrace said EPERM for thread TID of PID, as strace does. */
static struct pc_error *explain_eperm(pid_t pid, pid_t tid)
{
	char path[96], line[256];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	FILE *f = fopen(path, "re");
	int tracer = 0;
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "TracerPid:", 10))
				tracer = atoi(line + 10);
		fclose(f);
	}
	if (tracer == (int)getpid())
		return pc_error_new(PC_EXIT_FAILED,
			"cannot trace thread %d of process %d: pycensus still holds it from an earlier stop it never reached",
			(int)tid, (int)pid);
	if (tracer)
		return pc_error_new(PC_EXIT_PERM,
			"cannot trace process %d: it is already traced by process %d (a debugger?); detach that first",
			(int)pid, tracer);
	return pc_perm_error(pid, "trace");
}

struct pc_error *pc_perm_error(pid_t pid, const char *what)
{
	char path[64], line[256];
	unsigned uid = (unsigned)-1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "Uid:", 4))
				sscanf(line + 4, "%*u %u", &uid);
		fclose(f);
	}
	if (uid != (unsigned)-1 && uid != geteuid() && geteuid() != 0)
		return pc_error_new(PC_EXIT_PERM,
			"cannot %s process %d: it belongs to uid %u; run pycensus as that user or as root (CAP_SYS_PTRACE)",
			what, (int)pid, uid);
	/* The kernel gives a process that is not dumpable (prctl
	 * PR_SET_DUMPABLE 0, or one that changed its ids) /proc files owned
	 * by root, and lets only CAP_SYS_PTRACE trace it. */
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	if (uid != (unsigned)-1 && uid != 0 && !stat(path, &st) && st.st_uid == 0)
		return pc_error_new(PC_EXIT_PERM,
			"cannot %s process %d: it is not dumpable (prctl PR_SET_DUMPABLE 0, or it changed its user ids); only root or CAP_SYS_PTRACE may trace it",
			what, (int)pid);
	/* After the two above, which say more to a non-root user. */
	const char *hint = pc_container_hint();
	if (hint)
		return pc_error_new(PC_EXIT_PERM, "cannot %s process %d: %s", what, (int)pid, hint);
	int scope = -1;
	f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = -1;
		fclose(f);
	}
	if (scope == 1)
		return pc_error_new(PC_EXIT_PERM,
			"cannot %s process %d: kernel.yama.ptrace_scope is 1 (a user may trace only its own descendants); run as root, grant CAP_SYS_PTRACE, let the target allow it (prctl PR_SET_PTRACER) or set the scope to 0",
			what, (int)pid);
	if (scope >= 2)
		return pc_error_new(PC_EXIT_PERM,
			"cannot %s process %d: kernel.yama.ptrace_scope is %d; run as root with CAP_SYS_PTRACE%s",
			what, (int)pid, scope, scope >= 3 ? " (scope 3 allows no tracing at all until reboot)" : "");
	return pc_error_new(PC_EXIT_PERM,
		"cannot %s process %d: permission denied; run as its owner or as root (CAP_SYS_PTRACE)",
		what, (int)pid);
}

enum { STOP_GONE, STOP_OK, STOP_TIMEOUT, STOP_SIGNAL };

/* Wait until TID reports a ptrace stop, for MS milliseconds at most, or
 * until a guarded signal is waiting (OLD: the mask outside the guard).
 * A signal-delivery-stop's signal is stored in *SIG, to hand back on
 * detach. */
static int wait_stop(pid_t tid, int *sig, unsigned ms, const sigset_t *old)
{
	/* A running thread stops within microseconds of the interrupt, and the
	 * whole wait counts in the pause: poll at 10 us at first, backing off
	 * to 1 ms for a thread that takes longer. */
	uint64_t end = pc_now_us() + (uint64_t)ms * 1000u;
	long nap_ns = 10000;
	for (;;) {
		int status;
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return STOP_GONE;  /* ECHILD: gone */
		}
		if (r == 0) {
			if (old && signal_waiting(old))
				return STOP_SIGNAL;
			if (pc_now_us() >= end)
				return STOP_TIMEOUT;
			struct timespec ts = { 0, nap_ns };
			nanosleep(&ts, NULL);
			if (nap_ns < 1000000)
				nap_ns *= 2;
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return STOP_GONE;
		if (WIFSTOPPED(status)) {
			int s = WSTOPSIG(status);
			int event = (unsigned)status >> 16;
			/* A signal-delivery-stop, not our interrupt: keep the
			 * signal to hand back when we detach. */
			if (event == 0 && s != SIGTRAP)
				*sig = s;
			return STOP_OK;
		}
	}
}

static bool keep_straggler(pid_t tid)
{
	if (nstragglers == MAX_STRAGGLERS)
		return false;
	stragglers[nstragglers++] = tid;
	return true;
}

static bool take_straggler(pid_t tid)
{
	for (size_t i = 0; i < nstragglers; i++) {
		if (stragglers[i] == tid) {
			stragglers[i] = stragglers[--nstragglers];
			return true;
		}
	}
	return false;
}

static struct pc_error *seize_one(struct pc_attach *at, pid_t tid, bool main_thread, const sigset_t *old)
{
	/* A straggler of an earlier stop is still ours, its interrupt still
	 * pending: wait for it again instead of seizing it. */
	bool ours = take_straggler(tid);
	for (int tries = 0; !ours && ptrace(PTRACE_SEIZE, tid, 0, 0) < 0; tries++) {
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
			return explain_eperm(at->pid, tid);
		return pc_error_new(PC_EXIT_FAILED, "cannot attach to thread %d: %s", (int)tid, strerror(e));
	}
	if (!add_tid(at, tid)) {
		/* Not yet interrupted, so not stopping: detached at once, or by
		 * the kernel when we exit. */
		if (!ours || !keep_straggler(tid))
			ptrace(PTRACE_DETACH, tid, 0, 0);
		return pc_error_nomem();
	}
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0 && errno != ESRCH)
		return pc_error_new(PC_EXIT_FAILED, "cannot stop thread %d: %s", (int)tid, strerror(errno));
	int r = wait_stop(tid, &at->sigs[at->ntids - 1], STOP_WAIT_MS, old);
	if (r == STOP_GONE) {
		drop_tid(at, at->ntids - 1);
		if (main_thread)
			return pc_error_new(PC_EXIT_NOPROC, "process %d exited while attaching", (int)tid);
	} else if (r == STOP_SIGNAL) {
		int sig = signal_waiting(old);
		if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			broken_stops++;  /* this stop is given up for the suspension */
		return pc_error_new(PC_EXIT_FAILED, "interrupted by signal %d while stopping process %d",
				    sig, (int)at->pid);
	} else if (r == STOP_TIMEOUT) {
		char state, wchan[64];
		thread_state(at->pid, tid, &state, wchan, sizeof(wchan));
		return pc_error_new(PC_EXIT_FAILED,
			"thread %d of process %d did not stop within %d s (state %c%s, in %s); "
			"every other thread was let go, and this one will be when it wakes (or when pycensus exits)",
			(int)tid, (int)at->pid, STOP_WAIT_MS / 1000, state,
			state == 'D' ? ": uninterruptible sleep, waiting for I/O or a vfork()ed child" : "", wchan);
	}
	return NULL;
}

static struct pc_error *scan_tasks(struct pc_attach *at, bool *found_new, const sigset_t *old)
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
		err = seize_one(at, tid, false, old);
		if (at->ntids > before)
			*found_new = true;
	}
	closedir(d);
	return err;
}

static void release(struct pc_attach *at);

struct pc_error *pc_attach_stop(struct pc_attach *at, pid_t pid)
{
	sigset_t old;
	guard(&old);
	pc_attach_release_stragglers();
	memset(at, 0, sizeof(*at));
	at->pid = pid;
	active = at;
	struct pc_error *err = seize_one(at, pid, true, &old);
	bool found_new = true;
	/* A thread may be cloning while we attach; once every known thread is
	 * stopped and a scan finds none new, no more can appear. */
	for (int rounds = 0; !err && found_new; rounds++) {
		if (rounds > 1000) {
			err = pc_error_new(PC_EXIT_FAILED, "process %d keeps creating threads; cannot stop it", (int)pid);
			break;
		}
		err = scan_tasks(at, &found_new, &old);
	}
	if (err)
		release(at);
	unguard(&old);
	return err;
}

/* Detach TID, which may not have reached its stop yet: PTRACE_DETACH
 * works only on a tracee in a ptrace-stop (ESRCH otherwise, the same as
 * for a thread that is gone).  Its interrupt is still pending, so it stops
 * as soon as it can: wait a little for that; if it does not come, keep it
 * as a straggler.  The kernel lets every tracee go when its tracer exits,
 * which covers `snapshot`. */
static void detach_one(pid_t pid, pid_t tid, int sig)
{
	if (ptrace(PTRACE_DETACH, tid, 0, (void *)(long)sig) == 0 || errno != ESRCH)
		return;
	int r = wait_stop(tid, &sig, RELEASE_WAIT_MS, NULL);
	if (r == STOP_OK && ptrace(PTRACE_DETACH, tid, 0, (void *)(long)sig) == 0)
		return;
	if (r != STOP_GONE && !keep_straggler(tid))
		fprintf(stderr, "pycensus: thread %d of process %d stays traced until pycensus exits\n",
			(int)tid, (int)pid);
}

/* Detach every thread; the signals are guarded. */
static void release(struct pc_attach *at)
{
	for (size_t i = 0; i < at->ntids; i++)
		detach_one(at->pid, at->tids[i], at->sigs[i]);
	at->ntids = 0;
	if (active == at)
		active = NULL;
	free(at->tids);
	free(at->sigs);
	at->tids = NULL;
	at->sigs = NULL;
	at->cap = 0;
}

void pc_attach_release(struct pc_attach *at)
{
	sigset_t old;
	guard(&old);
	release(at);
	unguard(&old);
}

void pc_attach_release_stragglers(void)
{
	sigset_t old;
	guard(&old);
	for (size_t i = 0; i < nstragglers;) {
		int status, sig = 0;
		pid_t tid = stragglers[i];
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
		if (r == 0) {
			i++;
			continue;
		}
		if (r == tid && WIFSTOPPED(status)) {
			if (((unsigned)status >> 16) == 0 && WSTOPSIG(status) != SIGTRAP)
				sig = WSTOPSIG(status);
			if (ptrace(PTRACE_DETACH, tid, 0, (void *)(long)sig) < 0 && errno != ESRCH) {
				i++;
				continue;
			}
		}
		/* Detached, exited, or no longer ours (ECHILD). */
		stragglers[i] = stragglers[--nstragglers];
	}
	unguard(&old);
}

/* Async-signal-safe: only system calls.  The guard keeps the handlers out
 * while the list changes, and every thread on it is in a ptrace-stop. */
static bool detach_active(void)
{
	struct pc_attach *at = active;
	if (!at)
		return false;
	active = NULL;
	for (size_t i = 0; i < at->ntids; i++)
		ptrace(PTRACE_DETACH, at->tids[i], 0, (void *)(long)at->sigs[i]);
	at->ntids = 0;
	return true;
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

/* SIGTSTP, SIGTTIN, SIGTTOU: let the target go, then stop as the signal's
 * default action would (the shell sees the same signal), and return when
 * SIGCONT comes.  The census sees broken_stops change and starts over. */
static void on_suspend(int sig)
{
	int saved = errno;
	if (detach_active())
		broken_stops++;
	struct sigaction dfl, ours;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, &ours);
	/* SIG is blocked while its handler runs: raise() leaves it pending,
	 * and unblocking it stops pycensus right there until SIGCONT. */
	raise(sig);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	sigaction(sig, &ours, NULL);
	errno = saved;
}

void pc_attach_install_signal_handlers(volatile sig_atomic_t *flag)
{
	interrupt_flag = flag;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* Each handler runs with every guarded signal blocked: none of them
	 * can interrupt another half way through detaching. */
	for (size_t i = 0; i < sizeof(guarded_signals) / sizeof(*guarded_signals); i++)
		sigaddset(&sa.sa_mask, guarded_signals[i]);
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!flag) {
		sa.sa_handler = on_fatal;
		sigaction(SIGHUP, &sa, NULL);
	}
	/* Restarted, so that a write suspended by SIGTTOU goes on after it. */
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_suspend;
	sigaction(SIGTSTP, &sa, NULL);
	sigaction(SIGTTIN, &sa, NULL);
	sigaction(SIGTTOU, &sa, NULL);
	sa.sa_flags = 0;
	sa.sa_handler = on_fatal;
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
}
