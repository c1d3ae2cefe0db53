/*
 * ID mappings: an unprivileged process may only map its own uid into a new
 * user namespace, and one uid is not enough for real images (apt switches to
 * uid 42). The setuid helpers newuidmap and newgidmap from shadow-utils check
 * the ranges against /etc/subuid and /etc/subgid and write the full maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns.h"

extern char **environ;

/* The kernel accepts at most 340 lines in uid_map (Linux 4.15 and later). */
#define MAX_RANGES 340

static int is_id(const char *s, size_t len)
{
  if (len == 0 || len > 10)
    return 0;
  unsigned long long v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  return v <= 4294967295ULL;
}

void idmap_parse(const char *option, const char *spec, struct idmap *out)
{
  size_t commas = 0;
  for (const char *c = spec; *c; c++)
    commas += *c == ',';
  if (commas + 1 > MAX_RANGES)
    ns_die_plain("%s %s: more than %d ranges", option, spec, MAX_RANGES);

  out->spec = spec;
  out->nfields = 0;
  out->fields = calloc((commas + 1) * 3, sizeof *out->fields);
  if (out->fields == NULL)
    ns_die("calloc %s", option);

  const char *p = spec;
  for (size_t range = 0; range <= commas; range++) {
    for (int f = 0; f < 3; f++) {
      size_t len = strcspn(p, f < 2 ? ":," : ",");
      char sep = p[len];
      int want = f < 2 ? ':' : (range < commas ? ',' : '\0');
      if (!is_id(p, len) || sep != want)
        ns_die_plain("%s %s: expected CONTAINER:HOST:COUNT[,CONTAINER:HOST:COUNT...]", option, spec);
      out->fields[out->nfields] = strndup(p, len);
      if (out->fields[out->nfields] == NULL)
        ns_die("strndup %s", option);
      out->nfields++;
      p += len + (sep != '\0');
    }
  }
}

/* Like execvp's search, but with a fallback: PATH may be minimal in a service. */
static char *find_tool(const char *name)
{
  const char *path = getenv("PATH");
  char buf[4096];
  while (path != NULL && *path != '\0') {
    size_t len = strcspn(path, ":");
    if (len > 0 && len + strlen(name) + 2 <= sizeof buf) {
      snprintf(buf, sizeof buf, "%.*s/%s", (int)len, path, name);
      if (access(buf, X_OK) == 0)
        return strdup(buf);
    }
    path += len + (path[len] == ':');
  }
  snprintf(buf, sizeof buf, "/usr/bin/%s", name);
  if (access(buf, X_OK) == 0)
    return strdup(buf);
  return NULL;
}

struct mapper {
  const char *name;
  pid_t pid;
  int out_fd;
};

static void mapper_start(struct mapper *m, pid_t target, const struct idmap *map)
{
  char *path = find_tool(m->name);
  if (path == NULL)
    ns_die_plain("%s: not found in PATH or /usr/bin", m->name);

  char pidbuf[16];
  snprintf(pidbuf, sizeof pidbuf, "%d", (int)target);
  char **argv = calloc(map->nfields + 3, sizeof *argv);
  if (argv == NULL)
    ns_die("calloc %s", m->name);
  argv[0] = path;
  argv[1] = pidbuf;
  memcpy(argv + 2, map->fields, map->nfields * sizeof *argv);

  /* Its output goes to a pipe: only the first line reaches the user, in our error. */
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0)
    ns_die("pipe2 %s", m->name);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
  int err = posix_spawn(&m->pid, path, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (err != 0) {
    errno = err;
    ns_die("%s %s", m->name, path);
  }
  m->out_fd = fds[0];
  free(argv);
  free(path);
}

static void mapper_finish(struct mapper *m, pid_t target)
{
  char out[512];
  size_t len = 0;
  for (;;) {
    char drain[512];
    ssize_t n = read(m->out_fd, drain, sizeof drain);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    size_t take = (size_t)n < sizeof out - 1 - len ? (size_t)n : sizeof out - 1 - len;
    memcpy(out + len, drain, take);
    len += take;
  }
  close(m->out_fd);
  out[len] = '\0';
  out[strcspn(out, "\n")] = '\0';

  int status;
  while (waitpid(m->pid, &status, 0) < 0)
    if (errno != EINTR)
      ns_die("waitpid %s", m->name);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return;
  char how[32];
  if (WIFEXITED(status))
    snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
  else
    snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
  ns_die_plain("%s %d: %s%s%s", m->name, (int)target, how, out[0] ? ": " : "", out);
}

void idmap_install(pid_t pid, const struct idmap *uidmap, const struct idmap *gidmap)
{
  /* Both run at once: they write different files and each costs about a millisecond. */
  struct mapper u = {.name = "newuidmap"}, g = {.name = "newgidmap"};
  mapper_start(&u, pid, uidmap);
  mapper_start(&g, pid, gidmap);
  mapper_finish(&u, pid);
  mapper_finish(&g, pid);
}
