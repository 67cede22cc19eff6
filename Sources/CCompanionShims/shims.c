#define _GNU_SOURCE
#include "CCompanionShims.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__APPLE__)
#include <libproc.h>
#include <sys/proc_info.h>
#else
#include <sys/prctl.h>
#endif

int cc_errno(void) { return errno; }

int cc_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
             int stdin_fd, int stdout_fd, int stderr_fd, int flags, pid_t *pid_out) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) { posix_spawn_file_actions_destroy(&actions); return rc; }

    int targets[3] = {0, 1, 2};
    int sources[3] = {stdin_fd, stdout_fd, stderr_fd};
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (sources[i] < 0) {
            rc = posix_spawn_file_actions_addopen(&actions, targets[i], "/dev/null",
                                                  i == 0 ? O_RDONLY : O_WRONLY, 0);
        } else if (sources[i] != targets[i]) {
            rc = posix_spawn_file_actions_adddup2(&actions, sources[i], targets[i]);
        }
    }
    if (rc == 0 && cwd != NULL) {
#if defined(__APPLE__)
        if (__builtin_available(macOS 10.15, *)) {
            rc = posix_spawn_file_actions_addchdir_np(&actions, cwd);
        } else {
            rc = ENOTSUP;
        }
#else
        rc = posix_spawn_file_actions_addchdir_np(&actions, cwd);
#endif
    }

    short spawn_flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (flags & CC_SPAWN_SETSID) {
#if defined(POSIX_SPAWN_SETSID)
        spawn_flags |= POSIX_SPAWN_SETSID;
#else
        rc = ENOTSUP;
#endif
    } else if (flags & CC_SPAWN_SETPGROUP) {
        spawn_flags |= POSIX_SPAWN_SETPGROUP;
        if (rc == 0) rc = posix_spawnattr_setpgroup(&attr, 0);
    }
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &empty);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc == 0) rc = posix_spawnattr_setflags(&attr, spawn_flags);
    if (rc == 0) rc = posix_spawn(pid_out, path, &actions, &attr, argv, envp);

    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

#if !defined(__APPLE__)
/* Reads /proc/PID/stat and returns the fields after the command name, or NULL. */
static char *read_stat_tail(pid_t pid, char *buffer, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    ssize_t n = read(fd, buffer, size - 1);
    close(fd);
    if (n <= 0) return NULL;
    buffer[n] = 0;
    char *close_paren = strrchr(buffer, ')');
    if (close_paren == NULL || close_paren[1] == 0) return NULL;
    return close_paren + 2; /* field 3 (state) onwards */
}
#endif

int64_t cc_process_start_time(pid_t pid) {
    if (pid <= 0) return -1;
#if defined(__APPLE__)
    struct proc_bsdinfo info;
    int n = proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &info, sizeof info);
    if (n != (int)sizeof info) return -1;
    return (int64_t)info.pbi_start_tvsec * 1000000 + (int64_t)info.pbi_start_tvusec;
#else
    char buffer[1024];
    char *tail = read_stat_tail(pid, buffer, sizeof buffer);
    if (tail == NULL) return -1;
    /* tail starts at field 3; starttime is field 22 */
    int field = 3;
    char *p = tail;
    while (*p && field < 22) {
        if (*p == ' ') field++;
        p++;
    }
    if (field != 22) return -1;
    /* a zombie has exited: it is not a live process any more */
    if (tail[0] == 'Z' || tail[0] == 'X') return -1;
    return strtoll(p, NULL, 10);
#endif
}

pid_t cc_parent_pid(pid_t pid) {
#if defined(__APPLE__)
    struct proc_bsdinfo info;
    int n = proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &info, sizeof info);
    if (n != (int)sizeof info) return -1;
    return (pid_t)info.pbi_ppid;
#else
    char buffer[1024];
    char *tail = read_stat_tail(pid, buffer, sizeof buffer);
    if (tail == NULL) return -1;
    char state;
    int ppid;
    if (sscanf(tail, "%c %d", &state, &ppid) != 2) return -1;
    return (pid_t)ppid;
#endif
}

int cc_list_children(pid_t pid, pid_t *out, int capacity) {
#if defined(__APPLE__)
    int n = proc_listchildpids(pid, out, capacity * (int)sizeof(pid_t));
    return n < 0 ? -1 : n;
#else
    DIR *dir = opendir("/proc");
    if (dir == NULL) return -1;
    int found = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        char *end;
        long candidate = strtol(entry->d_name, &end, 10);
        if (*end != 0 || candidate <= 0) continue;
        if (cc_parent_pid((pid_t)candidate) == pid) {
            if (found < capacity) out[found] = (pid_t)candidate;
            found++;
        }
    }
    closedir(dir);
    return found;
#endif
}

static int signal_pipe[2] = {-1, -1};

static void signal_pipe_handler(int signo) {
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    if (signal_pipe[1] >= 0) (void)!write(signal_pipe[1], &byte, 1);
    errno = saved;
}

int cc_signal_pipe_install(const int *signals, int count) {
    if (signal_pipe[0] < 0) {
        if (pipe(signal_pipe) != 0) return -1;
        for (int i = 0; i < 2; i++) {
            fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
            fcntl(signal_pipe[i], F_SETFL, fcntl(signal_pipe[i], F_GETFL) | O_NONBLOCK);
        }
    }
    for (int i = 0; i < count; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = signal_pipe_handler;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        if (sigaction(signals[i], &action, NULL) != 0) return -1;
    }
    return signal_pipe[0];
}

int cc_become_subreaper(void) {
#if defined(__APPLE__)
    return 0;
#else
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#endif
}

void cc_ignore_sigpipe(void) {
    signal(SIGPIPE, SIG_IGN);
}
