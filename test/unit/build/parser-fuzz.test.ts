import t from 'tap'
import {Worker} from 'node:worker_threads'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {build} from 'esbuild'
import {parseDockerfile} from '../../../src/build/parser.js'

// Valid Dockerfiles the mutations start from: together they use every part of the syntax.
const corpus = [
  'FROM alpine:3.19\nRUN apk add --no-cache curl\nCMD ["curl", "--version"]\n',
  '# syntax=docker/dockerfile:1\n# escape=\\\nARG BASE=debian:bookworm\nFROM ${BASE} AS build\nWORKDIR /src\nCOPY --chown=1000:1000 --chmod=0755 . .\nRUN --mount=type=cache,target=/root/.cache \\\n    # build it\n    make && \\\n\n    make install\nFROM scratch\nCOPY --from=build /out /\nENTRYPOINT ["/app"]\n',
  'FROM busybox\nRUN <<EOF\necho one\necho two\nEOF\nRUN <<-"EOT" sh && cat <<B\n\techo $HOME\n\tEOT\nb\nB\nCOPY <<EOF /etc/motd\nhello ${USER:-you}\nEOF\nRUN python3 3<<EOF /dev/fd/3\nprint(1)\nEOF\n',
  '# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir `\n  c:\\\nSHELL ["powershell", "-command"]\nENV A=1 `\n    B="two words"\n',
  'FROM node:20 AS base\nENV NODE_ENV=production PATH=/app/bin:$PATH\nLABEL "com.example.vendor"="ACME" version=1.0 description="a \\\n  b"\nEXPOSE 80/tcp 443\nVOLUME ["/data"]\nUSER node:node\nSTOPSIGNAL SIGTERM\nHEALTHCHECK --interval=5m --timeout=3s CMD curl -f http://localhost/ || exit 1\nONBUILD COPY . /app\nONBUILD RUN npm ci\nMAINTAINER someone <a@b.c>\n',
  'ARG V=1\nARG REG\nFROM --platform=$BUILDPLATFORM golang:${V} AS b1\nARG TARGETARCH\nRUN GOARCH=$TARGETARCH go build\nFROM alpine AS b2\nRUN --mount=type=secret,id=tok,required --mount=type=ssh --mount=type=tmpfs,target=/t,size=64m true\nFROM b1\nCOPY --from=b2 /a /b\nCOPY --from=0 ["/x y", "/z"]\nADD --checksum=sha256:0123 --keep-git-dir https://example.com/x.tar /x\nHEALTHCHECK NONE\n',
  'from alpine\nrun echo "quoted \\"inner\\" text" \'single $X\' ${A:+alt} ${B%.*} ${C/x/y}\nenv legacy value with spaces\ncmd echo [not json\nentrypoint [ "a" ]\n',
]

const alphabet = ['\\', '`', '"', "'", '[', ']', '<', '<<', '-', '$', '{', '}', '\n', '\t', ' ', '#', '=', ',', ':', '/', '\r', '\u00a0', 'é', '😀', 'a', 'Z', '0', '9', '*', '?', '!', '%', '\\\n', '\u0000']
const snippets = ['<<EOF', '<<-EOF\n', '<<"EOF"', '\nEOF\n', '--mount=', '--from=', '--chmod=', '--', 'ONBUILD ', 'RUN ', 'FROM ', 'HEALTHCHECK ', 'CMD ', 'NONE', 'ARG ', 'ENV ', '["a", "b"]', '["a", 1]', '["unterminated', '# escape=`\n', '# syntax=x\n', '\\\n', '${', '${A:-', '${A:?x}', '3<<X', ' AS ', 'type=cache,target=/x', '\n\n', '\t\t']

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function makeCases(seed: number, count: number): string[] {
  const random = mulberry32(seed)
  const int = (n: number) => Math.floor(random() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]
  const mutate = (text: string): string => {
    const pos = int(text.length + 1)
    const lines = text.split('\n')
    switch (int(9)) {
      case 0:
        return text.slice(0, pos) + pick(alphabet) + text.slice(pos + 1)
      case 1:
        return text.slice(0, pos) + pick(snippets) + text.slice(pos)
      case 2:
        return text.slice(0, pos) + text.slice(pos + int(20))
      case 3: {
        const i = int(lines.length)
        lines.splice(i, 0, lines[i] ?? '')
        return lines.join('\n')
      }
      case 4: {
        const i = int(lines.length)
        const j = int(lines.length)
        ;[lines[i], lines[j]] = [lines[j], lines[i]]
        return lines.join('\n')
      }
      case 5:
        lines.splice(int(lines.length), 1)
        return lines.join('\n')
      case 6:
        return text.slice(0, pos)
      case 7:
        return text.slice(0, pos) + text.slice(pos, pos + 10).toUpperCase() + text.slice(pos + 10)
      default:
        return text.slice(0, pos) + String.fromCharCode(int(0x3000)) + text.slice(pos)
    }
  }
  const cases: string[] = []
  for (let i = 0; i < count; i++) {
    if (i % 10 === 9) {
      let text = ''
      const length = int(300)
      while (text.length < length) text += random() < 0.3 ? pick(snippets) : pick(alphabet)
      cases.push(text)
      continue
    }
    let text = pick(corpus)
    const rounds = 1 + int(4)
    for (let r = 0; r < rounds; r++) text = mutate(text)
    cases.push(text)
  }
  return cases
}

// Runs in a worker so that a parse that never ends can be cut off and named.
const workerSource = `
const {parentPort, workerData} = require('node:worker_threads')
;(async () => {
  const {parseDockerfile, planBuild, expandWords, DockerfileError} = await import(workerData.bundle)
  const progress = new Int32Array(workerData.progress)
  const failures = []
  let slowest = 0
  let parsed = 0
  const lookup = name => (name === 'A' ? 'x y' : name === 'E' ? '' : undefined)
  const located = e => e instanceof DockerfileError && /^Dockerfile:\\d+:\\d+: \\S/.test(e.message)
  workerData.cases.forEach((text, index) => {
    Atomics.store(progress, 0, index)
    const start = performance.now()
    try {
      const df = parseDockerfile(text, 'Dockerfile')
      parsed++
      try {
        planBuild(df, {buildArgs: {A: '1'}, platform: {os: 'linux', architecture: 'amd64'}})
      } catch (e) {
        if (!located(e)) failures.push({index, error: 'plan: ' + (e && e.stack || e)})
      }
      for (const instruction of df.instructions) {
        for (const arg of instruction.args) {
          try {
            expandWords(arg, lookup, {escape: df.directives.escape})
          } catch (e) {
            if (!(e instanceof DockerfileError)) failures.push({index, error: 'expand: ' + (e && e.stack || e)})
          }
        }
      }
    } catch (e) {
      if (!located(e)) failures.push({index, error: 'parse: ' + (e && e.stack || e)})
    }
    const took = performance.now() - start
    slowest = Math.max(slowest, took)
    if (took > workerData.caseBudgetMs) failures.push({index, error: 'took ' + took.toFixed(0) + ' ms'})
  })
  parentPort.postMessage({type: 'fuzz-done', failures, slowest, parsed})
})().catch(e => parentPort.postMessage({type: 'fuzz-crash', error: String(e && e.stack || e)}))
`

interface FuzzReport {
  type: 'fuzz-done' | 'fuzz-crash'
  failures?: {index: number; error: string}[]
  slowest?: number
  parsed?: number
  error?: string
}

/** The modules under test as one plain ES module: a worker does not get the test runner's TypeScript loader. */
async function bundleSources(): Promise<string> {
  const src = fileURLToPath(new URL('../../../src/build/', import.meta.url))
  const result = await build({
    stdin: {
      contents: [
        "export {parseDockerfile} from './parser.ts'",
        "export {planBuild} from './plan.ts'",
        "export {expandWords} from './expand.ts'",
        "export {DockerfileError} from './dockerfile-error.ts'",
      ].join('\n'),
      resolveDir: src,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    write: false,
    logLevel: 'silent',
  })
  const file = join(mkdtempSync(join(tmpdir(), 'tspod-fuzz-')), 'front-end.mjs')
  writeFileSync(file, result.outputFiles[0].text)
  return pathToFileURL(file).href
}

async function runFuzz(cases: string[], deadlineMs: number): Promise<FuzzReport | {type: 'timeout'; index: number}> {
  const progress = new SharedArrayBuffer(4)
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: {cases, progress, caseBudgetMs: 250, bundle: await bundleSources()},
  })
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve({type: 'timeout', index: Atomics.load(new Int32Array(progress), 0)}), deadlineMs)
      worker.on('message', (message: FuzzReport) => {
        if (message?.type !== 'fuzz-done' && message?.type !== 'fuzz-crash') return
        clearTimeout(timer)
        resolve(message)
      })
      worker.on('error', err => {
        clearTimeout(timer)
        reject(err)
      })
    })
  } finally {
    await worker.terminate()
  }
}

t.test('the corpus itself parses', async t => {
  for (const text of corpus) t.ok(parseDockerfile(text, 'Dockerfile').instructions.length > 0)
})

t.test('random and mutated Dockerfiles fail only with located DockerfileErrors, quickly', async t => {
  const seed = Number(process.env.TSPOD_FUZZ_SEED ?? 20261122)
  const count = Number(process.env.TSPOD_FUZZ_CASES ?? 6000)
  const cases = makeCases(seed, count)
  const started = Date.now()
  const report = await runFuzz(cases, 60_000)
  const elapsed = Date.now() - started
  if (report.type === 'timeout') {
    t.fail(`case ${report.index} (seed ${seed}) did not finish: ${JSON.stringify(cases[report.index])}`)
    return
  }
  t.equal(report.type, 'fuzz-done', report.error ?? '')
  for (const failure of (report.failures ?? []).slice(0, 5)) {
    t.fail(`case ${failure.index} (seed ${seed}): ${failure.error}\ninput: ${JSON.stringify(cases[failure.index])}`)
  }
  t.equal(report.failures?.length, 0, 'no failures')
  t.ok((report.parsed ?? 0) > count / 10, `a fair share still parses (${report.parsed} of ${count})`)
  t.comment(`${count} cases in ${elapsed} ms, slowest ${report.slowest?.toFixed(1)} ms`)
})
