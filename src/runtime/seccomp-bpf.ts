/**
 * The seccomp filter compiled once, not at every start. crun compiles the
 * OCI seccomp section with libseccomp each time it creates a container
 * (about 15 ms for the default profile on the project's machine); given
 * the raw program in the `run.oci.seccomp_bpf_data` annotation, it loads that
 * instead. build/tspod-seccomp compiles a profile with the same libseccomp;
 * the program is kept under `<runroot>/seccomp/`, named by the digest of the
 * profile and of the helper, so a changed profile or helper compiles anew
 * and a reboot (a new kernel, maybe) starts afresh. The OCI section stays in
 * config.json for anyone who reads it. runc has no such annotation and
 * compiles as before.
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {writeFileAtomicSync} from '../util/atomic.js'
import {sha256} from '../storage/hashing.js'
import {debug} from '../util/log.js'
import type {OciSeccomp} from './seccomp.js'

export const BPF_ANNOTATION = 'run.oci.seccomp_bpf_data'

/** The helper's input: one directive per line (see src/monitor/tspod-seccomp.c). */
export function profileToDirectives(profile: OciSeccomp): string | undefined {
  const action = (name: string, errno: number | undefined) => {
    const short = name.replace(/^SCMP_ACT_/, '')
    return `${short} ${short === 'ERRNO' ? (errno ?? 1) : short === 'TRACE' ? (errno ?? 0) : 0}`
  }
  // Notification needs a listener that only the runtime can set up.
  if (profile.defaultAction === 'SCMP_ACT_NOTIFY') return undefined
  const lines = [`default ${action(profile.defaultAction, profile.defaultErrnoRet)}`]
  for (const arch of profile.architectures ?? []) lines.push(`arch ${arch.replace(/^SCMP_ARCH_/, '').toLowerCase()}`)
  for (const rule of profile.syscalls ?? []) {
    if (rule.action === 'SCMP_ACT_NOTIFY') return undefined
    const args = (rule.args ?? []).map(a => ` ${a.index}:${a.op.replace(/^SCMP_CMP_/, '')}:${a.value}:${a.valueTwo ?? 0}`).join('')
    for (const name of rule.names) lines.push(`rule ${action(rule.action, rule.errnoRet)} ${name}${args}`)
  }
  return `${lines.join('\n')}\n`
}

/**
 * The base64 program for the profile, from the cache or compiled now;
 * undefined when it cannot be had (no helper, a profile it cannot express),
 * and the runtime then compiles the OCI section itself.
 */
export function compiledSeccomp(profile: OciSeccomp, runRoot: string, helper: string): string | undefined {
  const directives = profileToDirectives(profile)
  if (directives === undefined) return undefined
  let helperStamp: string
  try {
    const st = statSync(helper)
    helperStamp = `${st.size}:${st.mtimeMs}`
  } catch {
    return undefined
  }
  const dir = join(runRoot, 'seccomp')
  const path = join(dir, sha256(`${helperStamp}\n${directives}`).replace(/^sha256:/, ''))
  try {
    return readFileSync(path, 'utf8')
  } catch {
    // Not compiled yet.
  }
  const result = spawnSync(helper, [], {input: directives, maxBuffer: 1 << 20})
  if (result.status !== 0 || result.stdout.length === 0) {
    debug(`compiling the seccomp profile failed (${result.error?.message ?? result.stderr.toString().trim()}); the runtime compiles it`)
    return undefined
  }
  const encoded = result.stdout.toString('base64')
  try {
    mkdirSync(dir, {recursive: true, mode: 0o700})
    writeFileAtomicSync(path, encoded, 0o600)
  } catch (err) {
    debug(`keeping the compiled seccomp profile: ${(err as Error).message}`)
  }
  return encoded
}
