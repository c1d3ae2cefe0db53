/**
 * Short names (`busybox`, `library/busybox:1.36`) and how Podman resolves them.
 *
 * Locally, a short name may match, in order: its alias, `localhost/<name>`,
 * then `<registry>/<name>` for each unqualified-search registry.
 *
 * For a pull: an alias wins outright. Otherwise, per short-name-mode, the
 * unqualified-search registries are tried in order (`disabled`, or only one
 * registry, or `permissive` without a terminal), or the user picks one at a
 * prompt (`enforcing` or `permissive` with a terminal), or, `enforcing`
 * without a terminal, it is an error. Prompting is the CLI's job: resolution
 * returns rationale 'prompt' and the candidates; resolveForPull asks through
 * the CLI's chooser, and recordPromptChoice records the pick as an alias in
 * short-name-aliases.conf after the pull succeeds.
 *
 * Candidates carry the user's tag or digest, or `:latest` when neither is given.
 */
import {isatty} from 'node:tty'
import {recordShortNameAlias, type RegistriesConfig} from '../config/registries-conf.js'
import {InvalidArgumentError} from '../errors/index.js'
import {
  formatReference,
  normalizeReference,
  parseReference,
  referenceName,
  withDefaultTag,
  type NamedReference,
  type ParsedReference,
} from './reference.js'

export type ShortNameRationale = 'fully-qualified' | 'alias' | 'local' | 'search-registries' | 'prompt'

export interface ShortNameResolution {
  /** Fully qualified candidates with tag or digest, in the order to try. */
  candidates: string[]
  rationale: ShortNameRationale
  /** The short name without tag or digest, for recording an alias; absent for a qualified name. */
  shortName?: string
  /** Whether the candidate finally pulled should be recorded as an alias (after a prompt). */
  record: boolean
  /** A line to show before pulling, as Podman prints it; absent when nothing needs saying. */
  description?: string
}

export interface ResolveShortNameOptions {
  registries: RegistriesConfig
  /** Whether the local store holds this fully qualified `name:tag` (or `name@digest`); found ones are used as they are. */
  localHas?: (fullName: string) => boolean
  /** Default: stdin and stdout are both terminals. */
  isTTY?: boolean
}

function qualify(short: ParsedReference, registry: string): NamedReference {
  return withDefaultTag(normalizeReference(parseReference(`${registry}/${formatReference(short)}`)))
}

function aliasFor(short: ParsedReference, registries: RegistriesConfig): NamedReference | undefined {
  const alias = registries.aliases.get(short.path)
  if (!alias) return undefined
  const target = normalizeReference(alias.value)
  const withSuffix: NamedReference = {...target}
  if (short.tag !== undefined) withSuffix.tag = short.tag
  if (short.digest !== undefined) withSuffix.digest = short.digest
  return withDefaultTag(withSuffix)
}

/** The names a reference may have in the local store, most preferred first. */
export function localCandidates(input: string | ParsedReference, registries: RegistriesConfig): string[] {
  const ref = typeof input === 'string' ? parseReference(input) : input
  if (ref.domain !== undefined) return [formatReference(withDefaultTag(normalizeReference(ref)))]
  const out: string[] = []
  const alias = aliasFor(ref, registries)
  if (alias) out.push(formatReference(alias))
  for (const registry of ['localhost', ...registries.unqualifiedSearchRegistries]) {
    const name = formatReference(qualify(ref, registry))
    if (!out.includes(name)) out.push(name)
  }
  return out
}

/** The candidates to pull `input` from, in Podman's order; see the module comment. */
export function resolveShortName(input: string | ParsedReference, options: ResolveShortNameOptions): ShortNameResolution {
  const ref = typeof input === 'string' ? parseReference(input) : input
  const shown = typeof input === 'string' ? input : formatReference(input)
  const {registries} = options
  if (ref.domain !== undefined) {
    return {candidates: [formatReference(withDefaultTag(normalizeReference(ref)))], rationale: 'fully-qualified', record: false}
  }
  const shortName = referenceName(ref)
  if (options.localHas) {
    const present = localCandidates(ref, registries).find(name => options.localHas!(name))
    if (present) return {candidates: [present], rationale: 'local', shortName, record: false}
  }
  const alias = aliasFor(ref, registries)
  if (alias) {
    const origin = registries.aliases.get(ref.path)!.origin
    return {
      candidates: [formatReference(alias)],
      rationale: 'alias',
      shortName,
      record: false,
      description: `Resolved ${JSON.stringify(shortName)} as an alias (${origin})`,
    }
  }
  const search = registries.unqualifiedSearchRegistries
  if (search.length === 0) {
    throw new InvalidArgumentError(
      `short-name ${JSON.stringify(shown)} did not resolve to an alias and no unqualified-search registries are defined in ${JSON.stringify(registries.searchRegistriesOrigin)}`,
      {hint: `Use a fully qualified name such as ${formatReference(qualify(ref, 'docker.io'))}, or add unqualified-search-registries = ["docker.io"] to ${registries.searchRegistriesOrigin}.`},
    )
  }
  const candidates = search.map(registry => formatReference(qualify(ref, registry)))
  const searching: ShortNameResolution = {
    candidates,
    rationale: 'search-registries',
    shortName,
    record: false,
    description: `Resolving ${JSON.stringify(shortName)} using unqualified-search registries (${registries.searchRegistriesOrigin})`,
  }
  const mode = registries.shortNameMode
  if (mode === 'disabled' || candidates.length === 1) return searching
  const tty = options.isTTY ?? (isatty(0) && isatty(1))
  if (tty) return {candidates, rationale: 'prompt', shortName, record: true}
  if (mode === 'permissive') return searching
  throw new InvalidArgumentError(`short-name resolution enforced but cannot prompt without a TTY: ${JSON.stringify(shown)} could be ${candidates.join(', ')}`, {
    hint: `Use a fully qualified name, add an alias to [aliases] in registries.conf, or set short-name-mode = "permissive".`,
  })
}

export interface ResolveForPullOptions {
  /** Whether the user can be asked: stdin and stdout are terminals. */
  isTTY: boolean
  /** Asks the user to pick one of the candidates; without it nobody is asked. */
  choose?: (candidates: string[]) => Promise<string>
}

/**
 * resolveShortName for a pull: where Podman would prompt, the user's pick
 * becomes the only candidate (and is to be recorded as an alias once
 * pulled); with nobody to ask, resolution goes as without a terminal.
 */
export async function resolveForPull(input: string, registries: RegistriesConfig, options: ResolveForPullOptions): Promise<ShortNameResolution> {
  const tty = options.isTTY && options.choose !== undefined
  const resolution = resolveShortName(input, {registries, isTTY: tty})
  if (resolution.rationale !== 'prompt') return resolution
  const chosen = await options.choose!(resolution.candidates)
  if (!resolution.candidates.includes(chosen)) throw new InvalidArgumentError(`short-name ${JSON.stringify(input)}: ${JSON.stringify(chosen)} is not one of the candidates`)
  return {...resolution, candidates: [chosen]}
}

/** After a pull that followed a prompt: the pick as a short-name alias, so the next pull asks no more. */
export async function recordPromptChoice(registries: RegistriesConfig, resolution: ShortNameResolution, pulled: string): Promise<void> {
  if (!resolution.record || resolution.shortName === undefined) return
  await recordShortNameAlias(registries, resolution.shortName, referenceName(normalizeReference(parseReference(pulled))))
}
