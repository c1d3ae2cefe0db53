/**
 * A container's healthcheck state (userdata/health.json), read by ps and
 * inspect: kept apart from health.ts so those commands load none of the
 * machinery that runs checks.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {isErrno} from '../errors/index.js'
import type {Store} from '../storage/store.js'
import {containerPaths, type ContainerRecord} from './container-store.js'

export interface HealthLogEntry {
  Start: string
  End: string
  ExitCode: number
  Output: string
}

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy' | ''
  FailingStreak: number
  Log: HealthLogEntry[] | null
}

export function healthFile(store: Store, id: string): string {
  return join(containerPaths(store, id).userdata, 'health.json')
}

export function readHealth(store: Store, record: ContainerRecord): HealthState {
  if (!record.healthcheck) return {Status: '', FailingStreak: 0, Log: null}
  try {
    return JSON.parse(readFileSync(healthFile(store, record.id), 'utf8')) as HealthState
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return {Status: 'starting', FailingStreak: 0, Log: null}
    throw err
  }
}

