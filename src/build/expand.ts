/**
 * Variable expansion and quote removal for Dockerfile words, the way
 * BuildKit's shell lexer does it: a small subset of POSIX sh (parameters and
 * a few modifiers, quotes, the escape character) and nothing that runs code.
 */

import {DockerfileError} from './dockerfile-error.js'

export type VariableLookup = (name: string) => string | undefined

export interface ExpandOptions {
  /** The Dockerfile's escape character (`# escape=`); `\` by default. */
  escape?: '\\' | '`'
  /** Keep quote characters in the result (here-document bodies). */
  rawQuotes?: boolean
  /** Keep escape characters in the result (here-document bodies). */
  rawEscapes?: boolean
}

/**
 * Instructions whose arguments Docker expands before use (the Dockerfile
 * reference, "Environment replacement"; ARG is expanded by BuildKit too).
 * ONBUILD is not in the set: its trigger is expanded when it runs in the
 * child build, as the instruction it is.
 */
export const EXPANDING_INSTRUCTIONS: ReadonlySet<string> = new Set([
  'ADD', 'ARG', 'COPY', 'ENV', 'EXPOSE', 'FROM', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
])

/** Flags whose values BuildKit expands, by instruction. */
export const EXPANDING_FLAGS: Readonly<Record<string, ReadonlySet<string>>> = {
  FROM: new Set(['platform']),
  COPY: new Set(['from', 'chown', 'chmod', 'exclude']),
  ADD: new Set(['chown', 'chmod', 'checksum', 'exclude']),
  RUN: new Set(['mount', 'network', 'security']),
}

/** One word: quotes removed, variables expanded, whitespace kept as it is. */
export function expandWord(raw: string, lookup: VariableLookup, options: ExpandOptions = {}): string {
  return new ShellLexer(raw, lookup, options).run().word
}

/**
 * Several words: split at unquoted whitespace, including whitespace that an
 * unquoted variable's value brings in; quoted empty strings vanish as in
 * BuildKit.
 */
export function expandWords(raw: string, lookup: VariableLookup, options: ExpandOptions = {}): string[] {
  return new ShellLexer(raw, lookup, options).run().words
}

class WordCollector {
  readonly words: string[] = []
  private word = ''
  private inWord = false

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length > 0) {
        this.words.push(this.word)
        this.word = ''
        this.inWord = false
      }
      return
    }
    this.addRawChar(ch)
  }

  addRawChar(ch: string): void {
    this.word += ch
    this.inWord = true
  }

  addString(text: string): void {
    for (const ch of text) this.addChar(ch)
  }

  addRawString(text: string): void {
    this.word += text
    this.inWord = true
  }

  finish(): string[] {
    if (this.word.length > 0) this.words.push(this.word)
    this.word = ''
    this.inWord = false
    return this.words
  }
}

function isSpace(ch: string): boolean {
  return /^\s$/u.test(ch)
}

function isNameChar(ch: string): boolean {
  return /^[\p{L}\p{Nd}_]$/u.test(ch)
}

const SPECIAL_PARAMETERS = new Set(['@', '*', '#', '?', '-', '$', '!', '0'])

class ShellLexer {
  private readonly chars: string[]
  private pos = 0
  private readonly escape: string

  constructor(
    private readonly source: string,
    private readonly lookup: VariableLookup,
    private readonly options: ExpandOptions,
  ) {
    this.chars = Array.from(source)
    this.escape = options.escape ?? '\\'
  }

  run(): {word: string; words: string[]} {
    try {
      return this.processUntil(undefined, this.options.rawEscapes ?? false)
    } catch (err) {
      if (err instanceof ExpansionFailure) {
        throw new DockerfileError(undefined, err.userFacing ? err.message : `failed to expand ${JSON.stringify(this.source)}: ${err.message}`, err.hint)
      }
      throw err
    }
  }

  private peek(): string | undefined {
    return this.chars[this.pos]
  }

  private next(): string | undefined {
    return this.chars[this.pos++]
  }

  private processUntil(stop: string | undefined, rawEscapes: boolean): {word: string; words: string[]} {
    let result = ''
    const words = new WordCollector()
    while (this.peek() !== undefined) {
      const ch = this.peek() as string
      if (stop !== undefined && ch === stop) {
        this.next()
        return {word: result, words: words.finish()}
      }
      if (ch === "'" || ch === '"' || ch === '$') {
        const text = ch === "'" ? this.processSingleQuote() : ch === '"' ? this.processDoubleQuote() : this.processDollar()
        result += text
        if (ch === '$') words.addString(text)
        else words.addRawString(text)
        continue
      }
      let c = this.next() as string
      if (c === this.escape) {
        if (rawEscapes) {
          words.addRawChar(c)
          result += c
        }
        const escaped = this.next()
        if (escaped === undefined) break
        c = escaped
        words.addRawChar(c)
      } else {
        words.addChar(c)
      }
      result += c
    }
    if (stop !== undefined) throw new ExpansionFailure(`unexpected end of statement while looking for matching ${stop}`)
    return {word: result, words: words.finish()}
  }

  private processSingleQuote(): string {
    const raw = this.options.rawQuotes ?? false
    let result = raw ? "'" : ''
    this.next()
    for (;;) {
      const ch = this.next()
      if (ch === undefined) throw new ExpansionFailure('unexpected end of statement while looking for matching single-quote', 'close the quote with \'')
      if (ch === "'") return raw ? `${result}'` : result
      result += ch
    }
  }

  private processDoubleQuote(): string {
    const raw = this.options.rawQuotes ?? false
    let result = raw ? '"' : ''
    this.next()
    for (;;) {
      const ch = this.peek()
      if (ch === undefined) throw new ExpansionFailure('unexpected end of statement while looking for matching double-quote', 'close the quote with "')
      if (ch === '"') {
        this.next()
        return raw ? `${result}"` : result
      }
      if (ch === '$') {
        result += this.processDollar()
        continue
      }
      let c = this.next() as string
      if (c === this.escape) {
        const following = this.peek()
        if (following === undefined) continue
        if (following === '"' || following === '$' || following === this.escape) {
          if (this.options.rawEscapes) result += c
          c = this.next() as string
        }
      }
      result += c
    }
  }

  private processName(): string {
    let name = ''
    for (;;) {
      const ch = this.peek()
      if (ch === undefined) return name
      if (name === '' && /^\p{Nd}$/u.test(ch)) {
        while (this.peek() !== undefined && /^\p{Nd}$/u.test(this.peek() as string)) name += this.next()
        return name
      }
      if (name === '' && SPECIAL_PARAMETERS.has(ch)) {
        this.next()
        return ch
      }
      if (!isNameChar(ch)) return name
      name += this.next()
    }
  }

  private processDollar(): string {
    this.next()
    if (this.peek() !== '{') {
      const name = this.processName()
      if (name === '') return '$'
      return this.lookup(name) ?? ''
    }
    this.next()
    const first = this.peek()
    if (first === undefined) throw new ExpansionFailure("syntax error: missing '}'")
    if (first === '{' || first === '}' || first === ':') throw new ExpansionFailure('syntax error: bad substitution')
    const name = this.processName()
    let modifier = this.next()
    if (modifier === undefined) throw new ExpansionFailure("syntax error: missing '}'")
    if (modifier === '}') return this.lookup(name) ?? ''
    if (modifier === '/') return this.processReplace(name)
    let nullIsUnset = false
    let shown = modifier
    if (modifier === ':') {
      nullIsUnset = true
      modifier = this.next()
      if (modifier === undefined) throw new ExpansionFailure("syntax error: missing '}'")
      shown += modifier
    }
    if (!nullIsUnset && !'+-?#%'.includes(modifier)) {
      throw new ExpansionFailure(`unsupported modifier (${shown}) in substitution`, 'use one of ${VAR}, ${VAR:-default}, ${VAR:+alt}, ${VAR:?message}, ${VAR#pattern}, ${VAR%pattern}, ${VAR/pattern/replacement}')
    }
    const patternLike = modifier === '#' || modifier === '%'
    if (nullIsUnset && patternLike) throw new ExpansionFailure(`unsupported modifier (${shown}) in substitution`)
    let word: string
    try {
      word = this.processUntil('}', patternLike).word
    } catch (err) {
      if (err instanceof ExpansionFailure && this.peek() === undefined) throw new ExpansionFailure("syntax error: missing '}'")
      throw err
    }
    const value = this.lookup(name)
    const empty = value === undefined || (nullIsUnset && value === '')
    switch (modifier) {
      case '-':
        return empty ? word : (value as string)
      case '+':
        return empty ? '' : word
      case '?':
        if (value === undefined) throw new ExpansionFailure(`${name}: ${word === '' ? 'is not allowed to be unset' : word}`, `pass --build-arg ${name}=VALUE or set it with ARG/ENV`, true)
        if (nullIsUnset && value === '') throw new ExpansionFailure(`${name}: ${word === '' ? 'is not allowed to be empty' : word}`, `pass --build-arg ${name}=VALUE or set it with ARG/ENV`, true)
        return value
      case '#':
      case '%': {
        const greedy = word.startsWith(modifier)
        const pattern = greedy ? word.slice(1) : word
        const text = value ?? ''
        return modifier === '#' ? trimPrefix(text, pattern, greedy, this.escape) : trimSuffix(text, pattern, greedy, this.escape)
      }
      default:
        throw new ExpansionFailure(`unsupported modifier (${shown}) in substitution`)
    }
  }

  private processReplace(name: string): string {
    const replaceAll = this.peek() === '/'
    if (replaceAll) this.next()
    let pattern: string
    let replacement: string
    try {
      pattern = this.processUntil('/', true).word
    } catch (err) {
      if (err instanceof ExpansionFailure && this.peek() === undefined) throw new ExpansionFailure("syntax error: missing '/' in ${}")
      throw err
    }
    try {
      replacement = this.processUntil('}', true).word
    } catch (err) {
      if (err instanceof ExpansionFailure && this.peek() === undefined) throw new ExpansionFailure("syntax error: missing '}'")
      throw err
    }
    return replacePattern(this.lookup(name) ?? '', pattern, replacement, replaceAll, this.escape)
  }
}

class ExpansionFailure extends Error {
  constructor(message: string, readonly hint?: string, readonly userFacing = false) {
    super(message)
  }
}

/**
 * A shell glob (`*`, `?`, `[...]`, escape) as a regular expression source.
 * Unlike path globs, `*` here crosses `/`: it matches characters of a value.
 */
function shellPatternToRegExpSource(pattern: string, escape: string = '\\'): string {
  const chars = Array.from(pattern)
  let out = ''
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]
    if (ch === '*') {
      // A run of stars means one star; keeping them all only invites backtracking.
      while (chars[i + 1] === '*') i++
      out += '[\\s\\S]*'
    } else if (ch === '?') out += '[\\s\\S]'
    else if (ch === escape && i + 1 < chars.length) out += escapeRegExpChar(chars[++i])
    else if (ch === '[') {
      const cls = readBracket(chars, i)
      if (cls === undefined) out += '\\['
      else {
        out += cls.source
        i = cls.end
      }
    } else out += escapeRegExpChar(ch)
  }
  return out
}

/** A bracket expression starting at `start`, or undefined when it never closes (then `[` is literal). */
function readBracket(chars: string[], start: number): {source: string; end: number} | undefined {
  let i = start + 1
  let negate = false
  if (chars[i] === '!' || chars[i] === '^') {
    negate = true
    i++
  }
  let body = ''
  let first = true
  for (; i < chars.length; i++) {
    const ch = chars[i]
    if (ch === ']' && !first) return {source: `[${negate ? '^' : ''}${body}]`, end: i}
    first = false
    if (ch === '\\' && i + 1 < chars.length) {
      body += escapeClassChar(chars[++i])
    } else if (ch === '-' && body !== '' && chars[i + 1] !== ']' && i + 1 < chars.length) {
      body += '-'
    } else {
      body += escapeClassChar(ch)
    }
  }
  return undefined
}

function escapeRegExpChar(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch
}

function escapeClassChar(ch: string): string {
  return /[\\\]^[-]/.test(ch) ? `\\${ch}` : ch
}

function compileWhole(pattern: string, escape: string): RegExp {
  return new RegExp(`^(?:${shellPatternToRegExpSource(pattern, escape)})$`, 'u')
}

/** Offsets of every code point boundary in `value`, 0 and its length included. */
function boundaries(value: string): number[] {
  const offsets = [0]
  let offset = 0
  for (const ch of value) {
    offset += ch.length
    offsets.push(offset)
  }
  return offsets
}

function trimPrefix(value: string, pattern: string, greedy: boolean, escape: string): string {
  const re = compileWhole(pattern, escape)
  const offsets = boundaries(value)
  for (let k = 0; k < offsets.length; k++) {
    const end = offsets[greedy ? offsets.length - 1 - k : k]
    if (re.test(value.slice(0, end))) return value.slice(end)
  }
  return value
}

function trimSuffix(value: string, pattern: string, greedy: boolean, escape: string): string {
  const re = compileWhole(pattern, escape)
  const offsets = boundaries(value)
  for (let k = 0; k < offsets.length; k++) {
    const start = offsets[greedy ? k : offsets.length - 1 - k]
    if (re.test(value.slice(start))) return value.slice(0, start)
  }
  return value
}

/**
 * `${VAR/p/r}`: the leftmost match with greedy stars (what Go's regexp does
 * with BuildKit's translation); `//` replaces every match, skipping an empty
 * match right after the previous one as Go does.
 */
function replacePattern(value: string, pattern: string, replacement: string, all: boolean, escape: string): string {
  const re = new RegExp(shellPatternToRegExpSource(pattern, escape), 'gu')
  let out = ''
  let copied = 0
  let previousEnd = -1
  let from = 0
  while (from <= value.length) {
    re.lastIndex = from
    const match = re.exec(value)
    if (match === null) break
    const start = match.index
    const end = start + match[0].length
    const step = start < value.length ? String.fromCodePoint(value.codePointAt(start) as number).length : 1
    if (end === start && start === previousEnd) {
      from = start + step
      continue
    }
    out += value.slice(copied, start) + replacement
    copied = end
    previousEnd = end
    if (!all) break
    from = end > start ? end : start + step
  }
  return out + value.slice(copied)
}
