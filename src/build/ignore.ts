/**
 * .dockerignore / .containerignore with Docker's semantics: patterns are
 * cleaned like Go's filepath.Clean, a leading `/` is dropped, `**` spans any
 * number of directories, the rest is filepath.Match syntax, a later pattern
 * wins over an earlier one, `!` re-includes, and a pattern that matches a
 * directory excludes everything beneath it. Docker does not tell files from
 * directories here (a trailing `/` is cleaned away), so neither do we.
 */

import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {isErrno} from '../errors/index.js'
import {DockerfileError} from './dockerfile-error.js'

export interface IgnoreMatcher {
  /** The file the patterns came from, or undefined when there was none. */
  readonly source: string | undefined
  readonly patterns: readonly string[]
  /** True when `relPath` (relative to the context, `/`-separated) is left out of the context. */
  ignores(relPath: string, isDir?: boolean): boolean
  /**
   * False only when nothing beneath the ignored directory `relDir` can be
   * re-included by a `!` pattern, so a walker may skip it whole.
   */
  mayContainIncluded(relDir: string): boolean
}

export interface LoadIgnoreOptions {
  /** An explicit ignore file (`--ignorefile`): used instead of the search. */
  ignoreFile?: string
}

/**
 * Podman's search order: `<Dockerfile>.dockerignore`, then
 * `<Dockerfile>.containerignore` beside the Dockerfile, then `.containerignore`
 * and `.dockerignore` in the context.
 */
export async function loadIgnore(contextDir: string, dockerfilePath: string, options: LoadIgnoreOptions = {}): Promise<IgnoreMatcher> {
  const candidates = options.ignoreFile !== undefined
    ? [options.ignoreFile]
    : [
        `${dockerfilePath}.dockerignore`,
        `${dockerfilePath}.containerignore`,
        join(contextDir, '.containerignore'),
        join(contextDir, '.dockerignore'),
      ]
  for (const candidate of candidates) {
    let text: string
    try {
      text = await readFile(candidate, 'utf8')
    } catch (err) {
      if (options.ignoreFile === undefined && (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR'))) continue
      throw err
    }
    return createIgnoreMatcher(readIgnorePatterns(text), candidate)
  }
  return createIgnoreMatcher([], undefined)
}

/** Docker's ignore-file reader: `#` comments only at the start of a line, blank lines skipped, paths cleaned. */
export function readIgnorePatterns(text: string): string[] {
  const patterns: string[] = []
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split('\n')
  for (const line of lines) {
    if (line.startsWith('#')) continue
    let pattern = line.trim()
    if (pattern === '') continue
    const invert = pattern.startsWith('!')
    if (invert) pattern = pattern.slice(1).trim()
    if (pattern !== '') {
      pattern = cleanPath(pattern)
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1)
    }
    patterns.push(invert ? `!${pattern}` : pattern)
  }
  return patterns
}

/** Go's filepath.Clean for `/`-separated paths. */
export function cleanPath(path: string): string {
  if (path === '') return '.'
  const rooted = path.startsWith('/')
  const out: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!rooted) out.push('..')
      continue
    }
    out.push(part)
  }
  const joined = out.join('/')
  if (rooted) return `/${joined}`
  return joined === '' ? '.' : joined
}

interface CompiledPattern {
  text: string
  exclusion: boolean
  test: (path: string) => boolean
  /** Per path component, for deciding whether a directory can hold re-included files. */
  components: string[]
}

export function createIgnoreMatcher(patterns: readonly string[], source: string | undefined): IgnoreMatcher {
  const compiled: CompiledPattern[] = []
  for (const raw of patterns) {
    let text = raw.trim()
    if (text === '') continue
    let exclusion = false
    if (text.startsWith('!')) {
      if (text.length === 1) throw ignoreError(source, 'illegal exclusion pattern "!"')
      exclusion = true
      text = text.slice(1)
    }
    text = cleanPath(text)
    let test: (path: string) => boolean
    try {
      test = compileGlob(text)
    } catch (err) {
      throw ignoreError(source, `syntax error in pattern "${raw}": ${(err as Error).message}`)
    }
    compiled.push({text, exclusion, test, components: text.split('/')})
  }
  const hasExclusions = compiled.some(p => p.exclusion)

  return {
    source,
    patterns: [...patterns],
    ignores(relPath: string): boolean {
      const file = normaliseRelPath(relPath)
      const parent = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.'
      const parentParts = parent === '.' ? [] : parent.split('/')
      let matched = false
      for (const pattern of compiled) {
        // Once matched only exclusions matter, and before only inclusions.
        if (pattern.exclusion !== matched) continue
        let match = pattern.test(file)
        for (let i = 0; !match && i < parentParts.length; i++) {
          match = pattern.test(parentParts.slice(0, i + 1).join('/'))
        }
        if (match) matched = !pattern.exclusion
      }
      return matched
    },
    mayContainIncluded(relDir: string): boolean {
      if (!hasExclusions) return false
      const parts = normaliseRelPath(relDir).split('/')
      return compiled.some(pattern => pattern.exclusion && couldMatchBeneath(pattern.components, parts))
    },
  }
}

function normaliseRelPath(relPath: string): string {
  const cleaned = cleanPath(relPath)
  return cleaned.startsWith('/') ? cleaned.slice(1) || '.' : cleaned
}

/** True when a pattern split into components might match `dir` or something inside it. */
function couldMatchBeneath(components: string[], dir: string[]): boolean {
  for (let i = 0; i < dir.length; i++) {
    const component = components[i]
    if (component === undefined) return true
    if (component.includes('**')) return true
    if (!compileGlob(component)(dir[i])) return false
  }
  return true
}

type CharTest = (ch: string) => boolean

/**
 * The matcher is a small NFA walked in step over the path (as Go's RE2
 * does), not a backtracking regular expression: patterns like
 * `a*a*a*a*b` are matched against every file of the context, and must stay
 * linear in the path's length.
 */
type NfaNode = {kind: 'char'; test: CharTest; next: number} | {kind: 'split'; a: number; b: number} | {kind: 'match'}

const notSlash: CharTest = ch => ch !== '/'
const anyChar: CharTest = () => true

/**
 * A cleaned pattern as Docker reads it: `**` followed by the end is any
 * rest, `**` elsewhere any number of leading directories, `*` and `?`
 * stop at `/`, `[...]` and `\` as in Go's filepath.Match.
 */
function compileGlob(pattern: string): (path: string) => boolean {
  type Token = {kind: 'char'; test: CharTest} | {kind: 'star'; test: CharTest} | {kind: 'dirs'}
  const tokens: Token[] = []
  const chars = Array.from(pattern)
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]
    if (ch === '*' && chars[i + 1] === '*') {
      i++
      if (chars[i + 1] === '/') i++
      tokens.push(i + 1 >= chars.length ? {kind: 'star', test: anyChar} : {kind: 'dirs'})
    } else if (ch === '*') {
      tokens.push({kind: 'star', test: notSlash})
    } else if (ch === '?') {
      tokens.push({kind: 'char', test: notSlash})
    } else if (ch === '\\') {
      if (i + 1 >= chars.length) throw new Error('trailing backslash')
      const literal = chars[++i]
      tokens.push({kind: 'char', test: c => c === literal})
    } else if (ch === '[') {
      const cls = readClass(chars, i)
      tokens.push({kind: 'char', test: cls.test})
      i = cls.end
    } else {
      tokens.push({kind: 'char', test: c => c === ch})
    }
  }

  const nodes: NfaNode[] = [{kind: 'match'}]
  let next = 0
  for (let t = tokens.length - 1; t >= 0; t--) {
    const token = tokens[t]
    if (token.kind === 'char') {
      nodes.push({kind: 'char', test: token.test, next})
      next = nodes.length - 1
    } else if (token.kind === 'star') {
      const loop = nodes.length
      nodes.push({kind: 'split', a: loop + 1, b: next})
      nodes.push({kind: 'char', test: token.test, next: loop})
      next = loop
    } else {
      // (.*/)? : skip it, or any characters and then a slash.
      nodes.push({kind: 'char', test: ch => ch === '/', next})
      const slash = nodes.length - 1
      const loop = nodes.length
      nodes.push({kind: 'split', a: loop + 1, b: slash})
      nodes.push({kind: 'char', test: anyChar, next: loop})
      nodes.push({kind: 'split', a: loop, b: next})
      next = nodes.length - 1
    }
  }
  const start = next

  return path => {
    const seen = new Int32Array(nodes.length).fill(-1)
    let step = 0
    const addClosure = (set: number[], index: number): void => {
      if (seen[index] === step) return
      seen[index] = step
      const node = nodes[index]
      if (node.kind === 'split') {
        addClosure(set, node.a)
        addClosure(set, node.b)
      } else {
        set.push(index)
      }
    }
    let current: number[] = []
    addClosure(current, start)
    for (const ch of path) {
      step++
      const following: number[] = []
      for (const index of current) {
        const node = nodes[index]
        if (node.kind === 'char' && node.test(ch)) addClosure(following, node.next)
      }
      if (following.length === 0) return false
      current = following
    }
    return current.some(index => nodes[index].kind === 'match')
  }
}

/** Go filepath.Match's `[^a-z]` class; an unclosed or empty class is a syntax error. */
function readClass(chars: string[], start: number): {test: CharTest; end: number} {
  let i = start + 1
  let negate = false
  if (chars[i] === '^') {
    negate = true
    i++
  }
  const ranges: [string, string][] = []
  for (; i < chars.length; i++) {
    let low = chars[i]
    if (low === ']' && ranges.length > 0) {
      return {test: ch => ranges.some(([lo, hi]) => ch >= lo && ch <= hi) !== negate, end: i}
    }
    if (low === ']' || low === '-') throw new Error('bad character class')
    if (low === '\\') {
      low = chars[++i]
      if (low === undefined) break
    }
    let high = low
    if (chars[i + 1] === '-' && chars[i + 2] !== undefined && chars[i + 2] !== ']') {
      high = chars[i + 2]
      i += 2
      if (high === '\\') {
        high = chars[++i]
        if (high === undefined) break
      }
      if (high < low) throw new Error('bad character range')
    }
    ranges.push([low, high])
  }
  throw new Error('unclosed character class')
}

function ignoreError(source: string | undefined, problem: string): DockerfileError {
  return new DockerfileError(
    undefined,
    `${source ?? 'ignore patterns'}: ${problem}`,
    'fix the pattern: close every [ with ], do not end it with \\, write !PATH to re-include PATH',
  )
}
