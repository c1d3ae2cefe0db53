/**
 * Where Quadlet files live (podman-systemd.unit(5)'s search paths), and
 * reading them: for a user, $XDG_CONFIG_HOME/containers/systemd (or
 * ~/.config/containers/systemd), then /etc/containers/systemd/users/$UID and
 * /etc/containers/systemd/users; for the system, /etc/containers/systemd and
 * /usr/share/containers/systemd. A file name found in an earlier directory
 * hides the same name in later ones. Subdirectories are searched too.
 */
import {readFileSync, readdirSync, statSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {quadletKind, type QuadletSource} from './quadlet.js'

export function quadletSearchDirs(user: boolean, env: NodeJS.ProcessEnv = process.env): string[] {
  if (!user) return ['/etc/containers/systemd', '/usr/share/containers/systemd']
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config')
  const uid = process.getuid?.() ?? 0
  return [join(config, 'containers', 'systemd'), `/etc/containers/systemd/users/${uid}`, '/etc/containers/systemd/users']
}

/** The directory `quadlet install` writes to: the first of the search path. */
export function quadletInstallDir(user: boolean, env: NodeJS.ProcessEnv = process.env): string {
  return quadletSearchDirs(user, env)[0]
}

function walk(dir: string, depth: number, out: string[]): void {
  let names: string[]
  try {
    names = readdirSync(dir).sort()
  } catch {
    return
  }
  for (const name of names) {
    const path = join(dir, name)
    let isDir = false
    try {
      isDir = statSync(path).isDirectory()
    } catch {
      continue
    }
    if (isDir) {
      if (depth < 8 && !name.startsWith('.')) walk(path, depth + 1, out)
    } else if (quadletKind(name)) {
      out.push(path)
    }
  }
}

export function collectQuadletSources(dirs: string[]): QuadletSource[] {
  const seen = new Set<string>()
  const sources: QuadletSource[] = []
  for (const dir of dirs) {
    const found: string[] = []
    walk(dir, 0, found)
    for (const path of found) {
      const name = path.slice(path.lastIndexOf('/') + 1)
      if (seen.has(name)) continue
      seen.add(name)
      sources.push({path, text: readFileSync(path, 'utf8')})
    }
  }
  return sources
}
