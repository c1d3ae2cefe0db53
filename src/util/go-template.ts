/**
 * Go's text/template language, as Podman users write it in `--format`:
 * actions, pipelines, variables, if/else if/else, range (with $i, $v), with,
 * comments, whitespace trimming, and the functions Podman adds (json, join,
 * upper, lower, title, truncate, split, replace, contains, ...).
 *
 * A lexer makes tokens of each `{{ }}` action, a recursive-descent parser
 * makes a tree, and an evaluator walks it over JSON-shaped data. Values print
 * as Go's fmt %v does: `[a b]` for lists, `map[k:v]` for maps.
 */
import {InvalidArgumentError} from '../errors/index.js'

type Tok =
  | {k: 'field'; v: string[]; pos: number} // .A.B ; [] for "."
  | {k: 'var'; v: string; fields: string[]; pos: number} // $x.A
  | {k: 'ident'; v: string; pos: number}
  | {k: 'str'; v: string; pos: number}
  | {k: 'num'; v: number; pos: number}
  | {k: 'bool'; v: boolean; pos: number}
  | {k: 'nil'; pos: number}
  | {k: 'pipe' | 'lparen' | 'rparen' | 'assign' | 'declare' | 'comma'; pos: number}

type Node =
  | {t: 'text'; v: string}
  | {t: 'action'; pipe: Pipeline}
  | {t: 'if' | 'with'; pipe: Pipeline; then: Node[]; else?: Node[]}
  | {t: 'range'; pipe: Pipeline; then: Node[]; else?: Node[]}

interface Pipeline {
  decl: string[]
  assign: boolean
  cmds: Arg[][]
  pos: number
}

type Arg =
  | {a: 'field'; path: string[]; pos: number}
  | {a: 'var'; name: string; path: string[]; pos: number}
  | {a: 'ident'; name: string; pos: number}
  | {a: 'lit'; v: unknown}
  | {a: 'sub'; pipe: Pipeline; path: string[]}

const fail = (message: string, pos?: number): never => {
  throw new InvalidArgumentError(`template: ${message}${pos === undefined ? '' : ` at position ${pos}`}`)
}

/** Tokens of one action's body; `offset` is where the body starts in the source. */
function lexAction(src: string, offset: number): Tok[] {
  const toks: Tok[] = []
  let i = 0
  const ident = /[A-Za-z0-9_]/
  const path = (start: number): string[] => {
    const out: string[] = []
    while (src[i] === '.' && i + 1 < src.length && ident.test(src[i + 1])) {
      i++
      let j = i
      while (j < src.length && ident.test(src[j])) j++
      out.push(src.slice(i, j))
      i = j
    }
    if (out.length === 0 && start === i) fail('bad field', offset + start)
    return out
  }
  while (i < src.length) {
    const c = src[i]
    const pos = offset + i
    if (/\s/.test(c)) {
      i++
    } else if (c === '|') {
      toks.push({k: 'pipe', pos})
      i++
    } else if (c === '(') {
      toks.push({k: 'lparen', pos})
      i++
    } else if (c === ')') {
      toks.push({k: 'rparen', pos})
      i++
      if (src[i] === '.') toks.push({k: 'field', v: path(i), pos: offset + i})
    } else if (c === ',') {
      toks.push({k: 'comma', pos})
      i++
    } else if (c === ':' && src[i + 1] === '=') {
      toks.push({k: 'declare', pos})
      i += 2
    } else if (c === '=') {
      toks.push({k: 'assign', pos})
      i++
    } else if (c === '.') {
      if (i + 1 < src.length && ident.test(src[i + 1])) toks.push({k: 'field', v: path(i), pos})
      else {
        toks.push({k: 'field', v: [], pos})
        i++
      }
    } else if (c === '$') {
      let j = i + 1
      while (j < src.length && ident.test(src[j])) j++
      const name = src.slice(i, j)
      i = j
      const fields = src[i] === '.' ? path(i) : []
      toks.push({k: 'var', v: name, fields, pos})
    } else if (c === '"') {
      let j = i + 1
      let out = ''
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') {
          const e = src[j + 1]
          const map: Record<string, string> = {n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0'}
          if (e === undefined || !(e in map)) fail(`unknown escape sequence \\${e ?? ''}`, offset + j)
          out += map[e]
          j += 2
        } else out += src[j++]
      }
      if (j >= src.length) fail('unterminated quoted string', pos)
      toks.push({k: 'str', v: out, pos})
      i = j + 1
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1)
      if (j === -1) fail('unterminated raw quoted string', pos)
      toks.push({k: 'str', v: src.slice(i + 1, j), pos})
      i = j + 1
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(0x[0-9a-fA-F]+|\d+(\.\d*)?([eE][-+]?\d+)?)/.exec(src.slice(i))
      if (!m) fail(`bad number syntax: "${c}"`, pos)
      toks.push({k: 'num', v: Number(m![0]), pos})
      i += m![0].length
    } else if (ident.test(c)) {
      let j = i
      while (j < src.length && ident.test(src[j])) j++
      const word = src.slice(i, j)
      i = j
      if (word === 'true' || word === 'false') toks.push({k: 'bool', v: word === 'true', pos})
      else if (word === 'nil') toks.push({k: 'nil', pos})
      else toks.push({k: 'ident', v: word, pos})
    } else {
      fail(`unexpected "${c}" in command`, pos)
    }
  }
  return toks
}

interface Action {
  body: Tok[]
  pos: number
  keyword?: string
}

type Piece = {text: string} | Action

/** Split the source into text and actions, applying `{{-` and `-}}` trimming. */
function split(src: string): Piece[] {
  const pieces: Piece[] = []
  let i = 0
  while (i < src.length) {
    const open = src.indexOf('{{', i)
    if (open === -1) {
      pieces.push({text: src.slice(i)})
      break
    }
    let text = src.slice(i, open)
    let start = open + 2
    if (src[start] === '-' && /\s/.test(src[start + 1] ?? '')) {
      text = text.replace(/\s+$/, '')
      start += 2
    }
    if (text) pieces.push({text})
    const close = findClose(src, start)
    if (close === -1) fail('unclosed action', open)
    let end = close
    let after = close + 2
    if (src[close - 1] === '-' && /\s/.test(src[close - 2] ?? '')) {
      end = close - 2
      const m = /^\s*/.exec(src.slice(after))
      after += m![0].length
    }
    const inner = src.slice(start, end)
    if (/^\s*\/\*[\s\S]*\*\/\s*$/.test(inner)) {
      i = after
      continue
    }
    const toks = lexAction(inner, start)
    const first = toks[0]
    const keywords = ['if', 'else', 'end', 'range', 'with', 'break', 'continue', 'define', 'template', 'block']
    if (first?.k === 'ident' && keywords.includes(first.v)) pieces.push({body: toks.slice(1), pos: open, keyword: first.v})
    else pieces.push({body: toks, pos: open})
    i = after
  }
  return pieces
}

function findClose(src: string, from: number): number {
  let i = from
  while (i < src.length) {
    const c = src[i]
    if (c === '"') {
      i++
      while (i < src.length && src[i] !== '"') i += src[i] === '\\' ? 2 : 1
      i++
    } else if (c === '`') {
      i = src.indexOf('`', i + 1) + 1
      if (i === 0) return -1
    } else if (c === '}' && src[i + 1] === '}') return i
    else i++
  }
  return -1
}

class Parser {
  private at = 0
  constructor(private readonly pieces: Piece[]) {}

  parseList(stop: string[]): {nodes: Node[]; end?: Action} {
    const nodes: Node[] = []
    while (this.at < this.pieces.length) {
      const p = this.pieces[this.at++]
      if ('text' in p) {
        nodes.push({t: 'text', v: p.text})
        continue
      }
      if (p.keyword && stop.includes(p.keyword)) return {nodes, end: p}
      switch (p.keyword) {
        case undefined:
          if (p.body.length === 0) fail('missing value for command', p.pos)
          nodes.push({t: 'action', pipe: parsePipeline(p.body, p.pos, true)})
          break
        case 'if':
        case 'with':
        case 'range':
          nodes.push(this.parseBranch(p.keyword, p))
          break
        case 'end':
        case 'else':
          fail(`unexpected {{${p.keyword}}}`, p.pos)
          break
        default:
          fail(`{{${p.keyword}}} is not supported in --format`, p.pos)
      }
    }
    if (stop.length > 0) fail(`unexpected EOF: missing {{end}}`)
    return {nodes}
  }

  private parseBranch(kind: 'if' | 'with' | 'range', action: Action): Node {
    if (action.body.length === 0) fail(`missing value for ${kind}`, action.pos)
    const pipe = parsePipeline(action.body, action.pos, kind !== 'if')
    const then = this.parseList(['else', 'end'])
    const node = {t: kind, pipe, then: then.nodes} as Node & {else?: Node[]}
    if (then.end?.keyword === 'else') {
      const body = then.end.body
      if (body.length > 0 && body[0].k === 'ident' && (body[0].v === 'if' || body[0].v === 'with') && kind !== 'range') {
        // `else if` / `else with`: a nested branch that shares our {{end}}.
        const nested = this.parseBranch(body[0].v, {body: body.slice(1), pos: then.end.pos, keyword: body[0].v})
        node.else = [nested]
        return node
      }
      const rest = this.parseList(['end'])
      node.else = rest.nodes
    }
    return node
  }
}

function parsePipeline(toks: Tok[], pos: number, allowDecl: boolean): Pipeline {
  const pipe: Pipeline = {decl: [], assign: false, cmds: [], pos}
  let i = 0
  // `$x :=`, `$i, $v :=`, `$x =`
  const declEnd = toks.findIndex(t => t.k === 'declare' || t.k === 'assign')
  if (declEnd > 0 && toks.slice(0, declEnd).every(t => t.k === 'var' || t.k === 'comma')) {
    if (!allowDecl && declEnd > 0 && toks.slice(0, declEnd).filter(t => t.k === 'var').length > 1) fail('too many declarations', pos)
    pipe.decl = toks.slice(0, declEnd).filter((t): t is Extract<Tok, {k: 'var'}> => t.k === 'var').map(t => t.v)
    pipe.assign = toks[declEnd].k === 'assign'
    i = declEnd + 1
  }
  let cmd: Arg[] = []
  while (i < toks.length) {
    const t = toks[i]
    if (t.k === 'pipe') {
      if (cmd.length === 0) fail('missing command before |', t.pos)
      pipe.cmds.push(cmd)
      cmd = []
      i++
      continue
    }
    if (t.k === 'lparen') {
      let depth = 1
      let j = i + 1
      while (j < toks.length && depth > 0) {
        if (toks[j].k === 'lparen') depth++
        if (toks[j].k === 'rparen') depth--
        j++
      }
      if (depth !== 0) fail('unclosed left paren', t.pos)
      const inner = parsePipeline(toks.slice(i + 1, j - 1), t.pos, false)
      const next = toks[j]
      let path: string[] = []
      if (next && next.k === 'field' && next.pos === toks[j - 1].pos + 1) {
        path = next.v
        j++
      }
      cmd.push({a: 'sub', pipe: inner, path})
      i = j
      continue
    }
    cmd.push(toArg(t))
    i++
  }
  if (cmd.length === 0) fail('missing value for command', pos)
  pipe.cmds.push(cmd)
  return pipe
}

function toArg(t: Tok): Arg {
  switch (t.k) {
    case 'field':
      return {a: 'field', path: t.v, pos: t.pos}
    case 'var':
      return {a: 'var', name: t.v, path: t.fields, pos: t.pos}
    case 'ident':
      return {a: 'ident', name: t.v, pos: t.pos}
    case 'str':
    case 'num':
    case 'bool':
      return {a: 'lit', v: t.v}
    case 'nil':
      return {a: 'lit', v: null}
    default:
      return fail(`unexpected "${t.k}" in operand`, t.pos)
  }
}

// ---------------------------------------------------------------- evaluation

const NO_VALUE = Symbol('no value')

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'nil'
  if (Array.isArray(v)) return 'list'
  if (typeof v === 'object') return 'object'
  return typeof v
}

/** Go's %v. */
export function formatValue(v: unknown): string {
  if (v === NO_VALUE || v === undefined) return '<no value>'
  if (v === null) return '<nil>'
  if (Array.isArray(v)) return `[${v.map(formatInner).join(' ')}]`
  if (typeof v === 'object') {
    const keys = Object.keys(v as object).sort()
    return `map[${keys.map(k => `${k}:${formatInner((v as Record<string, unknown>)[k])}`).join(' ')}]`
  }
  return String(v)
}

function formatInner(v: unknown): string {
  return v === undefined || v === NO_VALUE ? '<nil>' : formatValue(v)
}

function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === NO_VALUE || v === false || v === 0 || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === 'object') return Object.keys(v as object).length > 0
  return true
}

function field(value: unknown, name: string, pos: number): unknown {
  if (value === null || value === undefined || value === NO_VALUE) return fail(`nil pointer evaluating .${name}`, pos)
  if (typeof value !== 'object' || Array.isArray(value)) return fail(`can't evaluate field ${name} in type ${typeName(value)}`, pos)
  const obj = value as Record<string, unknown>
  if (Object.prototype.hasOwnProperty.call(obj, name)) return obj[name]
  // Maps (labels, annotations) are open-ended: a missing key is <no value>. A
  // record with capitalised fields is a struct: a missing field is an error.
  const keys = Object.keys(obj)
  const isStruct = keys.length > 0 && keys.every(k => /^[A-Z]/.test(k))
  if (isStruct) return fail(`no field "${name}" (fields: ${keys.join(', ')})`, pos)
  return NO_VALUE
}

function walkPath(value: unknown, path: string[], pos: number): unknown {
  let v = value
  for (const name of path) v = field(v, name, pos)
  return v
}

type Fn = (...args: unknown[]) => unknown

function toStr(v: unknown): string {
  return typeof v === 'string' ? v : formatValue(v)
}

function compare(a: unknown, b: unknown, op: string): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    return op === 'lt' ? a < b : op === 'le' ? a <= b : op === 'gt' ? a > b : a >= b
  }
  if (typeof a === 'string' && typeof b === 'string') {
    return op === 'lt' ? a < b : op === 'le' ? a <= b : op === 'gt' ? a > b : a >= b
  }
  return fail(`incompatible types for comparison: ${typeName(a)} and ${typeName(b)}`)
}

function goPrintf(format: string, args: unknown[]): string {
  let n = 0
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([vsdqfxXtT%])/g, (_m, flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%'
    const arg = args[n++]
    let out: string
    switch (verb) {
      case 'd':
        out = String(Math.trunc(Number(arg)))
        break
      case 'f':
        out = Number(arg).toFixed(prec === undefined ? 6 : Number(prec))
        break
      case 'q':
        out = JSON.stringify(toStr(arg))
        break
      case 'x':
      case 'X':
        out = typeof arg === 'number' ? arg.toString(16) : Buffer.from(toStr(arg)).toString('hex')
        if (verb === 'X') out = out.toUpperCase()
        break
      case 't':
        out = String(Boolean(arg))
        break
      case 'T':
        out = typeName(arg)
        break
      default:
        out = toStr(arg)
        if (prec !== undefined && verb === 's') out = out.slice(0, Number(prec))
    }
    if (width) out = flags.includes('-') ? out.padEnd(Number(width)) : out.padStart(Number(width), flags.includes('0') ? '0' : ' ')
    return out
  })
}

const FUNCS: Record<string, Fn> = {
  and: (...a) => {
    for (const v of a) if (!truthy(v)) return v
    return a[a.length - 1]
  },
  or: (...a) => {
    for (const v of a) if (truthy(v)) return v
    return a[a.length - 1]
  },
  not: v => !truthy(v),
  eq: (a, ...rest) => rest.some(b => a === b || (a === NO_VALUE && b === null)),
  ne: (a, b) => a !== b,
  lt: (a, b) => compare(a, b, 'lt'),
  le: (a, b) => compare(a, b, 'le'),
  gt: (a, b) => compare(a, b, 'gt'),
  ge: (a, b) => compare(a, b, 'ge'),
  len: v => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length
    if (v && typeof v === 'object') return Object.keys(v).length
    return fail(`len of type ${typeName(v)}`)
  },
  index: (v, ...keys) => {
    let cur = v
    for (const k of keys) {
      if (Array.isArray(cur)) {
        if (typeof k !== 'number' || k < 0 || k >= cur.length) return fail(`index out of range: ${formatValue(k)}`)
        cur = cur[k]
      } else if (cur && typeof cur === 'object') {
        const obj = cur as Record<string, unknown>
        cur = Object.prototype.hasOwnProperty.call(obj, String(k)) ? obj[String(k)] : NO_VALUE
      } else if (cur === null || cur === undefined || cur === NO_VALUE) {
        return NO_VALUE
      } else return fail(`can't index item of type ${typeName(cur)}`)
    }
    return cur
  },
  print: (...a) => a.map(toStr).join(''),
  println: (...a) => a.map(toStr).join(' ') + '\n',
  printf: (f, ...a) => goPrintf(toStr(f), a),
  json: v => JSON.stringify(v === NO_VALUE ? null : v),
  join: (list, sep) => (Array.isArray(list) ? list.map(toStr).join(toStr(sep)) : toStr(list)),
  split: (s, sep) => toStr(s).split(toStr(sep)),
  upper: s => toStr(s).toUpperCase(),
  lower: s => toStr(s).toLowerCase(),
  title: s => toStr(s).replace(/\b\w/g, c => c.toUpperCase()),
  trim: s => toStr(s).trim(),
  truncate: (s, n) => toStr(s).slice(0, Number(n)),
  pad: (s, n) => toStr(s).padEnd(Number(n)),
  replace: (s, from, to, n) => {
    const str = toStr(s)
    if (n === undefined || Number(n) < 0) return str.split(toStr(from)).join(toStr(to))
    let out = str
    for (let i = 0; i < Number(n); i++) out = out.replace(toStr(from), toStr(to))
    return out
  },
  contains: (s, sub) => toStr(s).includes(toStr(sub)),
  hasPrefix: (s, p) => toStr(s).startsWith(toStr(p)),
  hasSuffix: (s, p) => toStr(s).endsWith(toStr(p)),
}

class Scope {
  private readonly vars: Map<string, unknown>[]
  constructor(root: unknown) {
    this.vars = [new Map([['$', root]])]
  }
  push(): void {
    this.vars.push(new Map())
  }
  pop(): void {
    this.vars.pop()
  }
  declare(name: string, v: unknown): void {
    this.vars[this.vars.length - 1].set(name, v)
  }
  assign(name: string, v: unknown, pos: number): void {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].has(name)) {
      this.vars[i].set(name, v)
      return
    }
    fail(`undefined variable: ${name}`, pos)
  }
  get(name: string, pos: number): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].has(name)) return this.vars[i].get(name)
    return fail(`undefined variable: ${name}`, pos)
  }
}

function evalArg(arg: Arg, dot: unknown, scope: Scope): unknown {
  switch (arg.a) {
    case 'field':
      return walkPath(dot, arg.path, arg.pos)
    case 'var':
      return walkPath(scope.get(arg.name, arg.pos), arg.path, arg.pos)
    case 'lit':
      return arg.v
    case 'sub':
      return walkPath(evalPipeline(arg.pipe, dot, scope), arg.path, arg.pipe.pos)
    case 'ident': {
      const fn = FUNCS[arg.name]
      if (!fn) return fail(`function "${arg.name}" not defined`, arg.pos)
      return fn()
    }
  }
}

function evalCommand(cmd: Arg[], dot: unknown, scope: Scope, piped: unknown[]): unknown {
  const [head, ...rest] = cmd
  if (head.a === 'ident') {
    const fn = FUNCS[head.name]
    if (!fn) return fail(`function "${head.name}" not defined`, head.pos)
    const args = rest.map(a => evalArg(a, dot, scope))
    return fn(...args, ...piped)
  }
  if (rest.length > 0 || piped.length > 0) {
    const what = head.a === 'field' ? `.${head.path.join('.')}` : 'value'
    return fail(`can't give argument to non-function ${what}`, 'pos' in head ? head.pos : undefined)
  }
  return evalArg(head, dot, scope)
}

function evalPipeline(pipe: Pipeline, dot: unknown, scope: Scope): unknown {
  let value: unknown
  pipe.cmds.forEach((cmd, i) => {
    value = evalCommand(cmd, dot, scope, i === 0 ? [] : [value])
  })
  if (pipe.decl.length === 1) {
    if (pipe.assign) scope.assign(pipe.decl[0], value, pipe.pos)
    else scope.declare(pipe.decl[0], value)
  }
  return value
}

function execute(nodes: Node[], dot: unknown, scope: Scope, out: string[]): void {
  for (const node of nodes) {
    switch (node.t) {
      case 'text':
        out.push(node.v)
        break
      case 'action': {
        const v = evalPipeline(node.pipe, dot, scope)
        if (node.pipe.decl.length === 0) out.push(formatValue(v))
        break
      }
      case 'if':
      case 'with': {
        scope.push()
        const v = evalPipeline(node.pipe, dot, scope)
        if (truthy(v)) execute(node.then, node.t === 'with' ? v : dot, scope, out)
        else if (node.else) execute(node.else, dot, scope, out)
        scope.pop()
        break
      }
      case 'range': {
        scope.push()
        const decl = node.pipe.decl
        const v = evalPipeline({...node.pipe, decl: []}, dot, scope)
        const entries: Array<[unknown, unknown]> = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v && typeof v === 'object'
            ? Object.keys(v).sort().map(k => [k, (v as Record<string, unknown>)[k]])
            : typeof v === 'number'
              ? Array.from({length: v}, (_x, i) => [i, i])
              : v === null || v === undefined || v === NO_VALUE
                ? []
                : fail(`range can't iterate over ${formatValue(v)}`, node.pipe.pos)
        if (entries.length === 0) {
          if (node.else) execute(node.else, dot, scope, out)
        } else {
          for (const [k, x] of entries) {
            scope.push()
            if (decl.length === 1) scope.declare(decl[0], x)
            if (decl.length === 2) {
              scope.declare(decl[0], k)
              scope.declare(decl[1], x)
            }
            execute(node.then, x, scope, out)
            scope.pop()
          }
        }
        scope.pop()
        break
      }
    }
  }
}

export interface CompiledTemplate {
  execute(data: unknown): string
}

export function compileTemplate(source: string): CompiledTemplate {
  const {nodes} = new Parser(split(source)).parseList([])
  return {
    execute(data: unknown): string {
      const out: string[] = []
      execute(nodes, data, new Scope(data), out)
      return out.join('')
    },
  }
}

/** The field path of a template that is one plain field (`{{.Foo}}`), for table headers. */
export function plainFieldOf(source: string): string | undefined {
  const m = /^\{\{-?\s*\.([A-Za-z0-9_.]+)\s*-?\}\}$/.exec(source.trim())
  return m?.[1]
}
