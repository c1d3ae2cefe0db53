/*
 * The loopback forwarder: a process forked from the monitor (named
 * tspod-portfwd) that serves the published ports for clients on the host's
 * own loopback, where the backend is slow (slirp4netns moves about half of
 * what a kernel-to-kernel splice does) or loses answers (UDP: slirp4netns
 * shows such a client as 10.0.2.2, and with --disable-host-loopback it drops
 * every datagram the container sends there; this host's pasta loses them
 * too). Such a client's address is 127.0.0.1, so nothing is hidden when the
 * forwarder connects from the container's own loopback: the container sees
 * 127.0.0.1, the real address. Clients of every other address keep going
 * through the backend, which keeps their address.
 *
 * Its listening sockets are made in the host's namespace by the monitor; the
 * child then joins the container's namespace, so every socket it opens
 * afterwards is there. Which sockets it gets, per published port:
 *
 * - an IPv4 loopback host address (-p 127.0.0.1:8080:80): only the
 *   forwarder's, the backend publishes nothing;
 * - every address (-p 8080:80), udp: the backend's on 0.0.0.0 and the
 *   forwarder's on 127.0.0.1; both have SO_REUSEADDR, and the kernel delivers
 *   a datagram to the more specific one;
 * - every address, tcp, slirp4netns: the same, but two listeners overlap only
 *   when both have SO_REUSEPORT, which slirp4netns does not set: the monitor
 *   (its parent, so allowed to) takes a copy of slirp4netns's listener with
 *   pidfd_getfd(2) and sets it. When that fails, slirp4netns keeps the
 *   loopback clients too. pasta splices loopback tcp itself and keeps it.
 *
 * A container on user-defined networks has no backend of its own (its way
 * out is the shared rootless namespace): with --forward-ports the forwarder
 * serves each of its published ports on every address asked for. Clients
 * then appear as 127.0.0.1 in the container, whatever their address, as
 * they appear as the rootless namespace's gateway with Podman's
 * rootlessport.
 *
 * It ends with its monitor (PR_SET_PDEATHSIG), and the monitor kills it with
 * the backend, so neither it nor its sockets outlive the container.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "monitor.h"

#define MAX_LISTENERS 64
#define MAX_CONNS 256
#define MAX_FLOWS 256
/* As pasta's: a udp "connection" is forgotten after three idle minutes. */
#define FLOW_IDLE_MS (180 * 1000)
/* Room for a few of loopback's 64 KiB segments per wake-up; a refused size (the user's pipe quota) keeps 64 KiB. */
#define PIPE_BYTES (256 * 1024)
#define DATAGRAM_MAX 65536

struct listener {
  int fd;
  bool udp;
  int ctr_port;
};

struct conn {
  bool used;
  bool connecting;
  int fd[2];      /* 0: the client, on the host; 1: ours, in the container */
  int pipe[2][2]; /* pipe[d] holds what was read from fd[d] and is not yet written to fd[1 - d] */
  size_t queued[2];
  bool eof[2];    /* fd[d] has nothing more to read */
  bool shut[2];   /* fd[1 - d] was shut down for writing after eof[d] */
};

struct flow {
  bool used;
  int fd; /* connected to the container's port */
  int listener;
  struct sockaddr_in peer;
  int64_t last_ms;
};

static pid_t forwarder = -1;

static bool is_loopback_ipv4(const char *ip)
{
  struct in_addr a;
  return inet_pton(AF_INET, ip, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

bool forward_owns(const struct publish *p)
{
  return is_loopback_ipv4(p->host_ip);
}

/* The backend publishes it on every IPv4 address; the forwarder adds 127.0.0.1 beside it. */
static bool wants_companion(const struct options *o, const struct publish *p)
{
  bool every = p->host_ip[0] == '\0' || strcmp(p->host_ip, "0.0.0.0") == 0;
  return every && (p->udp || o->net_backend == NET_SLIRP4NETNS);
}

/* Sets SO_REUSEPORT on slirp4netns's tcp listener of port; false when it cannot be found or reached. */
static bool share_slirp_listener(pid_t slirp, int port)
{
  int pidfd = (int)syscall(SYS_pidfd_open, slirp, 0);
  if (pidfd < 0)
    return false;
  char dir_path[64];
  snprintf(dir_path, sizeof dir_path, "/proc/%d/fd", (int)slirp);
  DIR *dir = opendir(dir_path);
  bool done = false;
  struct dirent *entry;
  while (dir != NULL && !done && (entry = readdir(dir)) != NULL) {
    char *end;
    long target = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || end == entry->d_name)
      continue;
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)target, 0);
    if (fd < 0)
      continue;
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int listening = 0, type = 0, one = 1;
    socklen_t size = sizeof listening;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) == 0 && addr.sin_family == AF_INET &&
        ntohs(addr.sin_port) == port && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0 && type == SOCK_STREAM &&
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0 && listening)
      done = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0;
    close(fd);
  }
  if (dir != NULL)
    closedir(dir);
  close(pidfd);
  return done;
}

/* A listening (tcp) or bound (udp) socket on ip:port in the host's namespace; -1 with errno. */
static int open_listener(const char *ip, int port, bool udp, bool reuseport)
{
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) {
    errno = EINVAL;
    return -1;
  }
  int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuseport)
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || (!udp && listen(fd, SOMAXCONN) < 0)) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

static int64_t now_ms(void)
{
  return now_ns() / 1000000;
}

/* ---- the child ---- */

static struct listener listeners[MAX_LISTENERS];
static size_t n_listeners;
static struct conn conns[MAX_CONNS];
static struct flow flows[MAX_FLOWS];
static size_t n_conns;

static void set_nodelay(int fd)
{
  /* Each chunk goes on as it arrives: Nagle would hold back the small ones of a request-response exchange. */
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* A socket in the container's namespace connected (or connecting) to its loopback port. */
static int connect_container(int type, int port)
{
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Closes with a reset: the other side learns that its peer failed rather than finished. */
static void close_reset(int fd)
{
  struct linger hard = {.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  close(fd);
}

static void conn_close(struct conn *c, bool reset)
{
  for (int d = 0; d < 2; d++) {
    if (reset)
      close_reset(c->fd[d]);
    else
      close(c->fd[d]);
    close(c->pipe[d][0]);
    close(c->pipe[d][1]);
  }
  c->used = false;
  n_conns--;
}

static void conn_open(int client, int ctr_port)
{
  struct conn *c = NULL;
  for (size_t i = 0; i < MAX_CONNS && c == NULL; i++)
    if (!conns[i].used)
      c = &conns[i];
  int server = c != NULL ? connect_container(SOCK_STREAM, ctr_port) : -1;
  if (server < 0) {
    close_reset(client);
    return;
  }
  memset(c, 0, sizeof *c);
  c->fd[0] = client;
  c->fd[1] = server;
  if (pipe2(c->pipe[0], O_NONBLOCK | O_CLOEXEC) < 0) {
    close_reset(client);
    close(server);
    return;
  }
  if (pipe2(c->pipe[1], O_NONBLOCK | O_CLOEXEC) < 0) {
    close(c->pipe[0][0]);
    close(c->pipe[0][1]);
    close_reset(client);
    close(server);
    return;
  }
  for (int d = 0; d < 2; d++) {
    fcntl(c->pipe[d][1], F_SETPIPE_SZ, PIPE_BYTES);
    set_nodelay(c->fd[d]);
  }
  c->used = true;
  c->connecting = true;
  n_conns++;
}

/* Moves what can be moved in both directions; false when the connection is over (and closed). */
static bool conn_pump(struct conn *c)
{
  if (c->connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      conn_close(c, true);
      return false;
    }
    struct sockaddr_in peer;
    len = sizeof peer;
    if (getpeername(c->fd[1], (struct sockaddr *)&peer, &len) < 0)
      return true; /* still connecting */
    c->connecting = false;
  }
  for (int d = 0; d < 2; d++) {
    int from = c->fd[d], to = c->fd[1 - d];
    for (;;) {
      bool moved = false;
      if (c->queued[d] > 0) {
        ssize_t n = splice(c->pipe[d][0], NULL, to, NULL, c->queued[d], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
          c->queued[d] -= (size_t)n;
          moved = true;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          conn_close(c, true);
          return false;
        }
      }
      if (!c->eof[d] && c->queued[d] < PIPE_BYTES) {
        ssize_t n = splice(from, NULL, c->pipe[d][1], NULL, PIPE_BYTES - c->queued[d], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
          c->queued[d] += (size_t)n;
          moved = true;
        } else if (n == 0) {
          c->eof[d] = true;
        } else if (errno != EAGAIN && errno != EINTR) {
          conn_close(c, true);
          return false;
        }
      }
      if (!moved)
        break;
    }
    if (c->eof[d] && c->queued[d] == 0 && !c->shut[d]) {
      shutdown(to, SHUT_WR);
      c->shut[d] = true;
    }
  }
  if (c->shut[0] && c->shut[1]) {
    conn_close(c, false);
    return false;
  }
  return true;
}

/* What to poll fd[d] for; 0 means leave it out (a hung-up socket would wake poll for ever). */
static short conn_events(const struct conn *c, int d)
{
  if (c->connecting)
    return d == 1 ? POLLOUT : 0;
  short events = 0;
  /*
   * Read only into an empty pipe: a pipe is full after a number of pieces,
   * not of bytes, so "not full" cannot be known, and a readable socket that
   * cannot be read would wake poll for ever. A pipe that holds something is
   * drained (and refilled) when the other side becomes writable.
   */
  if (!c->eof[d] && c->queued[d] == 0)
    events |= POLLIN;
  if (c->queued[1 - d] > 0)
    events |= POLLOUT;
  return events;
}

static void accept_clients(const struct listener *l)
{
  while (n_conns < MAX_CONNS) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    conn_open(fd, l->ctr_port);
  }
}

static void flow_close(struct flow *f)
{
  close(f->fd);
  f->used = false;
}

static struct flow *flow_for(size_t listener, const struct sockaddr_in *peer, int64_t now)
{
  struct flow *free_slot = NULL, *oldest = NULL;
  for (size_t i = 0; i < MAX_FLOWS; i++) {
    struct flow *f = &flows[i];
    if (!f->used) {
      if (free_slot == NULL)
        free_slot = f;
      continue;
    }
    if ((size_t)f->listener == listener && f->peer.sin_port == peer->sin_port && f->peer.sin_addr.s_addr == peer->sin_addr.s_addr)
      return f;
    if (oldest == NULL || f->last_ms < oldest->last_ms)
      oldest = f;
  }
  if (free_slot == NULL) {
    flow_close(oldest);
    free_slot = oldest;
  }
  int fd = connect_container(SOCK_DGRAM, listeners[listener].ctr_port);
  if (fd < 0)
    return NULL;
  *free_slot = (struct flow){.used = true, .fd = fd, .listener = (int)listener, .peer = *peer, .last_ms = now};
  return free_slot;
}

static void datagrams_in(size_t listener, char *buf)
{
  for (int i = 0; i < 64; i++) {
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    ssize_t n = recvfrom(listeners[listener].fd, buf, DATAGRAM_MAX, 0, (struct sockaddr *)&peer, &len);
    if (n < 0 || peer.sin_family != AF_INET)
      return;
    int64_t now = now_ms();
    struct flow *f = flow_for(listener, &peer, now);
    if (f == NULL)
      continue;
    f->last_ms = now;
    /* A refusal (nothing listens yet) is the client's to retry, as it would be without us. */
    send(f->fd, buf, (size_t)n, 0);
  }
}

static void datagrams_out(struct flow *f, char *buf)
{
  for (int i = 0; i < 64; i++) {
    ssize_t n = recv(f->fd, buf, DATAGRAM_MAX, 0);
    if (n < 0)
      return;
    f->last_ms = now_ms();
    sendto(listeners[f->listener].fd, buf, (size_t)n, 0, (struct sockaddr *)&f->peer, sizeof f->peer);
  }
}

static void expire_flows(int64_t now)
{
  for (size_t i = 0; i < MAX_FLOWS; i++)
    if (flows[i].used && now - flows[i].last_ms > FLOW_IDLE_MS)
      flow_close(&flows[i]);
}

static _Noreturn void forward_loop(void)
{
  static char buf[DATAGRAM_MAX];
  static struct pollfd fds[MAX_LISTENERS + 2 * MAX_CONNS + MAX_FLOWS];
  /* What each pollfd stands for: a listener, one side of a connection, or a flow. */
  static struct {
    char kind;
    size_t index;
  } owner[MAX_LISTENERS + 2 * MAX_CONNS + MAX_FLOWS];
  for (;;) {
    size_t n = 0;
    bool any_flow = false;
    for (size_t i = 0; i < n_listeners; i++) {
      bool full = !listeners[i].udp && n_conns >= MAX_CONNS;
      fds[n] = (struct pollfd){.fd = full ? -1 : listeners[i].fd, .events = POLLIN};
      owner[n].kind = 'l';
      owner[n++].index = i;
    }
    for (size_t i = 0; i < MAX_CONNS; i++) {
      if (!conns[i].used)
        continue;
      for (int d = 0; d < 2; d++) {
        short events = conn_events(&conns[i], d);
        fds[n] = (struct pollfd){.fd = events != 0 ? conns[i].fd[d] : -1, .events = events};
        owner[n].kind = 'c';
        owner[n++].index = i;
      }
    }
    for (size_t i = 0; i < MAX_FLOWS; i++) {
      if (!flows[i].used)
        continue;
      any_flow = true;
      fds[n] = (struct pollfd){.fd = flows[i].fd, .events = POLLIN};
      owner[n].kind = 'f';
      owner[n++].index = i;
    }
    int rc = poll(fds, n, any_flow ? 10000 : -1);
    if (rc < 0 && errno != EINTR)
      _exit(1);
    for (size_t i = 0; rc > 0 && i < n; i++) {
      if (fds[i].revents == 0)
        continue;
      size_t index = owner[i].index;
      if (owner[i].kind == 'l' && listeners[index].udp)
        datagrams_in(index, buf);
      else if (owner[i].kind == 'l')
        accept_clients(&listeners[index]);
      else if (owner[i].kind == 'f' && flows[index].used)
        datagrams_out(&flows[index], buf);
      else if (owner[i].kind == 'c' && conns[index].used && conn_pump(&conns[index]) && i + 1 < n &&
               owner[i + 1].kind == 'c' && owner[i + 1].index == index)
        i++; /* both sides were served by that pump */
    }
    if (any_flow)
      expire_flows(now_ms());
  }
}

/* Closes every descriptor but keep[0..n) (sorted), 0, 1 and 2: the monitor's sync pipe above all, whose end is the CLI's signal. */
static void close_all_but(const int *keep, size_t n)
{
  unsigned next = 3;
  for (size_t i = 0; i < n; i++) {
    if ((unsigned)keep[i] > next)
      close_range(next, (unsigned)keep[i] - 1, 0);
    next = (unsigned)keep[i] + 1;
  }
  close_range(next, ~0U, 0);
}

static int compare_ints(const void *a, const void *b)
{
  return *(const int *)a - *(const int *)b;
}

static _Noreturn void run_child(pid_t monitor, int ns_fd)
{
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != monitor)
    _exit(0);
  prctl(PR_SET_NAME, "tspod-portfwd", 0, 0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_IGN);
  int keep[MAX_LISTENERS + 1];
  for (size_t i = 0; i < n_listeners; i++)
    keep[i] = listeners[i].fd;
  keep[n_listeners] = ns_fd;
  qsort(keep, n_listeners + 1, sizeof *keep, compare_ints);
  close_all_but(keep, n_listeners + 1);
  if (setns(ns_fd, CLONE_NEWNET) < 0)
    _exit(1);
  close(ns_fd);
  /* Six descriptors per connection (two sockets, two pipes): more than the usual soft limit of 1024 allows. */
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  forward_loop();
}

static void close_listeners(void)
{
  for (size_t i = 0; i < n_listeners; i++)
    close(listeners[i].fd);
  n_listeners = 0;
}

int forward_start(const struct options *o, pid_t container_pid, pid_t backend_pid)
{
  for (size_t i = 0; i < o->n_publish && n_listeners < MAX_LISTENERS; i++) {
    const struct publish *p = &o->publish[i];
    const char *proto = p->udp ? "udp" : "tcp";
    if (o->net_backend == NET_FORWARD || forward_owns(p)) {
      const char *ip = p->host_ip[0] != '\0' ? p->host_ip : "0.0.0.0";
      int fd = open_listener(ip, p->host_port, p->udp, false);
      if (fd < 0) {
        report_errno("network", "cannot publish %s:%d/%s", ip, p->host_port, proto);
        close_listeners();
        return -1;
      }
      listeners[n_listeners++] = (struct listener){.fd = fd, .udp = p->udp, .ctr_port = p->ctr_port};
    } else if (wants_companion(o, p)) {
      /* Best effort: without it the backend serves loopback clients as before. */
      bool shared = p->udp || share_slirp_listener(backend_pid, p->host_port);
      int fd = shared ? open_listener("127.0.0.1", p->host_port, p->udp, !p->udp) : -1;
      if (fd >= 0)
        listeners[n_listeners++] = (struct listener){.fd = fd, .udp = p->udp, .ctr_port = p->ctr_port};
    }
  }
  if (n_listeners == 0)
    return 0;
  char ns_path[64];
  snprintf(ns_path, sizeof ns_path, "/proc/%d/ns/net", (int)container_pid);
  int ns_fd = open(ns_path, O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) {
    report_errno("network", "open %s", ns_path);
    close_listeners();
    return -1;
  }
  pid_t monitor = getpid();
  pid_t pid = fork();
  if (pid == 0)
    run_child(monitor, ns_fd);
  close(ns_fd);
  /* The listeners are the child's now: if it dies, they close with it. */
  close_listeners();
  if (pid < 0) {
    report_errno("network", "fork (port forwarder)");
    return -1;
  }
  forwarder = pid;
  return 0;
}

void forward_stop(void)
{
  if (forwarder > 0) {
    kill(forwarder, SIGKILL);
    wait_process(forwarder);
  }
  forwarder = -1;
}

void forward_child_exited(pid_t pid)
{
  if (pid == forwarder)
    forwarder = -1;
}
