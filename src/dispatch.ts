/**
 * The dispatcher behind dist/main.cjs. It stays small on purpose:
 * importing @oclif/core costs about 95 ms here, more than Podman needs for a
 * whole `ps`, so the hot path parses argv against dist/commands.json (derived
 * from oclif's manifest) and loads only the one handler it needs. oclif itself
 * is loaded for help output only.
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgv} from './cli/argv.js'
import {loadBundle, type LoadedBundle} from './cli/code-cache.js'
import type {CommandSpec, CommandTable} from './cli/command-spec.js'
import type {CommandContext, GlobalOptions, Handler} from './cli/context.js'
import {EXIT_ENGINE, TspodError} from './errors/index.js'
import {provideEsmImport} from './util/import-esm.js'
import {debug, isDebug, setLogLevel} from './util/log.js'

declare const TSPOD_VERSION: string

// Bundled into dist/main.cjs (and, for oclif's run(), into dist/commands/**):
// dist/ is the nearest directory up that holds commands.json.
function findDistDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'commands.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}
const distDir = findDistDir()

function loadTable(): CommandTable {
  return JSON.parse(readFileSync(join(distDir, 'commands.json'), 'utf8')) as CommandTable
}

interface Resolved {
  spec: CommandSpec
  rest: string[]
  words: string[]
}

/** Global flags every command accepts; they may also stand before the command. */
const GLOBAL_WITH_VALUE = new Set(['--root', '--runroot', '--storage-driver', '--runtime', '--log-level'])

function resolveCommand(table: CommandTable, argv: string[]): {resolved?: Resolved; leading: string[]; words: string[]; topic: boolean} {
  const byId = new Map<string, CommandSpec>()
  const topics = new Set<string>()
  for (const spec of table.commands) {
    for (const id of [spec.id, ...spec.aliases]) {
      byId.set(id, spec)
      const parts = id.split(':')
      for (let i = 1; i < parts.length; i++) topics.add(parts.slice(0, i).join(':'))
    }
  }
  const leading: string[] = []
  let i = 0
  while (i < argv.length && argv[i].startsWith('-')) {
    const tok = argv[i]
    leading.push(tok)
    i++
    if (GLOBAL_WITH_VALUE.has(tok) && i < argv.length) leading.push(argv[i++])
  }
  const words: string[] = []
  let found: Resolved | undefined
  for (let j = i; j < argv.length && !argv[j].startsWith('-'); j++) {
    words.push(argv[j])
    const id = words.join(':')
    const spec = byId.get(id)
    if (spec) found = {spec, rest: argv.slice(j + 1), words: [...words]}
    if (!topics.has(id)) break
  }
  return {resolved: found, leading, words, topic: words.length > 0 && topics.has(words.join(':'))}
}

async function showHelp(argv: string[]): Promise<number> {
  const oclif = await import('@oclif/core')
  try {
    await oclif.run(argv, import.meta.url)
    await oclif.flush()
    return 0
  } catch (err) {
    return handleError(err)
  }
}

/**
 * Each handler is bundled on its own (see scripts/build.mjs), so an error it
 * throws is an instance of its bundle's TspodError, not this one's: recognise
 * tspod's errors by their shape.
 */
function isTspodError(err: unknown): err is TspodError {
  return err instanceof TspodError || (err instanceof Error && typeof (err as TspodError).exitCode === 'number' && /Error$/.test(err.name))
}

function handleError(err: unknown): number {
  if (isTspodError(err)) {
    process.stderr.write(`Error: ${err.message}\n`)
    if (err.hint) process.stderr.write(`${err.hint}\n`)
    if (isDebug() && err.stack) process.stderr.write(err.stack + '\n')
    return err.exitCode
  }
  const e = err as NodeJS.ErrnoException
  if (e && typeof e === 'object' && 'oclif' in e) {
    // oclif's own parse errors (help path only)
    process.stderr.write(`Error: ${e.message}\n`)
    return EXIT_ENGINE
  }
  const message = e instanceof Error ? e.message : String(e)
  process.stderr.write(`Error: ${message}\n`)
  if (isDebug() && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n')
  return EXIT_ENGINE
}

export async function dispatch(argv: string[]): Promise<number> {
  const last = argv[argv.length - 1]
  if (argv.length === 1 && (last === '--version' || last === '-v')) {
    process.stdout.write(`tspod version ${TSPOD_VERSION}\n`)
    return 0
  }
  const table = loadTable()
  const {resolved, leading, words, topic} = resolveCommand(table, argv)
  // Global flags may precede --version, as with Podman: `tspod --root X --version`.
  if (!resolved && words.length === 0 && (last === '--version' || last === '-v') && leading[leading.length - 1] === last) {
    try {
      parseArgv(table.commands.find(c => c.id === 'version')!, leading.slice(0, -1), 'tspod')
    } catch (err) {
      return handleError(err)
    }
    process.stdout.write(`tspod version ${TSPOD_VERSION}\n`)
    return 0
  }
  const wantsHelp = (resolved?.rest ?? argv).some(a => a === '--help') ||
    (resolved !== undefined && resolved.rest.includes('-h') && !Object.values(resolved.spec.flags).some(f => f.char === 'h'))
  // `help` is no topic, so the words after it (`tspod help pod`) are not in `words`.
  if (words[0] === 'help') return showHelp([...argv.slice(leading.length + 1).filter(a => !a.startsWith('-')), '--help'])
  if (!resolved) {
    if (words.length === 0 && (argv.length === 0 || wantsHelp || argv.includes('-h'))) return showHelp(['--help'])
    if (words.length === 0) {
      try {
        parseArgv(table.commands.find(c => c.id === 'version')!, leading, 'tspod')
      } catch (err) {
        return handleError(err)
      }
      return showHelp(['--help'])
    }
    if (topic) {
      // As Podman: a topic alone prints its help (stdout), then says a command is missing; with --help it is no error.
      const code = await showHelp([...words, '--help'])
      if (code !== 0 || wantsHelp || argv.includes('-h')) return code
      process.stderr.write(`Error: missing command 'tspod ${words.join(' ')} COMMAND'\n`)
      return EXIT_ENGINE
    }
    const parent = ['tspod', ...words.slice(0, -1)].join(' ')
    process.stderr.write(`Error: unrecognized command \`tspod ${words.join(' ')}\`\nTry '${parent} --help' for more information\n`)
    return EXIT_ENGINE
  }
  if (wantsHelp) return showHelp([...resolved.words, '--help'])

  const {spec} = resolved
  const commandLine = `tspod ${resolved.words.join(' ')}`
  let bundle: LoadedBundle | undefined
  try {
    const parsed = parseArgv(spec, [...leading, ...resolved.rest], commandLine)
    const logLevel = String(parsed.flags['log-level'] ?? 'warn')
    if (!setLogLevel(logLevel)) {
      throw new TspodError(`invalid log level "${logLevel}": must be one of trace, debug, info, warn, error, fatal, panic`)
    }
    debug(`command ${spec.id} args=${JSON.stringify(parsed.args)}`)
    const global: GlobalOptions = {
      root: parsed.flags.root as string | undefined,
      runroot: parsed.flags.runroot as string | undefined,
      storageDriver: parsed.flags['storage-driver'] as string | undefined,
      runtime: parsed.flags.runtime as string | undefined,
      logLevel,
    }
    if (process.env.TSPOD_NS_JOINED !== undefined) {
      const {checkShortcutJoin} = await import('./cli/userns.js')
      await checkShortcutJoin(global, spec.needsUserNamespace === true)
    }
    if (spec.needsUserNamespace) {
      const {enterUserNamespaceIfNeeded} = await import('./cli/userns.js')
      const code = await enterUserNamespaceIfNeeded(global, argv)
      if (code !== undefined) return code
    }
    const ctx: CommandContext = {
      id: spec.id,
      commandLine,
      flags: parsed.flags,
      args: parsed.args,
      argv,
      global,
      stdout: process.stdout,
      stderr: process.stderr,
    }
    provideEsmImport(specifier => import(specifier))
    // Each handler is its own esbuild entry point in dist/cli/handlers/: a
    // computed path keeps esbuild from pulling them all into this file.
    bundle = loadBundle(join(distDir, 'cli', 'handlers', spec.id.replaceAll(':', '-') + '.cjs'))
    debug(`handler ${spec.id} loaded (code cache: ${bundle.cache})`)
    const code = await (bundle.exports.default as Handler)(ctx)
    return code ?? 0
  } catch (err) {
    return handleError(err)
  } finally {
    bundle?.saveCache()
  }
}

export function ignoreEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', err => {
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw err
  })
}
