/**
 * Seccomp profiles in Docker's format (what /usr/share/containers/seccomp.json
 * holds) turned into the OCI runtime spec's `linux.seccomp`, the way Podman's
 * containers/common does it: rules are kept or dropped by the capabilities
 * the container gets, the architecture and the kernel version, and the arch
 * map picks the native architecture and its companions.
 */
import {readFileSync} from 'node:fs'
import {constants, release} from 'node:os'
import {InvalidArgumentError, isErrno} from '../errors/index.js'

export interface OciSeccompArg {
  index: number
  value: number
  valueTwo?: number
  op: string
}

export interface OciSyscall {
  names: string[]
  action: string
  errnoRet?: number
  args?: OciSeccompArg[]
}

export interface OciSeccomp {
  defaultAction: string
  defaultErrnoRet?: number
  architectures?: string[]
  flags?: string[]
  syscalls?: OciSyscall[]
}

interface DockerFilter {
  caps?: string[]
  arches?: string[]
  minKernel?: string
}

interface DockerSyscall {
  name?: string
  names?: string[]
  action: string
  args?: Array<{index: number; value: number; valueTwo?: number; op: string}> | null
  errnoRet?: number
  errno?: string
  includes?: DockerFilter
  excludes?: DockerFilter
}

export interface DockerSeccompProfile {
  defaultAction: string
  defaultErrnoRet?: number
  defaultErrno?: string
  architectures?: string[]
  archMap?: Array<{architecture: string; subArchitectures?: string[] | null}>
  syscalls?: DockerSyscall[] | null
  flags?: string[]
}

export interface SeccompHost {
  /** Kernel release, e.g. `6.1.0-18-amd64`; defaults to this host's. */
  kernel?: string
}

/** Go's architecture names (what profiles use in `arches`) to libseccomp's. */
const NATIVE_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  arm64: 'SCMP_ARCH_AARCH64',
  mips64: 'SCMP_ARCH_MIPS64',
  mips64n32: 'SCMP_ARCH_MIPS64N32',
  mipsel64: 'SCMP_ARCH_MIPSEL64',
  mipsel64n32: 'SCMP_ARCH_MIPSEL64N32',
  s390x: 'SCMP_ARCH_S390X',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
}

/**
 * Reads a Docker-format profile and converts it for a container with the
 * given capabilities (its bounding set) on `arch` (Go's name: amd64, arm64…).
 * `undefined` and `unconfined` mean no filter.
 */
export function loadSeccompProfile(path: string | undefined, capabilities: string[], arch: string, host: SeccompHost = {}): OciSeccomp | undefined {
  if (path === undefined || path === 'unconfined') return undefined
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const why = isErrno(err, 'ENOENT') ? 'no such file' : (err as Error).message
    throw new InvalidArgumentError(`seccomp profile ${path}: ${why}`, {
      hint: 'name an existing Docker-format profile with --security-opt seccomp=PATH (or seccomp=unconfined)',
    })
  }
  let profile: DockerSeccompProfile
  try {
    profile = JSON.parse(text) as DockerSeccompProfile
  } catch (err) {
    throw new InvalidArgumentError(`seccomp profile ${path}: not valid JSON: ${(err as Error).message}`, {
      hint: 'fix the file or name another profile with --security-opt seccomp=PATH',
    })
  }
  return convertSeccompProfile(profile, capabilities, arch, host, `seccomp profile ${path}`)
}

export function convertSeccompProfile(
  profile: DockerSeccompProfile,
  capabilities: string[],
  arch: string,
  host: SeccompHost = {},
  source = 'seccomp profile',
): OciSeccomp | undefined {
  const invalid = (why: string) =>
    new InvalidArgumentError(`${source}: ${why}`, {hint: 'fix the profile or name another with --security-opt seccomp=PATH'})
  if (typeof profile !== 'object' || profile === null) throw invalid('not a JSON object')
  const syscalls = profile.syscalls ?? []
  if (!profile.defaultAction && syscalls.length === 0) return undefined
  if (profile.architectures?.length && profile.archMap?.length) throw invalid('both "architectures" and "archMap" are given; use one')

  const out: OciSeccomp = {defaultAction: profile.defaultAction}
  const defaultErrno = profile.defaultErrnoRet ?? errnoNumber(profile.defaultErrno, invalid)
  if (defaultErrno !== undefined) out.defaultErrnoRet = defaultErrno
  const architectures = profile.architectures?.length ? [...profile.architectures] : archMapFor(profile, arch)
  if (architectures.length > 0) out.architectures = architectures
  if (profile.flags?.length) out.flags = [...profile.flags]

  const caps = new Set(capabilities)
  const kernel = parseKernel(host.kernel ?? release())
  const rules: OciSyscall[] = []
  for (const call of syscalls) {
    if (!applies(call, caps, arch, kernel)) continue
    if (call.name && call.names?.length) throw invalid(`a rule gives both "name" and "names" (${call.name}); use one`)
    const names = call.names?.length ? [...call.names] : call.name ? [call.name] : []
    if (names.length === 0) continue
    const rule: OciSyscall = {names, action: call.action}
    const errnoRet = call.errnoRet ?? errnoNumber(call.errno, invalid)
    if (errnoRet !== undefined) rule.errnoRet = errnoRet
    if (call.args?.length) {
      rule.args = call.args.map(a => ({index: a.index, value: a.value, ...(a.valueTwo ? {valueTwo: a.valueTwo} : {}), op: a.op}))
    }
    rules.push(rule)
  }
  out.syscalls = rules
  return out
}

function archMapFor(profile: DockerSeccompProfile, arch: string): string[] {
  const native = NATIVE_ARCH[arch]
  const entry = native === undefined ? undefined : profile.archMap?.find(a => a.architecture === native)
  return entry === undefined ? [] : [entry.architecture, ...(entry.subArchitectures ?? [])]
}

/**
 * Excludes win first: a rule excluded for a capability the container has is
 * dropped; a rule included only for capabilities needs all of them.
 */
function applies(call: DockerSyscall, caps: Set<string>, arch: string, kernel: number[] | undefined): boolean {
  const inc = call.includes ?? {}
  const exc = call.excludes ?? {}
  if (exc.arches?.includes(arch)) return false
  if (exc.caps?.some(c => caps.has(c))) return false
  if (exc.minKernel && kernel !== undefined && compareKernel(kernel, parseKernel(exc.minKernel)) >= 0) return false
  if (inc.arches?.length && !inc.arches.includes(arch)) return false
  if (inc.caps?.length && !inc.caps.every(c => caps.has(c))) return false
  if (inc.minKernel && kernel !== undefined && compareKernel(kernel, parseKernel(inc.minKernel)) < 0) return false
  return true
}

function parseKernel(text: string): number[] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(text)
  return m ? [Number(m[1]), Number(m[2])] : undefined
}

function compareKernel(a: number[], b: number[] | undefined): number {
  if (b === undefined) return 0
  return a[0] !== b[0] ? a[0]! - b[0]! : a[1]! - b[1]!
}

function errnoNumber(name: string | undefined, invalid: (why: string) => Error): number | undefined {
  if (!name) return undefined
  const n = (constants.errno as Record<string, number>)[name]
  if (n === undefined) throw invalid(`unknown errno "${name}"`)
  return n
}
