#!/usr/bin/env node
// Closes a test run: lists every failing test point by its full path (file >
// subtest > assertion), then prints "N passed, N failed" as the very last line,
// counted over all the raw TAP files that tap wrote with --output-file.
//
// Usage: node scripts/summary.mjs RUN.tap...
// Exits 1 when anything failed or a file holds no finished run.
import {existsSync, readFileSync} from 'node:fs'
import {Parser} from 'tap-parser'

// tap closes each run with a comment like "# { total: 9, pass: 4, fail: 3, skip: 2 }";
// it counts leaf assertions plus files that died before reporting any.
const COUNTS_LINE = /^# \{ total: \d+[^}]*\}$/gm

function readCounts(text) {
  const lines = text.match(COUNTS_LINE)
  if (!lines) return undefined
  const counts = {}
  for (const [, key, value] of lines.at(-1).matchAll(/(\w+): (\d+)/g)) counts[key] = Number(value)
  return counts
}

// A failing subtest is listed only when nothing inside it failed, as when a
// test file crashed before its first assertion; otherwise its failing
// children say more.
function listFailures(text) {
  const failures = []
  const watch = (parser, path) => {
    const failedBelow = new Map()
    parser.on('child', child => {
      const before = failures.length
      watch(child, [...path, child.name])
      child.on('complete', () => failedBelow.set(child.name, failures.length > before))
    })
    parser.on('complete', results => {
      for (const point of results.failures) {
        if (point.tapError) failures.push([...path, point.tapError].join(' > '))
        else if (!failedBelow.get(point.name)) failures.push([...path, point.name].join(' > '))
      }
    })
  }
  const parser = new Parser()
  watch(parser, [])
  parser.end(text)
  return failures
}

const totals = {pass: 0, fail: 0, skip: 0}
const failures = []
for (const file of process.argv.slice(2)) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const counts = readCounts(text)
  if (!counts) {
    failures.push(`${file}: no finished test run recorded (tap did not run or was killed)`)
    totals.fail += 1
    continue
  }
  totals.pass += counts.pass ?? 0
  totals.fail += counts.fail ?? 0
  totals.skip += counts.skip ?? 0
  failures.push(...listFailures(text))
}

if (failures.length > 0) {
  console.log('')
  console.log('Failed:')
  for (const failure of failures) console.log(`  ${failure}`)
}
const skipped = totals.skip > 0 ? `, ${totals.skip} skipped` : ''
console.log(`${totals.pass} passed, ${totals.fail} failed${skipped}`)
process.exitCode = totals.fail > 0 ? 1 : 0
