#!/usr/bin/env node
// Uploads an image to a registry through the distribution API, one gzip
// layer per tarball given, each with the file etc/bench-nonce-<i> holding
// NONCE appended. A new NONCE gives every layer a new digest, so a pull of
// the tag afterwards finds nothing it already has, without anything being
// deleted from the stores (bench/README.md says why that matters).
//
// Usage: node bench/registry-image.mjs URL REPOSITORY:TAG NONCE TAR...
//   URL   the registry's base URL, e.g. http://127.0.0.1:5000
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {gzipSync} from 'node:zlib'

const BLOCK = 512

const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`

// Where the archive's entries end: the first all-zero header block.
function entriesEnd(tar) {
  let offset = 0
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK)
    if (header.every((b) => b === 0)) return offset
    const size = parseInt(header.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8)
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK
  }
  return offset
}

// A ustar header for a regular file of SIZE bytes, owned by 0:0, mtime 0.
function fileHeader(name, size) {
  const header = Buffer.alloc(BLOCK)
  const put = (value, at, width) => header.write(value, at, width, 'latin1')
  put(name, 0, 100)
  put('0000644\0', 100, 8)
  put('0000000\0', 108, 8)
  put('0000000\0', 116, 8)
  put(`${size.toString(8).padStart(11, '0')}\0`, 124, 12)
  put('00000000000\0', 136, 12)
  put('        ', 148, 8)
  put('0', 156, 1)
  put('ustar\0', 257, 6)
  put('00', 263, 2)
  let sum = 0
  for (const b of header) sum += b
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8)
  return header
}

function withNonce(tar, name, nonce) {
  const content = Buffer.from(`${nonce}\n`)
  const padding = Buffer.alloc((BLOCK - (content.length % BLOCK)) % BLOCK)
  return Buffer.concat([tar.subarray(0, entriesEnd(tar)), fileHeader(name, content.length), content, padding, Buffer.alloc(2 * BLOCK)])
}

async function check(response, what) {
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${await response.text()}`)
  return response
}

async function uploadBlob(url, repository, data) {
  const digest = sha256(data)
  const started = await check(await fetch(`${url}/v2/${repository}/blobs/uploads/`, {method: 'POST'}), `starting the upload of ${digest}`)
  const location = new URL(started.headers.get('location'), url)
  location.searchParams.set('digest', digest)
  await check(
    await fetch(location, {method: 'PUT', body: data, headers: {'Content-Type': 'application/octet-stream'}}),
    `uploading ${digest}`,
  )
  return {digest, size: data.length}
}

async function main() {
  const [url, reference, nonce, ...tars] = process.argv.slice(2)
  if (!url || !reference?.includes(':') || !nonce || tars.length === 0) {
    throw new Error('usage: node bench/registry-image.mjs URL REPOSITORY:TAG NONCE TAR...')
  }
  const colon = reference.lastIndexOf(':')
  const repository = reference.slice(0, colon)
  const tag = reference.slice(colon + 1)
  const layers = []
  const diffIds = []
  for (const [i, path] of tars.entries()) {
    const tar = withNonce(readFileSync(path), `etc/bench-nonce-${i}`, nonce)
    diffIds.push(sha256(tar))
    const blob = await uploadBlob(url, repository, gzipSync(tar))
    layers.push({mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob})
  }
  const config = Buffer.from(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: {Cmd: ['/bin/sh']},
      rootfs: {type: 'layers', diff_ids: diffIds},
      history: diffIds.map(() => ({created: '2024-01-01T00:00:00Z', created_by: 'bench/registry-image.mjs'})),
    }),
  )
  const configBlob = await uploadBlob(url, repository, config)
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob},
    layers,
  })
  await check(
    await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
      method: 'PUT',
      body: manifest,
      headers: {'Content-Type': 'application/vnd.oci.image.manifest.v1+json'},
    }),
    `putting the manifest ${reference}`,
  )
}

main().catch((err) => {
  process.stderr.write(`registry-image: ${err.message}\n`)
  process.exit(1)
})
