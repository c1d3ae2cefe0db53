/**
 * `tspod manifest inspect` of a remote reference: the manifest (an image's,
 * or a manifest list / OCI index) as the registry serves it.
 */
import type {EngineConfig} from '../config/index.js'
import {formatReference, normalizeReference, parseReference, referenceName, withDefaultTag} from '../image/reference.js'
import type {Store} from '../storage/store.js'
import {repositoryScope} from './auth.js'
import {fetchManifest} from './pull.js'
import {openRegistryClient, type RegistryAccessOptions} from './session.js'

export interface RemoteManifest {
  reference: string
  digest: string
  mediaType: string
  manifest: unknown
}

export async function inspectRemoteManifest(config: EngineConfig, store: Store, input: string, access: RegistryAccessOptions): Promise<RemoteManifest> {
  const ref = withDefaultTag(normalizeReference(parseReference(input)))
  const name = referenceName(ref)
  const client = openRegistryClient(config, name, access)
  try {
    const shown = formatReference(ref)
    const fetched = await fetchManifest(client, store, ref.path, ref.digest ?? ref.tag!, repositoryScope(ref.path, ['pull']), shown)
    return {reference: shown, digest: fetched.digest, mediaType: fetched.mediaType, manifest: JSON.parse(fetched.bytes.toString('utf8'))}
  } finally {
    client.close()
  }
}
