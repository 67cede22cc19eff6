#ifndef CCOMPANION_SHIMS_H
#define CCOMPANION_SHIMS_H

#include <sys/types.h>
#include <stdint.h>

/// Flags for cc_spawn.
#define CC_SPAWN_SETSID 1     /* the child starts a new session (and process group) */
#define CC_SPAWN_SETPGROUP 2  /* the child gets a process group of its own */

/// Spawns `path` (an absolute or relative path; no PATH search) with posix_spawn.
/// The child's stdin, stdout and stderr become the given descriptors (-1 means
/// /dev/null), its signal mask is cleared and every signal's disposition reset
/// to the default. `cwd` may be NULL. Returns 0 or an errno value.
int cc_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
             int stdin_fd, int stdout_fd, int stderr_fd, int flags, pid_t *pid_out);

/// The start time of a process as an opaque, monotonic number that identifies it
/// together with its pid (Linux: clock ticks since boot from /proc/PID/stat;
/// Darwin: microseconds since the epoch). -1 when there is no such process.
int64_t cc_process_start_time(pid_t pid);

/// The parent pid of a process, or -1.
pid_t cc_parent_pid(pid_t pid);

/// Writes up to `capacity` pids of the direct children of `pid` into `out`.
/// Returns how many were found (possibly more than `capacity`), or -1.
int cc_list_children(pid_t pid, pid_t *out, int capacity);

/// Installs handlers for the given signals that write the signal number as one
/// byte into a non-blocking close-on-exec pipe. Returns the pipe's read end, or -1.
/// Calling it again adds signals and returns the same descriptor.
int cc_signal_pipe_install(const int *signals, int count);

/// Makes this process adopt its orphaned descendants (Linux PR_SET_CHILD_SUBREAPER).
/// A no-op returning 0 elsewhere.
int cc_become_subreaper(void);

/// Ignores SIGPIPE for the whole process, so writes to a closed pipe fail with EPIPE.
void cc_ignore_sigpipe(void);

/// Test-only: the value of errno after the last failing call in this thread.
int cc_errno(void);

#endif
