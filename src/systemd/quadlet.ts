/**
 * Quadlet for tspod: `.container`, `.volume`, `.network`, `.pod`, `.kube` and
 * `.image` files (podman-systemd.unit(5)) become systemd service units whose
 * commands run tspod. Each file's own section ([Container], [Volume], …) is
 * translated key by key; [Unit], [Service], [Install] and any other section
 * pass through untouched. References between files (`Network=db.network`,
 * `Volume=data.volume:/d`, `Pod=app.pod`, `Image=base.image`) become the
 * resource's name plus Requires/After on the unit that creates it.
 *
 * Unlike Podman's generator, which logs and skips a file it cannot use, every
 * problem here is an error naming file:line, and the caller exits non-zero.
 */
import {basename, extname} from 'node:path'
import {
  UnitFileError,
  entryOf,
  lastValue,
  parseUnitFile,
  quoteWord,
  renderUnit,
  section,
  splitWords,
  values,
  type UnitFile,
  type UnitSection,
  type UnitSectionOut,
} from './unit-file.js'

export const QUADLET_EXTENSIONS = ['.container', '.volume', '.network', '.pod', '.kube', '.image'] as const
export type QuadletKind = 'container' | 'volume' | 'network' | 'pod' | 'kube' | 'image'

export interface QuadletSource {
  path: string
  text: string
}

export interface GeneratedUnit {
  /** The service's file name, e.g. `web.service`. */
  name: string
  text: string
  source: string
  /** Targets from [Install] WantedBy=/RequiredBy=, for the generator's symlinks. */
  wantedBy: string[]
  requiredBy: string[]
}

export interface QuadletOptions {
  /** Absolute path of the tspod executable the units run. */
  tspod: string
}

export interface QuadletResult {
  units: GeneratedUnit[]
  errors: UnitFileError[]
}

interface Loaded {
  kind: QuadletKind
  base: string
  file: UnitFile
}

const OWN_SECTION: Record<QuadletKind, string> = {
  container: 'Container',
  volume: 'Volume',
  network: 'Network',
  pod: 'Pod',
  kube: 'Kube',
  image: 'Image',
}

/** The service a file becomes, and the resource name it creates (Podman's defaults). */
function serviceName(kind: QuadletKind, base: string, own: UnitSection | undefined): string {
  const explicit = lastValue(own, 'ServiceName')
  if (explicit) return `${explicit}.service`
  switch (kind) {
    case 'container':
    case 'kube':
      return `${base}.service`
    default:
      return `${base}-${kind}.service`
  }
}

type Translator = (ctx: TranslateContext) => void

interface TranslateContext {
  loaded: Loaded
  own: UnitSection | undefined
  args: string[]
  unit: Array<[string, string]>
  service: Array<[string, string]>
  byName: Map<string, Loaded>
  options: QuadletOptions
}

/** `X.kind` names another quadlet file: its resource name, and a dependency on its service. */
function reference(ctx: TranslateContext, value: string, kind: QuadletKind, line: number): string {
  if (!value.endsWith(`.${kind}`)) return value
  const target = ctx.byName.get(value)
  if (!target) throw new UnitFileError(ctx.loaded.file.path, line, `${value} is not a quadlet file in the search path`, `Create ${value} next to this file, or name an existing ${kind} without the .${kind} suffix`)
  const svc = serviceName(kind, target.base, section(target.file, OWN_SECTION[kind]))
  // A pod's member goes down with its pod (the pod unit's start removes and recreates the pod, members included).
  ctx.unit.push([kind === 'pod' ? 'BindsTo' : 'Requires', svc], ['After', svc])
  return resourceName(target)
}

function resourceName(target: Loaded): string {
  const own = section(target.file, OWN_SECTION[target.kind])
  const explicit: Record<QuadletKind, string | undefined> = {
    container: lastValue(own, 'ContainerName'),
    volume: lastValue(own, 'VolumeName'),
    network: lastValue(own, 'NetworkName'),
    pod: lastValue(own, 'PodName'),
    kube: undefined,
    image: lastValue(own, 'ImageTag') ?? lastValue(own, 'Image'),
  }
  return explicit[target.kind] ?? `systemd-${target.base}`
}

function bool(ctx: TranslateContext, key: string): boolean | undefined {
  const entry = entryOf(ctx.own, key)
  if (!entry) return undefined
  const v = entry.value.toLowerCase()
  if (['1', 'yes', 'true', 'on'].includes(v)) return true
  if (['0', 'no', 'false', 'off'].includes(v)) return false
  throw new UnitFileError(ctx.loaded.file.path, entry.line, `${key}=${entry.value} is not a boolean`, 'Use true or false')
}

/** One flag per value (`Key=a` twice → `--flag a --flag b`). */
function each(ctx: TranslateContext, key: string, flag: string, map: (v: string, line: number) => string = v => v): void {
  for (const e of (ctx.own?.entries ?? []).filter(x => x.key === key)) {
    if (e.value === '') continue
    ctx.args.push(`${flag}=${map(e.value, e.line)}`)
  }
}

/** One flag per word of every value (`Label=a=1 b=2` → two --label). */
function eachWord(ctx: TranslateContext, key: string, flag: string): void {
  for (const v of values(ctx.own, key)) for (const w of splitWords(v)) ctx.args.push(`${flag}=${w}`)
}

function single(ctx: TranslateContext, key: string, flag: string): void {
  const v = lastValue(ctx.own, key)
  if (v !== undefined) ctx.args.push(`${flag}=${v}`)
}

function flagIf(ctx: TranslateContext, key: string, flag: string): void {
  if (bool(ctx, key)) ctx.args.push(flag)
}

const CONTAINER_KEYS: Record<string, Translator | null> = {
  Image: null, // handled by the caller: it goes last
  Exec: null,
  ContainerName: null,
  ServiceName: null,
  Notify: null,
  PodmanArgs: null,
  AddCapability: ctx => eachWord(ctx, 'AddCapability', '--cap-add'),
  DropCapability: ctx => eachWord(ctx, 'DropCapability', '--cap-drop'),
  AddDevice: ctx => each(ctx, 'AddDevice', '--device'),
  AddHost: ctx => each(ctx, 'AddHost', '--add-host'),
  Annotation: ctx => eachWord(ctx, 'Annotation', '--annotation'),
  AutoUpdate: ctx => single(ctx, 'AutoUpdate', '--label=io.containers.autoupdate'),
  DNS: ctx => each(ctx, 'DNS', '--dns'),
  DNSOption: ctx => each(ctx, 'DNSOption', '--dns-option'),
  DNSSearch: ctx => each(ctx, 'DNSSearch', '--dns-search'),
  Entrypoint: ctx => single(ctx, 'Entrypoint', '--entrypoint'),
  Environment: ctx => eachWord(ctx, 'Environment', '--env'),
  EnvironmentFile: ctx => each(ctx, 'EnvironmentFile', '--env-file'),
  EnvironmentHost: ctx => flagIf(ctx, 'EnvironmentHost', '--env-host'),
  ExposeHostPort: ctx => each(ctx, 'ExposeHostPort', '--expose'),
  Group: () => undefined, // joined with User below
  HealthCmd: ctx => single(ctx, 'HealthCmd', '--health-cmd'),
  HealthInterval: ctx => single(ctx, 'HealthInterval', '--health-interval'),
  HealthOnFailure: ctx => single(ctx, 'HealthOnFailure', '--health-on-failure'),
  HealthRetries: ctx => single(ctx, 'HealthRetries', '--health-retries'),
  HealthStartPeriod: ctx => single(ctx, 'HealthStartPeriod', '--health-start-period'),
  HealthTimeout: ctx => single(ctx, 'HealthTimeout', '--health-timeout'),
  HostName: ctx => single(ctx, 'HostName', '--hostname'),
  IP: ctx => single(ctx, 'IP', '--ip'),
  IP6: ctx => single(ctx, 'IP6', '--ip6'),
  Label: ctx => eachWord(ctx, 'Label', '--label'),
  LogDriver: ctx => single(ctx, 'LogDriver', '--log-driver'),
  Memory: ctx => single(ctx, 'Memory', '--memory'),
  Mount: ctx => each(ctx, 'Mount', '--mount'),
  Network: ctx => each(ctx, 'Network', '--network', (v, line) => reference(ctx, v, 'network', line)),
  NoNewPrivileges: ctx => {
    if (bool(ctx, 'NoNewPrivileges')) ctx.args.push('--security-opt=no-new-privileges')
  },
  Pod: ctx => each(ctx, 'Pod', '--pod', (v, line) => reference(ctx, v, 'pod', line)),
  PublishPort: ctx => each(ctx, 'PublishPort', '--publish'),
  Pull: ctx => single(ctx, 'Pull', '--pull'),
  ReadOnly: ctx => flagIf(ctx, 'ReadOnly', '--read-only'),
  RunInit: ctx => flagIf(ctx, 'RunInit', '--init'),
  SeccompProfile: ctx => single(ctx, 'SeccompProfile', '--security-opt=seccomp'),
  Secret: ctx => each(ctx, 'Secret', '--secret'),
  ShmSize: ctx => single(ctx, 'ShmSize', '--shm-size'),
  StopTimeout: ctx => single(ctx, 'StopTimeout', '--stop-timeout'),
  Sysctl: ctx => eachWord(ctx, 'Sysctl', '--sysctl'),
  Timezone: ctx => single(ctx, 'Timezone', '--tz'),
  Tmpfs: ctx => each(ctx, 'Tmpfs', '--tmpfs'),
  Ulimit: ctx => each(ctx, 'Ulimit', '--ulimit'),
  User: ctx => {
    const user = lastValue(ctx.own, 'User')
    const group = lastValue(ctx.own, 'Group')
    if (user !== undefined) ctx.args.push(`--user=${group !== undefined ? `${user}:${group}` : user}`)
    else if (group !== undefined) throw new UnitFileError(ctx.loaded.file.path, entryOf(ctx.own, 'Group')!.line, 'Group= needs User=', 'Add User= (a name or uid)')
  },
  UserNS: ctx => single(ctx, 'UserNS', '--userns'),
  Volume: ctx => each(ctx, 'Volume', '--volume', (v, line) => {
    const [source, ...rest] = v.split(':')
    return [reference(ctx, source, 'volume', line), ...rest].join(':')
  }),
  WorkingDir: ctx => single(ctx, 'WorkingDir', '--workdir'),
}

const VOLUME_KEYS: Record<string, Translator | null> = {
  VolumeName: null,
  ServiceName: null,
  PodmanArgs: null,
  Label: ctx => eachWord(ctx, 'Label', '--label'),
  Driver: ctx => single(ctx, 'Driver', '--driver'),
  Options: ctx => single(ctx, 'Options', '--opt=o'),
  Type: ctx => single(ctx, 'Type', '--opt=type'),
  Device: ctx => single(ctx, 'Device', '--opt=device'),
  Copy: ctx => {
    if (bool(ctx, 'Copy') === false) ctx.args.push('--opt=nocopy')
  },
  User: ctx => single(ctx, 'User', '--opt=uid'),
  Group: ctx => single(ctx, 'Group', '--opt=gid'),
}

const NETWORK_KEYS: Record<string, Translator | null> = {
  NetworkName: null,
  ServiceName: null,
  PodmanArgs: null,
  DisableDNS: ctx => flagIf(ctx, 'DisableDNS', '--disable-dns'),
  Driver: ctx => single(ctx, 'Driver', '--driver'),
  Gateway: ctx => each(ctx, 'Gateway', '--gateway'),
  Internal: ctx => flagIf(ctx, 'Internal', '--internal'),
  IPRange: ctx => each(ctx, 'IPRange', '--ip-range'),
  IPv6: ctx => flagIf(ctx, 'IPv6', '--ipv6'),
  Label: ctx => eachWord(ctx, 'Label', '--label'),
  Options: ctx => each(ctx, 'Options', '--opt'),
  Subnet: ctx => each(ctx, 'Subnet', '--subnet'),
}

const POD_KEYS: Record<string, Translator | null> = {
  PodName: null,
  ServiceName: null,
  PodmanArgs: null,
  Network: ctx => each(ctx, 'Network', '--network', (v, line) => reference(ctx, v, 'network', line)),
  PublishPort: ctx => each(ctx, 'PublishPort', '--publish'),
  Volume: ctx => each(ctx, 'Volume', '--volume', (v, line) => {
    const [source, ...rest] = v.split(':')
    return [reference(ctx, source, 'volume', line), ...rest].join(':')
  }),
  Label: ctx => eachWord(ctx, 'Label', '--label'),
  HostName: ctx => single(ctx, 'HostName', '--hostname'),
  UserNS: ctx => single(ctx, 'UserNS', '--userns'),
}

/** A relative path in a quadlet file is relative to the file, as systemd runs the unit from /. */
function besideFile(file: string, value: string): string {
  return value.startsWith('/') ? value : `${file.slice(0, file.lastIndexOf('/') + 1)}${value}`
}

const KUBE_KEYS: Record<string, Translator | null> = {
  Yaml: null,
  ServiceName: null,
  PodmanArgs: null,
  AutoUpdate: ctx => each(ctx, 'AutoUpdate', '--annotation=io.containers.autoupdate'),
  ConfigMap: ctx => each(ctx, 'ConfigMap', '--configmap', v => besideFile(ctx.loaded.file.path, v)),
  LogDriver: ctx => single(ctx, 'LogDriver', '--log-driver'),
  Network: ctx => each(ctx, 'Network', '--network', (v, line) => reference(ctx, v, 'network', line)),
  PublishPort: ctx => each(ctx, 'PublishPort', '--publish'),
  UserNS: ctx => single(ctx, 'UserNS', '--userns'),
}

const IMAGE_KEYS: Record<string, Translator | null> = {
  Image: null,
  ImageTag: null,
  ServiceName: null,
  PodmanArgs: null,
  AllTags: ctx => flagIf(ctx, 'AllTags', '--all-tags'),
  Arch: ctx => single(ctx, 'Arch', '--arch'),
  AuthFile: ctx => single(ctx, 'AuthFile', '--authfile'),
  CertDir: ctx => single(ctx, 'CertDir', '--cert-dir'),
  Creds: ctx => single(ctx, 'Creds', '--creds'),
  OS: ctx => single(ctx, 'OS', '--os'),
  TLSVerify: ctx => {
    const v = bool(ctx, 'TLSVerify')
    if (v !== undefined) ctx.args.push(`--tls-verify=${v}`)
  },
  Variant: ctx => single(ctx, 'Variant', '--variant'),
}

const KEYS: Record<QuadletKind, Record<string, Translator | null>> = {
  container: CONTAINER_KEYS,
  volume: VOLUME_KEYS,
  network: NETWORK_KEYS,
  pod: POD_KEYS,
  kube: KUBE_KEYS,
  image: IMAGE_KEYS,
}

function nearest(word: string, candidates: string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const d = Array.from({length: a.length + 1}, (_, i) => [i, ...Array(b.length).fill(0)] as number[])
    for (let j = 1; j <= b.length; j++) d[0][j] = j
    for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1))
    return d[a.length][b.length]
  }
  let best: string | undefined
  let bestDistance = 3
  for (const c of candidates) {
    const dist = distance(word, c)
    if (dist < bestDistance) [best, bestDistance] = [c, dist]
  }
  return best
}

function translate(ctx: TranslateContext): void {
  const table = KEYS[ctx.loaded.kind]
  const seen = new Set<string>()
  for (const entry of ctx.own?.entries ?? []) {
    if (!(entry.key in table)) {
      const guess = nearest(entry.key, Object.keys(table))
      throw new UnitFileError(ctx.loaded.file.path, entry.line, `unsupported key "${entry.key}" in [${OWN_SECTION[ctx.loaded.kind]}]`, guess ? `Did you mean ${guess}=?` : `See podman-systemd.unit(5) for the keys of a .${ctx.loaded.kind} file`)
    }
    if (seen.has(entry.key)) continue
    seen.add(entry.key)
    table[entry.key]?.(ctx)
  }
  for (const v of values(ctx.own, 'PodmanArgs')) ctx.args.push(...splitWords(v))
}

function commandLine(words: string[]): string {
  // %t, %N, %n are systemd specifiers the units rely on; everything else is taken literally.
  return words.map(w => quoteWord(w, {keepSpecifiers: /%[tNn]/.test(w)})).join(' ')
}

function passThrough(file: UnitFile, ownName: string): {unit: Array<[string, string]>; service: Array<[string, string]>; install: Array<[string, string]>; other: UnitSectionOut[]} {
  const pick = (name: string) => (section(file, name)?.entries ?? []).map(e => [e.key, e.value] as [string, string])
  const other = file.sections
    .filter(s => !['Unit', 'Service', 'Install', ownName].includes(s.name))
    .map(s => ({name: s.name, lines: s.entries.map(e => [e.key, e.value] as [string, string])}))
  return {unit: pick('Unit'), service: pick('Service'), install: pick('Install'), other}
}

function generateOne(loaded: Loaded, byName: Map<string, Loaded>, options: QuadletOptions): GeneratedUnit {
  const ownName = OWN_SECTION[loaded.kind]
  const own = section(loaded.file, ownName)
  const path = loaded.file.path
  if (!own && loaded.kind !== 'volume' && loaded.kind !== 'network') {
    throw new UnitFileError(path, 1, `no [${ownName}] section`, `A .${loaded.kind} file needs a [${ownName}] section`)
  }
  const pass = passThrough(loaded.file, ownName)
  const ctx: TranslateContext = {loaded, own, args: [], unit: [], service: [], byName, options}
  translate(ctx)
  const name = serviceName(loaded.kind, loaded.base, own)
  const tspod = options.tspod
  let serviceLines: Array<[string, string]>
  const cidfile = '--cidfile=%t/%N.cid'

  switch (loaded.kind) {
    case 'container': {
      const imageEntry = entryOf(own, 'Image')
      if (!imageEntry) throw new UnitFileError(path, own!.line, 'no Image= key in [Container]', 'Add Image=NAME (or Image=x.image)')
      const image = reference(ctx, imageEntry.value, 'image', imageEntry.line)
      const notify = bool(ctx, 'Notify')
      const exec = values(own, 'Exec').flatMap(splitWords)
      const containerName = lastValue(own, 'ContainerName') ?? 'systemd-%N'
      const run = [tspod, 'run', `--name=${containerName}`, cidfile, '--replace', '--rm', '-d', `--sdnotify=${notify ? 'container' : 'conmon'}`, ...ctx.args, image, ...exec]
      serviceLines = [
        ['Environment', 'PODMAN_SYSTEMD_UNIT=%n'],
        ['KillMode', 'mixed'],
        ['ExecStop', commandLine([tspod, 'rm', '-v', '-f', '-i', cidfile])],
        ['ExecStopPost', `-${commandLine([tspod, 'rm', '-v', '-f', '-i', cidfile])}`],
        ['Delegate', 'yes'],
        ['Type', 'notify'],
        ['NotifyAccess', 'all'],
        ['SyslogIdentifier', '%N'],
        ['ExecStart', commandLine(run)],
      ]
      break
    }
    case 'volume': {
      const volume = resourceName(loaded)
      serviceLines = [['Type', 'oneshot'], ['RemainAfterExit', 'yes'], ['SyslogIdentifier', '%N'], ['ExecStart', commandLine([tspod, 'volume', 'create', '--ignore', ...ctx.args, volume])]]
      break
    }
    case 'network': {
      const network = resourceName(loaded)
      serviceLines = [['Type', 'oneshot'], ['RemainAfterExit', 'yes'], ['SyslogIdentifier', '%N'], ['ExecStart', commandLine([tspod, 'network', 'create', '--ignore', ...ctx.args, network])]]
      break
    }
    case 'image': {
      const imageEntry = entryOf(own, 'Image')
      if (!imageEntry) throw new UnitFileError(path, own!.line, 'no Image= key in [Image]', 'Add Image=REGISTRY/NAME:TAG')
      serviceLines = [['Type', 'oneshot'], ['RemainAfterExit', 'yes'], ['SyslogIdentifier', '%N'], ['ExecStart', commandLine([tspod, 'image', 'pull', ...ctx.args, imageEntry.value])]]
      break
    }
    case 'pod': {
      const pod = resourceName(loaded)
      // Starting the pod's unit starts its members' units too (they are ordered after it).
      for (const member of membersOf(loaded, byName)) ctx.unit.push(['Wants', member], ['Before', member])
      const podIdFile = '--pod-id-file=%t/%N.pod-id'
      serviceLines = [
        ['Environment', 'PODMAN_SYSTEMD_UNIT=%n'],
        ['Type', 'forking'],
        ['SyslogIdentifier', '%N'],
        ['ExecStartPre', commandLine([tspod, 'pod', 'create', '--infra-conmon-pidfile=%t/%N.pid', podIdFile, '--exit-policy=stop', '--replace', ...ctx.args, `--name=${pod}`])],
        ['ExecStart', commandLine([tspod, 'pod', 'start', podIdFile])],
        ['ExecStop', commandLine([tspod, 'pod', 'stop', podIdFile, '--ignore', '--time=10'])],
        ['ExecStopPost', commandLine([tspod, 'pod', 'rm', podIdFile, '--ignore', '--force'])],
        ['PIDFile', '%t/%N.pid'],
      ]
      break
    }
    case 'kube': {
      const yamlEntry = entryOf(own, 'Yaml')
      if (!yamlEntry) throw new UnitFileError(path, own!.line, 'no Yaml= key in [Kube]', 'Add Yaml=PATH of the Kubernetes YAML (relative to this file)')
      const yaml = besideFile(path, yamlEntry.value)
      serviceLines = [
        ['Environment', 'PODMAN_SYSTEMD_UNIT=%n'],
        ['Type', 'notify'],
        ['NotifyAccess', 'all'],
        ['SyslogIdentifier', '%N'],
        ['ExecStart', commandLine([tspod, 'kube', 'play', '--replace', '--service-container=true', ...ctx.args, yaml])],
        ['ExecStopPost', commandLine([tspod, 'kube', 'down', yaml])],
      ]
      break
    }
  }
  const unitLines: Array<[string, string]> = [...pass.unit, ['SourcePath', path], ['RequiresMountsFor', '%t/tspod'], ...ctx.unit]
  // The user's [Service] lines come last: systemd lets a later assignment win.
  serviceLines = [...serviceLines, ...pass.service]
  const text = renderUnit(
    [`Generated by tspod quadlet from ${path}: edit that file, not this one.`],
    [{name: 'Unit', lines: unitLines}, ...pass.other, {name: 'Service', lines: serviceLines}, {name: 'Install', lines: pass.install}],
  )
  const install = section(loaded.file, 'Install')
  return {
    name,
    text,
    source: path,
    wantedBy: values(install, 'WantedBy').flatMap(splitWords),
    requiredBy: values(install, 'RequiredBy').flatMap(splitWords),
  }
}

/** The services of the .container files whose Pod= names this .pod file. */
function membersOf(pod: Loaded, byName: Map<string, Loaded>): string[] {
  const out: string[] = []
  for (const l of byName.values()) {
    if (l.kind !== 'container') continue
    const own = section(l.file, 'Container')
    if (values(own, 'Pod').includes(`${pod.base}.pod`)) out.push(serviceName('container', l.base, own))
  }
  return out
}

export function quadletKind(path: string): QuadletKind | undefined {
  const ext = extname(path)
  return (QUADLET_EXTENSIONS as readonly string[]).includes(ext) ? (ext.slice(1) as QuadletKind) : undefined
}

/**
 * Turn every source into a unit; a source that cannot be used is an error in
 * the result (the others are still generated, so one bad file does not take
 * every service down at boot).
 */
export function generateQuadletUnits(sources: QuadletSource[], options: QuadletOptions): QuadletResult {
  const errors: UnitFileError[] = []
  const loaded: Loaded[] = []
  for (const src of sources) {
    const kind = quadletKind(src.path)
    if (!kind) continue
    try {
      loaded.push({kind, base: basename(src.path, extname(src.path)), file: parseUnitFile(src.text, src.path)})
    } catch (err) {
      if (err instanceof UnitFileError) errors.push(err)
      else throw err
    }
  }
  const byName = new Map(loaded.map(l => [`${l.base}.${l.kind}`, l]))
  const units: GeneratedUnit[] = []
  for (const l of loaded) {
    try {
      units.push(generateOne(l, byName, options))
    } catch (err) {
      if (err instanceof UnitFileError) errors.push(err)
      else throw err
    }
  }
  const seen = new Map<string, string>()
  for (const u of units) {
    const other = seen.get(u.name)
    if (other) errors.push(new UnitFileError(u.source, 1, `it generates ${u.name}, as ${other} does`, 'Rename one of the files, or set ServiceName='))
    seen.set(u.name, u.source)
  }
  return {units, errors}
}
