/** Where kube play and kube down read YAML from: a file, an http(s) URL, or `-` for standard input. */
import {readFile} from 'node:fs/promises'
import {InvalidArgumentError, isErrno} from '../errors/index.js'

export interface KubeSource {
  text: string
  /** For messages: the path, the URL, or `(stdin)`. */
  name: string
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function readKubeSource(ref: string): Promise<KubeSource> {
  if (ref === '-') return {text: await readStdin(), name: '(stdin)'}
  if (/^https?:\/\//.test(ref)) {
    let response: Response
    try {
      response = await fetch(ref)
    } catch (err) {
      // fetch says only "fetch failed"; the reason (refused, no such host) is its cause.
      const cause = (err as Error & {cause?: unknown}).cause
      throw new InvalidArgumentError(`fetching ${ref}: ${cause instanceof Error ? cause.message : (err as Error).message}`)
    }
    if (!response.ok) throw new InvalidArgumentError(`fetching ${ref}: ${response.status} ${response.statusText}`)
    return {text: await response.text(), name: ref}
  }
  try {
    return {text: await readFile(ref, 'utf8'), name: ref}
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new InvalidArgumentError(`${ref}: no such file`, {hint: 'Give a YAML file, an http(s) URL, or - to read standard input'})
    if (isErrno(err, 'EISDIR')) throw new InvalidArgumentError(`${ref}: is a directory, not a YAML file`)
    throw new InvalidArgumentError(`reading ${ref}: ${(err as Error).message}`)
  }
}
