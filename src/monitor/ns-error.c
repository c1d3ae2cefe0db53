/*
 * Error reporting: exactly one line per failure, "Error: tspod-ns: <call>
 * <path or pid>: <cause>", written with a single write(2) so that the line
 * travels whole, also over the setup socket from the pause process to the
 * helper that relays it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ns.h"

static int error_fd = STDERR_FILENO;

void ns_set_error_fd(int fd)
{
  error_fd = fd;
}

static void write_line(const char *buf, size_t len)
{
  while (len > 0) {
    ssize_t n = write(error_fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    buf += n;
    len -= (size_t)n;
  }
}

static _Noreturn void vdie(int code, int err, const char *fmt, va_list ap)
{
  char buf[1024];
  const size_t room = sizeof buf - 2; /* keep space for the newline */
  size_t len = (size_t)snprintf(buf, sizeof buf, "Error: tspod-ns: ");
  int n = vsnprintf(buf + len, sizeof buf - len, fmt, ap);
  if (n > 0)
    len = len + (size_t)n > room ? room : len + (size_t)n;
  if (err != 0 && len < room) {
    n = snprintf(buf + len, sizeof buf - len, ": %s", strerror(err));
    if (n > 0)
      len = len + (size_t)n > room ? room : len + (size_t)n;
  }
  buf[len++] = '\n';
  write_line(buf, len);
  _exit(code);
}

void ns_die(const char *fmt, ...)
{
  int err = errno;
  va_list ap;
  va_start(ap, fmt);
  vdie(NS_EXIT_ERROR, err, fmt, ap);
}

void ns_die_plain(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vdie(NS_EXIT_ERROR, 0, fmt, ap);
}

void ns_die_code(int code, const char *fmt, ...)
{
  int err = errno;
  va_list ap;
  va_start(ap, fmt);
  vdie(code, err, fmt, ap);
}

void ns_relay(const char *line, size_t len)
{
  write_line(line, len);
  if (len == 0 || line[len - 1] != '\n')
    write_line("\n", 1);
  _exit(NS_EXIT_ERROR);
}
