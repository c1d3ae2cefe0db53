/*
 * slirp4netns, the default rootless network: after `runtime create` it joins
 * the container's network namespace, creates tap0 and configures it. The
 * monitor waits for its ready byte (--ready-fd) before the container is
 * started, so that the network is up when the container's first process
 * runs, and keeps the other end of --exit-fd: closing it ends slirp4netns.
 * Its output goes to SOCKET_DIR/slirp4netns.log, whose last line is the
 * reason given when it fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "monitor.h"

#define READY_TIMEOUT_MS 10000

static int exit_fd = -1;

static void log_path_of(const struct options *o, char *path, size_t size)
{
  snprintf(path, size, "%s/slirp4netns.log", o->socket_dir);
}

static void report_failure(const struct options *o, pid_t pid, int code)
{
  char path[PATH_MAX], text[4096], line[512] = "";
  log_path_of(o, path, sizeof path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    last_line(text, read_available(fd, text, sizeof text), line, sizeof line);
    close(fd);
  }
  if (code < 0)
    report("network", -1, "slirp4netns %d: not ready after %d ms", (int)pid, READY_TIMEOUT_MS);
  else if (line[0] != '\0')
    report("network", code, "slirp4netns: %s", line);
  else
    report("network", code, "slirp4netns: exit status %d", code);
}

pid_t slirp_start(const struct options *o, pid_t container_pid)
{
  int exit_pipe[2], ready_pipe[2];
  if (pipe2(exit_pipe, O_CLOEXEC) < 0) {
    report_errno("network", "pipe2 (slirp4netns exit fd)");
    return -1;
  }
  if (pipe2(ready_pipe, O_CLOEXEC) < 0) {
    report_errno("network", "pipe2 (slirp4netns ready fd)");
    close(exit_pipe[0]);
    close(exit_pipe[1]);
    return -1;
  }
  char path[PATH_MAX];
  log_path_of(o, path, sizeof path);
  int log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  int null_fd = open_dev_null(O_RDWR);
  pid_t pid = -1;
  if (log_fd < 0) {
    report_errno("network", "open %s", path);
  } else if (null_fd >= 0) {
    char target[16];
    snprintf(target, sizeof target, "%d", (int)container_pid);
    const char *argv[] = {o->slirp4netns, "--configure", "--mtu=65520", "--disable-host-loopback", "--exit-fd=3",
                          "--ready-fd=4", target, "tap0", NULL};
    const int stdio[3] = {null_fd, log_fd, log_fd};
    const int extra[2] = {exit_pipe[0], ready_pipe[1]};
    pid = spawn_process((char *const *)argv, stdio, extra, 2);
    if (pid < 0)
      report_errno("network", "fork %s", o->slirp4netns);
  }
  if (log_fd >= 0)
    close(log_fd);
  if (null_fd >= 0)
    close(null_fd);
  close(exit_pipe[0]);
  close(ready_pipe[1]);
  if (pid < 0) {
    close(exit_pipe[1]);
    close(ready_pipe[0]);
    return -1;
  }

  struct pollfd pfd = {.fd = ready_pipe[0], .events = POLLIN};
  char byte = 0;
  int rc;
  while ((rc = poll(&pfd, 1, READY_TIMEOUT_MS)) < 0 && errno == EINTR)
    ;
  ssize_t n = rc > 0 ? read(ready_pipe[0], &byte, 1) : 0;
  close(ready_pipe[0]);
  if (n == 1) {
    exit_fd = exit_pipe[1];
    return pid;
  }
  /* EOF on the ready pipe: slirp4netns exited; a timeout: it hangs. */
  close(exit_pipe[1]);
  if (rc == 0)
    kill(pid, SIGKILL);
  int code = wait_process(pid);
  report_failure(o, pid, rc == 0 ? -1 : code);
  return -1;
}

void slirp_stop(const struct options *o, pid_t pid)
{
  if (exit_fd >= 0)
    close(exit_fd);
  exit_fd = -1;
  if (pid > 0 && wait_process_timeout(pid, 1000) < 0) {
    kill(pid, SIGKILL);
    wait_process(pid);
  }
  char path[PATH_MAX];
  log_path_of(o, path, sizeof path);
  unlink(path);
}
