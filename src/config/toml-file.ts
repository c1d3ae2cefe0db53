/**
 * Reading the TOML files Podman's tools share. A file that is absent costs one
 * failed open and yields undefined; a file that is present but malformed is a
 * ConfigError that names the file, line and column, because Podman would
 * refuse it too and the user has to fix or move it.
 *
 * The parser is loaded on first use only: most invocations find no file at all.
 */
import {mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync, type Stats} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {ConfigError, isErrno} from '../errors/index.js'
import {pathKey, userCacheDir} from '../util/cache-dir.js'

export type TomlValue = string | number | bigint | boolean | Date | TomlValue[] | TomlTable
export interface TomlTable {
  [key: string]: TomlValue
}

interface TomlParser {
  parse(text: string): void
  finish(): TomlTable
  recordInlineListValue(value: unknown): unknown
  goto(next: unknown): unknown
  parseInlineListNext: unknown
  state: {resultArr: unknown[] | null}
}
type TomlParserClass = new () => TomlParser
interface TomlSyntaxError extends Error {
  line?: number
  col?: number
}

let parserClass: TomlParserClass | undefined

/**
 * @iarna/toml implements TOML 0.5, which forbids arrays of mixed types; TOML
 * 1.0 (what Podman's Go parser reads) allows them, and containers.conf relies
 * on that for `env = ["A=1", {append = true}]`. The subclass accepts a mixed
 * array where the base class would throw, and changes nothing else.
 */
function loadParserClass(): TomlParserClass {
  if (parserClass) return parserClass
  const require = createRequire(import.meta.url)
  const Base = require('@iarna/toml/lib/toml-parser.js') as TomlParserClass
  class MixedArrayParser extends Base {
    override recordInlineListValue(value: unknown): unknown {
      try {
        return super.recordInlineListValue(value)
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('Inline lists must be a single type')) throw err
        this.state.resultArr!.push(unboxed(value))
        return this.goto(this.parseInlineListNext)
      }
    }
  }
  parserClass = MixedArrayParser
  return parserClass
}

/** The parser boxes numbers to track their TOML type; lists hold them unboxed. */
function unboxed(value: unknown): unknown {
  if (value instanceof Number) return value.valueOf()
  if (typeof value === 'object' && value !== null && !(value instanceof Date) && !Array.isArray(value)) {
    const primitive = (value as {valueOf(): unknown}).valueOf()
    if (typeof primitive === 'bigint') return primitive
  }
  return value
}

/** Parses TOML text; `path` only names the source in errors. */
export function parseToml(text: string, path: string): TomlTable {
  const Parser = loadParserClass()
  const parser = new Parser()
  // The shipped containers.conf is ~700 lines, nearly all comments, and this
  // parser walks them char by char (4 ms); blanking full-line comments first
  // keeps line numbers and takes it under 0.5 ms. Not when a multi-line
  // string could hold a line that starts with '#'.
  const input = text.includes('"""') || text.includes("'''") ? text : text.replace(/^[ \t]*#.*$/gm, '')
  try {
    parser.parse(input)
    return parser.finish()
  } catch (err) {
    const e = err as TomlSyntaxError
    const where = e.line === undefined || e.col === undefined ? '' : `line ${e.line + 1}, column ${e.col + 1}: `
    const what = e.message.replace(/ at row \d+, col \d+, pos \d+:[\s\S]*$/, '')
    throw new ConfigError(`parsing ${path}: ${where}${what}`, {
      hint: `Fix the TOML syntax in ${path}, or move the file aside (mv ${path} ${path}.bak) to use the defaults.`,
    })
  }
}

/**
 * The parsed file, or undefined when it does not exist. `required` turns a
 * missing file into an error, for paths the user named explicitly (env vars).
 */
export function readTomlFile(path: string, required?: {via: string}): TomlTable | undefined {
  let text: string
  let st: Stats | undefined
  try {
    st = statSync(path)
    const cached = readCached(path, st)
    if (cached) return cached
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) {
      if (!required) return undefined
      throw new ConfigError(`reading ${path}: no such file (named by ${required.via})`, {
        hint: `Create ${path} or unset ${required.via}.`,
      })
    }
    throw readError(path, err)
  }
  const table = parseToml(text, path)
  writeCached(path, st, table)
  return table
}

/*
 * Parsed files are cached as JSON under $XDG_CACHE_HOME/tspod/toml, keyed by
 * the file's path, inode, size and mtime: loading the TOML parser and parsing
 * the shipped containers.conf costs about 6 ms, reading the cache well under 1.
 * Tables holding dates or big integers, which JSON cannot carry, are not cached.
 */
function cacheFile(path: string): string | undefined {
  const base = userCacheDir()
  if (!base) return undefined
  return join(base, 'toml', `${pathKey(path)}.json`)
}

function stamp(path: string, st: Stats): string {
  return `${path}\0${st.ino}\0${st.size}\0${st.mtimeMs}`
}

function readCached(path: string, st: Stats): TomlTable | undefined {
  const file = cacheFile(path)
  if (!file) return undefined
  try {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as {stamp: string; table: TomlTable}
    return entry.stamp === stamp(path, st) ? entry.table : undefined
  } catch {
    return undefined
  }
}

function writeCached(path: string, st: Stats | undefined, table: TomlTable): void {
  const file = cacheFile(path)
  if (!file || !st) return
  try {
    // The holder's raw value: a Date has already become a string in `v`.
    const json = JSON.stringify({stamp: stamp(path, st), table}, function (this: Record<string, unknown>, k: string, v: unknown) {
      const raw = this[k]
      if (typeof raw === 'bigint' || raw instanceof Date) throw new Error('not JSON')
      return v
    })
    mkdirSync(dirname(file), {recursive: true, mode: 0o700})
    const tmp = `${file}.${process.pid}`
    writeFileSync(tmp, json, {mode: 0o600})
    renameSync(tmp, file)
  } catch {
    // A cache is only ever an optimisation.
  }
}

export function readError(path: string, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error'
  const cause = code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code
  return new ConfigError(`reading ${path}: ${cause}`, {
    hint: code === 'EACCES' ? `Make ${path} readable (chmod a+r ${path}) or move it aside.` : undefined,
  })
}

/** `*.conf` files of a drop-in directory, sorted by name; none when it is absent. */
export function listDropIns(dir: string): string[] {
  let entries
  try {
    entries = readdirSync(dir, {withFileTypes: true})
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return []
    throw readError(dir, err)
  }
  return entries
    .filter(e => e.name.endsWith('.conf') && (e.isFile() || e.isSymbolicLink()))
    .map(e => e.name)
    .sort()
    .map(name => join(dir, name))
}

export function isTable(value: TomlValue | undefined): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
}

/** The sub-table at `key`, or an empty one; a non-table there is a ConfigError. */
export function tableAt(table: TomlTable, key: string, path: string, where = ''): TomlTable {
  const value = table[key]
  if (value === undefined) return {}
  if (!isTable(value)) throw typeError(path, `${where}${key}`, 'a table', value)
  return value
}

export function typeError(path: string, key: string, expected: string, got: TomlValue): ConfigError {
  return new ConfigError(`${path}: ${key}: expected ${expected}, got ${describeValue(got)}`, {
    hint: `Fix ${key} in ${path}.`,
  })
}

function describeValue(value: TomlValue): string {
  // Only the type: values in these files may be secrets (containers.conf env).
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Date) return 'a date'
  if (isTable(value)) return 'a table'
  if (typeof value === 'string') return 'a string'
  if (typeof value === 'boolean') return 'a boolean'
  return Number.isInteger(value) || typeof value === 'bigint' ? 'an integer' : 'a float'
}
