/*
 * tspod-ns: runs a command as root inside the user's long-lived rootless
 * user + mount namespace, creating that namespace (held by a "pause"
 * process) when none is alive. The contract with TypeScript is documented in
 * docs/monitor-protocol.md, section "tspod-ns".
 */
#ifndef TSPOD_NS_H
#define TSPOD_NS_H

#include <stddef.h>
#include <sys/types.h>

/* Podman's exit codes: the helper's own failures, and a command it cannot run. */
#define NS_EXIT_ERROR 125
#define NS_EXIT_CANNOT_INVOKE 126
#define NS_EXIT_NOT_FOUND 127

/* The name the holder of the namespaces gives itself; checked before joining. */
#define PAUSE_NAME "tspod-pause"

/* ns-error.c: every failure ends the helper with one line on the error fd. */
void ns_set_error_fd(int fd);
/* "Error: tspod-ns: <fmt...>: <strerror(errno)>", then exit 125. */
_Noreturn void ns_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As ns_die, without the errno part. */
_Noreturn void ns_die_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As ns_die, with the exit code chosen by the caller. */
_Noreturn void ns_die_code(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Pass on a line that ns_die wrote in another process, then exit 125. */
_Noreturn void ns_relay(const char *line, size_t len);

/* ns-idmap.c: the mappings given on the command line, and installing them. */
struct idmap {
  const char *spec; /* "C:H:N[,C:H:N...]" as given */
  char **fields;    /* C, H, N, C, H, N, ... ready for newuidmap's argv */
  size_t nfields;
};

void idmap_parse(const char *option, const char *spec, struct idmap *out);
void idmap_install(pid_t pid, const struct idmap *uidmap, const struct idmap *gidmap);

/* ns-pause.c: the pause process, its pid file and lock. */
struct pause {
  pid_t pid;
  int proc_fd;   /* /proc/PID: pins this very process, not a reused pid */
  int userns_fd; /* /proc/PID/ns/user */
  int mntns_fd;  /* /proc/PID/ns/mnt */
};

/*
 * 0 and p filled if RUNROOT/pause.pid (or pid) is a live pause process of
 * ours, -1 if it is stale. joinable: also require a user namespace other
 * than the caller's (from inside the namespace, the holder is still ours to
 * see and stop, not to join).
 */
int pause_open(const char *runroot, int joinable, struct pause *p);
int pause_open_pid(pid_t pid, int joinable, struct pause *p);
void pause_close(struct pause *p);
pid_t pause_create(const char *runroot, int lock_fd, const struct idmap *uidmap, const struct idmap *gidmap);
void pause_stop(const char *runroot);
/* -1 only when !create and there is no lock file. */
int runroot_lock(const char *runroot, int create);
void runroot_make(const char *runroot);

#endif
