/*
 * The attach socket, SOCKET_DIR/attach: SOCK_STREAM because Node cannot use
 * SOCK_SEQPACKET, so every message is a frame: 1 byte type, 4 bytes length
 * (big-endian), then the data.
 *
 *   monitor -> client: 1 stdout, 2 stderr, 3 exit (decimal exit code)
 *   client -> monitor: 0 stdin, 1 stdin EOF, 2 resize ("ROWS COLS"),
 *                      3 signal (decimal number), 4 flow control (no data)
 *
 * Several clients may be attached; output goes to all of them. A slow or
 * dead client never blocks the container: writes are non-blocking, and a
 * client whose queue passes CLIENT_QUEUE_MAX is disconnected. A client that
 * sent frame 4 asked for the opposite, as `tspod run` does when its output is
 * piped into something slow: while it is behind, the monitor stops reading
 * the container's output (the container waits on its full pipe, as it would
 * with conmon) instead of dropping it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "monitor.h"

#define CLIENT_QUEUE_MAX (1024 * 1024)
#define FLOW_HIGH (64 * 1024)
#define CONTROL_MAX 64
#define READ_CHUNK 4096

struct client {
  int fd;
  bool flow;
  unsigned char header[FRAME_HEADER];
  size_t header_len;
  unsigned char type;
  uint32_t remaining;
  char control[CONTROL_MAX + 1];
  size_t control_len;
  char *queue;
  size_t queue_start, queue_end, queue_cap;
};

static struct client clients[ATTACH_MAX_CLIENTS];
static size_t n_clients;
static int listen_fd = -1;

int attach_listen(const char *socket_dir)
{
  listen_fd = unix_listen(socket_dir, "attach", 16);
  return listen_fd < 0 ? -1 : 0;
}

int attach_listen_fd(void)
{
  return listen_fd;
}

static void drop(size_t i)
{
  close(clients[i].fd);
  free(clients[i].queue);
  clients[i] = clients[--n_clients];
  memset(&clients[n_clients], 0, sizeof clients[n_clients]);
}

void attach_accept(void)
{
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
        report_errno("run", "accept attach socket");
      return;
    }
    if (n_clients == ATTACH_MAX_CLIENTS) {
      close(fd);
      continue;
    }
    memset(&clients[n_clients], 0, sizeof clients[n_clients]);
    clients[n_clients++].fd = fd;
  }
}

static size_t queued(const struct client *c)
{
  return c->queue_end - c->queue_start;
}

static bool enqueue(struct client *c, const void *data, size_t len)
{
  if (!c->flow && queued(c) + len > CLIENT_QUEUE_MAX)
    return false;
  if (c->queue_start > 0 && c->queue_end + len > c->queue_cap) {
    memmove(c->queue, c->queue + c->queue_start, queued(c));
    c->queue_end -= c->queue_start;
    c->queue_start = 0;
  }
  if (c->queue_end + len > c->queue_cap) {
    size_t cap = c->queue_cap == 0 ? 16384 : c->queue_cap;
    while (cap < c->queue_end + len)
      cap *= 2;
    char *grown = realloc(c->queue, cap);
    if (grown == NULL)
      return false;
    c->queue = grown;
    c->queue_cap = cap;
  }
  memcpy(c->queue + c->queue_end, data, len);
  c->queue_end += len;
  return true;
}

/* Writes what the socket takes now: the number of bytes, or -1 when the client is gone. */
static ssize_t send_now(int fd, struct iovec *iov, int n_iov)
{
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n_iov};
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0)
      return n;
    if (errno == EINTR)
      continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  }
}

/* false: the client is gone or hopelessly behind. */
static bool send_frame(struct client *c, const unsigned char header[FRAME_HEADER], const char *data, size_t len)
{
  size_t total = FRAME_HEADER + len;
  size_t sent = 0;
  if (queued(c) == 0) {
    struct iovec iov[2] = {{.iov_base = (void *)header, .iov_len = FRAME_HEADER}, {.iov_base = (void *)data, .iov_len = len}};
    ssize_t n = send_now(c->fd, iov, len > 0 ? 2 : 1);
    if (n < 0)
      return false;
    sent = (size_t)n;
  }
  if (sent == total)
    return true;
  if (sent < FRAME_HEADER && !enqueue(c, header + sent, FRAME_HEADER - sent))
    return false;
  size_t data_sent = sent > FRAME_HEADER ? sent - FRAME_HEADER : 0;
  return enqueue(c, data + data_sent, len - data_sent);
}

static bool flush_queue(struct client *c)
{
  if (queued(c) == 0)
    return true;
  struct iovec iov = {.iov_base = c->queue + c->queue_start, .iov_len = queued(c)};
  ssize_t n = send_now(c->fd, &iov, 1);
  if (n < 0)
    return false;
  c->queue_start += (size_t)n;
  if (c->queue_start == c->queue_end)
    c->queue_start = c->queue_end = 0;
  return true;
}

void attach_broadcast(int type, const char *buf, size_t len)
{
  unsigned char header[FRAME_HEADER] = {(unsigned char)type, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                                        (unsigned char)(len >> 8), (unsigned char)len};
  for (size_t i = n_clients; i-- > 0;)
    if (!send_frame(&clients[i], header, buf, len))
      drop(i);
}

bool attach_output_blocked(void)
{
  for (size_t i = 0; i < n_clients; i++)
    if (clients[i].flow && queued(&clients[i]) > FLOW_HIGH)
      return true;
  return false;
}

static bool has_pending(void)
{
  for (size_t i = 0; i < n_clients; i++)
    if (queued(&clients[i]) > 0)
      return true;
  return false;
}

size_t attach_poll_fds(struct pollfd *fds, size_t room, bool accept_input)
{
  size_t n = n_clients < room ? n_clients : room;
  for (size_t i = 0; i < n; i++) {
    fds[i].fd = clients[i].fd;
    fds[i].events = (short)((accept_input ? POLLIN : 0) | (queued(&clients[i]) > 0 ? POLLOUT : 0));
    fds[i].revents = 0;
  }
  return n;
}

static void dispatch_control(struct client *c, const struct attach_hooks *hooks)
{
  c->control[c->control_len] = '\0';
  switch (c->type) {
  case FRAME_STDIN_EOF:
    hooks->stdin_eof();
    break;
  case FRAME_RESIZE: {
    unsigned rows, cols;
    if (sscanf(c->control, "%u %u", &rows, &cols) == 2 && rows <= USHRT_MAX && cols <= USHRT_MAX)
      hooks->resize(rows, cols);
    break;
  }
  case FRAME_SIGNAL: {
    char *end;
    long sig = strtol(c->control, &end, 10);
    if (end != c->control && *end == '\0' && sig > 0 && sig < 65)
      hooks->signal((int)sig);
    break;
  }
  case FRAME_FLOW_CONTROL:
    c->flow = true;
    break;
  case FRAME_REMOVE:
    hooks->remove();
    break;
  }
}

/* false: a protocol error; the client is dropped. */
static bool consume(struct client *c, const char *data, size_t len, const struct attach_hooks *hooks)
{
  while (len > 0) {
    if (c->header_len < FRAME_HEADER) {
      size_t take = FRAME_HEADER - c->header_len < len ? FRAME_HEADER - c->header_len : len;
      memcpy(c->header + c->header_len, data, take);
      c->header_len += take;
      data += take;
      len -= take;
      if (c->header_len < FRAME_HEADER)
        return true;
      c->type = c->header[0];
      c->remaining = (uint32_t)c->header[1] << 24 | (uint32_t)c->header[2] << 16 | (uint32_t)c->header[3] << 8 | c->header[4];
      c->control_len = 0;
      bool control = c->type >= FRAME_STDIN_EOF && c->type <= FRAME_REMOVE;
      if (control && c->remaining > CONTROL_MAX)
        return false;
    }
    size_t take = c->remaining < len ? c->remaining : len;
    if (c->type == FRAME_STDIN) {
      if (take > 0)
        hooks->stdin_data(data, take);
    } else if (c->type <= FRAME_FLOW_CONTROL) {
      memcpy(c->control + c->control_len, data, take);
      c->control_len += take;
    }
    /* Frames of unknown types are skipped: newer clients may send more. */
    data += take;
    len -= take;
    c->remaining -= (uint32_t)take;
    if (c->remaining == 0) {
      if (c->type != FRAME_STDIN)
        dispatch_control(c, hooks);
      c->header_len = 0;
    }
  }
  return true;
}

void attach_handle(const struct pollfd *fds, size_t n, const struct attach_hooks *hooks)
{
  char data[READ_CHUNK];
  /* Backwards, so that dropping client i (the last one moves into its place) keeps fds[] aligned. */
  for (size_t i = n < n_clients ? n : n_clients; i-- > 0;) {
    struct client *c = &clients[i];
    short revents = fds[i].revents;
    if (revents == 0)
      continue;
    if ((revents & POLLOUT) && !flush_queue(c)) {
      drop(i);
      continue;
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t got = read(c->fd, data, sizeof data);
      if (got < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      /* A client ends by closing: what it sent before still counts. */
      if (got <= 0 || !consume(c, data, (size_t)got, hooks))
        drop(i);
    }
  }
}

void attach_flush(int timeout_ms)
{
  int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
  for (;;) {
    bool waiting_for_flow = false;
    for (size_t i = n_clients; i-- > 0;) {
      if (queued(&clients[i]) == 0)
        continue;
      if (!clients[i].flow && now_ns() >= deadline) {
        drop(i);
        continue;
      }
      waiting_for_flow |= clients[i].flow;
    }
    if (!has_pending())
      return;
    struct pollfd fds[ATTACH_MAX_CLIENTS];
    size_t n = attach_poll_fds(fds, ATTACH_MAX_CLIENTS, false);
    int64_t left_ms = (deadline - now_ns()) / 1000000;
    int timeout = left_ms > 0 ? (int)left_ms : (waiting_for_flow ? -1 : 0);
    if (poll(fds, n, timeout) < 0 && errno != EINTR)
      return;
    for (size_t i = n; i-- > 0;)
      if ((fds[i].revents & (POLLOUT | POLLHUP | POLLERR)) && (!flush_queue(&clients[i]) || (fds[i].revents & POLLERR)))
        drop(i);
  }
}

void attach_close_all(void)
{
  while (n_clients > 0)
    drop(n_clients - 1);
}

void attach_remove_socket(const char *socket_dir)
{
  if (listen_fd < 0)
    return;
  close(listen_fd);
  listen_fd = -1;
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/attach", socket_dir) < sizeof path)
    unlink(path);
}
