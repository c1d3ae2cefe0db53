/**
 * systemd's unit file syntax (systemd.syntax(7)), enough to read Quadlet
 * files and write units: `[Section]` headers, `Key=Value` lines, comments
 * (`#`, `;`), line continuations (a trailing backslash), keys that repeat.
 * Every entry remembers its line so that errors name file:line.
 */
import {InvalidArgumentError} from '../errors/index.js'

export interface UnitEntry {
  key: string
  value: string
  line: number
}

export interface UnitSection {
  name: string
  line: number
  entries: UnitEntry[]
}

export interface UnitFile {
  path: string
  sections: UnitSection[]
}

export class UnitFileError extends InvalidArgumentError {
  constructor(path: string, line: number, message: string, hint?: string) {
    super(`${path}:${line}: ${message}`, {hint})
  }
}

export function parseUnitFile(text: string, path: string): UnitFile {
  const sections: UnitSection[] = []
  const lines = text.split('\n')
  let current: UnitSection | undefined
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1
    let line = lines[i].replace(/\r$/, '').trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    if (line.startsWith('[')) {
      if (!line.endsWith(']') || line.length < 3) throw new UnitFileError(path, lineNo, `invalid section header "${line}"`, 'Write it as [Name]')
      current = {name: line.slice(1, -1), line: lineNo, entries: []}
      sections.push(current)
      continue
    }
    // A trailing backslash joins the next line with a space; comment lines inside are skipped.
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = line.slice(0, -1)
      i++
      const next = lines[i].replace(/\r$/, '').trim()
      if (next.startsWith('#') || next.startsWith(';')) continue
      line = `${line.trimEnd()} ${next}`
    }
    if (line.endsWith('\\')) line = line.slice(0, -1)
    const eq = line.indexOf('=')
    if (eq <= 0) throw new UnitFileError(path, lineNo, `"${line}" is not a Key=Value assignment`)
    if (!current) throw new UnitFileError(path, lineNo, `"${line.slice(0, eq).trim()}" is outside any section`, 'Put it under a section header such as [Container]')
    current.entries.push({key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), line: lineNo})
  }
  return {path, sections}
}

export function section(file: UnitFile, name: string): UnitSection | undefined {
  return file.sections.find(s => s.name === name)
}

/** Every value of a key in a section, in order; an empty assignment resets the list, as systemd does. */
export function values(sec: UnitSection | undefined, key: string): string[] {
  const out: string[] = []
  for (const e of sec?.entries ?? []) {
    if (e.key !== key) continue
    if (e.value === '') out.length = 0
    else out.push(e.value)
  }
  return out
}

/** The last value of a key (later assignments override earlier ones). */
export function lastValue(sec: UnitSection | undefined, key: string): string | undefined {
  const all = values(sec, key)
  return all.length > 0 ? all[all.length - 1] : undefined
}

export function entryOf(sec: UnitSection | undefined, key: string): UnitEntry | undefined {
  const all = (sec?.entries ?? []).filter(e => e.key === key)
  return all[all.length - 1]
}

/**
 * Split a value into words as systemd does for command lines and lists:
 * whitespace separates, double and single quotes group, backslash escapes.
 */
export function splitWords(value: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: string | undefined
  for (let i = 0; i < value.length; i++) {
    const c = value[i]
    if (quote) {
      if (c === quote) quote = undefined
      else if (c === '\\' && i + 1 < value.length) word += value[++i]
      else word += c
      continue
    }
    if (c === '"' || c === "'") {
      quote = c
      inWord = true
    } else if (c === '\\' && i + 1 < value.length) {
      word += value[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (inWord) words.push(word)
  return words
}

/** Quote a word for a systemd command line only where needed; `%` is doubled so systemd does not expand it. */
export function quoteWord(word: string, options: {keepSpecifiers?: boolean} = {}): string {
  const escaped = options.keepSpecifiers ? word : word.replace(/%/g, '%%')
  if (escaped !== '' && /^[A-Za-z0-9_@%+=:,./{}-]+$/.test(escaped)) return escaped
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '$$$$')}"`
}

export interface UnitSectionOut {
  name: string
  lines: Array<[string, string]>
}

export function renderUnit(header: string[], sections: UnitSectionOut[]): string {
  const parts = header.map(h => `# ${h}`)
  for (const s of sections) {
    if (s.lines.length === 0) continue
    parts.push('', `[${s.name}]`, ...s.lines.map(([k, v]) => `${k}=${v}`))
  }
  return parts.join('\n').replace(/^\n/, '') + '\n'
}
