#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

static enum { TO_STDERR, TO_LOG, TO_SYSLOG } note_to = TO_STDERR;
static char *pidfile_path;
static int pidfile_fd = -1;

void pc_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (note_to == TO_SYSLOG) {
		vsyslog(LOG_WARNING, fmt, ap);
	} else {
		/* A log file outlives the terminal: each line says when. */
		if (note_to == TO_LOG) {
			char when[32];
			time_t now = time(NULL);
			struct tm tm;
			localtime_r(&now, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			fprintf(stderr, "%s pycensus[%d]: ", when, (int)getpid());
		} else {
			fputs("pycensus: ", stderr);
		}
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		fflush(stderr);
	}
	va_end(ap);
}

static struct pc_error *write_pid(void)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(pidfile_fd, 0) < 0 || pwrite(pidfile_fd, buf, (size_t)len, 0) != len)
		return pc_error_new(PC_EXIT_FAILED, "cannot write pidfile %s: %s", pidfile_path, strerror(errno));
	return NULL;
}

struct pc_error *pc_pidfile_take(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return pc_error_new(PC_EXIT_FAILED, "cannot open pidfile %s: %s", path, strerror(errno));
	/* The lock, not the file's existence, says whether an instance runs:
	 * a pidfile left by a crash does not block the next start.  A flock
	 * belongs to the open file, so the daemon forked later holds it too. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char buf[32] = "";
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		close(fd);
		return pc_error_new(PC_EXIT_FAILED, "pidfile %s is held by a running pycensus (pid %s)", path,
				    buf[0] ? buf : "?");
	}
	pidfile_path = strdup(path);
	pidfile_fd = fd;
	struct pc_error *err = pidfile_path ? write_pid() : pc_error_nomem();
	if (err)
		pc_pidfile_release();
	return err;
}

/* The original process of --daemon: the daemon owns the pidfile now. */
static void pidfile_hand_over(void)
{
	if (pidfile_fd < 0)
		return;
	close(pidfile_fd);
	pidfile_fd = -1;
	free(pidfile_path);
	pidfile_path = NULL;
}

void pc_pidfile_release(void)
{
	if (pidfile_fd < 0)
		return;
	if (pidfile_path)
		unlink(pidfile_path);
	close(pidfile_fd);
	pidfile_fd = -1;
	free(pidfile_path);
	pidfile_path = NULL;
}

/* The daemon's report to the waiting parent: empty for success, else the
 * exit code byte and the message. */
static void report(int fd, const struct pc_error *err)
{
	if (err) {
		char buf[sizeof(err->msg) + 1];
		buf[0] = (char)err->code;
		size_t n = strlen(err->msg);
		memcpy(buf + 1, err->msg, n);
		if (write(fd, buf, n + 1) < 0)
			return;
	}
}

static struct pc_error *wait_for_daemon(int fd, pid_t child)
{
	char buf[sizeof(((struct pc_error *)0)->msg) + 1];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) - 1 && ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	close(fd);
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!len)
		return NULL;
	buf[len] = 0;
	return pc_error_new((enum pc_exit)buf[0], "%s", buf + 1);
}

struct pc_error *pc_daemonize(const char *log, bool *parent)
{
	*parent = false;
	int logfd = -1;
	if (log && (logfd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return pc_error_new(PC_EXIT_FAILED, "cannot open log file %s: %s", log, strerror(errno));
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		if (logfd >= 0)
			close(logfd);
		return pc_error_new(PC_EXIT_FAILED, "pipe: %s", strerror(errno));
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		if (logfd >= 0)
			close(logfd);
		return pc_error_new(PC_EXIT_FAILED, "fork: %s", strerror(e));
	}
	if (pid > 0) {
		close(pipefd[1]);
		if (logfd >= 0)
			close(logfd);
		*parent = true;
		struct pc_error *err = wait_for_daemon(pipefd[0], pid);
		if (!err)
			pidfile_hand_over();
		return err;
	}

	/* First child: a new session without a controlling terminal, then a
	 * second fork so the daemon is not a session leader and can never
	 * acquire one. */
	close(pipefd[0]);
	struct pc_error *err = NULL;
	if (setsid() < 0)
		err = pc_error_new(PC_EXIT_FAILED, "setsid: %s", strerror(errno));
	if (!err && (pid = fork()) < 0)
		err = pc_error_new(PC_EXIT_FAILED, "fork: %s", strerror(errno));
	if (err) {
		report(pipefd[1], err);
		_exit(1);
	}
	if (pid > 0)
		_exit(0);

	umask(022);
	if (chdir("/") < 0)
		err = pc_error_new(PC_EXIT_FAILED, "chdir /: %s", strerror(errno));
	if (!err && pidfile_fd >= 0)
		err = write_pid();
	if (err) {
		report(pipefd[1], err);
		_exit(1);
	}
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(logfd >= 0 ? logfd : null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (logfd >= 0) {
		close(logfd);
		note_to = TO_LOG;
	} else {
		openlog("pycensus", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		note_to = TO_SYSLOG;
	}
	close(pipefd[1]);  /* EOF without a message: started */
	return NULL;
}
