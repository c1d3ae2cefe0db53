/**
 * The Dockerfile parser: text in, instructions out, nothing expanded. It
 * follows BuildKit's parser (the de-facto language definition) line by line:
 * parser directives only at the very top, comments dropped even inside
 * continuations, the escape character joining lines, heredocs read after the
 * instruction line. Where BuildKit silently accepts a mistake that can only
 * fail later (an unterminated JSON string taken as a shell command), we stop
 * at the line, and every error names the place and the fix.
 */

import type {Dockerfile, Heredoc, Instruction, InstructionFlag, ParserDirectives, SourceLocation} from './ast.js'
import {DockerfileError} from './dockerfile-error.js'

interface FlagSpec {
  /** A value is required (`--from=x`); boolean flags take none or true/false. */
  kind: 'string' | 'boolean'
  /** May be given more than once (`--mount`). */
  repeatable?: boolean
}

/** Each instruction's flags, as the Dockerfile reference lists them. */
export const INSTRUCTION_FLAGS: Readonly<Record<string, Readonly<Record<string, FlagSpec>>>> = {
  FROM: {platform: {kind: 'string'}},
  RUN: {
    mount: {kind: 'string', repeatable: true},
    network: {kind: 'string'},
    security: {kind: 'string'},
    device: {kind: 'string', repeatable: true},
  },
  COPY: {
    from: {kind: 'string'},
    chown: {kind: 'string'},
    chmod: {kind: 'string'},
    link: {kind: 'boolean'},
    parents: {kind: 'boolean'},
    exclude: {kind: 'string', repeatable: true},
  },
  ADD: {
    chown: {kind: 'string'},
    chmod: {kind: 'string'},
    link: {kind: 'boolean'},
    'keep-git-dir': {kind: 'boolean'},
    checksum: {kind: 'string'},
    exclude: {kind: 'string', repeatable: true},
    unpack: {kind: 'boolean'},
  },
  HEALTHCHECK: {
    interval: {kind: 'string'},
    timeout: {kind: 'string'},
    'start-period': {kind: 'string'},
    'start-interval': {kind: 'string'},
    retries: {kind: 'string'},
  },
}

export const INSTRUCTIONS: readonly string[] = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]

const KNOWN = new Set(INSTRUCTIONS)
const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD'])
/** Instructions whose arguments are one string, the rest of the line. */
const STRING_INSTRUCTIONS = new Set(['MAINTAINER', 'STOPSIGNAL', 'USER', 'WORKDIR'])
const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/
const HEREDOC_RE = /^(\d*)<<(-?)([^<]*)$/
/** BuildKit trims with Go's unicode.IsSpace; `\s` differs from it only in exotic Unicode blanks. */
const LEADING_SPACE_RE = /^\s+/u
const SEPARATOR_RE = /[\t\v\f\r ]+/

/** A logical line: the joined text and where each piece came from, for columns. */
interface LogicalLine {
  text: string
  /** Offsets into `text` where a physical line's piece starts, with its line and column. */
  pieces: {offset: number; line: number; column: number}[]
}

export function parseDockerfile(text: string, file: string): Dockerfile {
  return new Parser(text, file).parse()
}

class Parser {
  private readonly lines: string[]
  private readonly directives: ParserDirectives = {escape: '\\'}
  private continuationRe = /\\[ \t]*$/
  private index = 0

  constructor(text: string, private readonly file: string) {
    const body = text.startsWith('\uFEFF') ? text.slice(1) : text
    this.lines = body.split('\n').map(line => (line.endsWith('\r') ? line.slice(0, -1) : line))
    if (this.lines.length > 0 && this.lines[this.lines.length - 1] === '') this.lines.pop()
  }

  parse(): Dockerfile {
    this.readDirectives()
    const instructions: Instruction[] = []
    for (;;) {
      const logical = this.readLogicalLine()
      if (logical === undefined) break
      const instruction = this.parseInstruction(logical, false)
      this.readHeredocs(instruction, logical)
      instructions.push(instruction)
    }
    this.checkStages(instructions)
    return {file: this.file, directives: this.directives, instructions}
  }

  private loc(line: number, column: number): SourceLocation {
    return {file: this.file, line, column}
  }

  private fail(location: SourceLocation, problem: string, hint?: string): never {
    throw new DockerfileError(location, problem, hint)
  }

  private readDirectives(): void {
    const seen = new Set<string>()
    for (let i = 0; i < this.lines.length; i++) {
      const line = this.lines[i].replace(LEADING_SPACE_RE, '')
      if (i === 0 && line.startsWith('#!')) continue
      const match = DIRECTIVE_RE.exec(line)
      if (match === null) return
      const name = match[1].toLowerCase()
      if (name !== 'syntax' && name !== 'escape' && name !== 'check') return
      const location = this.loc(i + 1, this.lines[i].length - line.length + 1)
      if (seen.has(name)) this.fail(location, `only one ${name} parser directive can be used`, `remove the second "# ${name}=" line`)
      seen.add(name)
      const value = match[2]
      if (name === 'escape') {
        if (value !== '\\' && value !== '`') {
          this.fail(location, `invalid escape character "${value}": it must be \\ or \``, 'write "# escape=\\" or "# escape=`"')
        }
        this.directives.escape = value
        this.continuationRe = new RegExp(`${value === '\\' ? '\\\\' : '`'}[ \\t]*$`)
      } else if (name === 'syntax') {
        this.directives.syntax = value
      } else {
        this.directives.check = value
      }
    }
  }

  private isComment(line: string): boolean {
    return line.replace(LEADING_SPACE_RE, '').startsWith('#')
  }

  /** Strips a trailing escape character; true when the line goes on. */
  private trimContinuation(piece: string): [string, boolean] {
    const match = this.continuationRe.exec(piece)
    return match === null ? [piece, false] : [piece.slice(0, match.index), true]
  }

  private readLogicalLine(): LogicalLine | undefined {
    while (this.index < this.lines.length) {
      const raw = this.lines[this.index++]
      const trimmed = raw.replace(LEADING_SPACE_RE, '')
      if (trimmed === '' || trimmed.startsWith('#')) continue
      let [text, goesOn] = this.trimContinuation(trimmed)
      const pieces = [{offset: 0, line: this.index, column: raw.length - trimmed.length + 1}]
      if (text.trim() === '' && !goesOn) continue
      while (goesOn && this.index < this.lines.length) {
        const next = this.lines[this.index++]
        if (this.isComment(next)) continue
        if (next.replace(LEADING_SPACE_RE, '') === '') continue
        const [piece, more] = this.trimContinuation(next)
        pieces.push({offset: text.length, line: this.index, column: 1})
        text += piece
        goesOn = more
      }
      if (text.trim() === '') continue
      return {text, pieces}
    }
    return undefined
  }

  private positionAt(logical: LogicalLine, offset: number): SourceLocation {
    let piece = logical.pieces[0]
    for (const candidate of logical.pieces) {
      if (candidate.offset <= offset) piece = candidate
    }
    return this.loc(piece.line, piece.column + offset - piece.offset)
  }

  /** Parses the instruction that starts at `base` in the logical line (ONBUILD's trigger starts later). */
  private parseInstruction(logical: LogicalLine, isTrigger: boolean, base = 0): Instruction {
    const whole = logical.text
    let start = base
    while (start < whole.length && /\s/u.test(whole[start])) start++
    const location = this.positionAt(logical, start)
    const lineText = whole.slice(start).trim()
    const sep = SEPARATOR_RE.exec(lineText)
    const word = sep === null ? lineText : lineText.slice(0, sep.index)
    const keyword = word.toUpperCase()
    if (!KNOWN.has(keyword)) {
      const suggestion = suggestInstruction(keyword)
      this.fail(
        location,
        `unknown instruction "${word}"${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}`,
        suggestion === undefined ? `use one of ${INSTRUCTIONS.join(', ')}` : `change "${word}" to ${suggestion}`,
      )
    }
    const restOffset = sep === null ? whole.length : start + sep.index + sep[0].length
    const rest = sep === null ? '' : lineText.slice(sep.index + sep[0].length)
    const instruction: Instruction = {
      keyword,
      original: lineText,
      location,
      endLine: this.index,
      flags: [],
      json: false,
      args: [],
      heredocs: [],
    }
    const {flags, restStart} = this.extractFlags(rest, logical, restOffset)
    const args = rest.slice(restStart)
    const argsOffset = restOffset + restStart
    instruction.flags = flags
    this.checkFlags(keyword, flags)
    this.parseArguments(instruction, args, logical, argsOffset, isTrigger)
    return instruction
  }

  /**
   * Reads the `--name[=value]` words before the arguments, quotes kept (the
   * builder expands them); a bare `--` ends them.
   */
  private extractFlags(rest: string, logical: LogicalLine, restOffset: number): {flags: InstructionFlag[]; restStart: number} {
    const flags: InstructionFlag[] = []
    let pos = 0
    for (;;) {
      while (pos < rest.length && /\s/u.test(rest[pos])) pos++
      if (!rest.startsWith('--', pos)) return {flags, restStart: pos}
      const wordStart = pos
      let quote = ''
      while (pos < rest.length) {
        const ch = rest[pos]
        if (quote !== '') {
          if (ch === quote) quote = ''
          else if (ch === this.directives.escape && quote === '"') pos++
        } else if (/\s/u.test(ch)) break
        else if (ch === '"' || ch === "'") quote = ch
        else if (ch === this.directives.escape) pos++
        pos++
      }
      const word = rest.slice(wordStart, Math.min(pos, rest.length))
      if (word === '--') {
        while (pos < rest.length && /\s/u.test(rest[pos])) pos++
        return {flags, restStart: pos}
      }
      const body = word.slice(2)
      const eq = body.indexOf('=')
      flags.push({
        name: eq < 0 ? body : body.slice(0, eq),
        value: eq < 0 ? undefined : body.slice(eq + 1),
        location: this.positionAt(logical, restOffset + wordStart),
      })
    }
  }

  private checkFlags(keyword: string, flags: InstructionFlag[]): void {
    const specs = INSTRUCTION_FLAGS[keyword] ?? {}
    const allowed = Object.keys(specs)
    const seen = new Set<string>()
    for (const flag of flags) {
      const spec = specs[flag.name]
      if (spec === undefined) {
        const accepted = allowed.length === 0 ? `${keyword} takes no flags` : `${keyword} accepts ${allowed.map(n => `--${n}`).join(', ')}`
        this.fail(flag.location, `unknown flag --${flag.name} for ${keyword}: ${accepted}`, allowed.length === 0 ? `remove --${flag.name}` : `remove --${flag.name} or use one of ${allowed.map(n => `--${n}`).join(', ')}`)
      }
      if (seen.has(flag.name) && spec.repeatable !== true) {
        this.fail(flag.location, `--${flag.name} given twice for ${keyword}`, `keep one --${flag.name}`)
      }
      seen.add(flag.name)
      if (spec.kind === 'string' && flag.value === undefined) {
        this.fail(flag.location, `missing a value on flag --${flag.name}`, `write --${flag.name}=VALUE`)
      }
      if (spec.kind === 'boolean' && flag.value !== undefined && !/^(true|false)$/i.test(flag.value)) {
        this.fail(flag.location, `--${flag.name} takes true or false, not "${flag.value}"`, `write --${flag.name} or --${flag.name}=false`)
      }
    }
  }

  private parseArguments(instruction: Instruction, args: string, logical: LogicalLine, argsOffset: number, isTrigger: boolean): void {
    const {keyword, location} = instruction
    const argsAt = this.positionAt(logical, Math.min(argsOffset, Math.max(0, logical.text.length - 1)))
    const trimmed = args.trim()
    switch (keyword) {
      case 'RUN':
      case 'CMD':
      case 'ENTRYPOINT':
      case 'SHELL': {
        this.setMaybeJson(instruction, trimmed, argsAt)
        if (trimmed === '') this.fail(location, `${keyword} requires at least one argument`, `write ${keyword} followed by a command`)
        if (keyword === 'SHELL' && !instruction.json) this.fail(argsAt, 'SHELL requires the arguments to be in JSON form', 'write SHELL ["/bin/sh", "-c"]')
        if ((keyword === 'RUN' || keyword === 'SHELL') && instruction.json && instruction.args.length === 0) {
          this.fail(argsAt, `${keyword} requires at least one argument`, `put the command in the array: ${keyword} ["executable", "arg"]`)
        }
        return
      }
      case 'ADD':
      case 'COPY':
      case 'VOLUME': {
        this.setMaybeJson(instruction, trimmed, argsAt)
        if (!instruction.json) instruction.args = splitWords(trimmed, this.directives.escape)
        if (keyword === 'VOLUME') {
          if (instruction.args.length === 0) this.fail(location, 'VOLUME requires at least one argument', 'write VOLUME /path')
        } else if (instruction.args.length < 2) {
          this.fail(location, `${keyword} requires at least two arguments: one or more sources and a destination`, `write ${keyword} SOURCE... DEST`)
        }
        return
      }
      case 'ENV':
      case 'LABEL':
        instruction.args = this.parseNameValues(keyword, trimmed, location)
        return
      case 'ARG': {
        const words = splitWords(trimmed, this.directives.escape)
        if (words.length === 0) this.fail(location, 'ARG requires at least one argument', 'write ARG NAME or ARG NAME=default')
        for (const word of words) {
          if (word.startsWith('=')) this.fail(argsAt, `ARG name is empty in "${word}"`, 'write ARG NAME=default')
        }
        instruction.args = words
        return
      }
      case 'FROM': {
        const words = splitWords(trimmed, this.directives.escape)
        if (words.length !== 1 && !(words.length === 3 && words[1].toUpperCase() === 'AS')) {
          this.fail(location, 'FROM requires either one argument or three ("FROM image AS name")', 'write FROM image or FROM image AS name')
        }
        if (isTrigger) this.fail(location, 'FROM is not allowed as an ONBUILD trigger', 'move the FROM out of ONBUILD')
        instruction.args = words
        return
      }
      case 'EXPOSE':
        instruction.args = splitWords(trimmed, this.directives.escape)
        if (instruction.args.length === 0) this.fail(location, 'EXPOSE requires at least one argument', 'write EXPOSE PORT[/PROTOCOL]')
        return
      case 'HEALTHCHECK':
        this.parseHealthcheck(instruction, trimmed, argsAt)
        return
      case 'ONBUILD': {
        if (trimmed === '') this.fail(location, 'ONBUILD requires at least one argument', 'write ONBUILD followed by an instruction, e.g. ONBUILD RUN make')
        if (isTrigger) this.fail(location, 'ONBUILD ONBUILD is not allowed', 'give ONBUILD one instruction other than ONBUILD')
        const trigger = this.parseInstruction(logical, true, argsOffset)
        if (trigger.keyword === 'MAINTAINER') this.fail(trigger.location, 'MAINTAINER is not allowed as an ONBUILD trigger', 'move MAINTAINER out of ONBUILD (or use LABEL)')
        instruction.trigger = trigger
        instruction.args = [trigger.original]
        return
      }
      default:
        if (trimmed === '') this.fail(location, `${keyword} requires exactly one argument`, `write ${keyword} VALUE`)
        instruction.args = [trimmed]
    }
  }

  /** Docker's rule: exec form only for a valid JSON array of strings. */
  private setMaybeJson(instruction: Instruction, text: string, at: SourceLocation): void {
    if (text.startsWith('[')) {
      let parsed: unknown
      let valid = true
      try {
        parsed = JSON.parse(text)
      } catch {
        valid = false
      }
      if (valid && Array.isArray(parsed)) {
        if (!parsed.every(item => typeof item === 'string')) {
          this.fail(at, 'a JSON array must hold only strings', `quote every element, e.g. ${instruction.keyword} ["echo", "1"]`)
        }
        instruction.json = true
        instruction.args = parsed as string[]
        return
      }
      if (!valid && hasUnterminatedJsonString(text)) {
        this.fail(at, 'unterminated quote in JSON array', `close every string with ", e.g. ${instruction.keyword} ["echo", "hello"]`)
      }
    }
    instruction.json = false
    instruction.args = text === '' ? [] : [text]
  }

  /** ENV and LABEL: `k=v ...`, or the legacy `k v` where the value is the rest of the line. */
  private parseNameValues(keyword: string, text: string, location: SourceLocation): string[] {
    const words = splitWords(text, this.directives.escape)
    if (words.length === 0) this.fail(location, `${keyword} requires at least one argument`, `write ${keyword} NAME=VALUE`)
    if (!words[0].includes('=')) {
      const parts = text.split(SEPARATOR_RE)
      const sep = SEPARATOR_RE.exec(text)
      if (parts.length < 2 || sep === null || text.slice(sep.index + sep[0].length) === '') {
        this.fail(location, `${keyword} must have two arguments: a name and a value`, `write ${keyword} ${words[0]}=VALUE`)
      }
      return [`${text.slice(0, sep.index)}=${text.slice(sep.index + sep[0].length)}`]
    }
    for (const word of words) {
      if (!word.includes('=')) {
        this.fail(location, `can't find = in "${word}": ${keyword} takes NAME=VALUE pairs`, `write ${word}=VALUE, or quote a value that has spaces`)
      }
      if (word.startsWith('=')) this.fail(location, `${keyword} names can not be blank ("${word}")`, `write ${keyword} NAME${word}`)
    }
    return words
  }

  private parseHealthcheck(instruction: Instruction, text: string, at: SourceLocation): void {
    const sep = SEPARATOR_RE.exec(text)
    const sub = (sep === null ? text : text.slice(0, sep.index)).toUpperCase()
    const rest = sep === null ? '' : text.slice(sep.index + sep[0].length).trim()
    if (sub === '') this.fail(instruction.location, 'HEALTHCHECK requires at least one argument', 'write HEALTHCHECK CMD command, or HEALTHCHECK NONE')
    if (sub === 'NONE') {
      if (rest !== '') this.fail(at, 'HEALTHCHECK NONE takes no arguments', 'write just HEALTHCHECK NONE')
      if (instruction.flags.length > 0) this.fail(instruction.flags[0].location, 'HEALTHCHECK NONE takes no options', 'remove the options or use HEALTHCHECK [OPTIONS] CMD command')
      instruction.subcommand = 'NONE'
      return
    }
    if (sub !== 'CMD') this.fail(at, `unknown type "${sub}" in HEALTHCHECK`, 'write HEALTHCHECK CMD command, or HEALTHCHECK NONE')
    instruction.subcommand = 'CMD'
    this.setMaybeJson(instruction, rest, at)
    if (instruction.args.length === 0) this.fail(at, 'missing command after HEALTHCHECK CMD', 'write HEALTHCHECK CMD command')
  }

  private readHeredocs(instruction: Instruction, logical: LogicalLine): void {
    const target = instruction.trigger ?? instruction
    if (!HEREDOC_INSTRUCTIONS.has(target.keyword) || target.json || !logical.text.includes('<<')) return
    const markers: Omit<Heredoc, 'content' | 'location'>[] = []
    for (const word of splitWords(logical.text, this.directives.escape)) {
      const marker = parseHeredocMarker(word)
      if (marker !== undefined) markers.push(marker)
    }
    for (const marker of markers) {
      const bodyStart = this.index + 1
      let content = ''
      let terminated = false
      while (this.index < this.lines.length) {
        const line = this.lines[this.index++]
        const candidate = marker.stripTabs ? line.replace(/^\t+/, '') : line
        if (candidate === marker.name) {
          terminated = true
          break
        }
        content += `${candidate}\n`
      }
      if (!terminated) {
        this.fail(
          instruction.location,
          `unterminated heredoc: no line "${marker.name}" ends the here-document`,
          `end the here-document with a line holding only ${marker.name}${marker.stripTabs ? ' (leading tabs allowed)' : ''}`,
        )
      }
      target.heredocs.push({...marker, content, location: this.loc(bodyStart, 1)})
    }
    target.endLine = this.index
    instruction.endLine = this.index
  }

  /** Only ARG may come before the first FROM, and there must be a FROM. */
  private checkStages(instructions: Instruction[]): void {
    if (instructions.length === 0) {
      this.fail(this.loc(1, 1), 'the Dockerfile has no instructions', 'start it with FROM image')
    }
    for (const instruction of instructions) {
      if (instruction.keyword === 'FROM') return
      if (instruction.keyword !== 'ARG') {
        this.fail(
          instruction.location,
          `${instruction.keyword} before the first FROM: only ARG may come before FROM`,
          'put FROM image (and any ARG it uses) at the top',
        )
      }
    }
    this.fail(this.loc(1, 1), 'no FROM instruction: the Dockerfile has no build stage', 'add FROM image (or FROM scratch) before the other instructions')
  }
}

/** A word `[fd]<<[-]NAME` as a heredoc marker; quotes in NAME turn expansion off. */
export function parseHeredocMarker(word: string): Omit<Heredoc, 'content' | 'location'> | undefined {
  const match = HEREDOC_RE.exec(word)
  if (match === null || match[3] === '') return undefined
  const [, fd, dash, rest] = match
  const quoted = /["']/.test(rest)
  const name = rest.replace(/["']/g, '')
  if (name === '') return undefined
  const marker: Omit<Heredoc, 'content' | 'location'> = {name, expand: !quoted, stripTabs: dash === '-'}
  if (fd !== '') marker.fileDescriptor = Number.parseInt(fd, 10)
  return marker
}

/**
 * Whitespace-separated words with quotes and escapes kept, a quoted part
 * keeping its spaces (BuildKit's parseWords).
 */
export function splitWords(text: string, escape: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote = ''
  const chars = Array.from(text)
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]
    if (quote === '') {
      if (/\s/u.test(ch)) {
        if (inWord) words.push(word)
        word = ''
        inWord = false
        continue
      }
      inWord = true
      if (ch === '"' || ch === "'") quote = ch
      else if (ch === escape) {
        if (i + 1 === chars.length) continue
        word += ch
        word += chars[++i]
        continue
      }
      word += ch
      continue
    }
    if (ch === quote) quote = ''
    else if (ch === escape && quote !== "'") {
      if (i + 1 === chars.length) continue
      word += ch
      word += chars[++i]
      continue
    }
    word += ch
  }
  if (inWord) words.push(word)
  return words
}

/** True when a `[`…-text holds a `"` that never closes (and no `'`, which would make it shell text). */
function hasUnterminatedJsonString(text: string): boolean {
  if (text.includes("'")) return false
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (inString) {
      if (ch === '\\') i++
      else if (ch === '"') inString = false
    } else if (ch === '"') inString = true
  }
  return inString
}

function suggestInstruction(word: string): string | undefined {
  if (word.length > 2 * Math.max(...INSTRUCTIONS.map(name => name.length))) return undefined
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of INSTRUCTIONS) {
    const distance = editDistance(word, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}
