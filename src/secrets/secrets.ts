/**
 * Secrets: small blobs of sensitive data a container receives as a file or
 * an environment variable without it ever being part of an image or of the
 * container's config. They live in `<graph root>/secrets/`: `secrets.json`
 * holds the metadata (no data), `data/<id>` each value, mode 0600 in a 0700
 * directory. Metadata is written under a lock, data before metadata, so a
 * crash leaves at worst an unreferenced data file that the next write sweeps.
 */
import {readFileSync, readdirSync} from 'node:fs'
import {mkdir, readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {InvalidArgumentError, TspodError, isErrno} from '../errors/index.js'
import type {Store} from '../storage/store.js'
import {writeFileAtomic, writeJsonAtomic} from '../util/atomic.js'
import {withLock} from '../util/lock.js'

/** Podman's limit: a secret is meant for keys and passwords, not files of any size. */
export const MAX_SECRET_BYTES = 512_000
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
const MAX_NAME = 253

export interface SecretRecord {
  ID: string
  CreatedAt: string
  UpdatedAt: string
  Spec: {
    Name: string
    Driver: {Name: string; Options: Record<string, string>}
    Labels: Record<string, string>
  }
}

interface SecretIndex {
  secrets: Record<string, SecretRecord>
}

export class NoSuchSecretError extends TspodError {
  constructor(ref: string) {
    super(`no secret with name or id "${ref}": no such secret`, {hint: 'List secrets with `tspod secret ls`'})
  }
}

function secretsDir(store: Store): string {
  return join(store.graphRoot, 'secrets')
}

function indexPath(store: Store): string {
  return join(secretsDir(store), 'secrets.json')
}

function dataPath(store: Store, id: string): string {
  return join(secretsDir(store), 'data', id)
}

function readIndex(store: Store): SecretIndex {
  try {
    return JSON.parse(readFileSync(indexPath(store), 'utf8')) as SecretIndex
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return {secrets: {}}
    throw err
  }
}

export function listSecrets(store: Store): SecretRecord[] {
  return Object.values(readIndex(store).secrets).sort((a, b) => a.CreatedAt.localeCompare(b.CreatedAt))
}

/** By exact name, full id, or a unique id prefix (Podman's lookup order). */
export function findSecret(store: Store, ref: string): SecretRecord | undefined {
  const all = listSecrets(store)
  const byName = all.find(s => s.Spec.Name === ref)
  if (byName) return byName
  const byId = all.find(s => s.ID === ref)
  if (byId) return byId
  if (/^[0-9a-f]{3,}$/.test(ref)) {
    const matches = all.filter(s => s.ID.startsWith(ref))
    if (matches.length > 1) throw new TspodError(`secret id "${ref}" is ambiguous: ${matches.length} secrets match`, {hint: 'Give more of the id, or the name'})
    return matches[0]
  }
  return undefined
}

export function checkSecretName(name: string): void {
  if (name.length === 0 || name.length > MAX_NAME || !VALID_NAME.test(name)) {
    throw new InvalidArgumentError(`secret name "${name}" is invalid: names are 1-${MAX_NAME} characters of [a-zA-Z0-9_.-], starting with a letter or digit`)
  }
}

function newSecretId(): string {
  // Podman's secret ids are 25 hex digits.
  let id = ''
  while (id.length < 25) id += Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0')
  return id.slice(0, 25)
}

export interface CreateSecretOptions {
  driver?: string
  driverOptions?: Record<string, string>
  labels?: Record<string, string>
  /** Replace a secret of the same name instead of failing. */
  replace?: boolean
}

export async function createSecret(store: Store, name: string, data: Buffer, options: CreateSecretOptions = {}): Promise<SecretRecord> {
  checkSecretName(name)
  const driver = options.driver ?? 'file'
  if (driver !== 'file') throw new InvalidArgumentError(`secret driver "${driver}" is not supported: tspod stores secrets with the file driver`, {hint: 'Drop --driver, or use --driver file'})
  if (data.length === 0) throw new InvalidArgumentError(`secret ${name}: the secret data is empty`, {hint: 'Give a non-empty file, standard input or environment variable'})
  if (data.length > MAX_SECRET_BYTES) throw new InvalidArgumentError(`secret ${name}: ${data.length} bytes is more than the ${MAX_SECRET_BYTES}-byte limit`)
  const dir = secretsDir(store)
  await mkdir(join(dir, 'data'), {recursive: true, mode: 0o700})
  return withLock(join(dir, 'secrets.lock'), async () => {
    const index = readIndex(store)
    const existing = Object.values(index.secrets).find(s => s.Spec.Name === name)
    if (existing && !options.replace) {
      throw new TspodError(`secret name ${name} is already in use: secret name in use`, {hint: 'Choose another name, remove it with `tspod secret rm`, or pass --replace'})
    }
    const now = new Date().toISOString()
    const id = existing?.ID ?? newSecretId()
    const record: SecretRecord = {
      ID: id,
      CreatedAt: existing?.CreatedAt ?? now,
      UpdatedAt: now,
      Spec: {Name: name, Driver: {Name: driver, Options: {path: join(dir, 'data'), ...options.driverOptions}}, Labels: options.labels ?? {}},
    }
    await writeFileAtomic(dataPath(store, id), data, 0o600)
    index.secrets[id] = record
    await writeJsonAtomic(indexPath(store), index)
    await sweepUnreferencedData(store, index)
    return record
  })
}

export async function readSecretData(store: Store, record: SecretRecord): Promise<Buffer> {
  try {
    return await readFile(dataPath(store, record.ID))
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new TspodError(`secret ${record.Spec.Name}: its data is missing from ${join(secretsDir(store), 'data')}`, {hint: 'Remove the secret and create it again'})
    throw err
  }
}

export async function removeSecret(store: Store, ref: string): Promise<SecretRecord> {
  const dir = secretsDir(store)
  await mkdir(dir, {recursive: true, mode: 0o700})
  return withLock(join(dir, 'secrets.lock'), async () => {
    const record = findSecret(store, ref)
    if (!record) throw new NoSuchSecretError(ref)
    const index = readIndex(store)
    delete index.secrets[record.ID]
    // Metadata first: a crash between the two leaves only an unreferenced data file.
    await writeJsonAtomic(indexPath(store), index)
    await rm(dataPath(store, record.ID), {force: true})
    return record
  })
}

async function sweepUnreferencedData(store: Store, index: SecretIndex): Promise<void> {
  let names: string[]
  try {
    names = readdirSync(join(secretsDir(store), 'data'))
  } catch {
    return
  }
  await Promise.all(names.filter(n => !index.secrets[n]).map(n => rm(join(secretsDir(store), 'data', n), {force: true})))
}

/** `--secret NAME[,type=mount|env][,target=T][,uid=U][,gid=G][,mode=M]` of run and create. */
export interface SecretUse {
  name: string
  type: 'mount' | 'env'
  target: string
  uid: number
  gid: number
  mode: number
}

export function parseSecretUse(value: string): SecretUse {
  const [name, ...opts] = value.split(',')
  if (!name) throw new InvalidArgumentError(`--secret "${value}": the secret name is missing`, {hint: 'Use --secret NAME[,type=mount|env,target=PATH]'})
  const use: SecretUse = {name, type: 'mount', target: '', uid: 0, gid: 0, mode: 0o444}
  const number = (key: string, v: string, base: number): number => {
    const n = Number.parseInt(v, base)
    if (!Number.isInteger(n) || n < 0 || !(base === 8 ? /^[0-7]+$/ : /^\d+$/).test(v)) throw new InvalidArgumentError(`--secret "${value}": ${key}=${v} is not a valid ${base === 8 ? 'octal mode' : 'number'}`)
    return n
  }
  for (const opt of opts) {
    const i = opt.indexOf('=')
    const key = i === -1 ? opt : opt.slice(0, i)
    const v = i === -1 ? '' : opt.slice(i + 1)
    if (key === 'type') {
      if (v !== 'mount' && v !== 'env') throw new InvalidArgumentError(`--secret "${value}": type must be mount or env`)
      use.type = v
    } else if (key === 'target') use.target = v
    else if (key === 'uid') use.uid = number(key, v, 10)
    else if (key === 'gid') use.gid = number(key, v, 10)
    else if (key === 'mode') use.mode = number(key, v, 8)
    else throw new InvalidArgumentError(`--secret "${value}": unknown option "${key}"`, {hint: 'Options are type, target, uid, gid and mode'})
  }
  if (use.type === 'env' && (use.uid !== 0 || use.gid !== 0 || use.mode !== 0o444) && opts.some(o => /^(uid|gid|mode)=/.test(o))) {
    throw new InvalidArgumentError(`--secret "${value}": uid, gid and mode apply only to type=mount`)
  }
  if (use.type === 'mount') {
    if (!use.target) use.target = `/run/secrets/${name}`
    else if (!use.target.startsWith('/')) use.target = `/run/secrets/${use.target}`
  } else if (!use.target) use.target = name
  return use
}

export interface PreparedSecrets {
  /** Bind mounts of the secret files, for the OCI spec. */
  mounts: Array<{source: string; destination: string; options: string[]}>
  /** `NAME=value` entries for the process environment; never stored in the container record. */
  env: string[]
  /** What inspect shows: no data. */
  refs: Array<{ID: string; Name: string; Target: string; Type: string; UID: number; GID: number; Mode: number}>
  /** Files whose owner must become uid:gid inside the user namespace. */
  chown: Array<{path: string; uid: number; gid: number}>
}

/**
 * The `NAME=value` entries of a container's env-type secrets, read from the
 * store at each use, as Podman's exec does: the value is kept nowhere else.
 * By the secret's name, so one replaced or created again under that name
 * gives its current value, and a removed one fails as in Podman.
 */
export async function readSecretEnvironment(store: Store, refs: ReadonlyArray<{Name: string; Target: string; Type: string}>): Promise<string[]> {
  const env: string[] = []
  for (const ref of refs) {
    if (ref.Type !== 'env') continue
    const record = findSecret(store, ref.Name)
    if (!record) throw new NoSuchSecretError(ref.Name)
    env.push(`${ref.Target}=${(await readSecretData(store, record)).toString('utf8')}`)
  }
  return env
}

/** Copy each mounted secret into the container's own directory (0700), so removing the secret later does not break the container. */
export async function prepareSecrets(store: Store, values: string[], userdata: string): Promise<PreparedSecrets> {
  const prepared: PreparedSecrets = {mounts: [], env: [], refs: [], chown: []}
  for (const [index, value] of values.entries()) {
    const use = parseSecretUse(value)
    const record = findSecret(store, use.name)
    if (!record) throw new NoSuchSecretError(use.name)
    const data = await readSecretData(store, record)
    if (use.type === 'env') {
      prepared.env.push(`${use.target}=${data.toString('utf8')}`)
    } else {
      const dir = join(userdata, 'secrets')
      await mkdir(dir, {recursive: true, mode: 0o700})
      // One file per use: the same secret may be mounted twice with different owners or modes.
      const file = join(dir, `${index}-${record.ID}`)
      await writeFileAtomic(file, data, use.mode)
      prepared.mounts.push({source: file, destination: use.target, options: ['ro', 'nosuid', 'nodev', 'noexec']})
      if (use.uid !== 0 || use.gid !== 0) prepared.chown.push({path: file, uid: use.uid, gid: use.gid})
    }
    prepared.refs.push({ID: record.ID, Name: record.Spec.Name, Target: use.target, Type: use.type, UID: use.uid, GID: use.gid, Mode: use.mode})
  }
  return prepared
}
