/**
 * From a parsed Dockerfile to what the builder runs: the stages, what each
 * depends on, which of them the target needs, and an order in levels where
 * the stages of one level do not depend on each other (so they may run at
 * once). Global ARGs and the predefined platform ARGs are resolved here the
 * way BuildKit scopes them; ENV from base images is not known yet, so
 * in-stage values stay for the builder.
 */

import type {Dockerfile, Instruction, ParserDirectives, SourceLocation} from './ast.js'
import {DockerfileError, locateDockerfileError} from './dockerfile-error.js'
import {expandWord, type VariableLookup} from './expand.js'
import {parseChmod} from './chmod.js'
import {parseMountFlag} from './mount.js'

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

export interface PlanOptions {
  /** The stage to build (`--target`); the last stage when absent. */
  target?: string
  buildArgs: Record<string, string>
  /** The platform the image is built for. */
  platform: Platform
  /** The platform the build runs on; the host's when absent. */
  buildPlatform?: Platform
}

export type DependencyKind = 'base' | 'copy' | 'mount'

export interface StageDependency {
  kind: DependencyKind
  stage: number
  location: SourceLocation
}

export interface PlannedStage {
  index: number
  /** The `AS` name, lower-cased as Docker compares it. */
  name?: string
  /** The image or stage after FROM, as written. */
  base: string
  /** The same after expanding global ARGs. */
  baseExpanded: string
  /** The earlier stage FROM names, when it names one. */
  baseStage?: number
  /** `FROM --platform=...`, expanded. */
  platform?: string
  from: Instruction
  /** The instructions after FROM, up to the next FROM. */
  instructions: Instruction[]
  dependencies: StageDependency[]
  /** Images (not stages) that COPY --from or RUN --mount=from= read. */
  images: string[]
}

export interface BuildPlan {
  file: string
  directives: ParserDirectives
  stages: PlannedStage[]
  /** Index of the stage being built. */
  target: number
  /** The stages the target needs, itself included, in index order. */
  needed: number[]
  /** The needed stages in dependency order; one level's stages are independent. */
  levels: number[][]
  /** ARGs declared before the first FROM, after --build-arg; undefined when unset. */
  globalArgs: Record<string, string | undefined>
  /** TARGETPLATFORM, BUILDARCH and the rest. */
  predefinedArgs: Record<string, string>
  buildArgs: Record<string, string>
  /** --build-arg names no needed ARG consumes (Docker warns about them). */
  unusedBuildArgs: string[]
}

/** Proxy variables may be passed with --build-arg without an ARG and stay out of the history. */
export const PROXY_ARGS: ReadonlySet<string> = new Set([
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy',
  'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
])

const STAGE_NAME_RE = /^[a-z][a-z0-9\-_.]*$/

export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(part => part !== undefined && part !== '').join('/')
}

/** The host as an OCI platform. */
export function hostPlatform(): Platform {
  const map: Record<string, Platform> = {
    x64: {os: 'linux', architecture: 'amd64'},
    arm64: {os: 'linux', architecture: 'arm64'},
    arm: {os: 'linux', architecture: 'arm', variant: 'v7'},
    ia32: {os: 'linux', architecture: '386'},
    ppc64: {os: 'linux', architecture: 'ppc64le'},
    s390x: {os: 'linux', architecture: 's390x'},
    riscv64: {os: 'linux', architecture: 'riscv64'},
    loong64: {os: 'linux', architecture: 'loong64'},
  }
  return map[process.arch] ?? {os: 'linux', architecture: process.arch}
}

export function predefinedArgs(target: Platform, build: Platform): Record<string, string> {
  return {
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? '',
  }
}

/** `NAME` or `NAME=default` from an ARG token (the default raw, to be expanded). */
export function parseArgToken(token: string): {name: string; rawDefault?: string} {
  const eq = token.indexOf('=')
  return eq < 0 ? {name: token} : {name: token.slice(0, eq), rawDefault: token.slice(eq + 1)}
}

/**
 * The value an in-stage `ARG name[=default]` takes (BuildKit's order): the
 * --build-arg, else the default expanded with the stage's variables, else
 * (no default) the global ARG or predefined ARG of that name.
 */
export function resolveStageArg(plan: BuildPlan, name: string, rawDefault: string | undefined, lookup: VariableLookup, escape: '\\' | '`' = plan.directives.escape): string | undefined {
  if (Object.hasOwn(plan.buildArgs, name)) return plan.buildArgs[name]
  if (rawDefault !== undefined) return expandWord(rawDefault, lookup, {escape})
  if (Object.hasOwn(plan.globalArgs, name)) return plan.globalArgs[name]
  return Object.hasOwn(plan.predefinedArgs, name) ? plan.predefinedArgs[name] : undefined
}

export function planBuild(df: Dockerfile, options: PlanOptions): BuildPlan {
  const escape = df.directives.escape
  const predefined = predefinedArgs(options.platform, options.buildPlatform ?? hostPlatform())
  const globalArgs: Record<string, string | undefined> = {}
  const declared = new Set<string>()
  const globalLookup: VariableLookup = name => (Object.hasOwn(globalArgs, name) ? globalArgs[name] : predefined[name])
  const expandAt = (raw: string, lookup: VariableLookup, location: SourceLocation): string => {
    try {
      return expandWord(raw, lookup, {escape})
    } catch (err) {
      if (err instanceof DockerfileError) throw locateDockerfileError(err, location)
      throw err
    }
  }

  const stages: PlannedStage[] = []
  let current: PlannedStage | undefined
  for (const instruction of df.instructions) {
    if (instruction.keyword === 'FROM') {
      current = startStage(instruction, stages, globalLookup, expandAt)
      stages.push(current)
      continue
    }
    if (current === undefined) {
      for (const token of instruction.args) {
        const {name, rawDefault} = parseArgToken(token)
        declared.add(name)
        globalArgs[name] = Object.hasOwn(options.buildArgs, name)
          ? options.buildArgs[name]
          : rawDefault === undefined ? undefined : expandAt(rawDefault, globalLookup, instruction.location)
      }
      continue
    }
    current.instructions.push(instruction)
  }

  const byName = new Map<string, number>()
  for (const stage of stages) if (stage.name !== undefined) byName.set(stage.name, stage.index)
  const plan: BuildPlan = {
    file: df.file,
    directives: df.directives,
    stages,
    target: stages.length - 1,
    needed: [],
    levels: [],
    globalArgs,
    predefinedArgs: predefined,
    buildArgs: {...options.buildArgs},
    unusedBuildArgs: [],
  }
  for (const stage of stages) collectDependencies(plan, stage, byName, expandAt)
  checkCycles(stages)

  if (options.target !== undefined) {
    const wanted = byName.get(options.target.toLowerCase())
    if (wanted === undefined) {
      const names = [...byName.keys()]
      throw new DockerfileError(
        undefined,
        `target stage "${options.target}" could not be found in ${df.file}`,
        names.length === 0 ? 'name a stage with FROM image AS name, or drop --target' : `use --target with one of: ${names.join(', ')}`,
      )
    }
    plan.target = wanted
  }
  plan.needed = neededStages(stages, plan.target)
  plan.levels = levelStages(stages, plan.needed)
  for (const index of plan.needed) {
    for (const instruction of stages[index].instructions) {
      if (instruction.keyword === 'ARG') for (const token of instruction.args) declared.add(parseArgToken(token).name)
    }
  }
  plan.unusedBuildArgs = Object.keys(options.buildArgs)
    .filter(name => !declared.has(name) && !PROXY_ARGS.has(name) && !Object.hasOwn(predefined, name))
    .sort()
  return plan
}

type ExpandAt = (raw: string, lookup: VariableLookup, location: SourceLocation) => string

function startStage(from: Instruction, stages: PlannedStage[], globalLookup: VariableLookup, expandAt: ExpandAt): PlannedStage {
  const index = stages.length
  const base = from.args[0]
  const baseExpanded = expandAt(base, globalLookup, from.location)
  if (baseExpanded === '') {
    throw new DockerfileError(from.location, `the base image name "${base}" is empty after expanding ARGs`, 'declare the ARG with a default before the first FROM, or pass --build-arg')
  }
  const stage: PlannedStage = {index, base, baseExpanded, from, instructions: [], dependencies: [], images: []}
  if (from.args.length === 3) {
    const name = from.args[2].toLowerCase()
    if (!STAGE_NAME_RE.test(name)) {
      throw new DockerfileError(from.location, `invalid stage name "${from.args[2]}": it must start with a letter and hold only letters, digits, -, _ and .`, 'rename the stage, e.g. FROM image AS build')
    }
    if (stages.some(s => s.name === name)) {
      throw new DockerfileError(from.location, `duplicate stage name "${name}"`, 'give each stage its own name')
    }
    stage.name = name
  }
  const platform = from.flags.find(flag => flag.name === 'platform')
  if (platform?.value !== undefined) stage.platform = expandAt(platform.value, globalLookup, platform.location)
  const earlier = stages.find(s => s.name !== undefined && s.name === baseExpanded.toLowerCase())
  if (earlier !== undefined) {
    stage.baseStage = earlier.index
    stage.dependencies.push({kind: 'base', stage: earlier.index, location: from.location})
  }
  return stage
}

/**
 * COPY/ADD --from and RUN --mount=from name stages (by name or index, also
 * later ones: BuildKit allows that as long as there is no cycle) or images.
 */
function collectDependencies(plan: BuildPlan, stage: PlannedStage, byName: Map<string, number>, expandAt: ExpandAt): void {
  const stageArgs: Record<string, string | undefined> = {}
  const lookup: VariableLookup = name => (Object.hasOwn(stageArgs, name) ? stageArgs[name] : undefined)
  const reference = (value: string, kind: DependencyKind, location: SourceLocation): void => {
    const named = byName.get(value.toLowerCase())
    let target = named
    if (target === undefined && /^\d+$/.test(value)) {
      target = Number(value)
      if (target >= plan.stages.length) {
        throw new DockerfileError(location, `invalid stage index ${value}: the Dockerfile has ${plan.stages.length} stage(s)`, 'use a stage name or an index counted from 0')
      }
    }
    if (target === undefined) {
      if (!stage.images.includes(value)) stage.images.push(value)
      return
    }
    if (target === stage.index) {
      throw new DockerfileError(location, `stage ${stageLabel(stage)} cannot read from itself`, 'name an earlier stage or an image')
    }
    stage.dependencies.push({kind, stage: target, location})
  }
  for (const instruction of stage.instructions) {
    switch (instruction.keyword) {
      case 'ARG':
        for (const token of instruction.args) {
          const {name, rawDefault} = parseArgToken(token)
          stageArgs[name] = resolveStageArg(plan, name, rawDefault, lookup)
        }
        break
      case 'COPY':
      case 'ADD':
        for (const flag of instruction.flags) {
          if (flag.value === undefined) continue
          if (flag.name === 'from') reference(expandAt(flag.value, lookup, flag.location), 'copy', flag.location)
          if (flag.name === 'chmod' && !flag.value.includes('$')) checkFlag(() => parseChmod(expandAt(flag.value ?? '', lookup, flag.location)), flag.location)
        }
        break
      case 'RUN':
        for (const flag of instruction.flags) {
          if (flag.name !== 'mount' || flag.value === undefined) continue
          const mount = checkFlag(() => parseMountFlag(expandAt(flag.value ?? '', lookup, flag.location)), flag.location)
          if (mount.from !== undefined && mount.from !== '') reference(mount.from, 'mount', flag.location)
        }
        break
    }
  }
}

function checkFlag<T>(parse: () => T, location: SourceLocation): T {
  try {
    return parse()
  } catch (err) {
    if (err instanceof DockerfileError && err.location === undefined) throw locateDockerfileError(err, location)
    throw err
  }
}

function stageLabel(stage: PlannedStage): string {
  return stage.name === undefined ? `${stage.index}` : `${stage.index} ("${stage.name}")`
}

function checkCycles(stages: PlannedStage[]): void {
  const state = new Array<number>(stages.length).fill(0)
  const visit = (index: number): void => {
    if (state[index] === 2) return
    if (state[index] === 1) {
      const stage = stages[index]
      throw new DockerfileError(stage.from.location, `circular dependency detected on stage ${stageLabel(stage)}`, 'make sure no stage copies from a stage that (indirectly) copies from it')
    }
    state[index] = 1
    for (const dep of stages[index].dependencies) visit(dep.stage)
    state[index] = 2
  }
  for (let i = 0; i < stages.length; i++) visit(i)
}

function neededStages(stages: PlannedStage[], target: number): number[] {
  const needed = new Set<number>()
  const visit = (index: number): void => {
    if (needed.has(index)) return
    needed.add(index)
    for (const dep of stages[index].dependencies) visit(dep.stage)
  }
  visit(target)
  return [...needed].sort((a, b) => a - b)
}

function levelStages(stages: PlannedStage[], needed: number[]): number[][] {
  const level = new Map<number, number>()
  const levelOf = (index: number): number => {
    const known = level.get(index)
    if (known !== undefined) return known
    let value = 0
    for (const dep of stages[index].dependencies) value = Math.max(value, levelOf(dep.stage) + 1)
    level.set(index, value)
    return value
  }
  const levels: number[][] = []
  for (const index of needed) {
    const value = levelOf(index)
    ;(levels[value] ??= []).push(index)
  }
  return levels
}

interface DescribedInstruction {
  line: number
  endLine: number
  name: string
  flags: {name: string; value: string | null}[]
  json: boolean
  args: string[]
  heredocs: {name: string; expand: boolean; stripTabs: boolean; fileDescriptor?: number; content: string}[]
  subcommand?: string
  trigger?: DescribedInstruction
  original: string
}

function describeInstruction(instruction: Instruction): DescribedInstruction {
  const described: DescribedInstruction = {
    line: instruction.location.line,
    endLine: instruction.endLine,
    name: instruction.keyword,
    flags: instruction.flags.map(flag => ({name: flag.name, value: flag.value ?? null})),
    json: instruction.json,
    args: instruction.args,
    heredocs: instruction.heredocs.map(h => ({
      name: h.name,
      expand: h.expand,
      stripTabs: h.stripTabs,
      ...(h.fileDescriptor === undefined ? {} : {fileDescriptor: h.fileDescriptor}),
      content: h.content,
    })),
    original: instruction.original,
  }
  if (instruction.subcommand !== undefined) described.subcommand = instruction.subcommand
  if (instruction.trigger !== undefined) described.trigger = describeInstruction(instruction.trigger)
  return described
}

/** The plan as plain data, for `tspod build --dry-run --format json`. */
export function describePlan(plan: BuildPlan): object {
  const needed = new Set(plan.needed)
  const levelOf = new Map<number, number>()
  plan.levels.forEach((indexes, level) => indexes.forEach(index => levelOf.set(index, level)))
  return {
    file: plan.file,
    directives: plan.directives,
    target: {index: plan.target, name: plan.stages[plan.target]?.name ?? null},
    globalArgs: Object.fromEntries(Object.entries(plan.globalArgs).map(([k, v]) => [k, v ?? null])),
    predefinedArgs: plan.predefinedArgs,
    unusedBuildArgs: plan.unusedBuildArgs,
    levels: plan.levels,
    stages: plan.stages.map(stage => ({
      index: stage.index,
      name: stage.name ?? null,
      base: stage.base,
      baseExpanded: stage.baseExpanded,
      baseStage: stage.baseStage ?? null,
      platform: stage.platform ?? null,
      needed: needed.has(stage.index),
      level: levelOf.get(stage.index) ?? null,
      dependsOn: [...new Set(stage.dependencies.map(dep => dep.stage))].sort((a, b) => a - b),
      dependencies: stage.dependencies.map(dep => ({kind: dep.kind, stage: dep.stage, line: dep.location.line})),
      images: stage.images,
      from: describeInstruction(stage.from),
      instructions: stage.instructions.map(describeInstruction),
    })),
  }
}

/** The plan for people: one block per stage, then the order. */
export function formatPlanText(plan: BuildPlan): string {
  const needed = new Set(plan.needed)
  const lines: string[] = []
  for (const stage of plan.stages) {
    const label = stage.name === undefined ? `stage ${stage.index}` : `stage ${stage.index} "${stage.name}"`
    const base = stage.base === stage.baseExpanded ? stage.base : `${stage.base} (${stage.baseExpanded})`
    const from = stage.baseStage === undefined ? base : `${base}, stage ${stage.baseStage}`
    const platform = stage.platform === undefined ? '' : ` --platform=${stage.platform}`
    const skip = needed.has(stage.index) ? '' : '  [skipped: not needed for the target]'
    lines.push(`${label}: FROM${platform} ${from}${stage.index === plan.target ? '  [target]' : ''}${skip}`)
    for (const instruction of stage.instructions) {
      lines.push(`  ${plan.file}:${instruction.location.line}  ${instruction.original}`)
      for (const heredoc of instruction.trigger?.heredocs ?? instruction.heredocs) {
        for (const bodyLine of heredoc.content.replace(/\n$/, '').split('\n')) lines.push(`      | ${bodyLine}`)
        lines.push(`      ${heredoc.name}`)
      }
    }
    const deps = [...new Set(stage.dependencies.map(dep => dep.stage))].sort((a, b) => a - b)
    if (deps.length > 0) lines.push(`  needs stage(s) ${deps.join(', ')}`)
    if (stage.images.length > 0) lines.push(`  reads image(s) ${stage.images.join(', ')}`)
  }
  lines.push(`order: ${plan.levels.map(level => (level.length === 1 ? `${level[0]}` : `{${level.join(', ')}}`)).join(' -> ')}`)
  if (plan.unusedBuildArgs.length > 0) lines.push(`unused build args: ${plan.unusedBuildArgs.join(', ')}`)
  return `${lines.join('\n')}\n`
}
