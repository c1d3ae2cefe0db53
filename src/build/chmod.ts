/**
 * `COPY --chmod` / `ADD --chmod` values: an octal mode, or chmod(1)'s
 * symbolic form (`u=rwx,go=rx`, `+x`, `a-w`), which needs the file's current
 * mode and kind to resolve.
 */

import {DockerfileError} from './dockerfile-error.js'

export interface SymbolicClause {
  /** Bits of the classes the clause speaks of: u 0o4700, g 0o2070, o 0o1007 (with their setid/sticky bits). */
  who: number
  ops: {op: '+' | '-' | '='; perms: string}[]
}

export type ChmodSpec = {kind: 'octal'; mode: number} | {kind: 'symbolic'; clauses: SymbolicClause[]}

const WHO_BITS: Record<string, number> = {u: 0o4700, g: 0o2070, o: 0o1007, a: 0o7777}

export function parseChmod(value: string): ChmodSpec {
  if (/^[0-7]+$/.test(value)) {
    const mode = Number.parseInt(value, 8)
    if (mode > 0o7777) throw chmodError(value, 'the mode is larger than 7777')
    return {kind: 'octal', mode}
  }
  const clauses: SymbolicClause[] = []
  for (const clause of value.split(',')) {
    const match = /^([ugoa]*)((?:[-+=](?:[rwxXst]*|[ugo]))+)$/.exec(clause)
    if (match === null) throw chmodError(value, `"${clause}" is neither an octal mode nor a symbolic one`)
    let who = 0
    for (const ch of match[1]) who |= WHO_BITS[ch]
    const ops = Array.from(match[2].matchAll(/([-+=])([ugo]|[rwxXst]*)/g), m => ({op: m[1] as '+' | '-' | '=', perms: m[2]}))
    clauses.push({who: who === 0 ? WHO_BITS.a : who, ops})
  }
  return {kind: 'symbolic', clauses}
}

function chmodError(value: string, problem: string): DockerfileError {
  return new DockerfileError(undefined, `invalid --chmod=${value}: ${problem}`, 'write an octal mode like --chmod=0755 or a symbolic one like --chmod=u=rwx,go=rx')
}

/** The mode a file ends up with; `mode` is its current permission bits (07777). */
export function applyChmod(spec: ChmodSpec, mode: number, isDir: boolean): number {
  if (spec.kind === 'octal') return spec.mode
  let current = mode & 0o7777
  for (const clause of spec.clauses) {
    for (const {op, perms} of clause.ops) {
      const bits = permissionBits(perms, current, isDir) & clause.who
      if (op === '+') current |= bits
      else if (op === '-') current &= ~bits
      else current = (current & ~(clause.who & 0o7777)) | bits
    }
  }
  return current
}

function permissionBits(perms: string, current: number, isDir: boolean): number {
  if (perms === 'u' || perms === 'g' || perms === 'o') {
    const shift = perms === 'u' ? 6 : perms === 'g' ? 3 : 0
    const rwx = (current >> shift) & 0o7
    return rwx * 0o111
  }
  let bits = 0
  for (const ch of perms) {
    if (ch === 'r') bits |= 0o444
    else if (ch === 'w') bits |= 0o222
    else if (ch === 'x') bits |= 0o111
    else if (ch === 'X' && (isDir || (current & 0o111) !== 0)) bits |= 0o111
    else if (ch === 's') bits |= 0o6000
    else if (ch === 't') bits |= 0o1000
  }
  return bits
}
