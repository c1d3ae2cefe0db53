/*
 * slirp4netns: it joins the container's network namespace, creates tap0 and
 * configures it (--configure), says it is ready on --ready-fd and exits when
 * the other end of --exit-fd closes, which the kernel does for us if the
 * monitor dies. Published ports go through its API socket (add_hostfwd): its
 * own port handler listens on the host inside the slirp4netns process, and the
 * container sees the client's real address. Clients on the host's loopback
 * are the loopback forwarder's (monitor-forward.c): slirp4netns would show
 * them as 10.0.2.2, its address for the host, at half the speed, and drop
 * its udp answers to them. Its output goes to SOCKET_DIR/slirp4netns.log,
 * whose last line is the reason given when it fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor.h"

#define READY_TIMEOUT_MS 10000
#define API_TIMEOUT_MS 5000
#define LOG_NAME "slirp4netns.log"
#define API_NAME "slirp4netns.sock"

static int exit_fd = -1;
static int ready_fd = -1;

static void report_failure(const struct options *o, pid_t pid, int code)
{
  char line[512];
  net_log_last_line(o, LOG_NAME, line, sizeof line);
  if (code < 0)
    report("network", -1, "slirp4netns %d: not ready after %d ms", (int)pid, READY_TIMEOUT_MS);
  else if (line[0] != '\0')
    report("network", code, "slirp4netns: %s", line);
  else
    report("network", code, "slirp4netns: exit status %d", code);
}

/* One request on a fresh connection; slirp4netns answers and closes. 0, or -1 after reporting. */
static int api_request(const char *socket_path, const char *request, char *reply, size_t size)
{
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t path_len = strlen(socket_path);
  if (path_len >= sizeof addr.sun_path) {
    report("network", -1, "slirp4netns API socket %s: File name too long", socket_path);
    return -1;
  }
  memcpy(addr.sun_path, socket_path, path_len + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    report_errno("network", "connect %s", socket_path);
    if (fd >= 0)
      close(fd);
    return -1;
  }
  size_t len = 0;
  if (write_all(fd, request, strlen(request)) < 0) {
    report_errno("network", "write %s", socket_path);
    close(fd);
    return -1;
  }
  shutdown(fd, SHUT_WR);
  while (len + 1 < size && net_wait_readable(fd, API_TIMEOUT_MS) > 0) {
    ssize_t n = read(fd, reply + len, size - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  reply[len] = '\0';
  close(fd);
  return 0;
}

static int publish_ports(const struct options *o, const char *api_path)
{
  for (size_t i = 0; i < o->n_publish; i++) {
    const struct publish *p = &o->publish[i];
    if (forward_owns(p))
      continue;
    const char *proto = p->udp ? "udp" : "tcp";
    const char *ip = p->host_ip[0] != '\0' ? p->host_ip : "0.0.0.0";
    char request[512], reply[1024];
    snprintf(request, sizeof request,
             "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"%s\",\"host_addr\":\"%s\",\"host_port\":%d,"
             "\"guest_port\":%d}}",
             proto, ip, p->host_port, p->ctr_port);
    if (api_request(api_path, request, reply, sizeof reply) < 0)
      return -1;
    if (strstr(reply, "\"return\"") == NULL) {
      char line[512];
      last_line(reply, strlen(reply), line, sizeof line);
      report("network", -1, "cannot publish port %d/%s on %s: slirp4netns: %s", p->host_port, proto, ip,
             line[0] != '\0' ? line : "no answer");
      return -1;
    }
  }
  return 0;
}

pid_t slirp_start(const struct options *o, pid_t container_pid)
{
  char api_path[PATH_MAX];
  snprintf(api_path, sizeof api_path, "%s/%s", o->socket_dir, API_NAME);
  if (o->n_publish > 0 && strlen(api_path) >= sizeof((struct sockaddr_un *)0)->sun_path) {
    report("network", -1, "slirp4netns API socket %s: File name too long", api_path);
    return -1;
  }
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
  int log_fd = net_open_log(o, LOG_NAME);
  int null_fd = open_dev_null(O_RDWR);
  pid_t pid = -1;
  if (log_fd >= 0 && null_fd >= 0) {
    char target[16], api_arg[PATH_MAX + 16];
    snprintf(target, sizeof target, "%d", (int)container_pid);
    snprintf(api_arg, sizeof api_arg, "--api-socket=%s", api_path);
    const char *argv[16 + o->n_net_args];
    size_t n = 0;
    argv[n++] = o->net_cmd;
    argv[n++] = "--configure";
    argv[n++] = "--exit-fd=3";
    argv[n++] = "--ready-fd=4";
    if (o->n_publish > 0)
      argv[n++] = api_arg;
    if (o->n_net_args == 0) {
      /* What tspod passes when nothing else is asked for: the largest MTU, and no way into the host's loopback. */
      argv[n++] = "--mtu=65520";
      argv[n++] = "--disable-host-loopback";
    }
    for (size_t i = 0; i < o->n_net_args; i++)
      argv[n++] = o->net_args[i];
    argv[n++] = target;
    argv[n++] = "tap0";
    argv[n] = NULL;
    const int stdio[3] = {null_fd, log_fd, log_fd};
    const int extra[2] = {exit_pipe[0], ready_pipe[1]};
    pid = spawn_process((char *const *)argv, stdio, extra, 2);
    if (pid < 0)
      report_errno("network", "fork %s", o->net_cmd);
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
  exit_fd = exit_pipe[1];
  ready_fd = ready_pipe[0];
  return pid;
}

int slirp_ready(const struct options *o, pid_t pid)
{
  char byte = 0, api_path[PATH_MAX];
  int rc = net_wait_readable(ready_fd, READY_TIMEOUT_MS);
  ssize_t n = rc > 0 ? read(ready_fd, &byte, 1) : 0;
  close(ready_fd);
  ready_fd = -1;
  if (n == 1) {
    snprintf(api_path, sizeof api_path, "%s/%s", o->socket_dir, API_NAME);
    if (o->n_publish > 0 && publish_ports(o, api_path) < 0) {
      slirp_stop(o, pid);
      return -1;
    }
    return 0;
  }
  /* EOF on the ready pipe: slirp4netns exited; a timeout: it hangs. */
  close(exit_fd);
  exit_fd = -1;
  if (rc == 0)
    kill(pid, SIGKILL);
  int code = wait_process(pid);
  report_failure(o, pid, rc == 0 ? -1 : code);
  net_remove_file(o, LOG_NAME);
  net_remove_file(o, API_NAME);
  return -1;
}

void slirp_stop(const struct options *o, pid_t pid)
{
  if (ready_fd >= 0)
    close(ready_fd);
  ready_fd = -1;
  if (exit_fd >= 0)
    close(exit_fd);
  exit_fd = -1;
  /* Nothing of slirp4netns needs flushing once the container is gone: waiting for it to notice its exit fd costs a run milliseconds. */
  if (pid > 0) {
    kill(pid, SIGKILL);
    wait_process(pid);
  }
  net_remove_file(o, LOG_NAME);
  net_remove_file(o, API_NAME);
}
