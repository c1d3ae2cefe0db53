#!/usr/bin/env node
// Turns one run of bench/run.sh into bench/RESULTS.md: for each scenario the
// mean times of both tools with hyperfine's standard deviations, the ratio
// tspod / Podman with its propagated uncertainty, and whether the target
// holds. Prints the summary table to stdout as well.
//
// Usage: node bench/report.mjs RESULTS_DIR OUTPUT.md
// RESULTS_DIR holds what run.sh wrote: meta.txt (key=value lines),
// scenarios.tsv (one line per scenario), NAME.json (hyperfine's export) and
// NAME.TOOL.err (why a tool was left out of a scenario). The memory step adds
// rss_TOOL lines to meta.txt rather than a scenario.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

const TOOLS = ['tspod', 'podman']

function readMeta(dir) {
  const meta = {}
  for (const line of readFileSync(join(dir, 'meta.txt'), 'utf8').split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) meta[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return meta
}

function readScenarios(dir) {
  return readFileSync(join(dir, 'scenarios.tsv'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name, target, runs, tspodArgs, podmanArgs, tspodPrepare, podmanPrepare, before, bare, wrap, goal] = line.split('\t')
      const file = join(dir, `${name}.json`)
      const measured = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).results : []
      const tools = {}
      for (const tool of TOOLS) {
        const errFile = join(dir, `${name}.${tool}.err`)
        tools[tool] = {
          result: measured.find((r) => r.command === tool),
          error: existsSync(errFile) ? readFileSync(errFile, 'utf8').trim() : undefined,
        }
      }
      tools.tspod.args = tspodArgs
      tools.podman.args = podmanArgs
      tools.tspod.prepare = tspodPrepare
      tools.podman.prepare = podmanPrepare
      const ratio = (value) => (value === undefined || value === '' || value === '-' ? undefined : Number(value))
      return {name, target: ratio(target), goal: ratio(goal), runs, before, bare: bare === '1', wrap: wrap || undefined, tools}
    })
}

// The ratio of two independent means; relative uncertainties add in quadrature.
function divide(a, b) {
  const value = a.mean / b.mean
  const spread = value * Math.hypot(a.stddev / a.mean, b.stddev / b.mean)
  return {value, spread}
}

const ms = (r) => `${(r.mean * 1000).toFixed(1)} ± ${(r.stddev * 1000).toFixed(1)}`

function summarise(scenario) {
  const {tspod, podman} = scenario.tools
  const cell = (t) => (t.result ? ms(t.result) : 'failed')
  const row = {scenario: scenario.name, tspod: cell(tspod), podman: cell(podman), ratio: '—', target: '—', met: '—'}
  if (scenario.target !== undefined) row.target = `≤ ${scenario.target.toFixed(1)}x`
  if (tspod.result && podman.result) {
    const r = divide(tspod.result, podman.result)
    row.ratio = `${r.value.toFixed(2)} ± ${r.spread.toFixed(2)}`
    if (scenario.target !== undefined) row.met = r.value <= scenario.target ? 'yes' : 'no'
  } else if (scenario.target !== undefined) {
    row.met = 'no'
  }
  return row
}

// Where a scenario aims beyond its target: the goal and how far the ratio is from it.
function goals(scenarios, summary) {
  const lines = []
  scenarios.forEach((s, i) => {
    if (s.goal === undefined) return
    const now = summary[i].ratio === '—' ? 'not measured' : `now ${summary[i].ratio.split(' ')[0]}x`
    const target = s.target === undefined ? '' : `the target ≤ ${s.target.toFixed(1)}x is what must hold now; `
    lines.push(`Goal for **${s.name}**: ≤ ${s.goal.toFixed(1)}x (${target}${now}).`)
  })
  return lines.join('\n')
}

function table(rows) {
  const head = ['scenario', 'tspod (ms)', 'podman (ms)', 'ratio', 'target', 'met']
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`]
  for (const r of rows) lines.push(`| ${[r.scenario, r.tspod, r.podman, r.ratio, r.target, r.met].join(' | ')} |`)
  return lines.join('\n')
}

function details(scenarios) {
  const lines = [
    '| scenario | tool | runs | mean (ms) | median (ms) | min (ms) | max (ms) | user (ms) | system (ms) |',
    '|---|---|---|---|---|---|---|---|---|',
  ]
  const f = (s) => (s * 1000).toFixed(1)
  for (const s of scenarios) {
    for (const tool of TOOLS) {
      const r = s.tools[tool].result
      if (!r) continue
      lines.push(`| ${s.name} | ${tool} | ${r.times.length} | ${ms(r)} | ${f(r.median)} | ${f(r.min)} | ${f(r.max)} | ${f(r.user)} | ${f(r.system)} |`)
    }
  }
  return lines.join('\n')
}

function commands(meta, scenarios) {
  const lines = [
    `\`tspod\` below stands for \`${meta.tspod_cli.trim()}\` and \`podman\` for \`${meta.podman_cli.trim()}\`.`,
    '',
  ]
  for (const s of scenarios) {
    const flags = s.bare ? ', without the store flags' : ''
    const command = (tool) => {
      const line = [tool, s.tools[tool].args].filter(Boolean).join(' ')
      return s.wrap ? `sh -c '${s.wrap}' sh ${line}` : line
    }
    lines.push(`- **${s.name}** (hyperfine \`-N ${s.runs}\`${flags}): \`${command('tspod')}\` vs \`${command('podman')}\``)
    const {tspod, podman} = s.tools
    const steps = []
    if (s.before) steps.push(`\`${s.before}\``)
    if (tspod.prepare && tspod.prepare === podman.prepare) steps.push(`\`TOOL ${tspod.prepare}\``)
    else if (tspod.prepare || podman.prepare) steps.push(`\`tspod ${tspod.prepare}\` / \`podman ${podman.prepare}\``)
    if (steps.length) lines.push(`  before every timed run, untimed: ${[...steps, '`sync`'].join(', then ')}`)
  }
  return lines.join('\n')
}

function failures(scenarios) {
  const lines = []
  for (const s of scenarios) {
    for (const tool of TOOLS) {
      const t = s.tools[tool]
      if (!t.result && t.error) lines.push(`- **${s.name}**, ${tool}: ${t.error.replace(/\n+/g, ' / ')}`)
    }
  }
  return lines.join('\n')
}

// The memory step's readings, when it ran: numbers are KiB, anything else says why not.
function memory(meta) {
  if (meta.rss_tspod === undefined && meta.rss_podman === undefined) return ''
  const cell = (v) => (v ?? 'not measured').replace(/\|/g, '\\|')
  const lines = [
    `Memory: resident set (VmRSS in /proc/PID/status) of the process each tool keeps beside a running container, one container each (\`run -d --name benchmem busybox sleep 1000\`${meta.podman_runtime_flags ? ', Podman with the runtime flags named above' : ''}), read 1 s after it started:`,
    '',
    '| process | RSS (KiB) |',
    '|---|---|',
    `| tspod-monitor (tspod) | ${cell(meta.rss_tspod)} |`,
    `| conmon (Podman) | ${cell(meta.rss_podman)} |`,
  ]
  if (/^\d+$/.test(meta.rss_tspod ?? '') && /^\d+$/.test(meta.rss_podman ?? '')) {
    lines.push('', `tspod's monitor uses ${(Number(meta.rss_tspod) / Number(meta.rss_podman)).toFixed(2)}x the memory of Podman's conmon.`)
  }
  return lines.join('\n')
}

// The throughput step's iperf3 readings (Gbit/s, or why not), target tspod ≥ Podman; and
// the network's share of a default run: run-net minus run (--network=none), tspod's target ≤ 10 ms.
function network(meta, scenarios) {
  const lines = []
  const keys = ['iperf_tspod_in', 'iperf_podman_in', 'iperf_tspod_out', 'iperf_podman_out']
  if (keys.some((k) => meta[k] !== undefined) || meta.iperf_error) {
    const cell = (v) => (v ?? 'not measured').replace(/\|/g, '\\|')
    const verdict = (a, b) => (/^[\d.]+$/.test(a ?? '') && /^[\d.]+$/.test(b ?? '') ? (Number(a) >= Number(b) ? 'yes' : 'no') : '—')
    lines.push(
      `Throughput: iperf3 through a published port on 127.0.0.1 (\`run -d -p PORT:5201 debian iperf3 -s\`, 5 s each way, Gbit/s; target tspod ≥ Podman)${meta.iperf_error ? `: ${meta.iperf_error}` : ''}:`,
      '',
      '| direction | tspod | Podman | met |',
      '|---|---|---|---|',
      `| host → container | ${cell(meta.iperf_tspod_in)} | ${cell(meta.iperf_podman_in)} | ${verdict(meta.iperf_tspod_in, meta.iperf_podman_in)} |`,
      `| container → host | ${cell(meta.iperf_tspod_out)} | ${cell(meta.iperf_podman_out)} | ${verdict(meta.iperf_tspod_out, meta.iperf_podman_out)} |`,
    )
    if (meta.iperf_tspodpasta_in !== undefined) {
      lines.push(
        `| host → container, tspod --network pasta | ${cell(meta.iperf_tspodpasta_in)} | ${cell(meta.iperf_podman_in)} | ${verdict(meta.iperf_tspodpasta_in, meta.iperf_podman_in)} |`,
        `| container → host, tspod --network pasta | ${cell(meta.iperf_tspodpasta_out)} | ${cell(meta.iperf_podman_out)} | ${verdict(meta.iperf_tspodpasta_out, meta.iperf_podman_out)} |`,
      )
    }
  }
  const mean = (name, tool) => scenarios.find((s) => s.name === name)?.tools[tool].result?.mean
  const share = (tool) => (mean('run-net', tool) !== undefined && mean('run', tool) !== undefined ? (mean('run-net', tool) - mean('run', tool)) * 1000 : undefined)
  if (share('tspod') !== undefined) {
    const podman = share('podman')
    const ms = share('tspod')
    if (lines.length) lines.push('')
    lines.push(
      `The network's share of \`run --rm busybox true\` (run-net minus run, which uses --network=none): tspod ${ms.toFixed(1)} ms${podman === undefined ? '' : `, Podman ${podman.toFixed(1)} ms`}; target for tspod ≤ 10 ms: ${ms <= 10 ? 'met' : 'not met'}.`,
    )
  }
  return lines.join('\n')
}

// Why the container scenarios run each tool with the OCI runtime they do.
function runtimes(meta) {
  if (meta.podman_runtime === undefined && meta.tspod_runtime === undefined) return ''
  const parts = ['Containers: each tool runs them with the fastest OCI runtime that works for it on this machine.']
  if (meta.podman_runtime_flags) {
    parts.push(
      `Podman uses ${meta.podman_runtime}, chosen with its global flags \`${meta.podman_runtime_flags}\` (part of its arguments below), because its default, ${meta.podman_default_runtime ?? 'unknown'}, fails here: \`${meta.podman_default_runtime_error}\`.`,
    )
  } else {
    parts.push(`Podman uses its default, ${meta.podman_runtime}.`)
  }
  if (meta.tspod_runtime !== undefined) {
    const why = meta.tspod_runtime_reason ? ` (\`tspod info\`: "${meta.tspod_runtime_reason}")` : ''
    parts.push(`tspod uses ${meta.tspod_runtime}, its own choice${why}.`)
  }
  return parts.join(' ')
}

function machine(meta) {
  const rows = [
    ['date', meta.date],
    ['OS', meta.os],
    ['kernel', meta.kernel],
    ['CPU', meta.cpu],
    ['memory', meta.memory],
    ['cgroups', meta.cgroups],
    ['load average at start (1, 5, 15 min)', meta.load],
    ['user', meta.user],
    ['Node', meta.node],
    ['Podman', meta.podman],
    ['tspod', `${meta.tspod} (commit ${meta.tspod_commit})`],
    ['hyperfine', meta.hyperfine],
    ['storage driver, Podman', meta.podman_driver],
    ['storage driver, tspod', meta.tspod_driver],
  ]
  if (meta.podman_runtime) rows.push(['OCI runtime, Podman', meta.podman_runtime + (meta.podman_runtime_flags ? ` (\`${meta.podman_runtime_flags}\`)` : '')])
  if (meta.tspod_runtime) rows.push(['OCI runtime, tspod', meta.tspod_runtime])
  if (meta.big_rootfs) rows.push(['200 MB rootfs', meta.big_rootfs])
  return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v ?? 'unknown'} |`)].join('\n')
}

function render(meta, scenarios, summary) {
  const parts = [
    '# tspod vs Podman',
    '',
    `Produced by \`${meta.command}\` (see bench/README.md). Times are hyperfine means ± standard deviation; ratio is tspod / Podman, so below 1 means tspod is faster; "met" compares the mean ratio with the target.`,
  ]
  if (meta.quick === '1') parts.push('', '**Quick run (`--quick`): too few runs to be a result.**')
  parts.push('', table(summary))
  for (const extra of [goals(scenarios, summary), runtimes(meta), memory(meta), network(meta, scenarios)]) if (extra) parts.push('', extra)
  parts.push('', '## Machine', '', machine(meta))
  const failed = failures(scenarios)
  if (failed) parts.push('', '## Left out', '', 'A tool that fails the untimed trial of a scenario is not timed there:', '', failed)
  parts.push('', '## Commands', '', commands(meta, scenarios), '', '## Details', '', details(scenarios), '')
  return parts.join('\n')
}

function main() {
  const [dir, out] = process.argv.slice(2)
  if (!dir || !out) {
    process.stderr.write('usage: node bench/report.mjs RESULTS_DIR OUTPUT.md\n')
    process.exit(2)
  }
  const meta = readMeta(dir)
  const scenarios = readScenarios(dir)
  const summary = scenarios.map(summarise)
  writeFileSync(out, render(meta, scenarios, summary))
  const rss = memory(meta)
  process.stdout.write(`\n${table(summary)}\n${rss ? `\n${rss.split('\n').slice(2).join('\n')}\n` : ''}`)
}

main()
