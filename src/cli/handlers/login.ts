import {loadConfig} from '../../config/index.js'
import {flagBool, flagString, type CommandContext} from '../context.js'
import {registryAccessOptions} from '../transfer-progress.js'
import {InvalidArgumentError, RegistryError} from '../../errors/index.js'

/**
 * podman-login(1). The password comes from -p, --password-stdin or a prompt
 * without echo on a terminal; it is never printed, and errors never quote it.
 */
export default async function login(ctx: CommandContext): Promise<void> {
  const {normalizeLoginKey, loginRegistry, storedCredentials, verifyLogin} = await import('../../registry/login.js')
  const given = ctx.args[0]
  if (given === undefined) throw new InvalidArgumentError('please provide a registry to log in to')
  const key = normalizeLoginKey(given)
  const access = registryAccessOptions(ctx)
  // No store is opened: credentials live outside it.
  const engine = {config: loadConfig({root: ctx.global.root, runroot: ctx.global.runroot})}
  if (flagBool(ctx, 'get-login')) {
    const stored = storedCredentials(engine.config, key, access.authfile)
    if (!stored) throw new RegistryError(`not logged into ${key}`)
    ctx.stdout.write(`${stored.username}\n`)
    return
  }
  let username = flagString(ctx, 'username')
  let password = flagString(ctx, 'password')
  const fromStdin = flagBool(ctx, 'password-stdin')
  if (password !== undefined && fromStdin) throw new InvalidArgumentError("can't specify both --password-stdin and --password")
  if (fromStdin) {
    if (username === undefined) throw new InvalidArgumentError('must provide --username with --password-stdin')
    password = (await readAll(process.stdin)).replace(/\r?\n$/, '')
  }
  if (username === undefined && password === undefined) {
    const stored = storedCredentials(engine.config, key, access.authfile)
    if (stored && !stored.identityToken) {
      ctx.stdout.write(`Authenticating with existing credentials for ${key}\n`)
      try {
        await verifyLogin(engine.config, key, stored, access)
        ctx.stdout.write(`Existing credentials are valid. Already logged in to ${key}\n`)
        return
      } catch {
        ctx.stderr.write('Existing credentials are invalid, please enter valid username and password\n')
      }
    }
  }
  if (username === undefined) username = await prompt(ctx, 'Username: ', true)
  if (password === undefined) password = await prompt(ctx, 'Password: ', false)
  if (username === '') throw new InvalidArgumentError('username is required')
  if (password === '') throw new InvalidArgumentError('password is required')
  await loginRegistry(engine.config, key, {username, password}, {...access, creds: undefined})
  ctx.stdout.write('Login Succeeded!\n')
}

async function readAll(stream: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** One line from the terminal; with echo off for a password. */
function prompt(ctx: CommandContext, question: string, echo: boolean): Promise<string> {
  const input = process.stdin
  if (!input.isTTY) throw new InvalidArgumentError(`cannot prompt for ${question.replace(/: $/, '').toLowerCase()}: stdin is not a terminal`, {hint: 'Use --username and --password-stdin'})
  ctx.stderr.write(question)
  return new Promise(resolve => {
    let line = ''
    input.setRawMode(true)
    input.resume()
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          input.setRawMode(false)
          input.pause()
          input.off('data', onData)
          ctx.stderr.write('\n')
          resolve(line)
          return
        }
        if (ch === '\u0003') {
          input.setRawMode(false)
          process.exit(130)
        }
        if (ch === '\u007f') {
          if (line.length > 0) {
            line = line.slice(0, -1)
            if (echo) ctx.stderr.write('\b \b')
          }
          continue
        }
        line += ch
        if (echo) ctx.stderr.write(ch)
      }
    }
    input.on('data', onData)
  })
}
