/** Digest names in the OCI form `sha256:<hex>`: pure string checks, no hashing (see hashing.ts). */
import {InvalidArgumentError} from '../errors/index.js'

const DIGEST = /^sha256:[a-f0-9]{64}$/

export function isDigest(value: string): boolean {
  return DIGEST.test(value)
}

export function digestHex(digest: string): string {
  if (!DIGEST.test(digest)) throw new InvalidArgumentError(`invalid digest "${digest}": expected sha256:<64 hex digits>`)
  return digest.slice(7)
}
