/*
 * The k8s-file log, in the format conmon writes and `podman logs` reads:
 *
 *   2026-11-22T11:46:31.123456789+01:00 stdout F a whole line
 *   2026-11-22T11:46:31.123460000+01:00 stderr P the start of a line witho
 *   2026-11-22T11:46:31.123470000+01:00 stderr F ut its newline yet
 *
 * Each read from the container is split at newlines: a segment that ends in
 * one is a full line (F); what is left after the last newline is written at
 * once as a partial line (P) rather than held back, so the log is never
 * behind the container (a prompt shows up in `logs -f` as it is printed) and
 * the monitor keeps no per-stream line buffer.
 *
 * With --log-max-size, a record that would take the file past the limit goes
 * to a new file instead; the full one becomes PATH.1, replacing an older
 * PATH.1. (Podman truncates the file; keeping one previous segment loses less
 * and costs at most twice the limit on disk.)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

#define LOG_BUF 16384
/* "2026-11-22T11:46:31.123456789+01:00 stdout F " */
#define HEADER_MAX 64

static int log_fd = -1;
static const char *log_path;
static long long max_size = -1;
static long long file_size;
static bool write_failed;
static char buf[LOG_BUF];
static size_t buffered;

static int open_log(int extra_flags)
{
  int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | extra_flags, 0600);
  if (fd < 0)
    return -1;
  struct stat st;
  file_size = fstat(fd, &st) == 0 ? st.st_size : 0;
  return fd;
}

int log_open(const struct options *o)
{
  if (o->log_driver != LOG_K8S_FILE)
    return 0;
  log_path = o->log_path;
  max_size = o->log_max_size;
  log_fd = open_log(0);
  if (log_fd < 0) {
    report_errno("setup", "open %s", log_path);
    return -1;
  }
  return 0;
}

/* Reported once: a full disk must not flood monitor.err, nor stop the container. */
static void note_failure(const char *call, const char *path)
{
  if (write_failed)
    return;
  write_failed = true;
  report_errno("run", "%s %s", call, path);
}

static void flush(void)
{
  if (buffered == 0 || log_fd < 0)
    return;
  if (write_all(log_fd, buf, buffered) == 0)
    file_size += (long long)buffered;
  else
    note_failure("write", log_path);
  buffered = 0;
}

static void rotate(void)
{
  char old[PATH_MAX];
  if ((size_t)snprintf(old, sizeof old, "%s.1", log_path) >= sizeof old)
    return;
  if (rename(log_path, old) < 0) {
    note_failure("rename", log_path);
    return;
  }
  int fd = open_log(O_TRUNC);
  if (fd < 0) {
    note_failure("open", log_path);
    return;
  }
  close(log_fd);
  log_fd = fd;
}

static void append_record(const char *header, size_t header_len, const char *msg, size_t msg_len)
{
  size_t size = header_len + msg_len + 1;
  if (max_size > 0 && file_size + (long long)(buffered + size) > max_size && file_size + (long long)buffered > 0) {
    flush();
    rotate();
  }
  if (buffered + size <= sizeof buf) {
    memcpy(buf + buffered, header, header_len);
    memcpy(buf + buffered + header_len, msg, msg_len);
    buf[buffered + header_len + msg_len] = '\n';
    buffered += size;
    return;
  }
  flush();
  struct iovec iov[3] = {
      {.iov_base = (void *)header, .iov_len = header_len},
      {.iov_base = (void *)msg, .iov_len = msg_len},
      {.iov_base = "\n", .iov_len = 1},
  };
  size_t done = 0;
  while (done < size) {
    ssize_t n = writev(log_fd, iov, 3);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      note_failure("write", log_path);
      return;
    }
    /* A short write to a regular file is rare; finish it piece by piece. */
    done += (size_t)n;
    for (int i = 0; i < 3; i++) {
      size_t used = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
      iov[i].iov_base = (char *)iov[i].iov_base + used;
      iov[i].iov_len -= used;
      n -= (ssize_t)used;
    }
  }
  file_size += (long long)size;
}

/* RFC 3339 with nanoseconds and the local offset, as conmon writes it. */
static size_t format_timestamp(char *out, size_t size)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  localtime_r(&ts.tv_sec, &tm);
  long off = tm.tm_gmtoff;
  char sign = off < 0 ? '-' : '+';
  if (off < 0)
    off = -off;
  int n = snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld%c%02ld:%02ld", tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec, sign, off / 3600, off % 3600 / 60);
  return n > 0 ? (size_t)n : 0;
}

void log_write(int stream, const char *data, size_t len)
{
  if (log_fd < 0 || len == 0)
    return;
  char header[HEADER_MAX];
  size_t ts_len = format_timestamp(header, sizeof header);
  const char *name = stream == FRAME_STDERR ? " stderr " : " stdout ";
  memcpy(header + ts_len, name, 8);
  size_t tag_at = ts_len + 8;
  header[tag_at + 1] = ' ';
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t seg = nl != NULL ? (size_t)(nl - data) : len;
    header[tag_at] = nl != NULL ? 'F' : 'P';
    append_record(header, tag_at + 2, data, seg);
    size_t used = seg + (nl != NULL ? 1 : 0);
    data += used;
    len -= used;
  }
  flush();
}

void log_close(void)
{
  flush();
  if (log_fd >= 0)
    close(log_fd);
  log_fd = -1;
}
