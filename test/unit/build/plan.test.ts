import t from 'tap'
import {parseDockerfile} from '../../../src/build/parser.js'
import {describePlan, formatPlanText, parseArgToken, planBuild, resolveStageArg, type PlanOptions} from '../../../src/build/plan.js'
import {DockerfileError} from '../../../src/build/dockerfile-error.js'

const amd64 = {os: 'linux', architecture: 'amd64'}
const arm = {os: 'linux', architecture: 'arm', variant: 'v7'}
const plan = (text: string, options: Partial<PlanOptions> = {}) =>
  planBuild(parseDockerfile(text, 'Dockerfile'), {buildArgs: {}, platform: amd64, buildPlatform: amd64, ...options})

const multi = `FROM golang:1.22 AS build
COPY . /src
RUN go build -o /out/app ./...

FROM alpine AS certs
RUN apk add ca-certificates

FROM node:20 AS docs
RUN npm run docs

FROM scratch AS final
COPY --from=certs /etc/ssl /etc/ssl
COPY --from=build /out/app /app

FROM final AS debug
COPY --from=busybox:latest /bin/busybox /bin/
`

t.test('stages, dependencies and levels', async t => {
  const p = plan(multi)
  t.equal(p.stages.length, 5)
  t.same(p.stages.map(s => s.name), ['build', 'certs', 'docs', 'final', 'debug'])
  t.equal(p.target, 4, 'the last stage by default')
  t.same(p.needed, [0, 1, 3, 4], 'docs is not needed')
  t.same(p.levels, [[0, 1], [3], [4]])
  t.equal(p.stages[4].baseStage, 3)
  t.same(p.stages[4].images, ['busybox:latest'])
  t.same(p.stages[3].dependencies.map(d => [d.kind, d.stage, d.location.line]), [['copy', 1, 12], ['copy', 0, 13]])
  t.same(p.stages[0].instructions.map(i => i.keyword), ['COPY', 'RUN'])
  t.equal(p.stages[0].from.location.line, 1)

  const final = plan(multi, {target: 'FINAL'})
  t.equal(final.target, 3, 'target names compare case-insensitively')
  t.same(final.needed, [0, 1, 3])
  t.same(plan(multi, {target: 'docs'}).levels, [[2]])
})

t.test('stage references by index, mounts and forward references', async t => {
  const p = plan(`FROM alpine
RUN echo zero
FROM alpine
COPY --from=0 /a /b
RUN --mount=type=bind,from=2,target=/x --mount=type=cache,target=/c true
FROM alpine AS later
RUN echo later
`)
  t.same(p.stages[1].dependencies.map(d => [d.kind, d.stage]), [['copy', 0], ['mount', 2]])
  t.same(p.levels, [[2]], 'the last stage is the target and needs nothing')
  t.same(plan('FROM alpine\nFROM alpine\nCOPY --from=0 /a /b\nRUN --mount=from=2,target=/x true\nFROM alpine AS later\n', {target: undefined}).levels, [[2]])
  const withMiddle = plan(`FROM alpine AS a
COPY --from=b /x /y
FROM alpine AS b
FROM a
`)
  t.same(withMiddle.needed, [0, 1, 2])
  t.same(withMiddle.levels, [[1], [0], [2]], 'a copies from the later stage b')
})

t.test('global ARGs in FROM and the predefined platform ARGs', async t => {
  const text = `ARG VERSION=3.19
ARG REGISTRY
ARG IMAGE=\${REGISTRY:-docker.io}/library/alpine
FROM --platform=$BUILDPLATFORM \${IMAGE}:\${VERSION} AS build
ARG VERSION
ARG TARGETARCH
ARG OTHER=x
FROM alpine:$TARGETARCH-$UNDECLARED
`
  let p = plan(text, {platform: arm})
  t.equal(p.stages[0].base, '${IMAGE}:${VERSION}')
  t.equal(p.stages[0].baseExpanded, 'docker.io/library/alpine:3.19')
  t.equal(p.stages[0].platform, 'linux/amd64')
  t.equal(p.stages[1].baseExpanded, 'alpine:arm-', 'build args are not ARGs: $UNDECLARED is empty')
  t.same(p.globalArgs, {VERSION: '3.19', REGISTRY: undefined, IMAGE: 'docker.io/library/alpine'})
  t.same(p.predefinedArgs, {
    TARGETPLATFORM: 'linux/arm/v7', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7',
    BUILDPLATFORM: 'linux/amd64', BUILDOS: 'linux', BUILDARCH: 'amd64', BUILDVARIANT: '',
  })

  p = plan(text, {buildArgs: {VERSION: '3.20', REGISTRY: 'quay.io', UNDECLARED: 'u', HTTP_PROXY: 'http://proxy:3128', NOPE: '1'}})
  t.equal(p.stages[0].baseExpanded, 'quay.io/library/alpine:3.20')
  t.equal(p.stages[1].baseExpanded, 'alpine:amd64-')
  t.same(p.unusedBuildArgs, ['NOPE', 'UNDECLARED'], 'proxy args never count as unused')

  const none = () => undefined
  t.equal(resolveStageArg(p, 'VERSION', undefined, none), '3.20', 'the build arg')
  p = plan(text)
  t.equal(resolveStageArg(p, 'VERSION', undefined, none), '3.19', 'inherits the global value when declared without default')
  t.equal(resolveStageArg(p, 'VERSION', '1.0', none), '1.0', 'a default beats the global value')
  t.equal(resolveStageArg(p, 'TARGETARCH', undefined, none), 'amd64')
  t.equal(resolveStageArg(p, 'OTHER', '${TARGETARCH:-none}', name => (name === 'TARGETARCH' ? 'amd64' : undefined)), 'amd64')
  t.equal(resolveStageArg(p, 'MISSING', undefined, none), undefined)
  t.same(parseArgToken('A=b=c'), {name: 'A', rawDefault: 'b=c'})
  t.same(parseArgToken('A'), {name: 'A'})
})

t.test('--from may name a stage through a stage ARG', async t => {
  const p = plan(`FROM alpine AS one
FROM alpine AS two
ARG SRC=one
COPY --from=\${SRC} /a /b
`, {})
  t.same(p.stages[1].dependencies.map(d => d.stage), [0])
  const q = plan(`FROM alpine AS one
FROM alpine AS two
ARG SRC=one
COPY --from=\${SRC} /a /b
`, {buildArgs: {SRC: 'busybox'}})
  t.same(q.stages[1].images, ['busybox'])
})

t.test('planning errors point at the line', async t => {
  const cases: [string, Partial<PlanOptions>, RegExp][] = [
    ['FROM alpine AS a\nFROM alpine AS a\n', {}, /^Dockerfile:2:1: duplicate stage name "a"/],
    ['FROM alpine AS 1st\n', {}, /^Dockerfile:1:1: invalid stage name "1st"/],
    ['FROM alpine AS a\nCOPY --from=b /x /y\nFROM alpine AS b\nCOPY --from=a /x /y\n', {}, /circular dependency detected on stage/],
    ['FROM alpine AS a\nCOPY --from=a /x /y\n', {}, /^Dockerfile:2:6: stage 0 \("a"\) cannot read from itself/],
    ['FROM alpine\nCOPY --from=7 /x /y\n', {}, /^Dockerfile:2:6: invalid stage index 7/],
    ['ARG IMG\nFROM $IMG\n', {}, /^Dockerfile:2:1: the base image name "\$IMG" is empty/],
    ['ARG IMG\nFROM ${IMG:?required}\n', {}, /^Dockerfile:2:1: IMG: required$/],
    ['FROM alpine\nRUN --mount=type=cache true\n', {}, /^Dockerfile:2:5: invalid --mount=type=cache: type=cache needs a target/],
    ['FROM alpine\nCOPY --chmod=u=rwz a b\n', {}, /^Dockerfile:2:6: invalid --chmod=u=rwz/],
    ['FROM alpine AS a\n', {target: 'b'}, /target stage "b" could not be found in Dockerfile/],
  ]
  for (const [text, options, message] of cases) {
    t.throws(() => plan(text, options), DockerfileError, text)
    t.throws(() => plan(text, options), {message}, text)
  }
  t.throws(() => plan('FROM alpine AS a\nFROM alpine AS c\n', {target: 'b'}), {message: /could not be found/, hint: 'use --target with one of: a, c'})
})

t.test('describePlan and formatPlanText', async t => {
  const p = plan(`ARG V=1
FROM alpine AS base
RUN --mount=type=cache,target=/c <<EOF
echo $V
EOF
FROM base
HEALTHCHECK --interval=5s CMD ["true"]
ONBUILD COPY . /app
`, {buildArgs: {X: '1'}})
  const described = JSON.parse(JSON.stringify(describePlan(p)))
  t.same(described.target, {index: 1, name: null})
  t.same(described.levels, [[0], [1]])
  t.same(described.globalArgs, {V: '1'})
  t.same(described.unusedBuildArgs, ['X'])
  const run = described.stages[0].instructions[0]
  t.same(run, {
    line: 3,
    endLine: 5,
    name: 'RUN',
    flags: [{name: 'mount', value: 'type=cache,target=/c'}],
    json: false,
    args: ['<<EOF'],
    heredocs: [{name: 'EOF', expand: true, stripTabs: false, content: 'echo $V\n'}],
    original: 'RUN --mount=type=cache,target=/c <<EOF',
  })
  t.same(described.stages[1].dependsOn, [0])
  t.equal(described.stages[1].baseStage, 0)
  t.same(described.stages[1].instructions[0].subcommand, 'CMD')
  t.same(described.stages[1].instructions[1].trigger.name, 'COPY')
  const text = formatPlanText(p)
  t.match(text, /^stage 0 "base": FROM alpine\n/)
  t.match(text, /  Dockerfile:3  RUN --mount=type=cache,target=\/c <<EOF\n      \| echo \$V\n      EOF\n/)
  t.match(text, /stage 1: FROM base, stage 0  \[target\]\n/)
  t.match(text, /order: 0 -> 1\n/)
  t.match(text, /unused build args: X\n$/)
  const skipped = formatPlanText(plan('FROM a AS x\nFROM b AS y\nFROM c AS z\nCOPY --from=x / /\n'))
  t.match(skipped, /stage 1 "y": FROM b  \[skipped: not needed for the target\]/)
  t.match(skipped, /order: 0 -> 2\n/)
  t.match(formatPlanText(plan('FROM a AS x\nFROM b AS y\nFROM c\nCOPY --from=x / /\nCOPY --from=y / /\n')), /order: \{0, 1\} -> 2\n/)
})
