/*
 * tspod-infra: the process of a pod's infra container. It holds the pod's
 * namespaces open for the pod's other containers to join, so it only has to
 * stay alive, reap what the kernel hands it as PID 1 of a shared PID
 * namespace, and end cleanly when asked. SIGTERM and SIGINT end it (a PID 1
 * ignores signals it has no handler for, so they must be caught); SIGCHLD
 * wakes it to reap.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGCHLD);
  /* Blocked and taken with sigwait: no handler runs, so nothing races the reaping. */
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
    fprintf(stderr, "tspod-infra: sigprocmask: %s\n", strerror(errno));
    return 1;
  }
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0)
      continue;
    if (sig == SIGCHLD) {
      while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
      continue;
    }
    return 0;
  }
}
