/** Signal names and numbers as Linux (x86_64, arm64) numbers them, for --stop-signal and kill -s. */
import {constants} from 'node:os'
import {InvalidArgumentError} from '../errors/index.js'

export function parseSignal(value: string | number): number {
  if (typeof value === 'number') return value
  const v = value.trim().toUpperCase()
  if (/^\d+$/.test(v)) {
    const n = Number(v)
    if (n < 1 || n > 64) throw new InvalidArgumentError(`invalid signal: ${value}`)
    return n
  }
  const name = v.startsWith('SIG') ? v : `SIG${v}`
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name)
  if (rt) return 34 + Number(rt[1] ?? 0)
  const n = (constants.signals as Record<string, number>)[name]
  if (n === undefined) throw new InvalidArgumentError(`invalid signal: ${value}`, {hint: 'Use a name such as SIGTERM, TERM or KILL, or a number'})
  return n
}

export function signalName(n: number): string {
  for (const [name, num] of Object.entries(constants.signals)) if (num === n) return name
  return String(n)
}
