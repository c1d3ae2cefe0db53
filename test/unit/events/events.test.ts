import t from 'tap'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {appendEvent, eventLogPath, eventMatches, parseEventLines, parseEventTime, type TspodEvent} from '../../../src/events/events.js'

t.test('appendEvent writes whole lines that parseEventLines reads back', async t => {
  const runRoot = mkdtempSync(join(tmpdir(), 'tspod-events-'))
  appendEvent(runRoot, {ID: 'abc', Name: 'one', Status: 'create', Type: 'container'})
  appendEvent(runRoot, {Name: 'vol', Status: 'remove', Type: 'volume'})
  const text = readFileSync(eventLogPath(runRoot), 'utf8')
  const {events, consumed} = parseEventLines(text)
  t.equal(events.length, 2)
  t.equal(consumed, Buffer.byteLength(text))
  t.match(events[0], {ID: 'abc', Name: 'one', Status: 'create', Type: 'container'})
  t.ok(events[0].timeNano > 0)
})

t.test('a half-written last line waits; a corrupt line is skipped', async t => {
  const good = JSON.stringify({Status: 'start', Type: 'container', Time: 'x', timeNano: 1})
  const {events, consumed} = parseEventLines(`not json\n${good}\n{"Status":"st`)
  t.equal(events.length, 1)
  t.equal(consumed, `not json\n${good}\n`.length, 'the partial line is read again later')
})

t.test('appendEvent never throws', async t => {
  const file = join(mkdtempSync(join(tmpdir(), 'tspod-events-')), 'file')
  writeFileSync(file, '')
  t.doesNotThrow(() => appendEvent(join(file, 'not-a-dir'), {Status: 'create', Type: 'image'}))
})

t.test('filters: same key any, different keys all', async t => {
  const e: TspodEvent = {ID: 'abcdef', Name: 'web', Image: 'localhost/busybox:latest', Status: 'start', Type: 'container', Time: '', timeNano: 0, Attributes: {app: 'x'}}
  t.ok(eventMatches(e, new Map([['event', ['stop', 'start']]])))
  t.notOk(eventMatches(e, new Map([['event', ['start']], ['type', ['image']]])))
  t.ok(eventMatches(e, new Map([['container', ['abc']], ['label', ['app=x']]])))
  t.ok(eventMatches(e, new Map([['image', ['busybox']]])))
  t.notOk(eventMatches(e, new Map([['label', ['app=y']]])))
})

t.test('parseEventTime: durations, Unix time, RFC 3339', async t => {
  const now = Date.UTC(2026, 0, 1)
  t.equal(parseEventTime('10m', now), (now - 600_000) * 1e6)
  t.equal(parseEventTime('1h30m', now), (now - 5_400_000) * 1e6)
  t.equal(parseEventTime('1700000000.5'), 1700000000.5e9)
  t.equal(parseEventTime('2026-01-01T00:00:00Z'), now * 1e6)
  t.equal(parseEventTime('yesterday'), undefined)
})
