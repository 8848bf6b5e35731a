#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procfs_root.h"

bool pc_proc_same_root(pid_t pid)
{
	char path[64];
	struct stat a, b;
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	/* Unreadable (another user's process): assume ours, as before
	 * containers were considered; the open then fails as it would. */
	if (stat(path, &a) < 0 || stat("/", &b) < 0)
		return true;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The mapping of PID that starts at START: its end and inode. */
static bool mapping_at(pid_t pid, uint64_t start, uint64_t *end, uint64_t *ino)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		uint64_t lo, hi, in;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %*s %*s %" SCNu64, &lo, &hi, &in) == 3 && lo == start) {
			*end = hi;
			*ino = in;
			found = true;
		}
		/* A line longer than the buffer: skip the rest of it. */
		while (!strchr(line, '\n') && fgets(line, sizeof(line), f))
			;
	}
	fclose(f);
	return found;
}

static int open_regular(const char *path, uint64_t want_ino, char **opened)
{
	/* stat first: a mapped device or FIFO could block an open. */
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || (want_ino && st.st_ino != want_ino))
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (!(*opened = strdup(path))) {
		close(fd);
		return -1;
	}
	return fd;
}

int pc_proc_open_mapped(pid_t pid, const char *name, uint64_t start, char **opened)
{
	static const char deleted_tag[] = " (deleted)";
	char file[4096], path[4200];
	size_t n = strlen(name), tag = sizeof(deleted_tag) - 1;
	if (name[0] != '/' || n >= sizeof(file))
		return -1;
	bool deleted = n > tag && !strcmp(name + n - tag, deleted_tag);
	memcpy(file, name, n + 1);
	if (deleted)
		file[n - tag] = 0;
	uint64_t end = 0, ino = 0;
	bool mapped = mapping_at(pid, start, &end, &ino);

	/* The path as the target sees it, if it is still the mapped file. */
	if (pc_proc_same_root(pid))
		snprintf(path, sizeof(path), "%s", file);
	else
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, file);
	int fd = -1;
	if (!deleted)
		fd = open_regular(path, mapped ? ino : 0, opened);
	if (fd >= 0)
		return fd;
	/* Deleted or replaced (a package upgrade renames a new file over it):
	 * the mapping itself (needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE),
	 * else the executable link (needs only ptrace read access). */
	if (mapped) {
		char mf[96];
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, start, end);
		if ((fd = open_regular(mf, 0, opened)) >= 0)
			return fd;
		snprintf(mf, sizeof(mf), "/proc/%d/exe", (int)pid);
		if ((fd = open_regular(mf, ino, opened)) >= 0)
			return fd;
	}
	/* An overlay file system may report other inode numbers in maps than
	 * stat does: then the path is still the best guess. */
	return deleted ? -1 : open_regular(path, 0, opened);
}

pid_t pc_proc_path_pid(const char *path)
{
	int pid = 0, len = 0;
	if (path && sscanf(path, "/proc/%d/%n", &pid, &len) == 1 && len > 0)
		return pid;
	return 0;
}

bool pc_self_in_container(void)
{
	return !access("/.dockerenv", F_OK) || !access("/run/.containerenv", F_OK) ||
	       getenv("KUBERNETES_SERVICE_HOST") != NULL;
}

bool pc_self_has_sys_ptrace(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long eff = 0;
	bool found = false;
	if (!f)
		return true;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(f);
	return !found || (eff >> 19 & 1);  /* CAP_SYS_PTRACE is 19 */
}

bool pc_proc_root_denied(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/root/", (int)pid);
	return stat(path, &st) < 0 && (errno == EACCES || errno == EPERM);
}

const char *pc_container_hint(void)
{
	/* In a container, root without CAP_SYS_PTRACE is the usual cause; and
	 * a capability granted to the container does not reach a non-root user
	 * (it lands in the bounding set only). */
	if (!pc_self_has_sys_ptrace() && (geteuid() == 0 || pc_self_in_container()))
		return "pycensus lacks CAP_SYS_PTRACE; in a container add it (docker run --cap-add SYS_PTRACE, "
		       "kubectl debug --profile=general) and run as root there: added capabilities do not take "
		       "effect for a non-root user";
	return NULL;
}
