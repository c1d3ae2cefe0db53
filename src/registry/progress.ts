/**
 * What pull and push report while they work. The domain emits these events;
 * the CLI renders them (spinners on a terminal, Podman's plain lines
 * otherwise, nothing with -q).
 */
import {Transform, type TransformCallback} from 'node:stream'

export type TransferEvent =
  | {type: 'trying'; reference: string}
  | {type: 'signatures'}
  | {type: 'blob-start'; digest: string; size?: number; what: 'blob' | 'config'}
  | {type: 'blob-skip'; digest: string; what: 'blob' | 'config'; reason: 'exists' | 'mounted'}
  | {type: 'blob-bytes'; digest: string; bytes: number; size?: number}
  | {type: 'blob-done'; digest: string; what: 'blob' | 'config'}
  | {type: 'manifest'}

export type TransferListener = (event: TransferEvent) => void

/** Counts bytes on their way through and reports them, at most every 100 ms. */
export class ProgressStream extends Transform {
  private bytes = 0
  private last = 0

  constructor(private readonly digest: string, private readonly size: number | undefined, private readonly listener?: TransferListener) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length
    const now = Date.now()
    if (this.listener && now - this.last >= 100) {
      this.last = now
      this.listener({type: 'blob-bytes', digest: this.digest, bytes: this.bytes, size: this.size})
    }
    cb(null, chunk)
  }
}
