/**
 * `RUN --mount=...` option strings as typed objects, with BuildKit's
 * defaults. The value given here is already expanded: the builder expands
 * the flag first, as BuildKit does.
 */

import {DockerfileError} from './dockerfile-error.js'

export type RunMountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh'
export type CacheSharing = 'shared' | 'private' | 'locked'

export interface RunMount {
  type: RunMountType
  /** Where it appears in the RUN container; for ssh and secret a default applies when absent. */
  target?: string
  /** Path inside `from` (or the build context) for bind and cache mounts. */
  source?: string
  /** A stage name or index, or an image, for bind and cache mounts. */
  from?: string
  /** The cache id (default: the target) or the secret / ssh id. */
  id?: string
  sharing?: CacheSharing
  mode?: number
  uid?: number
  gid?: number
  readonly: boolean
  /** Secret and ssh: fail when the id was not provided to the build. */
  required: boolean
  /** tmpfs size in bytes. */
  size?: number
  /** Secret: also (or only) expose it as this environment variable. */
  env?: string
}

const TYPES: readonly RunMountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh']
const BOOLEAN_KEYS = new Set(['readonly', 'ro', 'rw', 'readwrite', 'required'])

/** Which keys each type takes beyond type/target/readonly. */
const KEYS_FOR: Record<RunMountType, ReadonlySet<string>> = {
  bind: new Set(['source', 'from']),
  cache: new Set(['source', 'from', 'id', 'sharing', 'mode', 'uid', 'gid']),
  tmpfs: new Set(['size']),
  secret: new Set(['id', 'mode', 'uid', 'gid', 'required', 'env']),
  ssh: new Set(['id', 'mode', 'uid', 'gid', 'required']),
}

const KEY_ALIASES: Record<string, string> = {
  src: 'source',
  dst: 'target',
  destination: 'target',
  ro: 'readonly',
  rw: 'readwrite',
}

function mountError(value: string, problem: string, hint: string): DockerfileError {
  return new DockerfileError(undefined, `invalid --mount=${value}: ${problem}`, hint)
}

/** Splits at commas outside double quotes, removing those quotes (CSV, as BuildKit reads it). */
function splitFields(value: string): string[] {
  const fields: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]
    if (ch === '"') {
      if (quoted && value[i + 1] === '"') {
        field += '"'
        i++
      } else quoted = !quoted
    } else if (ch === ',' && !quoted) {
      fields.push(field)
      field = ''
    } else field += ch
  }
  fields.push(field)
  return fields
}

function parseBool(text: string): boolean | undefined {
  if (/^(1|t|true)$/i.test(text)) return true
  if (/^(0|f|false)$/i.test(text)) return false
  return undefined
}

export function parseMountFlag(value: string): RunMount {
  const entries: [string, string | undefined, string][] = []
  let type: RunMountType = 'bind'
  for (const field of splitFields(value)) {
    const trimmed = field.trim()
    if (trimmed === '') continue
    const eq = trimmed.indexOf('=')
    const rawKey = (eq < 0 ? trimmed : trimmed.slice(0, eq)).toLowerCase()
    const key = KEY_ALIASES[rawKey] ?? rawKey
    const val = eq < 0 ? undefined : trimmed.slice(eq + 1)
    if (key === 'type') {
      if (!TYPES.includes(val as RunMountType)) {
        throw mountError(value, `unknown mount type "${val ?? ''}"`, `use type=${TYPES.join('|')}`)
      }
      type = val as RunMountType
      continue
    }
    entries.push([key, val, trimmed])
  }

  const mount: RunMount = {type, readonly: type === 'bind' || type === 'secret' || type === 'ssh', required: false}
  for (const [key, val, field] of entries) {
    if (val === undefined && !BOOLEAN_KEYS.has(key)) {
      throw mountError(value, `"${field}" needs a value`, `write ${field}=VALUE`)
    }
    if (!['target', 'readonly', 'readwrite'].includes(key) && !KEYS_FOR[type].has(key)) {
      const known = [...KEYS_FOR[type], 'target', 'readonly', 'rw'].join(', ')
      const what = ['target', 'readonly', 'readwrite', 'source', 'from', 'id', 'sharing', 'mode', 'uid', 'gid', 'size', 'env', 'required'].includes(key)
        ? `"${key}" does not apply to type=${type} mounts`
        : `unexpected key "${key}" in "${field}"`
      throw mountError(value, what, `type=${type} takes ${known}`)
    }
    const text = val ?? ''
    switch (key) {
      case 'target':
        mount.target = text
        break
      case 'source':
        mount.source = text
        break
      case 'from':
        mount.from = text
        break
      case 'id':
        mount.id = text
        break
      case 'env':
        mount.env = text
        break
      case 'readonly':
      case 'readwrite':
      case 'required': {
        const flag = val === undefined ? true : parseBool(val)
        if (flag === undefined) throw mountError(value, `"${field}" is not a boolean`, `write ${key}=true or ${key}=false`)
        if (key === 'required') mount.required = flag
        else mount.readonly = key === 'readonly' ? flag : !flag
        break
      }
      case 'sharing':
        if (text !== 'shared' && text !== 'private' && text !== 'locked') {
          throw mountError(value, `unknown sharing mode "${text}"`, 'use sharing=shared, sharing=private or sharing=locked')
        }
        mount.sharing = text
        break
      case 'mode':
        if (!/^[0-7]{1,4}$/.test(text)) throw mountError(value, `mode "${text}" is not an octal number`, 'write e.g. mode=0755')
        mount.mode = Number.parseInt(text, 8)
        break
      case 'uid':
      case 'gid': {
        if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) throw mountError(value, `${key} "${text}" is not a number`, `write e.g. ${key}=1000`)
        mount[key] = Number(text)
        break
      }
      case 'size': {
        const size = parseByteSize(text)
        if (size === undefined) throw mountError(value, `size "${text}" is not a size`, 'write e.g. size=64m')
        mount.size = size
        break
      }
    }
  }
  applyDefaults(mount, value)
  return mount
}

function applyDefaults(mount: RunMount, value: string): void {
  switch (mount.type) {
    case 'bind':
    case 'tmpfs':
      if (mount.target === undefined || mount.target === '') throw mountError(value, `type=${mount.type} needs a target`, 'add target=/path')
      break
    case 'cache':
      if (mount.target === undefined || mount.target === '') throw mountError(value, 'type=cache needs a target', 'add target=/path')
      mount.id ??= mount.target
      mount.sharing ??= 'shared'
      break
    case 'secret':
      if ((mount.id ?? '') === '' && (mount.target ?? '') === '' && (mount.env ?? '') === '') {
        throw mountError(value, 'type=secret needs an id, a target or an env', 'add id=NAME (given to the build with --secret id=NAME,src=FILE)')
      }
      if ((mount.id ?? '') === '') mount.id = (mount.target ?? mount.env ?? '').split('/').filter(Boolean).pop() ?? ''
      if (mount.target === undefined && mount.env === undefined) mount.target = `/run/secrets/${mount.id}`
      mount.mode ??= 0o400
      break
    case 'ssh':
      mount.id ??= 'default'
      mount.mode ??= 0o600
      break
  }
}

const UNITS: Record<string, number> = {'': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5}

/** Docker's RAM sizes: a number with an optional binary unit (k, m, g, t, p; b/ib suffix allowed). */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(text.trim())
  if (match === null) return undefined
  return Math.floor(Number(match[1]) * UNITS[match[2].toLowerCase()])
}
