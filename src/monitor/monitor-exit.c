/*
 * What follows the container's exit: the exit file, --rm-dir removals and the
 * exit command (tspod's `container cleanup`, for restart policies and
 * detached --rm).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor.h"

/* Deeper trees are left for tspod to remove: recursion depth is stack and descriptors. */
#define REMOVE_DEPTH_MAX 256

/* Readers either see no file or the whole "CODE NANOSECONDS\n": temporary file, fsync, rename. */
void exit_file_write(const char *path, int exit_code, int64_t finished_ns)
{
  const char *slash = strrchr(path, '/');
  char tmp[PATH_MAX];
  if ((size_t)snprintf(tmp, sizeof tmp, "%.*s/.%s.tmp", (int)(slash - path), path, slash + 1) >= sizeof tmp) {
    errno = ENAMETOOLONG;
    report_errno("run", "open %s", path);
    return;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    report_errno("run", "open %s", tmp);
    return;
  }
  char line[48];
  int n = snprintf(line, sizeof line, "%d %lld\n", exit_code, (long long)finished_ns);
  if (write_all(fd, line, (size_t)n) < 0 || fsync(fd) < 0) {
    report_errno("run", "write %s", tmp);
    close(fd);
    unlink(tmp);
    return;
  }
  close(fd);
  if (rename(tmp, path) < 0) {
    report_errno("run", "rename %s", path);
    unlink(tmp);
  }
}

/* The path being removed, for messages; extended and cut back as remove_at descends. */
static char where[PATH_MAX];
static size_t where_len;

static size_t enter(const char *name)
{
  size_t saved = where_len;
  int n = snprintf(where + where_len, sizeof where - where_len, "/%s", name);
  where_len = n < 0 ? where_len : where_len + (size_t)n >= sizeof where ? sizeof where - 1 : where_len + (size_t)n;
  return saved;
}

/*
 * Removes NAME in PARENT and everything below it without ever following a
 * symlink (unlinkat removes the link itself; directories are opened with
 * O_NOFOLLOW relative to their parent) and without entering another file
 * system (a mount left inside must not lose its content).
 */
static void remove_at(int parent, const char *name, dev_t dev, int depth)
{
  size_t saved = enter(name);
  if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
    goto out;
  if (errno != EISDIR) {
    report_errno("run", "unlink %s", where);
    goto out;
  }
  if (depth >= REMOVE_DEPTH_MAX) {
    report("run", -1, "remove %s: more than %d levels deep", where, REMOVE_DEPTH_MAX);
    goto out;
  }
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    report_errno("run", "open %s", where);
    if (fd >= 0)
      close(fd);
    goto out;
  }
  if (st.st_dev != dev) {
    report("run", -1, "remove %s: a mount point, left alone", where);
    close(fd);
    goto out;
  }
  DIR *dir = fdopendir(fd);
  if (dir == NULL) {
    report_errno("run", "fdopendir %s", where);
    close(fd);
    goto out;
  }
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
      remove_at(dirfd(dir), entry->d_name, dev, depth + 1);
  }
  closedir(dir);
  if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    report_errno("run", "rmdir %s", where);
out:
  where_len = saved;
  where[where_len] = '\0';
}

void remove_tree(const char *path)
{
  const char *slash = strrchr(path, '/');
  size_t parent_len = slash == path ? 1 : (size_t)(slash - path);
  if (parent_len >= sizeof where || slash[1] == '\0') {
    report("run", -1, "remove %s: expected a path without a trailing slash", path);
    return;
  }
  memcpy(where, path, parent_len);
  where[parent_len] = '\0';
  int dirfd = open(where, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (dirfd < 0 || fstatat(dirfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno != ENOENT)
      report_errno("run", "open %s", path);
    if (dirfd >= 0)
      close(dirfd);
    return;
  }
  /* "/x" has the parent "/": the path then starts with a bare name. */
  where_len = slash == path ? 0 : parent_len;
  remove_at(dirfd, slash + 1, st.st_dev, 0);
  close(dirfd);
}

void exit_command_run(const struct options *o)
{
  if (o->exit_command == NULL)
    return;
  const char *argv[o->n_exit_command_args + 2];
  argv[0] = o->exit_command;
  for (size_t i = 0; i < o->n_exit_command_args; i++)
    argv[i + 1] = o->exit_command_args[i];
  argv[o->n_exit_command_args + 1] = NULL;
  int null_fd = open_dev_null(O_RDWR);
  if (null_fd < 0)
    return;
  const int stdio[3] = {null_fd, null_fd, null_fd};
  pid_t pid = spawn_process((char *const *)argv, stdio, NULL, 0);
  close(null_fd);
  if (pid < 0) {
    report_errno("run", "fork %s", o->exit_command);
    return;
  }
  int code = wait_process(pid);
  if (code != 0)
    report("run", -1, "exit command %s: exit status %d", o->exit_command, code);
}

pid_t health_command_start(const struct options *o)
{
  const char *argv[o->n_health_command_args + 2];
  argv[0] = o->health_command;
  for (size_t i = 0; i < o->n_health_command_args; i++)
    argv[i + 1] = o->health_command_args[i];
  argv[o->n_health_command_args + 1] = NULL;
  int null_fd = open_dev_null(O_RDWR);
  if (null_fd < 0)
    return -1;
  const int stdio[3] = {null_fd, null_fd, null_fd};
  pid_t pid = spawn_process((char *const *)argv, stdio, NULL, 0);
  close(null_fd);
  if (pid < 0)
    report_errno("run", "fork %s", o->health_command);
  return pid;
}
