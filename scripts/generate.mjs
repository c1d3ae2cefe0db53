#!/usr/bin/env node
// Regenerates the committed files derived from the command classes:
// oclif.manifest.json and the shell completions in completions/. With
// --check, regenerates into memory and fails if a committed file is stale.
import {Plugin} from '@oclif/core'
import {readFileSync, writeFileSync, mkdirSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {writeCommandTable} from './build.mjs'
import {bashCompletion, fishCompletion, zshCompletion} from './completions.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const check = process.argv.includes('--check')

const plugin = new Plugin({root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, isRoot: true})
await plugin.load()
const manifest = plugin.manifest
// Sort for stable diffs.
manifest.commands = Object.fromEntries(Object.entries(manifest.commands).sort(([a], [b]) => a.localeCompare(b)))

const files = {
  'oclif.manifest.json': JSON.stringify(manifest, null, 2) + '\n',
  'completions/tspod.bash': bashCompletion(manifest),
  'completions/_tspod': zshCompletion(manifest),
  'completions/tspod.fish': fishCompletion(manifest),
}

let stale = []
for (const [rel, content] of Object.entries(files)) {
  const path = join(root, rel)
  let old = null
  try { old = readFileSync(path, 'utf8') } catch {}
  if (old === content) continue
  if (check) stale.push(rel)
  else {
    mkdirSync(dirname(path), {recursive: true})
    writeFileSync(path, content)
    console.log(`wrote ${rel}`)
  }
}
if (check && stale.length > 0) {
  console.error(`Error: generated files are stale: ${stale.join(', ')}\nRun: npm run build && npm run generate, and commit the result`)
  process.exit(1)
}
if (!check) writeCommandTable()
