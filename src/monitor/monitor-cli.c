/*
 * The command line. Everything is checked here, before the monitor forks, so
 * that a bad invocation (a bug in the CLI) fails at once with one line on
 * stderr and exit status 125 instead of surfacing half-way through start-up.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"

static const char *value_of(int argc, char **argv, int *i)
{
  if (*i + 1 >= argc)
    die_usage("%s: missing value", argv[*i]);
  return argv[++*i];
}

static const char *absolute_path(int argc, char **argv, int *i)
{
  const char *option = argv[*i];
  const char *path = value_of(argc, argv, i);
  /* The monitor moves to "/" once it runs, so relative paths would change meaning. */
  if (path[0] != '/')
    die_usage("%s %s: must be an absolute path", option, path);
  return path;
}

static long long number_of(int argc, char **argv, int *i, long long min, long long max)
{
  const char *option = argv[*i];
  const char *text = value_of(argc, argv, i);
  char *end;
  errno = 0;
  long long n = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || n < min || n > max)
    die_usage("%s %s: expected a number from %lld to %lld", option, text, min, max);
  return n;
}

/* --publish tcp|udp:HOSTPORT:CTRPORT[:HOSTIP]; the address goes last because an IPv6 one holds colons. */
static void publish_of(int argc, char **argv, int *i, struct publish *p)
{
  const char *text = value_of(argc, argv, i);
  char *end;
  if (strncmp(text, "tcp:", 4) == 0 || strncmp(text, "udp:", 4) == 0) {
    p->udp = text[0] == 'u';
    long host = strtol(text + 4, &end, 10);
    if (*end == ':' && host >= 1 && host <= 65535) {
      long ctr = strtol(end + 1, &end, 10);
      if ((*end == ':' || *end == '\0') && ctr >= 1 && ctr <= 65535) {
        p->host_port = (int)host;
        p->ctr_port = (int)ctr;
        p->host_ip = *end == ':' ? end + 1 : "";
        return;
      }
    }
  }
  die_usage("--publish %s: expected tcp|udp:HOSTPORT:CONTAINERPORT[:HOSTIP]", text);
}

static void require(const char *value, const char *option)
{
  if (value == NULL || value[0] == '\0')
    die_usage("%s: required", option);
}

void options_parse(int argc, char **argv, struct options *o)
{
  memset(o, 0, sizeof *o);
  o->log_max_size = -1;
  o->sync_fd = -1;
  o->start_fd = -1;
  /* Repeated options can occur at most argc times: one allocation each, never grown. */
  o->runtime_args = calloc((size_t)argc, sizeof *o->runtime_args);
  o->rm_dirs = calloc((size_t)argc, sizeof *o->rm_dirs);
  o->removable_dirs = calloc((size_t)argc, sizeof *o->removable_dirs);
  o->exit_command_args = calloc((size_t)argc, sizeof *o->exit_command_args);
  o->health_command_args = calloc((size_t)argc, sizeof *o->health_command_args);
  o->net_args = calloc((size_t)argc, sizeof *o->net_args);
  o->publish = calloc((size_t)argc, sizeof *o->publish);
  if (o->runtime_args == NULL || o->rm_dirs == NULL || o->removable_dirs == NULL || o->exit_command_args == NULL || o->health_command_args == NULL ||
      o->net_args == NULL || o->publish == NULL)
    die_usage("calloc: out of memory");

  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--cid") == 0) {
      o->cid = value_of(argc, argv, &i);
    } else if (strcmp(arg, "--name") == 0) {
      o->name = value_of(argc, argv, &i);
    } else if (strcmp(arg, "--runtime") == 0) {
      o->runtime = value_of(argc, argv, &i);
    } else if (strcmp(arg, "--runtime-root") == 0) {
      o->runtime_root = absolute_path(argc, argv, &i);
    } else if (strcmp(arg, "--runtime-arg") == 0) {
      o->runtime_args[o->n_runtime_args++] = value_of(argc, argv, &i);
    } else if (strcmp(arg, "--bundle") == 0) {
      o->bundle = absolute_path(argc, argv, &i);
    } else if (strcmp(arg, "--socket-dir") == 0) {
      o->socket_dir = absolute_path(argc, argv, &i);
    } else if (strcmp(arg, "--exit-file") == 0) {
      o->exit_file = absolute_path(argc, argv, &i);
    } else if (strcmp(arg, "--pid-file") == 0) {
      o->pid_file = absolute_path(argc, argv, &i);
    } else if (strcmp(arg, "--log-path") == 0) {
      o->log_path = absolute_path(argc, argv, &i);
    } else if (strcmp(arg, "--log-driver") == 0) {
      const char *driver = value_of(argc, argv, &i);
      if (strcmp(driver, "k8s-file") == 0)
        o->log_driver = LOG_K8S_FILE;
      else if (strcmp(driver, "none") == 0)
        o->log_driver = LOG_NONE;
      else if (strcmp(driver, "passthrough") == 0)
        o->log_driver = LOG_PASSTHROUGH;
      else
        die_usage("--log-driver %s: expected k8s-file, none or passthrough", driver);
    } else if (strcmp(arg, "--log-max-size") == 0) {
      o->log_max_size = number_of(argc, argv, &i, 1, LLONG_MAX);
    } else if (strcmp(arg, "--health-interval-ms") == 0) {
      o->health_interval_ms = number_of(argc, argv, &i, 1000, 365LL * 24 * 3600 * 1000);
    } else if (strcmp(arg, "--health-command") == 0) {
      o->health_command = value_of(argc, argv, &i);
    } else if (strcmp(arg, "--health-command-arg") == 0) {
      o->health_command_args[o->n_health_command_args++] = value_of(argc, argv, &i);
    } else if (strcmp(arg, "--sdnotify-container") == 0) {
      o->sdnotify_container = true;
    } else if (strcmp(arg, "--runtime-start-fifo") == 0) {
      o->runtime_start_fifo = true;
    } else if (strcmp(arg, "--terminal") == 0) {
      o->terminal = true;
    } else if (strcmp(arg, "--stdin") == 0) {
      o->stdin_open = true;
    } else if (strcmp(arg, "--mount-overlay") == 0) {
      o->mount_overlay = value_of(argc, argv, &i);
    } else if (strcmp(arg, "--mount-target") == 0) {
      o->mount_target = absolute_path(argc, argv, &i);
    } else if (strcmp(arg, "--rm-dir") == 0) {
      const char *dir = absolute_path(argc, argv, &i);
      if (strspn(dir, "/") == strlen(dir))
        die_usage("--rm-dir %s: refusing to remove the root directory", dir);
      o->rm_dirs[o->n_rm_dirs++] = dir;
    } else if (strcmp(arg, "--removable-dir") == 0) {
      const char *dir = absolute_path(argc, argv, &i);
      if (strspn(dir, "/") == strlen(dir))
        die_usage("--removable-dir %s: refusing to remove the root directory", dir);
      o->removable_dirs[o->n_removable_dirs++] = dir;
    } else if (strcmp(arg, "--exit-command") == 0) {
      o->exit_command = value_of(argc, argv, &i);
    } else if (strcmp(arg, "--exit-command-arg") == 0) {
      o->exit_command_args[o->n_exit_command_args++] = value_of(argc, argv, &i);
    } else if (strcmp(arg, "--sync-fd") == 0) {
      o->sync_fd = (int)number_of(argc, argv, &i, 3, INT_MAX);
    } else if (strcmp(arg, "--start-fd") == 0) {
      o->start_fd = (int)number_of(argc, argv, &i, 3, INT_MAX);
    } else if (strcmp(arg, "--slirp4netns") == 0 || strcmp(arg, "--pasta") == 0) {
      if (o->net_backend != NET_NONE)
        die_usage("%s: only one of --slirp4netns and --pasta", arg);
      o->net_backend = arg[2] == 's' ? NET_SLIRP4NETNS : NET_PASTA;
      o->net_cmd = value_of(argc, argv, &i);
    } else if (strcmp(arg, "--forward-ports") == 0) {
      if (o->net_backend != NET_NONE)
        die_usage("%s: not with --slirp4netns or --pasta", arg);
      o->net_backend = NET_FORWARD;
    } else if (strcmp(arg, "--network-arg") == 0) {
      o->net_args[o->n_net_args++] = value_of(argc, argv, &i);
    } else if (strcmp(arg, "--publish") == 0) {
      publish_of(argc, argv, &i, &o->publish[o->n_publish++]);
    } else if (strcmp(arg, "--sdnotify-socket") == 0) {
      o->sdnotify_socket = value_of(argc, argv, &i);
    } else {
      die_usage("unknown option %s", arg);
    }
  }

  require(o->cid, "--cid");
  require(o->runtime, "--runtime");
  require(o->runtime_root, "--runtime-root");
  require(o->bundle, "--bundle");
  require(o->socket_dir, "--socket-dir");
  require(o->exit_file, "--exit-file");
  require(o->pid_file, "--pid-file");
  if (o->log_driver == LOG_K8S_FILE)
    require(o->log_path, "--log-path");
  if (o->name == NULL)
    o->name = o->cid;
  if ((o->mount_overlay == NULL) != (o->mount_target == NULL))
    die_usage("--mount-overlay and --mount-target: give both or neither");
  if (o->n_exit_command_args > 0 && o->exit_command == NULL)
    die_usage("--exit-command-arg: needs --exit-command");
  if ((o->health_interval_ms > 0) != (o->health_command != NULL))
    die_usage("--health-interval-ms and --health-command: give both or neither");
  if (o->sync_fd >= 0 && o->sync_fd == o->start_fd)
    die_usage("--sync-fd and --start-fd: must differ");
  if ((o->n_net_args > 0 || o->n_publish > 0) && o->net_backend == NET_NONE)
    die_usage("--network-arg and --publish: need --slirp4netns, --pasta or --forward-ports");
  if (o->n_net_args > 0 && o->net_backend == NET_FORWARD)
    die_usage("--network-arg: needs --slirp4netns or --pasta");
  if (o->log_driver == LOG_PASSTHROUGH && o->terminal)
    die_usage("--log-driver passthrough: cannot be combined with --terminal");
}
