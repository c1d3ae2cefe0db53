/** Podman's confirmation prompts: read one line from stdin; anything but y/yes declines. */
import type {CommandContext} from './context.js'

export async function confirm(ctx: CommandContext, question: string): Promise<boolean> {
  ctx.stdout.write(question)
  const answer = await readLine()
  return /^y(es)?$/i.test(answer.trim())
}

function readLine(): Promise<string> {
  return new Promise(resolve => {
    let data = ''
    const onData = (chunk: Buffer) => {
      data += chunk.toString()
      const nl = data.indexOf('\n')
      if (nl !== -1) done(data.slice(0, nl))
    }
    const done = (line: string) => {
      process.stdin.off('data', onData)
      process.stdin.off('end', onEnd)
      process.stdin.pause()
      resolve(line)
    }
    const onEnd = () => done(data)
    process.stdin.on('data', onData)
    process.stdin.on('end', onEnd)
  })
}
