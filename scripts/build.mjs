#!/usr/bin/env node
// Builds dist/ with esbuild (one bundle per entry, shared code split into
// chunks), derives dist/commands.json from oclif.manifest.json for the fast
// path, and builds the C helpers into build/.
import {build} from 'esbuild'
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

function walk(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p)
  }
  return out
}

export async function buildDist() {
  // Built beside dist/ and swapped in: a tspod running meanwhile (a test, a
  // service) never finds dist/ half-written or missing.
  const dist = join(root, 'dist')
  const fresh = `${dist}.new-${process.pid}`
  rmSync(fresh, {recursive: true, force: true})
  // Every entry point is bundled on its own, without shared chunks: Node 20's
  // ESM loader costs about 1 ms per module file, so loading `run`'s handler
  // as 28 split chunks took 26 ms and as one file takes 9 ms (measured).
  // Shared code is repeated across files; module state that the dispatcher
  // and a handler must share lives on globalThis (see src/util/log.ts).
  // SOURCE_DATE_EPOCH keeps the build reproducible; otherwise the last commit's time.
  let built = process.env.SOURCE_DATE_EPOCH
  if (!built) {
    try {
      built = execFileSync('git', ['log', '-1', '--format=%ct'], {cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim()
    } catch {}
  }
  const common = {
    outdir: fresh,
    outbase: join(root, 'src'),
    bundle: true,
    splitting: false,
    platform: 'node',
    target: 'node20',
    // Dependencies load from node_modules, except tar-stream: as CommonJS
    // from node_modules its six packages took 9 ms to load, bundled 4 ms, and
    // every pull, build and import loads it. bare-fs is its optional
    // filesystem for the Bare runtime, never used under Node.
    external: [...Object.keys(pkg.dependencies).filter(name => name !== 'tar-stream'), 'bare-*'],
    sourcemap: false,
    minifySyntax: true,
    logLevel: 'warning',
    define: {
      TSPOD_VERSION: JSON.stringify(pkg.version),
      TSPOD_BUILT: JSON.stringify(built || '0'),
    },
  }
  // CommonJS bundles (.cjs) get import.meta.url from __filename.
  const cjs = {
    ...common,
    format: 'cjs',
    outExtension: {'.js': '.cjs'},
    banner: {js: "const __tspodModuleUrl = require('node:url').pathToFileURL(__filename).href;"},
    define: {...common.define, 'import.meta.url': '__tspodModuleUrl'},
  }
  // The entry point is CommonJS: Node then never starts its ES module loader
  // unless something imports an ES module (src/main.ts says what it costs).
  await build({...cjs, entryPoints: [join(root, 'src/main.ts')]})
  // What monitors started by an older tspod run when their container exits.
  writeFileSync(join(fresh, 'main.js'), "// The old entry point: tspod's is main.cjs.\nimport './main.cjs'\n")
  // oclif's command classes, loaded for help only, are ES modules.
  await build({
    ...common,
    entryPoints: walk(join(root, 'src/commands')),
    format: 'esm',
    // Bundled CommonJS code calls require() for Node's own modules.
    banner: {js: "import {createRequire as __tspodRequire} from 'node:module'; const require = __tspodRequire(import.meta.url);"},
  })
  // Handlers are CommonJS (.cjs), which the dispatcher compiles with V8's
  // code cache (src/cli/code-cache.ts): Node 20 caches no ES module's code.
  // Code compiled so allows no import() under Node 20: esbuild makes those of
  // Node's own modules require() calls, and ES-only packages come through the
  // dispatcher (src/util/import-esm.ts).
  await build({...cjs, entryPoints: walk(join(root, 'src/cli/handlers')), supported: {'dynamic-import': false}})
  // An import() left in a handler would fail only when that line runs.
  const handlers = join(fresh, 'cli', 'handlers')
  const withImport = readdirSync(handlers).filter(name => /\bimport\(/.test(readFileSync(join(handlers, name), 'utf8')))
  if (withImport.length > 0) {
    rmSync(fresh, {recursive: true, force: true})
    throw new Error(`import() in handler bundles (${withImport.join(', ')}): use importEsm() from src/util/import-esm.ts`)
  }
  writeCommandTable(fresh)
  const old = `${dist}.old-${process.pid}`
  if (existsSync(dist)) renameSync(dist, old)
  renameSync(fresh, dist)
  rmSync(old, {recursive: true, force: true})
}

/** dist/commands.json: the parts of oclif's manifest the fast path needs. */
export function writeCommandTable(dir = join(root, 'dist')) {
  const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'))
  const commands = Object.values(manifest.commands).map(c => ({
    id: c.id,
    aliases: c.aliases ?? [],
    flags: Object.fromEntries(
      Object.entries(c.flags ?? {}).map(([name, f]) => [
        name,
        Object.fromEntries(
          Object.entries({name, char: f.char, aliases: f.aliases, type: f.type, multiple: f.multiple, allowNo: f.allowNo, options: f.options, default: f.default})
            .filter(([, v]) => v !== undefined && v !== false),
        ),
      ]),
    ),
    args: Object.values(c.args ?? {}).map(a => ({name: a.name, required: a.required || undefined})),
    strict: c.strict !== false,
    stopAtFirstArg: c.stopAtFirstArg || undefined,
    needsUserNamespace: c.needsUserNamespace || undefined,
  }))
  const tmp = join(dir, `.commands.json.${process.pid}`)
  writeFileSync(tmp, JSON.stringify({version: pkg.version, commands}))
  renameSync(tmp, join(dir, 'commands.json'))
  writeUsernsPatterns(dir, commands)
}

/**
 * dist/userns-commands.sh: a shell function, sourced by bin/tspod, that tells
 * from "WORD1:WORD2" (the first two words of the command line) whether the
 * command runs in the user namespace, for bin/tspod's shortcut into it. Only ids the
 * dispatcher resolves the same way from two words are listed: a one-word
 * command that is also a topic (so a second word could name another
 * command) is left to the usual path.
 */
function writeUsernsPatterns(dir, commands) {
  const topics = new Set()
  for (const c of commands) {
    for (const id of [c.id, ...c.aliases]) {
      const parts = id.split(':')
      for (let i = 1; i < parts.length; i++) topics.add(parts.slice(0, i).join(':'))
    }
  }
  const patterns = []
  for (const c of commands.filter(c => c.needsUserNamespace)) {
    for (const id of [c.id, ...c.aliases]) {
      const parts = id.split(':')
      if (parts.length === 1 && !topics.has(id)) patterns.push(`${id}:*`)
      else if (parts.length === 2 && !topics.has(id)) patterns.push(id)
    }
  }
  const tmp = join(dir, `.userns-commands.sh.${process.pid}`)
  writeFileSync(tmp, `# Generated by scripts/build.mjs from the command table.\ntspod_needs_userns() {\n  case $1 in\n    ${patterns.sort().join('|')}) return 0 ;;\n  esac\n  return 1\n}\n`)
  renameSync(tmp, join(dir, 'userns-commands.sh'))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildDist()
  if (!process.argv.includes('--no-c')) {
    execFileSync('bash', [join(root, 'scripts/build-c.sh')], {stdio: 'inherit'})
  }
  console.log(`built ${relative(process.cwd(), join(root, 'dist')) || 'dist'}`)
}
