/*
 * Child processes (the runtime, slirp4netns, the exit command) and small I/O
 * helpers. Every descriptor the monitor opens is close-on-exec, so a child
 * receives only what spawn_process() places at 0, 1, 2 and 3.. on purpose:
 * nothing of the monitor leaks into the container or the exit command.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

/* Above the numbers a child's descriptors are moved to, so that dup2 never clobbers a source. */
#define SPAWN_FD_BASE 64

int open_dev_null(int flags)
{
  int fd = open("/dev/null", flags | O_CLOEXEC);
  if (fd < 0)
    report_errno("setup", "open /dev/null");
  return fd;
}

int write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static _Noreturn void child_fail(const char *what, const char *path)
{
  /* The child's stderr is where the caller looks for the reason. */
  char buf[512];
  int n = snprintf(buf, sizeof buf, "%s %s: %s\n", what, path, strerror(errno));
  if (n > 0)
    write_all(STDERR_FILENO, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
  _exit(errno == ENOENT ? 127 : 126);
}

/* The monitor blocks signals and ignores SIGPIPE; a child must start as a fresh process would. */
static void reset_signals(void)
{
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    sigaction(sig, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

pid_t spawn_process(char *const argv[], const int stdio[3], const int *extra, size_t n_extra)
{
  pid_t pid = fork();
  if (pid != 0)
    return pid;

  reset_signals();
  int moved[3 + 8];
  size_t n = 3 + (n_extra > 8 ? 8 : n_extra);
  for (size_t i = 0; i < n; i++) {
    int fd = i < 3 ? stdio[i] : extra[i - 3];
    moved[i] = fcntl(fd, F_DUPFD_CLOEXEC, SPAWN_FD_BASE);
    if (moved[i] < 0)
      child_fail("dup", argv[0]);
  }
  for (size_t i = 0; i < n; i++)
    if (dup2(moved[i], (int)i) < 0)
      child_fail("dup2", argv[0]);
  execvp(argv[0], argv);
  child_fail("exec", argv[0]);
}

int status_code(int status)
{
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 255;
}

int wait_process(pid_t pid)
{
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return 255;
  return status_code(status);
}

int wait_process_timeout(pid_t pid, int timeout_ms)
{
  /* Short waits at the end of a container's life: polling keeps this simple and signal-free. */
  for (int waited = 0;; waited += 10) {
    int status;
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid)
      return status_code(status);
    if (got < 0 && errno != EINTR)
      return 255;
    if (waited >= timeout_ms)
      return -1;
    poll(NULL, 0, 10);
  }
}

void last_line(const char *buf, size_t len, char *out, size_t out_size)
{
  /* Trimming the end skips blank lines too: what remains ends with the last non-empty one. */
  const char *end = buf + len;
  while (end > buf && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
    end--;
  const char *start = end;
  while (start > buf && start[-1] != '\n')
    start--;
  while (start < end && (*start == ' ' || *start == '\t'))
    start++;
  size_t n = (size_t)(end - start);
  if (n >= out_size)
    n = out_size - 1;
  memcpy(out, start, n);
  out[n] = '\0';
}

size_t read_available(int fd, char *buf, size_t size)
{
  size_t len = 0;
  while (fd >= 0 && len + 1 < size) {
    ssize_t n = read(fd, buf + len, size - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  return len;
}
