/*
 * The container's stdio. An OCI runtime hands its own stdio to the container
 * process, so the monitor gives `runtime create` exactly the descriptors the
 * container should have:
 *
 *   no terminal: stdin  = a pipe the monitor writes (--stdin) or /dev/null
 *                stdout = a pipe the monitor reads
 *                stderr = a pipe the monitor reads
 *   terminal:    the runtime makes a pty inside the container and sends its
 *                master over SOCKET_DIR/console (SCM_RIGHTS); the runtime's
 *                own stdio is /dev/null and a private pipe for its messages.
 *   passthrough: the monitor's inherited 0, 1, 2, untouched.
 *
 * Without a terminal the runtime's error messages therefore arrive on the
 * container's stderr pipe: a failed create is read from there, and a warning
 * printed by a successful create lands in the container's log, as with conmon.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor.h"

static int make_pipe(int fds[2], const char *what)
{
  if (pipe2(fds, O_CLOEXEC) == 0)
    return 0;
  report_errno("setup", "pipe2 (container %s)", what);
  return -1;
}

static void set_nonblock(int fd)
{
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0)
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int unix_listen(const char *socket_dir, const char *name, int backlog)
{
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if ((size_t)snprintf(addr.sun_path, sizeof addr.sun_path, "%s/%s", socket_dir, name) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    report_errno("setup", "bind %s/%s", socket_dir, name);
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    report_errno("setup", "socket %s", addr.sun_path);
    return -1;
  }
  /* A socket left by an earlier run of this container would make bind fail. */
  if (unlink(addr.sun_path) < 0 && errno != ENOENT) {
    report_errno("setup", "unlink %s", addr.sun_path);
    close(fd);
    return -1;
  }
  /* Only the user may connect: the socket controls the container. */
  mode_t old = umask(0177);
  int rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
  umask(old);
  if (rc < 0 || listen(fd, backlog) < 0) {
    report_errno("setup", "%s %s", rc < 0 ? "bind" : "listen", addr.sun_path);
    close(fd);
    return -1;
  }
  return fd;
}

int stdio_prepare(const struct options *o, struct ctr_stdio *s)
{
  memset(s, 0, sizeof *s);
  s->capture = s->out = s->err = s->in = s->console = -1;
  if (o->log_driver == LOG_PASSTHROUGH) {
    s->runtime[0] = STDIN_FILENO;
    s->runtime[1] = STDOUT_FILENO;
    s->runtime[2] = STDERR_FILENO;
    return 0;
  }
  s->runtime[0] = s->runtime[1] = s->runtime[2] = -1;

  int fds[2];
  if (o->terminal) {
    s->console = unix_listen(o->socket_dir, "console", 1);
    if (s->console < 0 || make_pipe(fds, "runtime messages") < 0)
      return -1;
    s->capture = fds[0];
    s->runtime[1] = s->runtime[2] = fds[1];
  } else {
    if (make_pipe(fds, "stdout") < 0)
      return -1;
    s->out = fds[0];
    s->runtime[1] = fds[1];
    if (make_pipe(fds, "stderr") < 0)
      return -1;
    s->err = s->capture = fds[0];
    s->runtime[2] = fds[1];
    if (o->stdin_open) {
      if (make_pipe(fds, "stdin") < 0)
        return -1;
      s->runtime[0] = fds[0];
      s->in = fds[1];
    }
  }
  if (s->runtime[0] < 0 && (s->runtime[0] = open_dev_null(O_RDONLY)) < 0)
    return -1;
  /* The main loop must never block on the container, nor on a runtime that failed. */
  int ends[] = {s->capture, s->out, s->err, s->in};
  for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
    if (ends[i] >= 0)
      set_nonblock(ends[i]);
  return 0;
}

void stdio_release_runtime_ends(struct ctr_stdio *s)
{
  for (int i = 0; i < 3; i++) {
    int fd = s->runtime[i];
    /* Passthrough hands over the monitor's own 0, 1, 2: they stay. */
    if (fd > STDERR_FILENO && (i == 0 || fd != s->runtime[i - 1]))
      close(fd);
    s->runtime[i] = -1;
  }
}

int stdio_receive_terminal(const struct options *o, struct ctr_stdio *s)
{
  int conn = accept4(s->console, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      report("create", -1, "runtime create: no terminal received on %s/console", o->socket_dir);
    else
      report_errno("create", "accept %s/console", o->socket_dir);
    return -1;
  }
  /* The runtime sends the pty's name as data and its master as SCM_RIGHTS. */
  char name[256];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  ssize_t n;
  do
    n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  int saved = errno;
  close(conn);
  struct cmsghdr *cmsg = n < 0 ? NULL : CMSG_FIRSTHDR(&msg);
  if (cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
      cmsg->cmsg_len != CMSG_LEN(sizeof(int))) {
    errno = saved;
    if (n < 0)
      report_errno("create", "recvmsg %s/console", o->socket_dir);
    else
      report("create", -1, "recvmsg %s/console: no terminal descriptor in the message", o->socket_dir);
    return -1;
  }
  int master;
  memcpy(&master, CMSG_DATA(cmsg), sizeof master);
  set_nonblock(master);
  s->out = master;
  if (o->stdin_open)
    s->in = master;
  stdio_remove_console(o, s);
  return 0;
}

void stdio_remove_console(const struct options *o, struct ctr_stdio *s)
{
  if (s->console < 0)
    return;
  close(s->console);
  s->console = -1;
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/console", o->socket_dir) < sizeof path)
    unlink(path);
}
