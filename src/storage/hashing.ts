/**
 * sha256 hashing: digests of bytes and streams, and ChainIDs. Kept apart from
 * digest.ts because node:crypto costs about 3 ms to load, which commands that
 * only read the store (images, inspect) should not pay.
 */
import {createHash, type Hash} from 'node:crypto'
import {Transform, type TransformCallback} from 'node:stream'

export function sha256(data: string | Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex')
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
