/*
 * sd_notify for systemd units running `tspod run -d` with Type=notify: once
 * the container has started, tell the service manager which process to watch
 * (MAINPID: this monitor, which stays for the container's life) and, unless
 * the container reports readiness itself (--sdnotify=container, where the
 * OCI runtime passes the socket in), that the service is ready. The socket
 * is a path or, with a leading '@', an abstract name, as systemd gives it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor.h"

void sdnotify_started(const struct options *o)
{
  if (o->sdnotify_socket == NULL || o->sdnotify_socket[0] == '\0')
    return;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t len = strlen(o->sdnotify_socket);
  if (len >= sizeof addr.sun_path) {
    report("setup", -1, "NOTIFY_SOCKET %s: path too long", o->sdnotify_socket);
    return;
  }
  memcpy(addr.sun_path, o->sdnotify_socket, len);
  if (addr.sun_path[0] == '@')
    addr.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    report_errno("setup", "socket for NOTIFY_SOCKET %s", o->sdnotify_socket);
    return;
  }
  char msg[64];
  int n = snprintf(msg, sizeof msg, "MAINPID=%d\n%s", (int)getpid(), o->sdnotify_container ? "" : "READY=1\n");
  if (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
    report_errno("setup", "notify %s", o->sdnotify_socket);
  close(fd);
}
