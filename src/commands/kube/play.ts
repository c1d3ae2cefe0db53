import {Args, Flags} from '@oclif/core'
import {TspodCommand} from '../../cli/base-command.js'

export default class KubePlay extends TspodCommand {
  static override description = 'Create pods, containers, volumes and secrets from Kubernetes YAML (a file, a URL, or - for standard input)'
  static override aliases = ['play:kube']
  static override args = {file: Args.string({required: true, description: 'YAML file, http(s) URL, or - for standard input'})}
  static override flags = {
    annotation: Flags.string({multiple: true, description: 'Add an annotation to every container (key=value)'}),
    build: Flags.boolean({description: 'Build images whose context directory exists, even when present (--build=false: never build)', allowNo: true}),
    configmap: Flags.string({multiple: true, description: 'YAML file with ConfigMaps for the environment (repeatable, or comma-separated)'}),
    'context-dir': Flags.string({description: 'Where to look for image context directories (default: the current directory)'}),
    'log-driver': Flags.string({description: 'Logging driver for the containers', options: ['k8s-file', 'none', 'passthrough']}),
    down: Flags.boolean({description: 'Remove what the YAML created, as kube down does'}),
    network: Flags.string({description: 'Network mode for the pods: private, none, host, slirp4netns[:OPTIONS] or pasta[:OPTIONS]'}),
    publish: Flags.string({multiple: true, description: 'Publish a port, overriding the hostPort the YAML gives for that container port ([ip:]hostPort:containerPort[/protocol])'}),
    quiet: Flags.boolean({char: 'q', description: 'Print nothing on success'}),
    replace: Flags.boolean({description: 'Remove pods the YAML makes first if they exist, then create them again'}),
    'service-container': Flags.boolean({description: 'Start a service container after the pods, whose monitor reports MAINPID and READY=1 to a systemd Type=notify unit (kube down removes it)'}),
    userns: Flags.string({description: 'User namespace for the pods (host, keep-id, nomap)'}),
    start: Flags.boolean({description: 'Start the pods after creating them', default: true, allowNo: true}),
  }
}
