/** sha256 digests in the OCI form `sha256:<hex>`, and the streams that compute them. */
import {createHash, type Hash} from 'node:crypto'
import {Transform, type TransformCallback} from 'node:stream'
import {InvalidArgumentError} from '../errors/index.js'

const DIGEST = /^sha256:[a-f0-9]{64}$/

export function sha256(data: string | Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex')
}

export function isDigest(value: string): boolean {
  return DIGEST.test(value)
}

export function digestHex(digest: string): string {
  if (!DIGEST.test(digest)) throw new InvalidArgumentError(`invalid digest "${digest}": expected sha256:<64 hex digits>`)
  return digest.slice(7)
}

/** ChainID per the OCI image spec: the identity of a layer together with all below it. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = []
  for (const diffId of diffIds) {
    out.push(out.length === 0 ? diffId : sha256(`${out[out.length - 1]} ${diffId}`))
  }
  return out
}

/** Passes bytes through while counting and hashing them. */
export class DigestingStream extends Transform {
  private readonly hash: Hash = createHash('sha256')
  private result?: string
  size = 0

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk)
    this.size += chunk.length
    cb(null, chunk)
  }

  /** The digest of everything that passed; callable more than once. */
  digest(): string {
    this.result ??= 'sha256:' + this.hash.digest('hex')
    return this.result
  }
}
