/*
 * The main loop, from `runtime start` until the container has exited and its
 * output is drained: container output goes to the log and every attach
 * client; clients' input goes to the container's stdin (or pty); SIGCHLD
 * reaps every child (the monitor is a subreaper, so orphans of the container
 * land here too); SIGTERM, SIGINT and SIGQUIT sent to the monitor are passed
 * on to the container, as conmon does.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "monitor.h"

#define READ_CHUNK 8192
#define STDIN_QUEUE_MAX (64 * 1024)
/*
 * After the container's exit, output still in the pipes is read until EOF;
 * a process that escaped the container and keeps the pipe open must not
 * hold the exit up for longer than this.
 */
#define DRAIN_MS 500

enum { P_SIGNAL, P_LISTEN, P_OUT, P_ERR, P_IN, P_CLIENTS };

static struct relay_state *relay;
static char *stdin_queue;
static size_t stdin_len, stdin_cap;
static bool stdin_eof_pending;
/* A pty's input just stops at EOF: nothing is closed, ^D is not sent. */
static bool stdin_stopped;
static bool exited;

static void close_stdin(void)
{
  struct ctr_stdio *s = relay->stdio;
  /* With a terminal the fd is the pty master, which stays open for output. */
  if (s->in >= 0 && s->in != s->out)
    close(s->in);
  s->in = -1;
  stdin_len = 0;
  stdin_eof_pending = false;
}

/* Writes what the container takes now; the rest waits for POLLOUT. */
static size_t write_stdin(const char *buf, size_t len)
{
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(relay->stdio->in, buf + done, len - done);
    if (n > 0) {
      done += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    /* The container closed its stdin (EPIPE) or the pty went away: input has nowhere to go. */
    close_stdin();
    return len;
  }
  return done;
}

static void on_stdin_data(const char *buf, size_t len)
{
  if (relay->stdio->in < 0 || stdin_stopped || stdin_eof_pending)
    return;
  if (stdin_len == 0) {
    size_t done = write_stdin(buf, len);
    buf += done;
    len -= done;
  }
  if (len == 0 || relay->stdio->in < 0)
    return;
  if (stdin_len + len > stdin_cap) {
    size_t cap = stdin_cap == 0 ? 4096 : stdin_cap;
    while (cap < stdin_len + len)
      cap *= 2;
    char *grown = realloc(stdin_queue, cap);
    if (grown == NULL) {
      report_errno("run", "realloc stdin queue");
      return;
    }
    stdin_queue = grown;
    stdin_cap = cap;
  }
  memcpy(stdin_queue + stdin_len, buf, len);
  stdin_len += len;
}

static void flush_stdin(void)
{
  if (stdin_len > 0) {
    size_t done = write_stdin(stdin_queue, stdin_len);
    if (relay->stdio->in < 0)
      return;
    memmove(stdin_queue, stdin_queue + done, stdin_len - done);
    stdin_len -= done;
  }
  if (stdin_len == 0 && stdin_eof_pending)
    close_stdin();
}

static void on_stdin_eof(void)
{
  if (relay->stdio->in < 0)
    return;
  if (relay->stdio->in == relay->stdio->out) {
    stdin_stopped = true;
    return;
  }
  stdin_eof_pending = true;
  flush_stdin();
}

static void on_resize(unsigned rows, unsigned cols)
{
  if (relay->terminal && relay->stdio->out >= 0) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    if (ioctl(relay->stdio->out, TIOCSWINSZ, &ws) < 0)
      report_errno("run", "ioctl TIOCSWINSZ %ux%u", rows, cols);
  }
}

static void on_signal(int sig)
{
  /* Until it is reaped the pid cannot be reused: it is our child. */
  if (!exited && kill(relay->container_pid, sig) < 0 && errno != ESRCH)
    report_errno("run", "kill %d %d", (int)relay->container_pid, sig);
}

/* `tspod rm -f`: the container's files go once cleanup is done, so tspod need not wait for it. */
static void on_remove(void)
{
  relay->remove_requested = true;
}

static const struct attach_hooks hooks = {
    .stdin_data = on_stdin_data,
    .stdin_eof = on_stdin_eof,
    .resize = on_resize,
    .signal = on_signal,
    .remove = on_remove,
};

static void reap_children(void)
{
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR)
      continue;
    if (pid <= 0)
      return;
    if (pid == relay->container_pid && !exited) {
      exited = true;
      relay->exit_code = status_code(status);
      relay->finished_ns = now_ns();
    } else if (pid == relay->health_pid) {
      relay->health_pid = 0;
    } else if (pid == relay->slirp_pid) {
      relay->slirp_pid = 0;
      if (!exited)
        report("run", -1, "slirp4netns %d: exited with status %d; the container has no network now", (int)pid,
               status_code(status));
    } else {
      forward_child_exited(pid);
    }
  }
}

static void handle_signals(void)
{
  struct signalfd_siginfo info;
  while (read(relay->signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
    if (info.ssi_signo == SIGCHLD)
      reap_children();
    else
      on_signal((int)info.ssi_signo);
  }
}

static void close_output(int *fd)
{
  if (*fd == relay->stdio->in)
    close_stdin();
  close(*fd);
  *fd = -1;
}

enum read_result { READ_DATA, READ_NOTHING, READ_END };

static enum read_result relay_output(int *fd, int stream)
{
  static char buf[READ_CHUNK];
  ssize_t n = read(*fd, buf, sizeof buf);
  if (n > 0) {
    log_write(stream, buf, (size_t)n);
    attach_broadcast(stream, buf, (size_t)n);
    return READ_DATA;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return READ_NOTHING;
  /* A pty master reports EIO once the last slave is closed: that is its EOF. */
  if (n < 0 && errno != EIO)
    report_errno("run", "read container %s", stream == FRAME_STDERR ? "stderr" : "stdout");
  close_output(fd);
  return READ_END;
}

/* What the pipes still hold once the loop is over, as far as the clients keep up. */
static void drain_output(void)
{
  struct ctr_stdio *s = relay->stdio;
  while (s->out >= 0 && !attach_output_blocked() && relay_output(&s->out, FRAME_STDOUT) == READ_DATA)
    ;
  while (s->err >= 0 && !attach_output_blocked() && relay_output(&s->err, FRAME_STDERR) == READ_DATA)
    ;
}

int relay_run(struct relay_state *r)
{
  relay = r;
  struct ctr_stdio *s = r->stdio;
  struct pollfd fds[P_CLIENTS + ATTACH_MAX_CLIENTS];
  int64_t drain_deadline = 0;
  const int64_t health_every_ns = r->opts != NULL ? (int64_t)r->opts->health_interval_ms * 1000000 : 0;
  int64_t health_due = health_every_ns > 0 ? now_ns() + health_every_ns : 0;
  for (;;) {
    bool blocked = attach_output_blocked();
    int timeout = -1;
    /* The schedule of `--health-interval`: one check at a time; a check still running skips its turn. */
    if (health_due != 0 && !exited) {
      int64_t now = now_ns();
      if (now >= health_due) {
        if (r->health_pid == 0) {
          pid_t pid = health_command_start(r->opts);
          r->health_pid = pid > 0 ? pid : 0;
        }
        health_due = now + health_every_ns;
      }
      timeout = (int)((health_due - now) / 1000000) + 1;
    }
    if (exited) {
      if (s->out < 0 && s->err < 0)
        break;
      if (!blocked) {
        if (drain_deadline == 0)
          drain_deadline = now_ns() + (int64_t)DRAIN_MS * 1000000;
        int64_t left = (drain_deadline - now_ns()) / 1000000;
        if (left <= 0)
          break;
        timeout = (int)left;
      }
    }
    bool pty_input = r->terminal && stdin_len > 0 && s->in >= 0 && !blocked;
    short out_events = (short)((blocked ? 0 : POLLIN) | (pty_input ? POLLOUT : 0));
    /* poll() skips negative descriptors: a paused or finished stream is simply left out. */
    fds[P_SIGNAL] = (struct pollfd){.fd = r->signal_fd, .events = POLLIN};
    fds[P_LISTEN] = (struct pollfd){.fd = attach_listen_fd(), .events = POLLIN};
    fds[P_OUT] = (struct pollfd){.fd = out_events != 0 ? s->out : -1, .events = out_events};
    fds[P_ERR] = (struct pollfd){.fd = blocked ? -1 : s->err, .events = POLLIN};
    fds[P_IN] = (struct pollfd){.fd = !r->terminal && stdin_len > 0 ? s->in : -1, .events = POLLOUT};
    size_t n_clients = attach_poll_fds(fds + P_CLIENTS, ATTACH_MAX_CLIENTS, stdin_len < STDIN_QUEUE_MAX);
    if (poll(fds, P_CLIENTS + n_clients, timeout) < 0) {
      if (errno == EINTR)
        continue;
      report_errno("run", "poll");
      break;
    }
    if (fds[P_SIGNAL].revents)
      handle_signals();
    attach_handle(fds + P_CLIENTS, n_clients, &hooks);
    /* Clients are accepted before any output is read: one that attached before start misses nothing. */
    if (fds[P_LISTEN].revents)
      attach_accept();
    if (fds[P_IN].revents || (fds[P_OUT].revents & POLLOUT))
      flush_stdin();
    if (s->out >= 0 && !blocked && (fds[P_OUT].revents & (POLLIN | POLLHUP | POLLERR)))
      relay_output(&s->out, FRAME_STDOUT);
    if (s->err >= 0 && fds[P_ERR].revents)
      relay_output(&s->err, FRAME_STDERR);
  }
  drain_output();
  return r->exit_code;
}
