/** A small YAML writer for `info`-style output: maps, lists and scalars of plain JSON data. */

function scalar(value: unknown): string {
  if (value === null || value === undefined) return '""'
  if (typeof value === 'string') {
    if (value === '' || /^[\s-?:,[\]{}#&*!|>'"%@`]|[:#]\s|\s$|^(true|false|null|~|yes|no)$|^[\d.+-]+$/i.test(value) || value.includes('\n')) return JSON.stringify(value)
    return value
  }
  return String(value)
}

function isEmpty(value: unknown): boolean {
  return Array.isArray(value) ? value.length === 0 : typeof value === 'object' && value !== null && Object.keys(value).length === 0
}

export function toYaml(value: unknown, indent = 0): string {
  const pad = ' '.repeat(indent)
  if (Array.isArray(value)) {
    if (value.length === 0) return `${pad}[]\n`
    let out = ''
    for (const item of value) {
      if (typeof item === 'object' && item !== null && !isEmpty(item)) {
        const body = toYaml(item, indent + 2)
        out += `${pad}- ${body.slice(indent + 2)}`
      } else {
        out += `${pad}- ${typeof item === 'object' && item !== null ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)}\n`
      }
    }
    return out
  }
  if (typeof value === 'object' && value !== null) {
    let out = ''
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue
      if (typeof v === 'object' && v !== null && !isEmpty(v)) out += `${pad}${k}:\n${toYaml(v, Array.isArray(v) ? indent : indent + 2)}`
      else if (typeof v === 'object' && v !== null) out += `${pad}${k}: ${Array.isArray(v) ? '[]' : '{}'}\n`
      else out += `${pad}${k}: ${scalar(v)}\n`
    }
    return out
  }
  return `${pad}${scalar(value)}\n`
}
