/**
 * Human-readable sizes and ages, worded exactly as Podman prints them (it uses
 * docker/go-units), so that scripts and eyes used to Podman's tables see the
 * same text.
 */

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB']

/**
 * Podman's image-table size: three significant digits, decimal units, and a
 * space between number and unit (`1.23 MB`, `512 B`).
 */
export function formatSize(bytes: number): string {
  let size = bytes
  let unit = 0
  while (size >= 1000 && unit < DECIMAL_UNITS.length - 1) {
    size /= 1000
    unit++
  }
  return `${formatGeneral(size, 3)} ${DECIMAL_UNITS[unit]}`
}

/**
 * Go's `%.<precision>g`: shortest of fixed and exponent notation, trailing
 * zeros dropped, exponent of at least two digits, and exact ties rounded to
 * even, which is where it differs from JavaScript's toPrecision (Go prints
 * 1.125 as `1.12`, toPrecision as `1.13`).
 */
export function formatGeneral(value: number, precision: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf'
  if (value === 0) return Object.is(value, -0) ? '-0' : '0'
  const negative = value < 0
  let {digits, exponent} = roundDecimal(Math.abs(value), precision)
  let text: string
  if (exponent < -4 || exponent >= precision) {
    const mantissa = stripZeros(digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits)
    const sign = exponent < 0 ? '-' : '+'
    text = `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`
  } else if (exponent < 0) {
    text = stripZeros(`0.${'0'.repeat(-exponent - 1)}${digits}`)
  } else {
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0')
    const fraction = digits.slice(exponent + 1)
    text = fraction ? stripZeros(`${whole}.${fraction}`) : whole
  }
  return negative ? `-${text}` : text
}

function stripZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text
}

/** The value's decimal digits rounded to `precision` significant ones, half to even on exact ties. */
function roundDecimal(value: number, precision: number): {digits: string; exponent: number} {
  // toExponential(99) is the most digits JavaScript gives; for the magnitudes
  // formatted here that is the double's exact decimal expansion.
  const [mantissa, exp] = value.toExponential(99).split('e')
  let exponent = Number(exp)
  const all = mantissa.replace('.', '')
  let kept = all.slice(0, precision)
  const rest = all.slice(precision)
  const tie = /^50*$/.test(rest)
  const up = rest[0] > '5' || (rest[0] === '5' && (!tie || Number(kept[kept.length - 1]) % 2 === 1))
  if (up) {
    const bumped = (BigInt(kept) + 1n).toString()
    if (bumped.length > kept.length) {
      exponent++
      kept = bumped.slice(0, precision)
    } else {
      kept = bumped
    }
  }
  return {digits: kept, exponent}
}

/**
 * go-units' HumanDuration of `now - date` plus " ago", as Podman's CREATED
 * columns show it. Hours are rounded, everything else truncated, as there.
 */
export function formatTimeAgo(date: Date, now: Date = new Date()): string {
  return `${describeDuration(now.getTime() - date.getTime())} ago`
}

function describeDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000)
  if (seconds < 1) return 'Less than a second'
  if (seconds === 1) return '1 second'
  if (seconds < 60) return `${seconds} seconds`
  const minutes = Math.trunc(ms / 60_000)
  if (minutes === 1) return 'About a minute'
  if (minutes < 60) return `${minutes} minutes`
  const hours = Math.trunc(ms / 3_600_000 + 0.5)
  if (hours === 1) return 'About an hour'
  if (hours < 48) return `${hours} hours`
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`
}
