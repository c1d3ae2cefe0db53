/**
 * Kubernetes resource quantities (`512Mi`, `1G`, `250m`, `1e3`) to and from
 * the numbers tspod's --memory and --cpus take.
 */
import {InvalidArgumentError} from '../errors/index.js'

const SUFFIX: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
}

/** A quantity's value as a plain number; `what` names the field for the error. */
export function parseQuantity(value: string | number, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`${what}: ${value} is not a valid quantity`)
    return value
  }
  const m = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E))?$/.exec(value.trim())
  if (!m) throw new InvalidArgumentError(`${what}: "${value}" is not a valid quantity`, {hint: 'Use a number with an optional suffix, such as 512Mi, 1G or 250m'})
  const base = Number(m[1])
  if (m[2]) return base * 10 ** Number(m[2].slice(1))
  return base * SUFFIX[m[3] ?? '']
}

/** Bytes in the largest binary unit that divides them exactly. */
export function formatMemory(bytes: number): string {
  for (const unit of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki']) {
    const size = SUFFIX[unit]
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`
  }
  return String(bytes)
}

/** Whole cores as a plain number, anything else in millicores. */
export function formatCpu(cores: number): string {
  if (Number.isInteger(cores)) return String(cores)
  return `${Math.round(cores * 1000)}m`
}
