/** Podman's prompts: read one line from stdin (a terminal, in its ordinary line mode). */
import type {CommandContext} from './context.js'
import {InvalidArgumentError} from '../errors/index.js'

/** Anything but y/yes declines. */
export async function confirm(ctx: CommandContext, question: string): Promise<boolean> {
  ctx.stdout.write(question)
  const answer = await readLine()
  return /^y(es)?$/i.test((answer ?? '').trim())
}

/**
 * The short-name prompt: Podman offers the candidates in a list to move
 * through with the arrow keys; a numbered list asks for the same choice and
 * works on any terminal. An answer that is no number of the list asks again;
 * end of input picks nothing.
 */
export async function chooseImage(ctx: CommandContext, candidates: string[]): Promise<string> {
  const width = String(candidates.length).length
  ctx.stdout.write(`? Please select an image:\n${candidates.map((c, i) => `  ${String(i + 1).padStart(width)}) ${c}\n`).join('')}`)
  for (;;) {
    ctx.stdout.write(`Enter a number (1-${candidates.length}): `)
    const answer = await readLine()
    if (answer === undefined) throw new InvalidArgumentError('short-name resolution: no image was selected', {hint: 'Answer the prompt with a number, or use a fully qualified image name'})
    const n = Number(answer.trim())
    if (Number.isInteger(n) && n >= 1 && n <= candidates.length) return candidates[n - 1]!
  }
}

// What was typed past the line a prompt took (a pasted answer), for the next prompt.
let pending = ''

/** One line without its newline; undefined at the end of input with nothing typed. */
function readLine(): Promise<string | undefined> {
  return new Promise(resolve => {
    const take = (): boolean => {
      const nl = pending.indexOf('\n')
      if (nl === -1) return false
      const line = pending.slice(0, nl).replace(/\r$/, '')
      pending = pending.slice(nl + 1)
      done(line)
      return true
    }
    const onData = (chunk: Buffer) => {
      pending += chunk.toString()
      take()
    }
    const done = (line: string | undefined) => {
      process.stdin.off('data', onData)
      process.stdin.off('end', onEnd)
      process.stdin.pause()
      resolve(line)
    }
    const onEnd = () => {
      const rest = pending
      pending = ''
      done(rest === '' ? undefined : rest)
    }
    if (take()) return
    process.stdin.on('data', onData)
    process.stdin.on('end', onEnd)
    // A 'data' listener alone does not restart a stream an earlier prompt paused.
    process.stdin.resume()
  })
}
