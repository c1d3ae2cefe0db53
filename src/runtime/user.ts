/**
 * Who the container process runs as: `--user` and `--group-add` resolved
 * against the image's /etc/passwd and /etc/group the way Podman (through
 * runc's user package) resolves them, and the nested user namespaces of
 * `--userns=keep-id` and `--userns=nomap`.
 *
 * The files are read through a callback because rootless, the rootfs is
 * mounted only inside tspod's mount namespace: the caller knows where the
 * image's files can be read from.
 */
import {InvalidArgumentError} from '../errors/index.js'

export type ReadImageFile = (path: string) => string | undefined

export interface ResolvedUser {
  uid: number
  gid: number
  /** Groups of /etc/group that list the user by name (only when no group was given explicitly). */
  additionalGids: number[]
  home: string
}

interface PasswdEntry {
  name: string
  uid: number
  gid: number
  home: string
}

interface GroupEntry {
  name: string
  gid: number
  members: string[]
}

const MAX_ID = 2 ** 31 - 1

function parseId(text: string): number | undefined {
  return /^\d+$/.test(text) && Number(text) <= MAX_ID ? Number(text) : undefined
}

function isNumeric(text: string): boolean {
  return /^\d+$/.test(text)
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = []
  for (const line of (text ?? '').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const f = line.split(':')
    const uid = parseId(f[2] ?? '')
    const gid = parseId(f[3] ?? '')
    if (uid === undefined || gid === undefined) continue
    out.push({name: f[0] ?? '', uid, gid, home: f[5] ?? ''})
  }
  return out
}

function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = []
  for (const line of (text ?? '').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const f = line.split(':')
    const gid = parseId(f[2] ?? '')
    if (gid === undefined) continue
    out.push({name: f[0] ?? '', gid, members: (f[3] ?? '').split(',').filter(Boolean)})
  }
  return out
}

function checkRange(id: string, what: 'user' | 'group'): number {
  const n = parseId(id)
  if (n === undefined) {
    throw new InvalidArgumentError(`invalid ${what} ${id}: numeric ids must be between 0 and ${MAX_ID}`)
  }
  return n
}

/**
 * `NAME`, `UID`, `NAME:GROUP`, `UID:GID` (any mix). An empty user is root.
 * A name must exist in the image's /etc/passwd; a number need not. With no
 * group given, the user's primary group and its memberships in /etc/group
 * apply.
 */
export function resolveUser(user: string | undefined, lookup: ReadImageFile): ResolvedUser {
  const spec = user ?? ''
  const colon = spec.indexOf(':')
  const userArg = colon === -1 ? spec : spec.slice(0, colon)
  const groupArg = colon === -1 ? '' : spec.slice(colon + 1)
  const out: ResolvedUser = {uid: 0, gid: 0, additionalGids: [], home: '/'}

  const users = parsePasswd(lookup('/etc/passwd'))
  const match = users.find(u => (userArg === '' ? u.uid === 0 : isNumeric(userArg) ? u.uid === Number(userArg) : u.name === userArg))
  if (match !== undefined) {
    out.uid = match.uid
    out.gid = match.gid
    out.home = match.home || '/'
  } else if (userArg !== '') {
    if (!isNumeric(userArg)) {
      throw new InvalidArgumentError(`unable to find user ${userArg}: no matching entries in passwd file`, {
        hint: `the image's /etc/passwd has no user "${userArg}": give a numeric id (--user 1000) or a user the image defines`,
      })
    }
    out.uid = checkRange(userArg, 'user')
  }

  if (groupArg === '' && match === undefined) return out
  const groups = parseGroup(lookup('/etc/group'))
  if (groupArg !== '') {
    const g = groups.find(entry => (isNumeric(groupArg) ? entry.gid === Number(groupArg) : entry.name === groupArg))
    if (g !== undefined) {
      out.gid = g.gid
    } else if (isNumeric(groupArg)) {
      out.gid = checkRange(groupArg, 'group')
    } else {
      throw new InvalidArgumentError(`unable to find group ${groupArg}: no matching entries in group file`, {
        hint: `the image's /etc/group has no group "${groupArg}": give a numeric gid or a group the image defines`,
      })
    }
  } else if (match !== undefined) {
    out.additionalGids = groups.filter(g => g.members.includes(match.name)).map(g => g.gid)
  }
  return out
}

/** `--group-add` values as gids: names from the image's /etc/group, numbers as they are. */
export function resolveGroups(groups: string[], lookup: ReadImageFile): number[] {
  if (groups.length === 0) return []
  const entries = parseGroup(lookup('/etc/group'))
  return groups.map(name => {
    const found = entries.find(g => (isNumeric(name) ? g.gid === Number(name) : g.name === name))
    if (found !== undefined) return found.gid
    if (isNumeric(name)) return checkRange(name, 'group')
    throw new InvalidArgumentError(`--group-add ${name}: unable to find group ${name}: no matching entries in group file`, {
      hint: `give a numeric gid (--group-add 1000) or a group the image's /etc/group defines`,
    })
  })
}

export type UsernsMode = {mode: 'host'} | {mode: 'keep-id'; uid?: number; gid?: number} | {mode: 'nomap'}

/** `--userns` values tspod accepts; anything else is refused with the list. */
export function parseUsernsFlag(value: string): UsernsMode {
  const [mode, rest] = value.includes(':') ? [value.slice(0, value.indexOf(':')), value.slice(value.indexOf(':') + 1)] : [value, '']
  switch (mode) {
    case '':
    case 'host':
      if (rest !== '') break
      return {mode: 'host'}
    case 'nomap':
      if (rest !== '') break
      return {mode: 'nomap'}
    case 'keep-id': {
      const out: {mode: 'keep-id'; uid?: number; gid?: number} = {mode: 'keep-id'}
      for (const opt of rest === '' ? [] : rest.split(',')) {
        const [key, val = ''] = opt.split('=', 2)
        const id = parseId(val)
        if ((key !== 'uid' && key !== 'gid') || id === undefined) {
          throw new InvalidArgumentError(`--userns=${value}: unknown keep-id option "${opt}"`, {
            hint: 'keep-id takes uid=N and gid=N, e.g. --userns=keep-id:uid=1000,gid=1000',
          })
        }
        out[key] = id
      }
      return out
    }
    case 'auto':
      throw new InvalidArgumentError(`--userns=${value}: not supported by tspod yet`, {
        hint: 'use --userns=keep-id, --userns=nomap, or leave --userns out (the default shares tspod\'s namespace)',
      })
  }
  throw new InvalidArgumentError(`--userns=${value}: unknown user namespace mode`, {
    hint: 'accepted: host (the default), keep-id[:uid=N,gid=N], nomap',
  })
}

export interface OciIdMapping {
  containerID: number
  hostID: number
  size: number
}

/**
 * keep-id as Podman does it rootless, in the ids of tspod's namespace (where
 * 0 is the user and 1..available are the subordinate ids): the user's id
 * keeps its own number inside, the ids below it come from the subordinate
 * range, and the ids above it follow on.
 */
export function keepIdMappings(containerId: number, available: number): OciIdMapping[] {
  const out: OciIdMapping[] = []
  const below = Math.min(containerId, available)
  if (below > 0) out.push({containerID: 0, hostID: 1, size: below})
  out.push({containerID: containerId, hostID: 0, size: 1})
  if (available > containerId) out.push({containerID: containerId + 1, hostID: containerId + 1, size: available - containerId})
  return out
}

/** nomap: only the subordinate ids, so nothing in the container is the user. */
export function nomapMappings(available: number): OciIdMapping[] {
  return [{containerID: 0, hostID: 1, size: available}]
}

export function isMapped(id: number, mappings: OciIdMapping[]): boolean {
  return mappings.some(m => id >= m.containerID && id < m.containerID + m.size)
}
