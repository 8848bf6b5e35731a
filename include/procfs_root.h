/* A target's files as the target sees them: through /proc/PID/root when it
 * lives in another mount namespace or chroot (a container), through
 * /proc/PID/map_files or /proc/PID/exe when its file was deleted or
 * replaced since it was mapped. */
#ifndef PC_PROCFS_ROOT_H
#define PC_PROCFS_ROOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* True if PID's root directory is ours (no container, or we entered it). */
bool pc_proc_same_root(pid_t pid);

/* Open read-only the file PID maps at address START under the name NAME
 * (as /proc/PID/maps spells it, " (deleted)" included).  Returns the fd and
 * in *OPENED (malloc'd) the path it was opened by, or -1. */
int pc_proc_open_mapped(pid_t pid, const char *name, uint64_t start, char **opened);

/* The PID whose files a path opened by pc_proc_open_mapped lives under
 * ("/proc/PID/..."), or 0 for a plain path. */
pid_t pc_proc_path_pid(const char *path);

/* True if this process looks like it runs in a container, and whether it
 * holds CAP_SYS_PTRACE: for explaining permission errors. */
bool pc_self_in_container(void);
bool pc_self_has_sys_ptrace(void);

/* True if PID's root cannot be opened for lack of permission (ptrace read
 * access): the target's files are then out of reach. */
bool pc_proc_root_denied(pid_t pid);

/* What to do about a ptrace permission error, for messages: the container
 * recipe when pycensus lacks CAP_SYS_PTRACE, else NULL. */
const char *pc_container_hint(void);

#endif
