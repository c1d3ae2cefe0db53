/*
 * tspod-ns --runroot DIR [--uidmap MAP --gidmap MAP] -- CMD [ARGS...]
 * tspod-ns --runroot DIR --try-join -- CMD [ARGS...]
 * tspod-ns --runroot DIR --print-pid
 * tspod-ns --runroot DIR --stop
 *
 * Node can neither unshare(2) nor setns(2) itself, so tspod runs the commands
 * that must be root inside its rootless user namespace through this helper:
 * it joins the namespaces held by the user's pause process (creating them if
 * none is alive) and execs CMD there as uid 0, with the caller's stdio,
 * environment and working directory. Real root needs no user namespace and
 * gets CMD exec'd directly. See docs/monitor-protocol.md, "tspod-ns".
 *
 * --try-join is bin/tspod's shortcut: join the namespace if its pause
 * process is alive, else exec CMD unchanged (without TSPOD_NS_JOINED), so
 * that the CLI takes its usual path and creates the namespace itself.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <unistd.h>

#include "ns.h"

#define USAGE "usage: tspod-ns --runroot DIR [--uidmap MAP --gidmap MAP | --try-join] -- CMD [ARGS...] | --runroot DIR --print-pid | --runroot DIR --stop"

enum mode { MODE_RUN, MODE_PRINT_PID, MODE_STOP };

struct options {
  enum mode mode;
  const char *runroot;
  const char *uidmap;
  const char *gidmap;
  int try_join;
  char **cmd;
};

static const char *option_value(int argc, char **argv, int *i)
{
  if (*i + 1 >= argc)
    ns_die_plain("%s: missing value (%s)", argv[*i], USAGE);
  return argv[++*i];
}

static void parse_options(int argc, char **argv, struct options *o)
{
  int modes = 0;
  memset(o, 0, sizeof *o);
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) {
      o->cmd = argv + i + 1;
      modes++;
      break;
    } else if (strcmp(arg, "--runroot") == 0) {
      o->runroot = option_value(argc, argv, &i);
    } else if (strcmp(arg, "--uidmap") == 0) {
      o->uidmap = option_value(argc, argv, &i);
    } else if (strcmp(arg, "--gidmap") == 0) {
      o->gidmap = option_value(argc, argv, &i);
    } else if (strcmp(arg, "--try-join") == 0) {
      o->try_join = 1;
    } else if (strcmp(arg, "--print-pid") == 0) {
      o->mode = MODE_PRINT_PID;
      modes++;
    } else if (strcmp(arg, "--stop") == 0) {
      o->mode = MODE_STOP;
      modes++;
    } else {
      ns_die_plain("%s: unknown option (%s)", arg, USAGE);
    }
  }
  if (o->runroot == NULL || o->runroot[0] == '\0')
    ns_die_plain("--runroot: required (%s)", USAGE);
  if (modes != 1 || (o->cmd != NULL && o->cmd[0] == NULL))
    ns_die_plain("expected exactly one of -- CMD, --print-pid, --stop (%s)", USAGE);
  if ((o->uidmap == NULL) != (o->gidmap == NULL))
    ns_die_plain("--uidmap and --gidmap: give both or neither");
  if (o->try_join && (o->cmd == NULL || o->uidmap != NULL))
    ns_die_plain("--try-join: needs -- CMD and no --uidmap/--gidmap (%s)", USAGE);
}

static _Noreturn void exec_command(char **cmd)
{
  execvp(cmd[0], cmd);
  ns_die_code(errno == ENOENT ? NS_EXIT_NOT_FOUND : NS_EXIT_CANNOT_INVOKE, "exec %s", cmd[0]);
}

static _Noreturn void join_and_exec(struct pause *p, char **cmd)
{
  /* setns(CLONE_NEWNS) moves us to the namespace's root; CMD must keep its directory. */
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == NULL)
    ns_die("getcwd");
  if (setns(p->userns_fd, CLONE_NEWUSER) < 0)
    ns_die("setns /proc/%d/ns/user", (int)p->pid);
  if (setns(p->mntns_fd, CLONE_NEWNS) < 0)
    ns_die("setns /proc/%d/ns/mnt", (int)p->pid);
  pause_close(p);
  if (chdir(cwd) < 0)
    ns_die("chdir %s", cwd);
  /* Allowed only where the gid map was written by a privileged helper; harmless to skip. */
  if (setgroups(0, NULL) < 0 && errno != EPERM)
    ns_die("setgroups");
  if (setresgid(0, 0, 0) < 0)
    ns_die("setresgid 0");
  if (setresuid(0, 0, 0) < 0)
    ns_die("setresuid 0");
  if (setenv("TSPOD_USERNS", "1", 1) < 0)
    ns_die("setenv TSPOD_USERNS");
  exec_command(cmd);
}

static int print_pid(const char *runroot)
{
  struct pause p;
  if (pause_open(runroot, 0, &p) < 0)
    return 1;
  printf("%d\n", (int)p.pid);
  pause_close(&p);
  return fflush(stdout) == 0 ? 0 : NS_EXIT_ERROR;
}

int main(int argc, char **argv)
{
  struct options o;
  struct idmap uidmap, gidmap;
  parse_options(argc, argv, &o);
  if (o.uidmap != NULL) {
    idmap_parse("--uidmap", o.uidmap, &uidmap);
    idmap_parse("--gidmap", o.gidmap, &gidmap);
  }
  if (o.mode == MODE_PRINT_PID)
    return print_pid(o.runroot);
  if (o.mode == MODE_STOP) {
    pause_stop(o.runroot);
    return 0;
  }
  /* Real root, or already root inside our namespace: nothing to join. */
  if (getuid() == 0) {
    if (o.try_join)
      unsetenv("TSPOD_NS_JOINED");
    exec_command(o.cmd);
  }

  if (o.try_join) {
    struct pause live;
    /* No lock: only creating the pause process needs it. */
    if (pause_open(o.runroot, 1, &live) == 0)
      join_and_exec(&live, o.cmd);
    unsetenv("TSPOD_NS_JOINED");
    exec_command(o.cmd);
  }

  runroot_make(o.runroot);
  int lock_fd = runroot_lock(o.runroot, 1);
  struct pause p;
  if (pause_open(o.runroot, 1, &p) < 0) {
    if (o.uidmap == NULL)
      ns_die_plain("%s: no live pause process, and no --uidmap/--gidmap to create one", o.runroot);
    pid_t pid = pause_create(o.runroot, lock_fd, &uidmap, &gidmap);
    if (pause_open_pid(pid, 1, &p) < 0)
      ns_die_plain("pause process %d: exited right after setup", (int)pid);
  }
  /* Joining needs no lock: the namespace fds are open and pin the namespaces. */
  close(lock_fd);
  join_and_exec(&p, o.cmd);
}
