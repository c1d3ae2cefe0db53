/*
 * tspod-monitor --cid ID --runtime PATH --runtime-root DIR --bundle DIR
 *               --socket-dir DIR --exit-file PATH --pid-file PATH --log-path PATH [...]
 *
 * One per container, conmon's job: it creates and starts the container with
 * the OCI runtime, stays its parent, holds its stdio (k8s-file log, attach
 * socket, terminal), records its exit status and cleans up, so that tspod
 * itself can exit (and be upgraded) while the container runs. Rootless, it
 * runs inside tspod's user and mount namespaces (started through tspod-ns),
 * where mounting the rootfs and calling the runtime are possible.
 * See docs/monitor-protocol.md, "tspod-monitor".
 *
 *   CLI            first process       intermediate     monitor
 *    | spawn -------> |
 *    |                | fork ------------> |
 *    |                |                    | setsid, fork ----> |
 *    |                | waitpid <-------- exit                  |
 *    | <-------------------------------------- {"monitor_pid":N} |
 *    |                | <----------------------- ready byte ---- |
 *    | exit 0 <------ exit                                        | subreaper, stdio -> /dev/null
 *    |                                                            | mount overlay, attach socket
 *    |                                                            | runtime create
 *    |                                                            | network backend started
 *    | <---------------------------------------------- {"pid":N}  |
 *    | (attach)                                                   | network ready
 *    | start byte ----------------------------------------------> | (may wait in the pipe)
 *    |                                                            | runtime start
 *    | <------------------------------------------- {"started":true}
 *    |                                                            | relay until exit, exit file,
 *    |                                                            | cleanup, exit command
 *
 * The monitor is nobody's child but init's (or a subreaper's): the CLI may
 * exit at any time after {"pid"} without affecting the container.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

static struct options opts;
static struct ctr_stdio ctr = {.runtime = {-1, -1, -1}, .capture = -1, .out = -1, .err = -1, .in = -1, .console = -1};
static bool mounted;
static bool created;
static pid_t slirp_pid;

/* Everything done so far is undone; the reason has been reported already. */
static _Noreturn void abandon(void)
{
  if (created)
    runtime_delete(&opts);
  if (slirp_pid > 0)
    net_stop(&opts, slirp_pid);
  else
    forward_stop();
  if (mounted && umount2(opts.mount_target, MNT_DETACH) < 0)
    report_errno("run", "umount %s", opts.mount_target);
  stdio_remove_console(&opts, &ctr);
  attach_remove_socket(opts.socket_dir);
  /* Exiting closes the sync pipe: the CLI's signal that cleanup is over. */
  _exit(1);
}

static bool is_kept(int fd)
{
  return fd <= STDERR_FILENO || fd == opts.sync_fd || fd == opts.start_fd;
}

/* Kernels before 5.9 have no close_range(2): walk /proc/self/fd instead. */
static void close_listed_fds(void)
{
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL)
    return;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    int fd = atoi(entry->d_name);
    if (entry->d_name[0] != '.' && !is_kept(fd) && fd != dirfd(dir))
      close(fd);
  }
  closedir(dir);
}

/* Descriptors inherited by accident (a leaky parent) would reach the container. */
static void close_inherited_fds(void)
{
  int keep[2] = {opts.sync_fd, opts.start_fd};
  if (keep[0] > keep[1]) {
    int t = keep[0];
    keep[0] = keep[1];
    keep[1] = t;
  }
  unsigned first = 3;
  for (int i = 0; i < 2; i++) {
    if (keep[i] < 3)
      continue;
    if ((unsigned)keep[i] > first && close_range(first, (unsigned)keep[i] - 1, 0) < 0) {
      close_listed_fds();
      return;
    }
    first = (unsigned)keep[i] + 1;
  }
  if (close_range(first, ~0U, 0) < 0)
    close_listed_fds();
}

static void check_fd(int fd, const char *option)
{
  if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
    die_usage("%s %d: %s", option, fd, strerror(errno));
}

static void write_ready(int fd)
{
  write_all(fd, "", 1);
  close(fd);
}

/*
 * Returns in the monitor process. The first process exits 0 once the monitor
 * has sent {"monitor_pid"}, or 125 if it never got that far, so the CLI's
 * spawn returns fast and its exit status means something.
 */
static void daemonize(void)
{
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0)
    die_usage("pipe2: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0)
    die_usage("fork: %s", strerror(errno));
  if (pid > 0) {
    close(ready[1]);
    wait_process(pid);
    char byte;
    ssize_t n;
    while ((n = read(ready[0], &byte, 1)) < 0 && errno == EINTR)
      ;
    _exit(n == 1 ? 0 : MON_EXIT_ERROR);
  }
  close(ready[0]);
  /* A session of its own: the terminal's ^C and hangup never reach the monitor. */
  if (setsid() < 0)
    die_usage("setsid: %s", strerror(errno));
  pid = fork();
  if (pid < 0)
    die_usage("fork: %s", strerror(errno));
  if (pid > 0)
    _exit(0);
  sync_send_pid("monitor_pid", getpid());
  write_ready(ready[1]);
}

static void detach_stdio(void)
{
  if (opts.log_driver == LOG_PASSTHROUGH)
    return;
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) {
    report_errno("setup", "open /dev/null");
    abandon();
  }
  for (int fd = 0; fd < 3; fd++)
    if (dup2(null_fd, fd) < 0) {
      report_errno("setup", "dup2 /dev/null %d", fd);
      abandon();
    }
  close(null_fd);
}

static int make_signal_fd(void)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGQUIT);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
    die_usage("sigprocmask: %s", strerror(errno));
  int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0)
    die_usage("signalfd: %s", strerror(errno));
  return fd;
}

static void mount_rootfs(void)
{
  if (opts.mount_overlay == NULL)
    return;
  if (mount("overlay", opts.mount_target, "overlay", 0, opts.mount_overlay) < 0) {
    report_errno("mount", "mount overlay on %s", opts.mount_target);
    abandon();
  }
  mounted = true;
}

/* The runtime's own last words: what it printed, else its exit status. */
static void report_runtime_failure(const char *stage, int code, int capture_fd)
{
  char text[4096], line[1024];
  last_line(text, read_available(capture_fd, text, sizeof text), line, sizeof line);
  if (line[0] != '\0')
    report(stage, code, "%s", line);
  else
    report(stage, code, "runtime %s: exit status %d", stage, code);
}

static void create_container(void)
{
  const char *verb[8] = {"create", "--bundle", opts.bundle, "--pid-file", opts.pid_file, NULL};
  char console[4096];
  if (opts.terminal) {
    snprintf(console, sizeof console, "%s/console", opts.socket_dir);
    verb[5] = "--console-socket";
    verb[6] = console;
  }
  pid_t pid = runtime_spawn(&opts, verb, ctr.runtime);
  if (pid < 0) {
    report_errno("create", "fork %s", opts.runtime);
    abandon();
  }
  stdio_release_runtime_ends(&ctr);
  int code = wait_process(pid);
  if (code != 0) {
    report_runtime_failure("create", code, ctr.capture);
    abandon();
  }
  created = true;
  if (opts.terminal) {
    if (stdio_receive_terminal(&opts, &ctr) < 0)
      abandon();
    close(ctr.capture);
    ctr.capture = -1;
  }
}

static pid_t read_pid_file(void)
{
  char text[32];
  int fd = open(opts.pid_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    report_errno("create", "open %s", opts.pid_file);
    abandon();
  }
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  text[n > 0 ? n : 0] = '\0';
  char *end;
  long pid = strtol(text, &end, 10);
  if (n <= 0 || end == text || pid <= 0 || (*end != '\0' && *end != '\n')) {
    report("create", -1, "read %s: no pid in the file", opts.pid_file);
    abandon();
  }
  return (pid_t)pid;
}

/* With --start-fd: one byte starts the container; EOF means the CLI gave up (or died). */
static void wait_for_start(void)
{
  if (opts.start_fd < 0)
    return;
  char byte;
  ssize_t n;
  while ((n = read(opts.start_fd, &byte, 1)) < 0 && errno == EINTR)
    ;
  close(opts.start_fd);
  if (n != 1)
    abandon();
}

/*
 * What `crun start` does for a container with no poststart hooks (tspod
 * writes none) when no NOTIFY_SOCKET is set (with one, crun start waits for
 * the container's READY=1 and must run): open RUNTIME-ROOT/ID/exec.fifo for
 * writing, where the container's init waits to read, remove it (crun reads
 * "running" from its absence) and write one byte, which lets the init exec
 * the container's process. crun has done exactly this since its first
 * releases; doing it here spares a process that costs about 5 ms, mostly in
 * loading crun's twelve shared libraries. Anything unexpected (no fifo, no
 * reader: the init died) is left to `crun start`, which reports it in its
 * own words.
 */
static bool start_through_fifo(void)
{
  char path[PATH_MAX];
  if (getenv("NOTIFY_SOCKET") != NULL)
    return false;
  if ((size_t)snprintf(path, sizeof path, "%s/%s/exec.fifo", opts.runtime_root, opts.cid) >= sizeof path)
    return false;
  struct stat st;
  if (lstat(path, &st) < 0 || !S_ISFIFO(st.st_mode))
    return false;
  /* O_NONBLOCK: with no reader this fails (ENXIO) instead of waiting forever. */
  int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return false;
  if (unlink(path) < 0) {
    close(fd);
    return false;
  }
  char zero = 0;
  ssize_t n;
  while ((n = write(fd, &zero, 1)) < 0 && errno == EINTR)
    ;
  close(fd);
  if (n == 1)
    return true;
  /* The fifo is gone and the init never got its byte: nothing can start it now. */
  report_errno("start", "write %s", path);
  abandon();
}

static void start_container(void)
{
  if (opts.runtime_start_fifo && start_through_fifo())
    return;
  int capture[2];
  int null_fd = open_dev_null(O_RDWR);
  if (null_fd < 0 || pipe2(capture, O_CLOEXEC | O_NONBLOCK) < 0) {
    report_errno("start", "pipe2 (runtime messages)");
    abandon();
  }
  const int stdio[3] = {null_fd, null_fd, capture[1]};
  const char *const verb[] = {"start", NULL};
  pid_t pid = runtime_spawn(&opts, verb, stdio);
  close(capture[1]);
  close(null_fd);
  if (pid < 0) {
    report_errno("start", "fork %s", opts.runtime);
    abandon();
  }
  int code = wait_process(pid);
  if (code != 0) {
    report_runtime_failure("start", code, capture[0]);
    abandon();
  }
  close(capture[0]);
}

static bool remove_requested;

static void clean_up(void)
{
  runtime_delete(&opts);
  if (slirp_pid > 0)
    net_stop(&opts, slirp_pid);
  else
    forward_stop(); /* the backend died on its own: the loopback forwarder may still run */
  if (mounted && umount2(opts.mount_target, MNT_DETACH) < 0)
    report_errno("run", "umount %s", opts.mount_target);
  attach_remove_socket(opts.socket_dir);
  for (size_t i = 0; i < opts.n_rm_dirs; i++)
    remove_tree(opts.rm_dirs[i]);
  for (size_t i = 0; remove_requested && i < opts.n_removable_dirs; i++)
    remove_tree(opts.removable_dirs[i]);
}

int main(int argc, char **argv)
{
  options_parse(argc, argv, &opts);
  check_fd(opts.sync_fd, "--sync-fd");
  check_fd(opts.start_fd, "--start-fd");
  close_inherited_fds();
  /* Clients and the CLI may vanish at any time: a write to them must fail, not kill us. */
  signal(SIGPIPE, SIG_IGN);
  int signal_fd = make_signal_fd();
  tzset();
  sync_open(opts.sync_fd, opts.socket_dir);

  daemonize();
  /* Orphans in the container are re-parented to us, not to a PID 1 that may reap late. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    report_errno("setup", "prctl PR_SET_CHILD_SUBREAPER");
    abandon();
  }
  prctl(PR_SET_NAME, "tspod-monitor", 0, 0, 0);
  detach_stdio();
  if (chdir("/") < 0) {
    report_errno("setup", "chdir /");
    abandon();
  }

  mount_rootfs();
  if (attach_listen(opts.socket_dir) < 0 || log_open(&opts) < 0 || stdio_prepare(&opts, &ctr) < 0)
    abandon();
  create_container();
  pid_t container_pid = read_pid_file();
  /*
   * The backend starts up, and the ports are published, while the CLI
   * attaches, records the container as running and sends the start byte:
   * its set-up costs the run nothing then. The byte waits in the pipe.
   */
  if (opts.net_backend != NET_NONE && (slirp_pid = net_start(&opts, container_pid)) < 0) {
    slirp_pid = 0;
    abandon();
  }
  sync_send_pid("pid", container_pid);
  if (slirp_pid > 0 && net_ready(&opts, &slirp_pid) < 0) {
    slirp_pid = 0;
    abandon();
  }
  wait_for_start();
  start_container();
  sync_send_started();
  sdnotify_started(&opts);

  struct relay_state relay = {
      .stdio = &ctr,
      .terminal = opts.terminal,
      .container_pid = container_pid,
      .slirp_pid = slirp_pid,
      .signal_fd = signal_fd,
      .opts = &opts,
  };
  int exit_code = relay_run(&relay);
  slirp_pid = relay.slirp_pid;
  remove_requested = relay.remove_requested;
  log_close();
  exit_file_write(opts.exit_file, exit_code, relay.finished_ns);
  char code_text[16];
  int n = snprintf(code_text, sizeof code_text, "%d", exit_code);
  attach_broadcast(FRAME_EXIT, code_text, (size_t)n);
  clean_up();
  /* Closing the connections is the clients' signal that cleanup is done. */
  attach_flush(1000);
  attach_close_all();
  exit_command_run(&opts);
  return 0;
}
