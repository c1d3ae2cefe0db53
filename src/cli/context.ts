/**
 * What a command handler receives: its parsed flags and arguments, the global
 * options, and a lazily built engine context (config, store), so a handler
 * that needs no store pays for none.
 */
import type {FlagValue} from './argv.js'

export interface GlobalOptions {
  root?: string
  runroot?: string
  storageDriver?: string
  runtime?: string
  logLevel: string
}

export interface CommandContext {
  /** The oclif command id, e.g. `image:list`. */
  id: string
  /** As the user typed it, for messages: `tspod image ls`. */
  commandLine: string
  flags: Record<string, FlagValue>
  args: string[]
  /** The whole command line after `tspod`, as typed. */
  argv: string[]
  global: GlobalOptions
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
}

export type Handler = (ctx: CommandContext) => Promise<number | void>

export function flagString(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name]
  return typeof v === 'string' ? v : undefined
}

export function flagBool(ctx: CommandContext, name: string): boolean {
  return ctx.flags[name] === true
}

export function flagList(ctx: CommandContext, name: string): string[] {
  const v = ctx.flags[name]
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : []
}
