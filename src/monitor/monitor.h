/*
 * tspod-monitor: one per running container, the parent of the container
 * process (conmon's job). It starts the OCI runtime, reports to the CLI over
 * a sync pipe, holds the container's stdio (log file, attach socket,
 * terminal), records the exit status and cleans up. The contract with
 * TypeScript is docs/monitor-protocol.md, section "tspod-monitor".
 */
#ifndef TSPOD_MONITOR_H
#define TSPOD_MONITOR_H

#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Podman's exit code for the monitor's own failures before it daemonizes. */
#define MON_EXIT_ERROR 125

/* Frame types on the attach socket, per direction. */
enum { FRAME_STDOUT = 1, FRAME_STDERR = 2, FRAME_EXIT = 3 };
enum { FRAME_STDIN = 0, FRAME_STDIN_EOF = 1, FRAME_RESIZE = 2, FRAME_SIGNAL = 3, FRAME_FLOW_CONTROL = 4, FRAME_REMOVE = 5 };
#define FRAME_HEADER 5

enum log_driver { LOG_K8S_FILE, LOG_NONE, LOG_PASSTHROUGH };

/* The program that gives the container's own network namespace its egress (and its published ports). */
/* NET_FORWARD: no backend of the container's own (user-defined networks); its published ports are tspod-portfwd's alone. */
enum net_backend { NET_NONE, NET_SLIRP4NETNS, NET_PASTA, NET_FORWARD };

/* One published port: host_ip "" means every IPv4 address (slirp4netns) or every address (pasta). */
struct publish {
  bool udp;
  const char *host_ip;
  int host_port;
  int ctr_port;
};

struct options {
  const char *cid;
  const char *name;
  const char *runtime;
  const char *runtime_root;
  const char **runtime_args;
  size_t n_runtime_args;
  const char *bundle;
  const char *socket_dir;
  const char *exit_file;
  const char *pid_file;
  const char *log_path;
  enum log_driver log_driver;
  long long log_max_size; /* -1: no limit */
  bool terminal;
  bool stdin_open;
  const char *mount_overlay;
  const char *mount_target;
  const char **rm_dirs;
  size_t n_rm_dirs;
  /* Removed after cleanup only if a client asks (a remove frame: `tspod rm -f` of a running container). */
  const char **removable_dirs;
  size_t n_removable_dirs;
  const char *exit_command;
  const char **exit_command_args;
  size_t n_exit_command_args;
  int sync_fd;  /* -1: none */
  int start_fd; /* -1: none */
  enum net_backend net_backend;
  const char *net_cmd; /* the backend's path or name */
  const char **net_args;
  size_t n_net_args;
  struct publish *publish;
  size_t n_publish;
  const char *sdnotify_socket;
  bool sdnotify_container; /* the container sends READY=1 itself; we send MAINPID only */
  bool runtime_start_fifo;  /* the runtime is crun: start through its exec.fifo when it is there */
  long long health_interval_ms; /* 0: no scheduled healthcheck */
  const char *health_command;
  const char **health_command_args;
  size_t n_health_command_args;
};

/* monitor-notify.c: MAINPID (and READY=1) to NOTIFY_SOCKET once the container runs. */
void sdnotify_started(const struct options *o);

/* monitor-cli.c */
void options_parse(int argc, char **argv, struct options *o);

/*
 * monitor-sync.c: the JSON messages to the CLI, and where failures go. A
 * failure is one line naming the call and the path or pid; it travels as the
 * sync pipe's "error" message while that pipe is open, and is appended to
 * SOCKET_DIR/monitor.err otherwise (the monitor's own stderr is /dev/null).
 */
void sync_open(int fd, const char *socket_dir);
void sync_send_pid(const char *key, pid_t pid);
void sync_send_started(void);
void sync_close(void);
/* "<fmt...>: <strerror(errno)>" for the given stage (mount, setup, create, network, start, run). */
void report_errno(const char *stage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As report_errno, without the errno part; exit_code < 0 means none. */
void report(const char *stage, int exit_code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Before the monitor daemonizes: "Error: tspod-monitor: <fmt...>" on stderr, exit 125. */
_Noreturn void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* monitor-process.c: children with exactly the intended descriptors. */
int open_dev_null(int flags);
/*
 * Forks and execs argv (looked up in PATH) with stdio[0..2] as its stdio and
 * extra[i] as descriptor 3+i; every other descriptor is close-on-exec, so
 * nothing else leaks. Signal mask and dispositions are reset first.
 */
pid_t spawn_process(char *const argv[], const int stdio[3], const int *extra, size_t n_extra);
/* Waits for pid: its exit code, or 128+signal. */
int wait_process(pid_t pid);
/* Like wait_process, but gives up after timeout_ms and returns -1. */
int wait_process_timeout(pid_t pid, int timeout_ms);
/* A status from waitpid as a shell would report it. */
int status_code(int status);
/* Last non-empty line of buf, trimmed, copied into out. */
void last_line(const char *buf, size_t len, char *out, size_t out_size);
/* Whatever is readable on a non-blocking fd right now, up to size - 1 bytes, NUL-terminated. */
size_t read_available(int fd, char *buf, size_t size);
int64_t now_ns(void);
/* Writes all of buf; -1 with errno on failure. */
int write_all(int fd, const void *buf, size_t len);

/* monitor-runtime.c: `RUNTIME --root R [RUNTIME-ARGS] VERB ... ID`. */
pid_t runtime_spawn(const struct options *o, const char *const *verb, const int stdio[3]);
void runtime_delete(const struct options *o);

/*
 * monitor-stdio.c: the container's stdio. Without a terminal the container
 * gets pipes (stdin only with --stdin); with one, the runtime sends the pty
 * master over SOCKET_DIR/console.
 */
struct ctr_stdio {
  int runtime[3];  /* what `runtime create` gets as its stdio */
  int capture;     /* where the runtime's own error messages can be read */
  int out;         /* container stdout (or the pty master), read end */
  int err;         /* container stderr, read end; -1 with a terminal */
  int in;          /* container stdin, write end (or the pty master); -1 without --stdin */
  int console;     /* listening console socket; -1 without a terminal */
};
/* 0, or -1 after reporting the failure. */
int stdio_prepare(const struct options *o, struct ctr_stdio *s);
/* After `runtime create`: close the ends that now belong to the container. */
void stdio_release_runtime_ends(struct ctr_stdio *s);
/* With a terminal: accept the runtime's connection and take the pty master; -1 on failure (reported). */
int stdio_receive_terminal(const struct options *o, struct ctr_stdio *s);
void stdio_remove_console(const struct options *o, struct ctr_stdio *s);
/* A listening unix socket SOCKET_DIR/NAME, mode 0600, non-blocking; -1 after reporting. */
int unix_listen(const char *socket_dir, const char *name, int backlog);

/* monitor-log.c: the k8s-file log. */
int log_open(const struct options *o);
/* stream: FRAME_STDOUT or FRAME_STDERR */
void log_write(int stream, const char *buf, size_t len);
void log_close(void);

/* monitor-attach.c: the attach socket and its clients. */
struct attach_hooks {
  /* Input for the container; the relay queues what the container does not take at once. */
  void (*stdin_data)(const char *buf, size_t len);
  void (*stdin_eof)(void);
  void (*resize)(unsigned rows, unsigned cols);
  void (*signal)(int sig);
  void (*remove)(void);
};
#define ATTACH_MAX_CLIENTS 32
int attach_listen(const char *socket_dir);
int attach_listen_fd(void);
void attach_accept(void);
/* Adds pollfds for the clients; returns how many were added. */
size_t attach_poll_fds(struct pollfd *fds, size_t room, bool accept_input);
void attach_handle(const struct pollfd *fds, size_t n, const struct attach_hooks *hooks);
void attach_broadcast(int type, const char *buf, size_t len);
/* True while a flow-controlled client is behind: stop reading the container's output. */
bool attach_output_blocked(void);
/* Sends what is queued, waiting at most timeout_ms (flow-controlled clients: as long as they take). */
void attach_flush(int timeout_ms);
void attach_close_all(void);
void attach_remove_socket(const char *socket_dir);

/* monitor-relay.c: the main loop; returns the container's exit code. */
struct relay_state {
  struct ctr_stdio *stdio;
  bool terminal;
  pid_t container_pid;
  pid_t slirp_pid; /* the network backend (slirp4netns or pasta); 0 when none (cleared when it exits on its own) */
  int signal_fd;
  int exit_code;       /* set once the container has been reaped */
  int64_t finished_ns; /* when it was reaped, Unix nanoseconds */
  bool remove_requested; /* a client asked for the removable dirs to go after cleanup */
  const struct options *opts;
  pid_t health_pid;        /* the healthcheck command running now, or 0 */
};
int relay_run(struct relay_state *r);

/* monitor-exit.c: what happens once the container has exited. */
void exit_file_write(const char *path, int exit_code, int64_t finished_ns);
void remove_tree(const char *dir);
void exit_command_run(const struct options *o);
/* Starts the healthcheck command without waiting; its pid, or -1 after reporting. */
pid_t health_command_start(const struct options *o);

/*
 * monitor-net.c: the network backend of the container's own network
 * namespace, started after `runtime create` and ready (ports published)
 * before `runtime start`. net_start checks the ports and starts the backend
 * without waiting for it: its pid, or -1 after reporting the failure.
 */
pid_t net_start(const struct options *o, pid_t container_pid);
/* Waits until the backend is ready and the ports are published; *pid becomes the process to stop later. 0, or -1 after reporting (the backend is stopped then). */
int net_ready(const struct options *o, pid_t *pid);
/* Ends the backend (ready or not) and reaps it; nothing of it (process, listening socket) survives. */
void net_stop(const struct options *o, pid_t pid);
/* 0 when host_ip:host_port/proto can be bound on the host now; else -1 after reporting why. */
int net_check_port(const struct publish *p);
/* Waits up to timeout_ms for fd to become readable; 1 readable, 0 timeout, -1 error. */
int net_wait_readable(int fd, int timeout_ms);
/* Opens SOCKET_DIR/NAME for a backend's output (truncated); -1 after reporting. */
int net_open_log(const struct options *o, const char *name);
/* The last line of SOCKET_DIR/NAME, for a failure message. */
void net_log_last_line(const struct options *o, const char *name, char *line, size_t size);
void net_remove_file(const struct options *o, const char *name);

/*
 * monitor-forward.c: the published ports for clients on the host's loopback
 * (127.0.0.1, whose address the container sees as it is), served by a child
 * of the monitor from inside the container's namespace.
 */
/* True for a port published on an IPv4 loopback address: the forwarder's alone, the backend leaves it out. */
bool forward_owns(const struct publish *p);
/* After the backend has published its ports: starts the forwarder if a port needs it. 0, or -1 after reporting. */
int forward_start(const struct options *o, pid_t container_pid, pid_t backend_pid);
/* Ends the forwarder; its sockets close with it. */
void forward_stop(void);
/* The relay reaped pid: if it was the forwarder, it is not to be killed later. */
void forward_child_exited(pid_t pid);

/* monitor-slirp.c: slirp4netns, with its own port handler (keeps the client's address). */
pid_t slirp_start(const struct options *o, pid_t container_pid);
int slirp_ready(const struct options *o, pid_t pid);
void slirp_stop(const struct options *o, pid_t pid);

/* monitor-pasta.c: pasta, forwarding the published ports itself. */
pid_t pasta_start(const struct options *o, pid_t container_pid);
int pasta_ready(const struct options *o, pid_t *pid);
void pasta_stop(const struct options *o, pid_t pid);

#endif
