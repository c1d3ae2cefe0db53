/*
 * The pause process: one tiny process per user (per run root) that holds the
 * rootless user namespace and the mount namespace, so that every tspod
 * invocation joins the same ones and mounts made by one stay visible to the
 * next. Its pid is in RUNROOT/pause.pid; RUNROOT/pause.lock serialises
 * creation so that concurrent invocations never make two.
 *
 * Nothing it leaves behind has to be repaired by hand: a pid file whose
 * process is dead, reused or not ours is stale and simply replaced, and the
 * pid file is written only once the namespace is complete.
 *
 * Creation, over a SOCK_SEQPACKET pair (one message per packet):
 *
 *   helper                    intermediate           pause
 *     | fork ------------------> |
 *     |                          | fork --------------> |
 *     | waitpid <--------------- exit                   | setsid
 *     |                                                 | unshare(USER|NS)
 *     | <---------------------------------------------- "pid N"
 *     | newuidmap N ..., newgidmap N ...                |
 *     | "g" ------------------------------------------> |
 *     |                                                 | setresuid/gid 0, rprivate,
 *     |                                                 | hide cgroup2, name, chdir /
 *     | <---------------------------------------------- "ok"
 *     | write pause.pid                                 |
 *     | "c" ------------------------------------------> |
 *     | unlock, setns, exec CMD                         | close fds, pause() forever
 *
 * The intermediate process keeps the pause process from being the helper's
 * child, since the helper becomes CMD and must not inherit it. Any failure in
 * the pause process arrives as its "Error: ..." line, which the helper
 * relays. If the helper dies before "g" or "c", the pause process reads EOF
 * and exits: no half-made namespace and no unrecorded pause process remain.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ns.h"

#define PID_FILE "pause.pid"
#define PID_TEMP ".pause.pid.tmp"
#define LOCK_FILE "pause.lock"
#define UNIFIED_CGROUP "/sys/fs/cgroup/unified"

static void path_in(char *buf, size_t size, const char *runroot, const char *name)
{
  if ((size_t)snprintf(buf, size, "%s/%s", runroot, name) >= size) {
    errno = ENAMETOOLONG;
    ns_die("open %s/%s", runroot, name);
  }
}

void runroot_make(const char *runroot)
{
  if (mkdir(runroot, 0700) == 0 || errno == EEXIST)
    return;
  if (errno != ENOENT)
    ns_die("mkdir %s", runroot);
  char *copy = strdup(runroot);
  if (copy == NULL)
    ns_die("strdup %s", runroot);
  for (char *p = copy + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(copy, 0700) < 0 && errno != EEXIST)
      ns_die("mkdir %s", copy);
    *p = '/';
  }
  if (mkdir(copy, 0700) < 0 && errno != EEXIST)
    ns_die("mkdir %s", copy);
  free(copy);
}

int runroot_lock(const char *runroot, int create)
{
  char path[PATH_MAX];
  path_in(path, sizeof path, runroot, LOCK_FILE);
  int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
  if (fd < 0 && !create && (errno == ENOENT || errno == ENOTDIR))
    return -1;
  if (fd < 0)
    ns_die("open %s", path);
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR)
      ns_die("flock %s", path);
  return fd;
}

/* Errors that mean "not a live process of ours", as opposed to a broken system. */
static int is_stale_errno(int err)
{
  return err == ENOENT || err == ESRCH || err == EACCES || err == EPERM;
}

/* Name and state from /proc/PID/stat; -1 once the process is reaped. */
static int read_stat(int proc_fd, pid_t pid, char *comm, size_t comm_size, char *state)
{
  int fd = openat(proc_fd, "stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (is_stale_errno(errno))
      return -1;
    ns_die("open /proc/%d/stat", (int)pid);
  }
  char buf[512];
  ssize_t n;
  do
    n = read(fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  /* The name may itself hold parentheses: it ends at the last ')'. */
  char *open_paren = strchr(buf, '(');
  char *close_paren = strrchr(buf, ')');
  if (open_paren == NULL || close_paren == NULL || close_paren < open_paren || close_paren[1] != ' ')
    return -1;
  size_t len = (size_t)(close_paren - open_paren - 1);
  if (len >= comm_size)
    len = comm_size - 1;
  memcpy(comm, open_paren + 1, len);
  comm[len] = '\0';
  *state = close_paren[2];
  return 0;
}

static int open_ns(int proc_fd, pid_t pid, const char *name)
{
  int fd = openat(proc_fd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && !is_stale_errno(errno))
    ns_die("open /proc/%d/%s", (int)pid, name);
  return fd;
}

int pause_open_pid(pid_t pid, int joinable, struct pause *p)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d", (int)pid);
  /* Everything below goes through this fd, so a pid reused meanwhile cannot fool us. */
  int proc_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc_fd < 0) {
    if (is_stale_errno(errno))
      return -1;
    ns_die("open %s", path);
  }
  struct stat st;
  if (fstat(proc_fd, &st) < 0)
    ns_die("fstat %s", path);
  char comm[64], state;
  if (st.st_uid != getuid() || read_stat(proc_fd, pid, comm, sizeof comm, &state) < 0 ||
      strcmp(comm, PAUSE_NAME) != 0 || state == 'Z' || state == 'X') {
    close(proc_fd);
    return -1;
  }
  int user_fd = open_ns(proc_fd, pid, "ns/user");
  int mnt_fd = user_fd < 0 ? -1 : open_ns(proc_fd, pid, "ns/mnt");
  if (mnt_fd < 0) {
    if (user_fd >= 0)
      close(user_fd);
    close(proc_fd);
    return -1;
  }
  /* A process in our own user namespace holds nothing worth joining. */
  struct stat theirs, ours;
  if (joinable && fstat(user_fd, &theirs) < 0)
    ns_die("fstat /proc/%d/ns/user", (int)pid);
  if (joinable && stat("/proc/self/ns/user", &ours) < 0)
    ns_die("stat /proc/self/ns/user");
  if (joinable && theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) {
    close(mnt_fd);
    close(user_fd);
    close(proc_fd);
    return -1;
  }
  p->pid = pid;
  p->proc_fd = proc_fd;
  p->userns_fd = user_fd;
  p->mntns_fd = mnt_fd;
  return 0;
}

int pause_open(const char *runroot, int joinable, struct pause *p)
{
  char path[PATH_MAX];
  path_in(path, sizeof path, runroot, PID_FILE);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return -1;
    ns_die("open %s", path);
  }
  char buf[32];
  ssize_t n;
  do
    n = read(fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    ns_die("read %s", path);
  close(fd);
  buf[n] = '\0';
  /* Anything but a pid and a newline is junk to be replaced, not an error. */
  char *end;
  errno = 0;
  long pid = strtol(buf, &end, 10);
  if (errno != 0 || end == buf || pid <= 0 || pid > INT_MAX || (*end != '\0' && strcmp(end, "\n") != 0))
    return -1;
  return pause_open_pid((pid_t)pid, joinable, p);
}

void pause_close(struct pause *p)
{
  close(p->mntns_fd);
  close(p->userns_fd);
  close(p->proc_fd);
}

static void write_pidfile(const char *runroot, pid_t pid)
{
  char tmp[PATH_MAX], path[PATH_MAX], buf[16];
  path_in(tmp, sizeof tmp, runroot, PID_TEMP);
  path_in(path, sizeof path, runroot, PID_FILE);
  /* One temp name is enough: only the holder of pause.lock writes here. */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    ns_die("open %s", tmp);
  int len = snprintf(buf, sizeof buf, "%d\n", (int)pid);
  if (write(fd, buf, (size_t)len) != len)
    ns_die("write %s", tmp);
  if (fsync(fd) < 0)
    ns_die("fsync %s", tmp);
  close(fd);
  if (rename(tmp, path) < 0)
    ns_die("rename %s", path);
}

static void close_from(int lowfd)
{
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
    return;
#endif
  long max = sysconf(_SC_OPEN_MAX);
  for (long fd = lowfd; fd < (max > 0 ? max : 1024); fd++)
    close((int)fd);
}

static void send_msg(int sock, const char *msg, pid_t pid)
{
  while (send(sock, msg, strlen(msg), MSG_NOSIGNAL) < 0)
    if (errno != EINTR)
      ns_die("send to pause process %d", (int)pid);
}

static ssize_t recv_msg(int sock, char *buf, size_t size)
{
  ssize_t n;
  do
    n = recv(sock, buf, size - 1, 0);
  while (n < 0 && errno == EINTR);
  buf[n > 0 ? n : 0] = '\0';
  return n;
}

/* In the pause process: anything but the expected byte means the helper is gone. */
static void await_byte(int sock, char want)
{
  char buf[2];
  if (recv_msg(sock, buf, sizeof buf) != 1 || buf[0] != want)
    _exit(0);
}

/*
 * crun refuses cgroup v1 "hybrid" mode, recognised by a cgroup2 mount at
 * /sys/fs/cgroup/unified; an empty tmpfs over it, in our mount namespace
 * only, makes the host look like plain cgroup v1. See DESIGN.md.
 */
static void hide_unified_cgroup(void)
{
  struct statfs sf;
  if (statfs(UNIFIED_CGROUP, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
    return;
  if (mount("tmpfs", UNIFIED_CGROUP, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=4k") < 0)
    ns_die("mount tmpfs %s", UNIFIED_CGROUP);
}

static _Noreturn void run_pause(int sock)
{
  ns_set_error_fd(sock);
  signal(SIGPIPE, SIG_IGN);
  /* Out of the caller's session, its terminal's ^C and hangup never reach us. */
  if (setsid() < 0)
    ns_die("setsid");
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
    ns_die("unshare user and mount namespaces");
  char msg[32];
  snprintf(msg, sizeof msg, "pid %d", (int)getpid());
  send_msg(sock, msg, getpid());

  await_byte(sock, 'g');
  if (setresgid(0, 0, 0) < 0)
    ns_die("setresgid 0");
  if (setresuid(0, 0, 0) < 0)
    ns_die("setresuid 0");
  /* Mounts that tspod makes in here must never propagate back to the host. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    ns_die("mount --make-rprivate /");
  hide_unified_cgroup();
  if (prctl(PR_SET_NAME, PAUSE_NAME, 0, 0, 0) < 0)
    ns_die("prctl PR_SET_NAME %s", PAUSE_NAME);
  /* Holding the caller's directory would keep its filesystem busy. */
  if (chdir("/") < 0)
    ns_die("chdir /");
  send_msg(sock, "ok", getpid());

  await_byte(sock, 'c');
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
  }
  close_from(3);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  for (;;)
    pause();
}

pid_t pause_create(const char *runroot, int lock_fd, const struct idmap *uidmap, const struct idmap *gidmap)
{
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    ns_die("socketpair");
  pid_t child = fork();
  if (child < 0)
    ns_die("fork");
  if (child == 0) {
    /* The lock is the helper's: the pause process must not keep it held. */
    close(lock_fd);
    close(sv[0]);
    ns_set_error_fd(sv[1]);
    pid_t grandchild = fork();
    if (grandchild < 0)
      ns_die("fork");
    if (grandchild > 0)
      _exit(0);
    run_pause(sv[1]);
  }
  close(sv[1]);
  int status;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR)
      ns_die("waitpid %d", (int)child);

  char msg[1024];
  ssize_t n = recv_msg(sv[0], msg, sizeof msg);
  if (n > 0 && strncmp(msg, "Error:", 6) == 0)
    ns_relay(msg, (size_t)n);
  int pid = 0;
  if (n <= 0 || sscanf(msg, "pid %d", &pid) != 1 || pid <= 0)
    ns_die_plain("pause process: exited before creating the namespaces");

  idmap_install(pid, uidmap, gidmap);
  send_msg(sv[0], "g", pid);
  n = recv_msg(sv[0], msg, sizeof msg);
  if (n > 0 && strncmp(msg, "Error:", 6) == 0)
    ns_relay(msg, (size_t)n);
  if (n <= 0 || strcmp(msg, "ok") != 0)
    ns_die_plain("pause process %d: exited while setting up the namespaces", pid);

  write_pidfile(runroot, pid);
  send_msg(sv[0], "c", pid);
  close(sv[0]);
  return pid;
}

static int signal_pause(const struct pause *p)
{
  int r;
#ifdef SYS_pidfd_send_signal
  /* A /proc/PID fd works as a pidfd: the signal cannot hit a reused pid. */
  r = (int)syscall(SYS_pidfd_send_signal, p->proc_fd, SIGKILL, NULL, 0);
  if (r < 0 && errno == ENOSYS)
#endif
    r = kill(p->pid, SIGKILL);
  return r < 0 && errno != ESRCH ? -1 : 0;
}

void pause_stop(const char *runroot)
{
  /* No lock file: no pause process was ever made here, and we create nothing. */
  int lock_fd = runroot_lock(runroot, 0);
  if (lock_fd < 0)
    return;
  char path[PATH_MAX];
  path_in(path, sizeof path, runroot, PID_FILE);
  struct pause p;
  /* Not only joinable ones: tspod system reset runs inside the namespace itself. */
  if (pause_open(runroot, 0, &p) == 0) {
    if (signal_pause(&p) < 0)
      ns_die("kill %d", (int)p.pid);
    /* A zombie counts as stopped: PID 1 may reap orphans late. */
    const struct timespec tick = {0, 1000000};
    int i;
    for (i = 0; i < 5000; i++) {
      char comm[64], state;
      if (read_stat(p.proc_fd, p.pid, comm, sizeof comm, &state) < 0 || state == 'Z' || state == 'X')
        break;
      nanosleep(&tick, NULL);
    }
    if (i == 5000)
      ns_die_plain("kill %d: still running after 5 seconds", (int)p.pid);
    pause_close(&p);
  } else {
    /* A stale pid file is harmless; one of another user's (say, root stopping
     * in a user's run root) may name a pause process we cannot see as ours. */
    struct stat st;
    if (lstat(path, &st) < 0 || st.st_uid != getuid()) {
      close(lock_fd);
      return;
    }
  }
  if (unlink(path) < 0 && errno != ENOENT)
    ns_die("unlink %s", path);
  close(lock_fd);
}
