/*
 * tspod-seccomp: compiles a seccomp profile into the raw BPF program that
 * the kernel loads, and writes it to stdout.
 *
 * crun compiles the OCI seccomp section with libseccomp on every container
 * start, about 15 ms for the default profile here. Given the program in the
 * `run.oci.seccomp_bpf_data` annotation it loads it as it is, so tspod
 * compiles each profile once with this helper and keeps the result (see
 * src/runtime/seccomp-bpf.ts). The compilation is libseccomp's, as in crun.
 *
 * Input on stdin, one directive per line, words separated by one space:
 *   default ACTION [ERRNO]          the action for any other syscall
 *   arch NAME                       an architecture (SCMP_ARCH_X86_64, ...)
 *   rule ACTION ERRNO NAME [ARG...] a syscall rule; ARG is INDEX:OP:VALUE:VALUE2
 * ACTION is ALLOW, ERRNO, KILL, KILL_PROCESS, KILL_THREAD, TRAP, LOG or
 * TRACE (ERRNO is the errno, or the trace message, else 0); OP is EQ, NE,
 * LT, LE, GT, GE or MASKED_EQ. Syscalls that libseccomp does not know on
 * this host are skipped, as crun does.
 */
#include <errno.h>
#include <inttypes.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Noreturn void die(const char *fmt, const char *what, int err)
{
  fprintf(stderr, "tspod-seccomp: ");
  fprintf(stderr, fmt, what);
  if (err != 0)
    fprintf(stderr, ": %s", strerror(err < 0 ? -err : err));
  fputc('\n', stderr);
  exit(1);
}

static uint32_t parse_action(const char *name, const char *value)
{
  uint32_t n = value == NULL ? 0 : (uint32_t)strtoul(value, NULL, 10);
  if (strcmp(name, "ALLOW") == 0)
    return SCMP_ACT_ALLOW;
  if (strcmp(name, "ERRNO") == 0)
    return SCMP_ACT_ERRNO(n);
  if (strcmp(name, "KILL") == 0 || strcmp(name, "KILL_THREAD") == 0)
    return SCMP_ACT_KILL_THREAD;
  if (strcmp(name, "KILL_PROCESS") == 0)
    return SCMP_ACT_KILL_PROCESS;
  if (strcmp(name, "TRAP") == 0)
    return SCMP_ACT_TRAP;
  if (strcmp(name, "LOG") == 0)
    return SCMP_ACT_LOG;
  if (strcmp(name, "TRACE") == 0)
    return SCMP_ACT_TRACE(n);
  die("unknown action %s", name, 0);
}

static enum scmp_compare parse_op(const char *name)
{
  static const struct { const char *name; enum scmp_compare op; } ops[] = {
    {"EQ", SCMP_CMP_EQ}, {"NE", SCMP_CMP_NE}, {"LT", SCMP_CMP_LT}, {"LE", SCMP_CMP_LE},
    {"GT", SCMP_CMP_GT}, {"GE", SCMP_CMP_GE}, {"MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(name, ops[i].name) == 0)
      return ops[i].op;
  die("unknown comparison %s", name, 0);
}

static void add_rule(scmp_filter_ctx ctx, char *rest)
{
  char *save = NULL;
  char *action = strtok_r(rest, " ", &save);
  char *value = strtok_r(NULL, " ", &save);
  char *name = strtok_r(NULL, " ", &save);
  if (action == NULL || value == NULL || name == NULL)
    die("rule: expected ACTION ERRNO NAME%s", "", 0);
  struct scmp_arg_cmp args[6];
  unsigned count = 0;
  for (char *arg; (arg = strtok_r(NULL, " ", &save)) != NULL;) {
    if (count == 6)
      die("rule %s: more than 6 argument conditions", name, 0);
    char *fields[4] = {0};
    char *field_save = NULL;
    for (int i = 0; i < 4; i++)
      fields[i] = strtok_r(i == 0 ? arg : NULL, ":", &field_save);
    if (fields[3] == NULL)
      die("rule %s: an argument condition is INDEX:OP:VALUE:VALUE2", name, 0);
    args[count].arg = (unsigned)strtoul(fields[0], NULL, 10);
    args[count].op = parse_op(fields[1]);
    args[count].datum_a = strtoull(fields[2], NULL, 10);
    args[count].datum_b = strtoull(fields[3], NULL, 10);
    count++;
  }
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR)
    return;
  int rc = seccomp_rule_add_array(ctx, parse_action(action, value), nr, count, args);
  /* A rule whose action is the default one is refused by libseccomp: it changes nothing. */
  if (rc < 0 && rc != -EACCES && rc != -EEXIST)
    die("rule %s", name, rc);
}

int main(void)
{
  scmp_filter_ctx ctx = NULL;
  char *line = NULL;
  size_t size = 0;
  ssize_t n;
  while ((n = getline(&line, &size, stdin)) > 0) {
    if (line[n - 1] == '\n')
      line[n - 1] = '\0';
    if (strncmp(line, "default ", 8) == 0) {
      char *save = NULL;
      char *action = strtok_r(line + 8, " ", &save);
      char *value = strtok_r(NULL, " ", &save);
      if (ctx != NULL || action == NULL)
        die("default: must come first, once, with an action%s", "", 0);
      ctx = seccomp_init(parse_action(action, value));
      if (ctx == NULL)
        die("seccomp_init%s", "", ENOMEM);
    } else if (ctx == NULL) {
      die("the first line must be `default ACTION`, not %s", line, 0);
    } else if (strncmp(line, "arch ", 5) == 0) {
      uint32_t arch = seccomp_arch_resolve_name(line + 5);
      if (arch == 0)
        die("unknown architecture %s", line + 5, 0);
      int rc = seccomp_arch_add(ctx, arch);
      if (rc < 0 && rc != -EEXIST)
        die("arch %s", line + 5, rc);
    } else if (strncmp(line, "rule ", 5) == 0) {
      add_rule(ctx, line + 5);
    } else if (line[0] != '\0') {
      die("unknown directive: %s", line, 0);
    }
  }
  if (ctx == NULL)
    die("no profile on stdin%s", "", 0);
  int rc = seccomp_export_bpf(ctx, STDOUT_FILENO);
  if (rc < 0)
    die("exporting the program%s", "", rc);
  seccomp_release(ctx);
  free(line);
  return 0;
}
