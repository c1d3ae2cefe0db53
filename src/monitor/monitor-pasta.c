/*
 * pasta: configures the container's network namespace like the host's (same
 * addresses, so the container is "the host" to the outside) and forwards the
 * published ports itself (-t/-u), splicing loopback connections and keeping
 * the address of other clients. Ports published on a loopback address, and
 * udp from the loopback (whose answers this pasta loses), are the loopback
 * forwarder's instead (monitor-forward.c).
 *
 * This host's pasta (2023) needs care: it cannot open /proc/PID/ns/net once it
 * has dropped its privileges, so it gets the namespace as an inherited
 * descriptor (--netns /proc/self/fd/3); it only writes its pid file when it
 * daemonizes, so it runs in the background and its foreground process exiting
 * 0 means "configured and forwarding"; and nothing makes it exit when its
 * target goes away. The daemon is re-parented to the monitor (a subreaper),
 * which ends it after the container, and a guard process forked from the
 * monitor ends it if the monitor itself dies (the guard sees its pipe close).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor.h"

#define READY_TIMEOUT_MS 10000
#define LOG_NAME "pasta.log"
#define PID_NAME "pasta.pid"

static pid_t guard_pid = -1;
/* pasta's first process until it has configured the namespace and exited; -1 after. */
static pid_t foreground = -1;

/* The foreground pasta's exit status; -1 when it did not finish in time (then it has been killed). */
static int wait_foreground(pid_t pid)
{
  /* Short sleeps: pasta is configured within tens of milliseconds, and every one of them delays the container. */
  for (int waited = 0; waited < READY_TIMEOUT_MS; waited++) {
    int status;
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid)
      return status_code(status);
    if (got < 0 && errno != EINTR)
      return 255;
    poll(NULL, 0, 1);
  }
  kill(pid, SIGKILL);
  wait_process(pid);
  return -1;
}

static pid_t read_pid(const struct options *o)
{
  char path[PATH_MAX], text[32];
  snprintf(path, sizeof path, "%s/%s", o->socket_dir, PID_NAME);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  text[n > 0 ? n : 0] = '\0';
  long pid = strtol(text, NULL, 10);
  return n > 0 && pid > 0 ? (pid_t)pid : -1;
}

/*
 * A forked copy of the monitor that holds nothing but the read end of a pipe
 * whose write end only the monitor has: end of file means the monitor died
 * without stopping pasta, and the guard does it.
 */
static void start_guard(pid_t pasta_pid)
{
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
    report_errno("network", "pipe2 (pasta guard)");
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    if (dup2(pipe_fds[0], 3) < 0)
      _exit(1);
    close_range(4, ~0U, 0);
    prctl(PR_SET_NAME, "tspod-netguard", 0, 0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char byte;
    while (read(3, &byte, 1) < 0 && errno == EINTR)
      ;
    kill(pasta_pid, SIGKILL);
    _exit(0);
  }
  close(pipe_fds[0]);
  if (pid < 0) {
    report_errno("network", "fork (pasta guard)");
    close(pipe_fds[1]);
    return;
  }
  /* Close-on-exec and never written: it closes only when the monitor exits. */
  guard_pid = pid;
}

static void add_ports(const struct options *o, const char **argv, size_t *n, char (*specs)[96])
{
  bool tcp = false, udp = false;
  for (size_t i = 0; i < o->n_publish; i++) {
    const struct publish *p = &o->publish[i];
    if (forward_owns(p))
      continue;
    if (p->host_ip[0] != '\0')
      snprintf(specs[i], 96, "%s/%d:%d", p->host_ip, p->host_port, p->ctr_port);
    else
      snprintf(specs[i], 96, "%d:%d", p->host_port, p->ctr_port);
    argv[(*n)++] = p->udp ? "-u" : "-t";
    argv[(*n)++] = specs[i];
    tcp = tcp || !p->udp;
    udp = udp || p->udp;
  }
  /* pasta's default is to forward every port bound in the namespace: publish exactly what was asked for. */
  const char *none[] = {"-t", "none", "-u", "none", "-T", "none", "-U", "none"};
  for (size_t i = 0; i < 8; i += 2) {
    if ((i == 0 && tcp) || (i == 2 && udp))
      continue;
    argv[(*n)++] = none[i];
    argv[(*n)++] = none[i + 1];
  }
}

pid_t pasta_start(const struct options *o, pid_t container_pid)
{
  char ns_path[64], pid_path[PATH_MAX];
  snprintf(ns_path, sizeof ns_path, "/proc/%d/ns/net", (int)container_pid);
  snprintf(pid_path, sizeof pid_path, "%s/%s", o->socket_dir, PID_NAME);
  unlink(pid_path);
  int ns_fd = open(ns_path, O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) {
    report_errno("network", "open %s", ns_path);
    return -1;
  }
  int log_fd = net_open_log(o, LOG_NAME);
  int null_fd = open_dev_null(O_RDWR);
  pid_t pid = -1;
  if (log_fd >= 0 && null_fd >= 0) {
    const char *argv[24 + 2 * o->n_publish + o->n_net_args];
    char (*specs)[96] = calloc(o->n_publish + 1, sizeof *specs);
    size_t n = 0;
    argv[n++] = o->net_cmd;
    argv[n++] = "--config-net";
    argv[n++] = "--quiet";
    argv[n++] = "--netns";
    argv[n++] = "/proc/self/fd/3";
    argv[n++] = "--pid";
    argv[n++] = pid_path;
    if (specs != NULL)
      add_ports(o, argv, &n, specs);
    for (size_t i = 0; i < o->n_net_args; i++)
      argv[n++] = o->net_args[i];
    argv[n] = NULL;
    const int stdio[3] = {null_fd, log_fd, log_fd};
    if (specs != NULL)
      pid = spawn_process((char *const *)argv, stdio, &ns_fd, 1);
    else
      errno = ENOMEM;
    if (pid < 0)
      report_errno("network", "fork %s", o->net_cmd);
    free(specs);
  }
  close(ns_fd);
  if (log_fd >= 0)
    close(log_fd);
  if (null_fd >= 0)
    close(null_fd);
  if (pid < 0)
    return -1;
  foreground = pid;
  return pid;
}

int pasta_ready(const struct options *o, pid_t *pid)
{
  int code = wait_foreground(foreground);
  pid_t first = foreground;
  foreground = -1;
  pid_t daemon = code == 0 ? read_pid(o) : -1;
  if (daemon > 0) {
    start_guard(daemon);
    *pid = daemon;
    return 0;
  }
  char line[512], pid_path[PATH_MAX];
  snprintf(pid_path, sizeof pid_path, "%s/%s", o->socket_dir, PID_NAME);
  net_log_last_line(o, LOG_NAME, line, sizeof line);
  if (code < 0)
    report("network", -1, "pasta %d: not ready after %d ms", (int)first, READY_TIMEOUT_MS);
  else if (code == 0)
    report("network", -1, "pasta: no pid in %s", pid_path);
  else if (line[0] != '\0')
    report("network", code, "pasta: %s", line);
  else
    report("network", code, "pasta: exit status %d", code);
  return -1;
}

void pasta_stop(const struct options *o, pid_t pid)
{
  if (foreground > 0) {
    /* Stopped while still starting: let the first process finish, since killing it could orphan a daemon it just forked. */
    pid = wait_foreground(foreground) == 0 ? read_pid(o) : -1;
    foreground = -1;
  }
  if (pid > 0) {
    kill(pid, SIGKILL);
    wait_process(pid);
  }
  if (guard_pid > 0) {
    /* pasta is gone: the guard must not act on a pid that could be reused. */
    kill(guard_pid, SIGKILL);
    wait_process(guard_pid);
    guard_pid = -1;
  }
  net_remove_file(o, LOG_NAME);
  net_remove_file(o, PID_NAME);
}
