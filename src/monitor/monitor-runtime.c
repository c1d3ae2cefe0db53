/*
 * Calls of the OCI runtime: `RUNTIME --root R [RUNTIME-ARGS] VERB ... ID`.
 * The monitor runs inside tspod's user and mount namespaces, so every call
 * that needs them (create, start, delete) happens here and never in the CLI.
 */
#include <fcntl.h>
#include <unistd.h>

#include "monitor.h"

#define VERB_MAX 12

pid_t runtime_spawn(const struct options *o, const char *const *verb, const int stdio[3])
{
  size_t n_verb = 0;
  while (verb[n_verb] != NULL && n_verb < VERB_MAX)
    n_verb++;
  const char *argv[4 + o->n_runtime_args + VERB_MAX + 2];
  size_t n = 0;
  argv[n++] = o->runtime;
  argv[n++] = "--root";
  argv[n++] = o->runtime_root;
  for (size_t i = 0; i < o->n_runtime_args; i++)
    argv[n++] = o->runtime_args[i];
  for (size_t i = 0; i < n_verb; i++)
    argv[n++] = verb[i];
  argv[n++] = o->cid;
  argv[n] = NULL;
  return spawn_process((char *const *)argv, stdio, NULL, 0);
}

static int runtime_run(const struct options *o, const char *const *verb, const int stdio[3])
{
  pid_t pid = runtime_spawn(o, verb, stdio);
  if (pid < 0)
    return -1;
  return wait_process(pid);
}

/* Best effort: the container may be gone already, and then the runtime's complaint is noise. */
void runtime_delete(const struct options *o)
{
  int null_fd = open_dev_null(O_RDWR);
  if (null_fd < 0)
    return;
  const int stdio[3] = {null_fd, null_fd, null_fd};
  const char *const verb[] = {"delete", "--force", NULL};
  runtime_run(o, verb, stdio);
  close(null_fd);
}
