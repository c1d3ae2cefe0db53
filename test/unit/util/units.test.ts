import t from 'tap'
import {formatSize, formatTimeAgo} from '../../../src/util/units.js'

t.test('formatSize: three significant digits, decimal units, a space', async t => {
  t.equal(formatSize(0), '0 B')
  t.equal(formatSize(512), '512 B')
  t.equal(formatSize(5700), '5.7 kB')
  t.equal(formatSize(1234567), '1.23 MB')
  t.equal(formatSize(2129920), '2.13 MB')
  t.equal(formatSize(12.3e9), '12.3 GB')
})

t.test('formatTimeAgo: go-units HumanDuration', async t => {
  const now = new Date('2026-01-01T00:00:00Z')
  const ago = (s: number) => formatTimeAgo(new Date(now.getTime() - s * 1000), now)
  t.equal(ago(0.5), 'Less than a second ago')
  t.equal(ago(1), '1 second ago')
  t.equal(ago(5), '5 seconds ago')
  t.equal(ago(60), 'About a minute ago')
  t.equal(ago(180), '3 minutes ago')
  t.equal(ago(3600), 'About an hour ago')
  t.equal(ago(7200), '2 hours ago')
  t.equal(ago(2 * 86400), '2 days ago')
  t.equal(ago(21 * 86400), '3 weeks ago')
  t.equal(ago(120 * 86400), '4 months ago')
  t.equal(ago(800 * 86400), '2 years ago')
})
