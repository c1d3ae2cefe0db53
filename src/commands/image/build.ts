import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class ImageBuild extends TspodCommand {
  static override description = 'Build an image from a Dockerfile (rootless, reproducible by default)'
  static override aliases = ['build', 'buildx:build']
  static override needsUserNamespace = true
  static override args = {
    context: Args.string({description: 'build context: a directory, a tar archive on stdin (-), or a git or http(s) URL (default .)'}),
  }
  static override flags = {
    annotation: Flags.string({multiple: true, description: 'Add an annotation to the image manifest (KEY=VALUE)'}),
    authfile: Flags.string({description: 'Path of the authentication file for registries (base images, cache repositories)'}),
    'build-arg': Flags.string({multiple: true, description: 'Set a build-time variable (ARG=VALUE, or ARG to take it from the environment)'}),
    'build-arg-file': Flags.string({multiple: true, description: 'Read build-time variables from a file of ARG=VALUE lines'}),
    'cache-from': Flags.string({multiple: true, description: 'Registry repository to pull cached step images from when the local cache misses (repeatable, tried in order)'}),
    'cache-to': Flags.string({multiple: true, description: 'Registry repository to push each step image to, tagged with its cache key (repeatable)'}),
    'cache-ttl': Flags.string({description: 'Use only cache entries recorded less than this long ago (e.g. 1h30m; 0 is --no-cache)'}),
    'cap-add': Flags.string({multiple: true, description: 'Add a capability to RUN steps'}),
    'cert-dir': Flags.string({description: 'Use certificates at the specified path to access the registry'}),
    creds: Flags.string({description: 'Use USERNAME[:PASSWORD] for accessing the registry'}),
    'dry-run': Flags.boolean({description: 'Parse and plan the build, print the stages and steps, build nothing'}),
    file: Flags.string({char: 'f', multiple: true, description: 'Path of the Dockerfile, or - for stdin (default CONTEXT/Containerfile or CONTEXT/Dockerfile)'}),
    format: Flags.string({options: ['oci', 'docker', 'json'], description: 'Format of the image manifest and metadata (default oci); with --dry-run, json prints the plan as JSON'}),
    iidfile: Flags.string({description: 'Write the image ID to the file'}),
    label: Flags.string({multiple: true, description: 'Set a label on the image (KEY=VALUE)'}),
    layers: Flags.boolean({default: true, allowNo: false, description: 'Cache intermediate images (--layers=false builds without the cache and keeps no intermediate images)'}),
    network: Flags.string({description: 'Network for RUN steps: none, host or private (default private)'}),
    'no-cache': Flags.boolean({description: 'Do not use cached intermediate images (they are still stored)'}),
    platform: Flags.string({description: 'Target platform (OS/ARCH[/VARIANT]); only the host platform can be built'}),
    pull: Flags.string({description: 'Pull the base image: always, missing (default), never or newer'}),
    quiet: Flags.boolean({char: 'q', description: 'Print only the image ID'}),
    secret: Flags.string({multiple: true, description: 'A secret for RUN --mount=type=secret: id=ID,src=PATH or id=ID,env=VAR'}),
    'security-opt': Flags.string({multiple: true, description: 'Security options for RUN steps'}),
    ssh: Flags.string({multiple: true, description: 'SSH agent socket or keys to expose to RUN --mount=type=ssh: default|ID[=SOCKET|KEY[,KEY]] (default and a bare ID use $SSH_AUTH_SOCK)'}),
    'source-date-epoch': Flags.string({description: 'Timestamp (seconds since the epoch) that clamps file times and sets the creation time (default $SOURCE_DATE_EPOCH, else 0)'}),
    squash: Flags.boolean({description: 'Squash the layers this build adds into one'}),
    'squash-all': Flags.boolean({description: 'Squash the base image and the new layers into one layer'}),
    tag: Flags.string({char: 't', multiple: true, description: 'Name for the built image (repeatable)'}),
    target: Flags.string({description: 'Build up to this stage'}),
    'tls-verify': Flags.boolean({description: 'Require HTTPS and verify certificates when pulling base images and using cache repositories'}),
    timestamp: Flags.string({description: 'Set the creation time and every file time of new layers to this many seconds since the epoch'}),
    verify: Flags.boolean({description: 'Build a second time without the cache and fail if the image digests differ'}),
    volume: Flags.string({char: 'v', multiple: true, description: 'Bind mount a volume into RUN steps (HOST:CONTAINER[:OPTIONS])'}),
  }
}
