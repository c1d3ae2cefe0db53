// Container records as tspod's create writes them, for generate's tests.
import type {ContainerRecord} from '../../../src/container/container-store.js'

export function makeRecord(name: string, over: Partial<ContainerRecord> & {options?: Record<string, unknown>} = {}): ContainerRecord {
  return {
    id: 'a'.repeat(64),
    name,
    image: 'b'.repeat(64),
    imageName: 'localhost/busybox:latest',
    layers: [],
    created: '2026-01-02T03:04:05.000Z',
    args: [],
    entrypoint: [],
    cmd: ['sh'],
    createCommand: ['tspod', 'create', name],
    env: ['PATH=/usr/bin:/bin', 'container=tspod', 'HOSTNAME=x', 'TERM=xterm', 'HOME=/root'],
    workdir: '/',
    user: '',
    hostname: 'x',
    tty: false,
    stdin: false,
    labels: {},
    annotations: {},
    restartPolicy: {name: 'no', maxRetries: 0},
    autoRemove: false,
    stopSignal: 15,
    stopTimeout: 10,
    logDriver: 'k8s-file',
    logMaxSize: 0,
    network: 'private',
    runtime: {name: 'runc', path: '/usr/bin/runc'},
    mounts: [],
    unenforced: [],
    rootfsKind: 'overlay',
    ...over,
    options: {env: [], volumes: [], mounts: [], tmpfs: [], capAdd: [], capDrop: [], labels: {}, ...over.options},
  }
}
