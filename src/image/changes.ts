/**
 * `--change` instructions (import, commit): a Dockerfile instruction applied
 * to an image's config, as `INSTRUCTION=value` or `INSTRUCTION value`.
 */
import {InvalidArgumentError} from '../errors/index.js'
import type {ContainerConfig} from './oci.js'

const SUPPORTED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']

/** JSON array (exec form) or a shell command wrapped in `/bin/sh -c`. */
function commandForm(value: string): string[] {
  const trimmed = value.trim()
  if (trimmed.startsWith('[')) {
    try {
      const parsed = JSON.parse(trimmed) as unknown
      if (Array.isArray(parsed) && parsed.every(x => typeof x === 'string')) return parsed
    } catch {
      // Not JSON after all: Docker treats it as shell form too.
    }
  }
  return ['/bin/sh', '-c', trimmed]
}

/** `K=V K2="v 2"` or the legacy `K V` form. */
function keyValues(value: string, instruction: string): Array<[string, string]> {
  const out: Array<[string, string]> = []
  const trimmed = value.trim()
  if (!trimmed.includes('=')) {
    const sp = trimmed.search(/\s/)
    if (sp === -1) throw new InvalidArgumentError(`invalid change "${instruction} ${value}": ${instruction} needs KEY=VALUE`)
    return [[trimmed.slice(0, sp), trimmed.slice(sp).trim()]]
  }
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g
  let m
  while ((m = re.exec(trimmed))) {
    let v = m[2]
    if (v.startsWith('"')) v = JSON.parse(v) as string
    else if (v.startsWith("'")) v = v.slice(1, -1)
    out.push([m[1], v])
  }
  return out
}

export function applyChanges(config: ContainerConfig, changes: string[]): ContainerConfig {
  const out: ContainerConfig = {...config}
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)(?:\s*=\s*|\s+)([\s\S]*)$/.exec(change)
    const instruction = m?.[1].toUpperCase()
    if (!m || !instruction || !SUPPORTED.includes(instruction)) {
      throw new InvalidArgumentError(`invalid change "${change}": valid instructions are ${SUPPORTED.join(', ')}`, {hint: 'Example: --change CMD=/bin/sh or --change "ENV PATH=/usr/bin"'})
    }
    const value = m[2]
    switch (instruction) {
      case 'CMD':
        out.Cmd = commandForm(value)
        break
      case 'ENTRYPOINT':
        out.Entrypoint = commandForm(value)
        break
      case 'ENV': {
        const env = [...(out.Env ?? [])]
        for (const [k, v] of keyValues(value, instruction)) {
          const i = env.findIndex(e => e.startsWith(`${k}=`))
          if (i === -1) env.push(`${k}=${v}`)
          else env[i] = `${k}=${v}`
        }
        out.Env = env
        break
      }
      case 'LABEL':
        out.Labels = {...out.Labels, ...Object.fromEntries(keyValues(value, instruction))}
        break
      case 'EXPOSE': {
        const ports = {...out.ExposedPorts}
        for (const p of value.trim().split(/\s+/)) ports[p.includes('/') ? p : `${p}/tcp`] = {}
        out.ExposedPorts = ports
        break
      }
      case 'VOLUME': {
        const vols = {...out.Volumes}
        const list = value.trim().startsWith('[') ? (JSON.parse(value) as string[]) : value.trim().split(/\s+/)
        for (const v of list) vols[v] = {}
        out.Volumes = vols
        break
      }
      case 'USER':
        out.User = value.trim()
        break
      case 'WORKDIR':
        out.WorkingDir = value.trim()
        break
      case 'STOPSIGNAL':
        out.StopSignal = value.trim()
        break
      case 'ONBUILD':
        out.OnBuild = [...(out.OnBuild ?? []), value.trim()]
        break
    }
  }
  return out
}
