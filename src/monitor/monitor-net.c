/*
 * The rootless network of a container with its own network namespace: after
 * `runtime create` the backend (slirp4netns or pasta) joins that namespace,
 * configures it and publishes the ports; the container is started only once
 * all of that is done, so its first process already has its network and a
 * client never meets a published port that is not forwarded yet.
 *
 * The monitor owns the backend: it is the monitor's child, it ends when the
 * container exits, and it ends when the monitor dies (slirp4netns through its
 * exit fd, pasta through a guard process), so neither a backend process nor
 * its listening sockets outlive the container. The same holds for the
 * loopback forwarder (monitor-forward.c), which serves clients on the host's
 * loopback beside the backend.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "monitor.h"

/* The container whose namespace the backend serves: the loopback forwarder joins it too. */
static pid_t target_pid;

pid_t net_start(const struct options *o, pid_t container_pid)
{
  target_pid = container_pid;
  /* A port that cannot be bound fails here, with the port and the reason, before any backend runs. */
  for (size_t i = 0; i < o->n_publish; i++)
    if (net_check_port(&o->publish[i]) < 0)
      return -1;
  /* No backend to wait for: the forwarder serves every port from now on (0 is "no backend process"). */
  if (o->net_backend == NET_FORWARD)
    return forward_start(o, container_pid, 0) < 0 ? -1 : 0;
  return o->net_backend == NET_PASTA ? pasta_start(o, container_pid) : slirp_start(o, container_pid);
}

int net_ready(const struct options *o, pid_t *pid)
{
  int rc = o->net_backend == NET_PASTA ? pasta_ready(o, pid) : slirp_ready(o, *pid);
  if (rc == 0 && forward_start(o, target_pid, *pid) < 0) {
    net_stop(o, *pid);
    return -1;
  }
  return rc;
}

void net_stop(const struct options *o, pid_t pid)
{
  forward_stop();
  if (o->net_backend == NET_PASTA)
    pasta_stop(o, pid);
  else
    slirp_stop(o, pid);
}

int net_check_port(const struct publish *p)
{
  struct sockaddr_storage addr;
  memset(&addr, 0, sizeof addr);
  socklen_t len;
  const char *ip = p->host_ip[0] != '\0' ? p->host_ip : "0.0.0.0";
  struct sockaddr_in *in4 = (struct sockaddr_in *)&addr;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&addr;
  if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)p->host_port);
    len = sizeof *in4;
  } else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)p->host_port);
    len = sizeof *in6;
  } else {
    report("network", -1, "publish %s:%d: not an IP address", ip, p->host_port);
    return -1;
  }
  const char *proto = p->udp ? "udp" : "tcp";
  int fd = socket(addr.ss_family, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    report_errno("network", "socket for port %d/%s", p->host_port, proto);
    return -1;
  }
  /* As the backend's own socket does: a connection in TIME_WAIT is no conflict, a listener is. */
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.ss_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  int rc = bind(fd, (struct sockaddr *)&addr, len);
  if (rc == 0 && !p->udp)
    rc = listen(fd, 1);
  int err = errno;
  close(fd);
  if (rc == 0)
    return 0;
  /* strerror's capitals read oddly after the port; this is the wording users search for. */
  const char *why = err == EADDRINUSE ? "address already in use" : err == EACCES ? "permission denied" : strerror(err);
  const char *open = addr.ss_family == AF_INET6 ? "[" : "";
  const char *close_ = addr.ss_family == AF_INET6 ? "]" : "";
  report("network", -1, "cannot publish %s%s%s:%d/%s: bind: %s", open, ip, close_, p->host_port, proto, why);
  return -1;
}

int net_wait_readable(int fd, int timeout_ms)
{
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  int rc;
  while ((rc = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR)
    ;
  return rc;
}

static void path_of(const struct options *o, const char *name, char *path, size_t size)
{
  snprintf(path, size, "%s/%s", o->socket_dir, name);
}

int net_open_log(const struct options *o, const char *name)
{
  char path[PATH_MAX];
  path_of(o, name, path, sizeof path);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    report_errno("network", "open %s", path);
  return fd;
}

void net_log_last_line(const struct options *o, const char *name, char *line, size_t size)
{
  char path[PATH_MAX], text[4096];
  path_of(o, name, path, sizeof path);
  line[0] = '\0';
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  last_line(text, read_available(fd, text, sizeof text), line, size);
  close(fd);
}

void net_remove_file(const struct options *o, const char *name)
{
  char path[PATH_MAX];
  path_of(o, name, path, sizeof path);
  unlink(path);
}
