/**
 * The flags `run` and `create` share (podman-run(1)), defined once and used by
 * both command classes.
 */
import {Flags} from '@oclif/core'

const list = (description: string, char?: 'a' | 'e' | 'l' | 'v' | 'p') =>
  Flags.string({description, multiple: true, ...(char ? {char} : {})})

export const containerCreateFlags = {
  'add-host': list('Add a custom host-to-IP mapping (host:ip)'),
  annotation: list('Add an annotation to the container (key=value)'),
  'cap-add': list('Add capabilities to the container'),
  'cap-drop': list('Drop capabilities from the container'),
  cidfile: Flags.string({description: 'Write the container ID to the file'}),
  'cpu-shares': Flags.string({char: 'c', description: 'CPU shares (relative weight)'}),
  cpus: Flags.string({description: 'Number of CPUs. The default is 0.000 which means no limit'}),
  device: list('Add a host device to the container'),
  dns: list('Set custom DNS servers'),
  entrypoint: Flags.string({description: 'Overwrite the default ENTRYPOINT of the image'}),
  env: list('Set environment variables in container', 'e'),
  'env-file': list('Read in a file of environment variables'),
  'env-host': Flags.boolean({description: 'Use all current host environment variables in container'}),
  'group-add': list('Add additional groups to the primary container process'),
  'health-cmd': Flags.string({description: 'set a healthcheck command for the container (\'none\' disables the image\'s)'}),
  'health-interval': Flags.string({description: 'set an interval for the healthcheck (a value of disable results in no automatic timer setup)'}),
  'health-on-failure': Flags.string({description: 'action to take once the container turns unhealthy (none, kill, restart, stop)'}),
  'health-retries': Flags.string({description: 'the number of retries allowed before a healthcheck is considered to be unhealthy'}),
  'health-start-period': Flags.string({description: 'the initialization time needed for a container to bootstrap'}),
  'health-timeout': Flags.string({description: 'the maximum time allowed to complete the healthcheck before an interval is considered failed'}),
  'no-healthcheck': Flags.boolean({description: 'Disable healthchecks on container'}),
  hostname: Flags.string({char: 'h', description: 'Set container hostname'}),
  init: Flags.boolean({description: 'Run an init binary inside the container that forwards signals and reaps processes'}),
  'init-path': Flags.string({description: 'Path to the container-init binary'}),
  interactive: Flags.boolean({char: 'i', description: 'Keep STDIN open even if not attached'}),
  label: list('Set metadata on container', 'l'),
  'log-driver': Flags.string({description: 'Logging driver for the container', options: ['k8s-file', 'none', 'passthrough']}),
  'log-opt': list('Logging driver options (max-size=)'),
  memory: Flags.string({char: 'm', description: 'Memory limit (format: <number>[<unit>], where unit = b, k, m or g)'}),
  mount: list('Attach a filesystem mount to the container (type=bind|volume|tmpfs,...)'),
  name: Flags.string({description: 'Assign a name to the container'}),
  network: Flags.string({description: 'Connect a container to a network (none, host, private, slirp4netns)', aliases: ['net']}),
  'pids-limit': Flags.string({description: 'Tune container pids limit (set -1 for unlimited)'}),
  platform: Flags.string({description: 'Specify the platform for selecting the image'}),
  privileged: Flags.boolean({description: 'Give extended privileges to container'}),
  publish: list('Publish a container\'s port, or a range of ports, to the host', 'p'),
  pull: Flags.string({description: 'Pull image policy', options: ['always', 'missing', 'never', 'newer'], default: 'missing'}),
  'read-only': Flags.boolean({description: "Make container root filesystem read-only"}),
  'read-only-tmpfs': Flags.boolean({description: 'When running --read-only containers mount read-write tmpfs on /dev, /dev/shm, /run, /tmp and /var/tmp', default: true, allowNo: true}),
  replace: Flags.boolean({description: 'If a container with the same name exists, replace it'}),
  restart: Flags.string({description: 'Restart policy to apply when a container exits (no, on-failure[:max_retries], always, unless-stopped)'}),
  rm: Flags.boolean({description: 'Remove container (and pod if created) after exit'}),
  sdnotify: Flags.string({description: 'Control sd-notify behavior (container, conmon, ignore)', options: ['container', 'conmon', 'ignore']}),
  secret: list('Add secret to container (NAME[,type=mount|env,target=PATH,uid=,gid=,mode=])'),
  'security-opt': list('Security Options'),
  'shm-size': Flags.string({description: 'Size of /dev/shm (format: <number>[<unit>])'}),
  'stop-signal': Flags.string({description: 'Signal to stop a container. Default is SIGTERM'}),
  'stop-timeout': Flags.string({description: 'Timeout (in seconds) that containers stopped by user command have to exit. If exceeded, the container will be forcibly stopped via SIGKILL'}),
  tmpfs: list('Mount a temporary filesystem (tmpfs) into a container'),
  tty: Flags.boolean({char: 't', description: 'Allocate a pseudo-TTY for container'}),
  ulimit: list('Ulimit options'),
  user: Flags.string({char: 'u', description: 'Username or UID (format: <name|uid>[:<group|gid>])'}),
  userns: Flags.string({description: "User namespace to use (host, keep-id, nomap)"}),
  volume: list('Bind mount a volume into the container', 'v'),
  workdir: Flags.string({char: 'w', description: 'Working directory inside the container'}),
}

export const containerRunFlags = {
  ...containerCreateFlags,
  detach: Flags.boolean({char: 'd', description: 'Run container in background and print container ID'}),
  'detach-keys': Flags.string({description: 'Override the key sequence for detaching a container. Format is a single character [a-Z] or a comma separated sequence of `ctrl-<value>`, where `<value>` is one of: `a-cf`, `@`, `^`, `[`, `\\`, `]`, `^` or `_`'}),
  'sig-proxy': Flags.boolean({description: 'Proxy received signals to the process', default: true, allowNo: true}),
}
