/*
 * The sync pipe to the CLI and the monitor's error reporting.
 *
 * Messages are JSON objects, one per line, each sent with a single write(2):
 * {"monitor_pid":N}, {"pid":N}, {"started":true}, or at any point
 * {"error":"...","stage":"...","exit_code":N}, after which the monitor cleans
 * up and exits, which closes the pipe.
 * Once the pipe is closed (or the CLI went away) a failure is appended to
 * SOCKET_DIR/monitor.err instead, so that tspod can show it later: the
 * monitor's own stderr is /dev/null after it daemonizes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "monitor.h"

#define MESSAGE_MAX 1024

static int sync_fd = -1;
static const char *error_dir;
static bool error_sent;

void sync_open(int fd, const char *socket_dir)
{
  sync_fd = fd;
  error_dir = socket_dir;
}

void sync_close(void)
{
  if (sync_fd >= 0)
    close(sync_fd);
  sync_fd = -1;
}

/* A CLI that has gone away must not stop the monitor: the message is dropped. */
static bool sync_write(const char *buf, size_t len)
{
  if (sync_fd < 0)
    return false;
  if (write_all(sync_fd, buf, len) == 0)
    return true;
  sync_close();
  return false;
}

void sync_send_pid(const char *key, pid_t pid)
{
  char buf[64];
  int n = snprintf(buf, sizeof buf, "{\"%s\":%d}\n", key, (int)pid);
  sync_write(buf, (size_t)n);
}

void sync_send_started(void)
{
  static const char msg[] = "{\"started\":true}\n";
  sync_write(msg, sizeof msg - 1);
  sync_close();
}

static size_t json_escape(const char *in, char *out, size_t room)
{
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
    char esc[7];
    size_t len;
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\', esc[1] = (char)*p, len = 2;
    } else if (*p == '\n') {
      esc[0] = '\\', esc[1] = 'n', len = 2;
    } else if (*p == '\t') {
      esc[0] = '\\', esc[1] = 't', len = 2;
    } else if (*p < 0x20 || *p == 0x7f) {
      memcpy(esc, "\\u00", 4);
      esc[4] = hex[*p >> 4], esc[5] = hex[*p & 0xf], len = 6;
    } else {
      esc[0] = (char)*p, len = 1;
    }
    if (n + len >= room)
      break;
    memcpy(out + n, esc, len);
    n += len;
  }
  out[n] = '\0';
  return n;
}

static void append_error_file(const char *line, size_t len)
{
  if (error_dir == NULL)
    return;
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/monitor.err", error_dir) >= sizeof path)
    return;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return;
  write_all(fd, line, len);
  close(fd);
}

static void deliver(const char *stage, int exit_code, const char *message)
{
  char escaped[MESSAGE_MAX * 2];
  char buf[sizeof escaped + 96];
  json_escape(message, escaped, sizeof escaped);
  int n = snprintf(buf, sizeof buf, "{\"error\":\"%s\",\"stage\":\"%s\"", escaped, stage);
  if (exit_code >= 0)
    n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"exit_code\":%d", exit_code);
  n += snprintf(buf + n, sizeof buf - (size_t)n, "}\n");
  /*
   * Only the first failure is the reason; later ones (during cleanup) go to
   * monitor.err. The pipe stays open until the monitor exits: its EOF tells
   * the CLI that cleanup is over.
   */
  if (!error_sent && sync_write(buf, (size_t)n)) {
    error_sent = true;
    return;
  }
  /* Nobody listens on the pipe: keep the line where tspod can find it. */
  n = snprintf(buf, sizeof buf, "Error: tspod-monitor: %s: %s\n", stage, message);
  if (n > (int)sizeof buf - 1)
    n = (int)sizeof buf - 1;
  write_all(STDERR_FILENO, buf, (size_t)n);
  append_error_file(buf, (size_t)n);
}

static void vreport(const char *stage, int exit_code, int err, const char *fmt, va_list ap)
{
  char message[MESSAGE_MAX];
  int n = vsnprintf(message, sizeof message, fmt, ap);
  if (n < 0)
    n = 0;
  if (err != 0 && (size_t)n < sizeof message)
    snprintf(message + n, sizeof message - (size_t)n, ": %s", strerror(err));
  deliver(stage, exit_code, message);
}

void report_errno(const char *stage, const char *fmt, ...)
{
  int err = errno;
  va_list ap;
  va_start(ap, fmt);
  vreport(stage, -1, err, fmt, ap);
  va_end(ap);
}

void report(const char *stage, int exit_code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vreport(stage, exit_code, 0, fmt, ap);
  va_end(ap);
}

void die_usage(const char *fmt, ...)
{
  char buf[MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = snprintf(buf, sizeof buf, "Error: tspod-monitor: ");
  int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
  va_end(ap);
  size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
  if (len > sizeof buf - 2)
    len = sizeof buf - 2;
  buf[len++] = '\n';
  write_all(STDERR_FILENO, buf, len);
  _exit(MON_EXIT_ERROR);
}
