/**
 * The shape of dist/commands.json: what the fast path needs to know about each
 * command, derived at build time from oclif.manifest.json (which oclif derives
 * from the command classes). Flags are defined once, in src/commands.
 */
export interface FlagSpec {
  name: string
  char?: string
  aliases?: string[]
  type: 'boolean' | 'option'
  multiple?: boolean
  allowNo?: boolean
  options?: string[]
  default?: unknown
}

export interface ArgSpec {
  name: string
  required?: boolean
}

export interface CommandSpec {
  id: string
  aliases: string[]
  flags: Record<string, FlagSpec>
  args: ArgSpec[]
  /** false: any number of positional arguments (varargs). */
  strict: boolean
  /** Flags after the first positional belong to it (`run IMAGE CMD -x`), as with pflag's SetInterspersed(false). */
  stopAtFirstArg?: boolean
  /** Commands that write files owned by subordinate ids re-execute inside tspod's user namespace. */
  needsUserNamespace?: boolean
}

export interface CommandTable {
  version: string
  commands: CommandSpec[]
}
