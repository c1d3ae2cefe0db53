/**
 * Reading Kubernetes YAML: every document of a stream, with its source
 * positions kept, so a syntax error and every field tspod does not act on
 * can be reported as `file:line:column`.
 */
import {LineCounter, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node} from 'yaml'
import {InvalidArgumentError} from '../errors/index.js'

export interface KubeDocument {
  /** The document's content as plain data. */
  value: Record<string, unknown>
  /** Where the node at a path (keys and list indexes) starts, as `file:line:column`. */
  locate(path: Array<string | number>): string
  source: string
  index: number
}

function position(source: string, counter: LineCounter, offset: number | undefined): string {
  if (offset === undefined) return source
  const {line, col} = counter.linePos(offset)
  return `${source}:${line}:${col}`
}

function nodeAt(doc: Document, path: Array<string | number>): {offset?: number} {
  let node: unknown = doc.contents
  let offset = (doc.contents as Node | null)?.range?.[0]
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find(p => isScalar(p.key) && p.key.value === step)
      if (!pair) break
      offset = (pair.key as Node).range?.[0] ?? offset
      node = pair.value
    } else if (isSeq(node) && typeof step === 'number') {
      node = node.items[step]
      offset = (node as Node | undefined)?.range?.[0] ?? offset
    } else {
      break
    }
  }
  return {offset}
}

/**
 * Every non-empty document of `text`. A syntax error is thrown as
 * `source:line:column: message`; a document that is not a mapping too.
 */
export function parseKubeDocuments(text: string, source: string): KubeDocument[] {
  const counter = new LineCounter()
  const docs = parseAllDocuments(text, {lineCounter: counter, prettyErrors: false, uniqueKeys: true})
  if ('empty' in docs) {
    const e = docs.errors[0]
    if (e) throw new InvalidArgumentError(`${position(source, counter, e.pos[0])}: ${e.message.split('\n')[0]}`)
    return []
  }
  const out: KubeDocument[] = []
  for (const [index, doc] of docs.entries()) {
    const error = doc.errors[0]
    if (error) {
      const where = error.linePos ? `${source}:${error.linePos[0].line}:${error.linePos[0].col}` : position(source, counter, error.pos[0])
      throw new InvalidArgumentError(`${where}: ${error.message.split('\n')[0]}`, {hint: 'Fix the YAML at that position'})
    }
    const value = doc.toJS({maxAliasCount: 100}) as unknown
    if (value === null || value === undefined) continue
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new InvalidArgumentError(`${position(source, counter, (doc.contents as Node | null)?.range?.[0])}: a Kubernetes object must be a mapping with apiVersion, kind and metadata`)
    }
    out.push({
      value: value as Record<string, unknown>,
      locate: path => position(source, counter, nodeAt(doc, path).offset),
      source,
      index,
    })
  }
  return out
}
