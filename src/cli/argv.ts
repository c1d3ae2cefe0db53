/**
 * Parse a command line against a CommandSpec with pflag's conventions, which
 * Podman users type: `--name v`, `--name=v`, `-n v`, `-nv`, grouped short
 * booleans (`-it`), `--bool=false`, repeatable flags, `--` to end flags.
 */
import {InvalidArgumentError} from '../errors/index.js'
import type {CommandSpec, FlagSpec} from './command-spec.js'

export type FlagValue = string | boolean | string[] | undefined

export interface ParsedArgv {
  flags: Record<string, FlagValue>
  args: string[]
}

const TRUE = new Set(['true', '1', 't', 'T', 'TRUE', 'True'])
const FALSE = new Set(['false', '0', 'f', 'F', 'FALSE', 'False'])

function parseBool(flag: string, value: string): boolean {
  if (TRUE.has(value)) return true
  if (FALSE.has(value)) return false
  throw new InvalidArgumentError(`invalid argument "${value}" for "--${flag}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`)
}

export function parseArgv(spec: CommandSpec, argv: string[], commandLine: string): ParsedArgv {
  const byLong = new Map<string, FlagSpec>()
  const byShort = new Map<string, FlagSpec>()
  for (const flag of Object.values(spec.flags)) {
    byLong.set(flag.name, flag)
    for (const alias of flag.aliases ?? []) byLong.set(alias, flag)
    if (flag.char) byShort.set(flag.char, flag)
  }
  const flags: Record<string, FlagValue> = {}
  const args: string[] = []

  const set = (flag: FlagSpec, value: string | boolean) => {
    if (flag.type === 'option' && flag.options && typeof value === 'string' && !flag.options.includes(value)) {
      throw new InvalidArgumentError(`invalid argument "${value}" for "--${flag.name}" flag: must be one of ${flag.options.join(', ')}`)
    }
    if (flag.multiple) {
      const list = (flags[flag.name] as string[] | undefined) ?? []
      list.push(String(value))
      flags[flag.name] = list
    } else {
      flags[flag.name] = value
    }
  }

  let onlyArgs = false
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]
    if (onlyArgs || tok === '-' || !tok.startsWith('-')) {
      args.push(tok)
      if (spec.stopAtFirstArg) onlyArgs = true
      continue
    }
    if (tok === '--') {
      onlyArgs = true
      continue
    }
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=')
      let name = eq === -1 ? tok.slice(2) : tok.slice(2, eq)
      let flag = byLong.get(name)
      let negated = false
      if (!flag && name.startsWith('no-')) {
        const base = byLong.get(name.slice(3))
        if (base?.type === 'boolean' && base.allowNo) {
          flag = base
          negated = true
          name = base.name
        }
      }
      if (!flag) throw new InvalidArgumentError(`unknown flag: --${name}`, {hint: `See '${commandLine} --help'`})
      if (flag.type === 'boolean') {
        set(flag, negated ? false : eq === -1 ? true : parseBool(flag.name, tok.slice(eq + 1)))
      } else if (eq !== -1) {
        set(flag, tok.slice(eq + 1))
      } else {
        if (i + 1 >= argv.length) throw new InvalidArgumentError(`flag needs an argument: --${name}`, {hint: `See '${commandLine} --help'`})
        set(flag, argv[++i])
      }
      continue
    }
    // One or more short flags: -a, -it, -nNAME, -n NAME, -a=false
    for (let j = 1; j < tok.length; j++) {
      const ch = tok[j]
      const flag = byShort.get(ch)
      if (!flag) throw new InvalidArgumentError(`unknown shorthand flag: '${ch}' in ${tok}`, {hint: `See '${commandLine} --help'`})
      if (flag.type === 'boolean') {
        if (tok[j + 1] === '=') {
          set(flag, parseBool(flag.name, tok.slice(j + 2)))
          break
        }
        set(flag, true)
        continue
      }
      let value = tok.slice(j + 1)
      if (value.startsWith('=')) value = value.slice(1)
      if (value === '') {
        if (i + 1 >= argv.length) throw new InvalidArgumentError(`flag needs an argument: '${ch}' in -${ch}`, {hint: `See '${commandLine} --help'`})
        value = argv[++i]
      }
      set(flag, value)
      break
    }
  }

  for (const flag of Object.values(spec.flags)) {
    if (flags[flag.name] === undefined && flag.default !== undefined) {
      flags[flag.name] = flag.multiple && !Array.isArray(flag.default) ? [String(flag.default)] : (flag.default as FlagValue)
    }
  }

  const required = spec.args.filter(a => a.required).length
  if (args.length < required) {
    const missing = spec.args.slice(args.length).filter(a => a.required).map(a => a.name.toUpperCase())
    throw new InvalidArgumentError(`${commandLine} requires at least ${required} argument${required === 1 ? '' : 's'}: missing ${missing.join(', ')}`, {hint: `See '${commandLine} --help'`})
  }
  if (spec.strict && args.length > spec.args.length) {
    throw new InvalidArgumentError(
      spec.args.length === 0
        ? `${commandLine} takes no arguments, got "${args[0]}"`
        : `${commandLine} accepts at most ${spec.args.length} argument${spec.args.length === 1 ? '' : 's'}, got ${args.length}`,
      {hint: `See '${commandLine} --help'`},
    )
  }
  return {flags, args}
}
