/**
 * The output formats commands share, with Podman's semantics: a table of
 * default columns; `--format json`; `--format '{{json .}}'` (one object per
 * line); `--format 'table {{.A}}\t{{.B}}'` (a table with derived headers); a
 * plain Go template (one line per row). Columns are aligned as Go's
 * tabwriter does it for Podman (padding 3).
 */
import {compileTemplate, plainFieldOf} from '../util/go-template.js'

export interface Column {
  header: string
  field: string
}

export interface RenderRowsOptions {
  format?: string
  defaultColumns: Column[]
  noHeading?: boolean
}

const PADDING = 3

/** Podman lets users type `\t` and `\n` as two characters on the command line. */
function unescape(format: string): string {
  return format.replace(/\\t/g, '\t').replace(/\\n/g, '\n')
}

/** `CreatedAt` → `CREATED AT`; `ID` stays `ID`. */
export function headerFor(field: string): string {
  return field
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toUpperCase()
}

/** Align tab-separated cells into columns, as text/tabwriter with padding 3 does. */
export function alignColumns(lines: string[][]): string {
  const widths: number[] = []
  for (const cells of lines) {
    cells.forEach((cell, i) => {
      if (i < cells.length - 1) widths[i] = Math.max(widths[i] ?? 0, [...cell].length)
    })
  }
  return lines
    .map(cells => cells.map((cell, i) => (i < cells.length - 1 ? cell.padEnd((widths[i] ?? 0) + PADDING - ([...cell].length - cell.length)) : cell)).join('').trimEnd())
    .join('\n')
}

export function renderRows(rows: object[], opts: RenderRowsOptions): string {
  const raw = opts.format?.trim()
  if (raw === 'json') return JSON.stringify(rows, null, 4) + '\n'
  if (!raw || raw === 'table') {
    const lines = rows.map(row => opts.defaultColumns.map(c => cell((row as Record<string, unknown>)[c.field])))
    if (!opts.noHeading) lines.unshift(opts.defaultColumns.map(c => c.header))
    return lines.length > 0 ? alignColumns(lines) + '\n' : ''
  }
  if (raw.startsWith('table')) {
    const body = unescape(raw.slice('table'.length).trim())
    const template = compileTemplate(body)
    const lines = rows.map(row => template.execute(row).split('\t'))
    if (!opts.noHeading) lines.unshift(body.split('\t').map(part => headerOf(part, opts.defaultColumns)))
    return alignColumns(lines) + '\n'
  }
  const template = compileTemplate(unescape(raw))
  return rows.map(row => template.execute(row) + '\n').join('')
}

function headerOf(part: string, columns: Column[]): string {
  const field = plainFieldOf(part)
  if (field) {
    const known = columns.find(c => c.field === field)
    return known ? known.header : headerFor(field.split('.').pop()!)
  }
  return part.replace(/[{}]/g, '').trim().toUpperCase()
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (Array.isArray(value)) return value.join(',')
  return String(value)
}

/**
 * Inspect-style output: pretty JSON (4-space indent, as Podman prints it), or
 * a template executed per item of an array (once on the value with `single`).
 */
export function renderObject(value: unknown, format?: string, options: {single?: boolean} = {}): string {
  if (!format || format.trim() === 'json') return JSON.stringify(value, null, 4) + '\n'
  const template = compileTemplate(unescape(format))
  const items = Array.isArray(value) && !options.single ? value : [value]
  return items.map(item => template.execute(item) + '\n').join('')
}
