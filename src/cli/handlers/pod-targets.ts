/** Which pods a pod command acts on (arguments, --all, --latest, --pod-id-file), and acting on each. */
import {readFileSync} from 'node:fs'
import type {Engine} from '../../engine/engine.js'
import {InvalidArgumentError, TspodError} from '../../errors/index.js'
import {latestPod, lookupPod, readPod, readPodIndex, type PodRecord} from '../../pod/pod-store.js'
import {podErrorsToError, type PodErrors} from '../../pod/pods.js'
import {flagBool, flagList, type CommandContext} from '../context.js'

export interface PodTarget {
  ref: string
  pod?: PodRecord
  error?: Error
}

export function resolvePodTargets(ctx: CommandContext, engine: Engine): PodTarget[] {
  const {store} = engine
  const attempt = (ref: string, find: () => PodRecord): PodTarget => {
    try {
      return {ref, pod: find()}
    } catch (err) {
      return {ref, error: err as Error}
    }
  }
  if (flagBool(ctx, 'all')) return readPodIndex(store).map(e => attempt(e.id, () => readPod(store, e.id)))
  if (flagBool(ctx, 'latest')) return [attempt('latest', () => latestPod(store))]
  const refs = [...ctx.args]
  for (const file of flagList(ctx, 'pod-id-file')) {
    try {
      refs.push(readFileSync(file, 'utf8').trim())
    } catch (err) {
      if (!flagBool(ctx, 'ignore')) throw new InvalidArgumentError(`reading the pod ID from ${file}: ${(err as Error).message}`)
    }
  }
  if (refs.length === 0 && flagList(ctx, 'pod-id-file').length === 0) {
    throw new InvalidArgumentError('you must provide at least one pod name or ID, or use --all or --latest', {hint: `See '${ctx.commandLine} --help'`})
  }
  return refs.map(ref => attempt(ref, () => lookupPod(store, ref)))
}

/**
 * Run `act` on every target, printing each pod's full ID on success as
 * Podman does; a missing pod exits `missingCode` (skipped with --ignore),
 * any other failure 125.
 */
export async function actOnPods(ctx: CommandContext, engine: Engine, what: string, act: (pod: PodRecord) => Promise<PodErrors | void>, missingCode = 125): Promise<number> {
  let code = 0
  for (const target of resolvePodTargets(ctx, engine)) {
    if (!target.pod) {
      if (flagBool(ctx, 'ignore')) continue
      ctx.stderr.write(`Error: ${target.error?.message}\n`)
      code = Math.max(code, missingCode)
      continue
    }
    try {
      const error = podErrorsToError(what, target.pod, (await act(target.pod)) ?? [])
      if (error) throw error
      ctx.stdout.write(`${target.pod.id}\n`)
    } catch (err) {
      ctx.stderr.write(`Error: ${(err as Error).message}\n`)
      code = Math.max(code, err instanceof TspodError ? err.exitCode : 125)
    }
  }
  return code
}
