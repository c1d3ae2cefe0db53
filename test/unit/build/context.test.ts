import t from 'tap'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {isGitUrl, prepareContext, readDockerfiles} from '../../../src/build/context.js'
import {packDirectory} from '../../../src/storage/layer-tar.js'

t.test('isGitUrl knows the forms Docker takes', async t => {
  for (const url of ['git://host/repo', 'git@github.com:o/r.git', 'https://example.com/r.git', 'https://example.com/r.git#main:sub', 'github.com/o/r']) t.ok(isGitUrl(url), url)
  for (const url of ['https://example.com/ctx.tar.gz', '.', '/srv/app', 'gitlab']) t.notOk(isGitUrl(url), url)
})

t.test('a directory context and the default Dockerfile names', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-ctx-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const context = await prepareContext(dir, Readable.from([]))
  t.equal(context.dir, dir)
  await t.rejects(readDockerfiles([], context, Readable.from([])), /no Containerfile or Dockerfile found/)
  writeFileSync(join(dir, 'Dockerfile'), 'FROM d\n')
  t.same(await readDockerfiles([], context, Readable.from([])), {text: 'FROM d\n', path: join(dir, 'Dockerfile')})
  writeFileSync(join(dir, 'Containerfile'), 'FROM c')
  t.equal((await readDockerfiles([], context, Readable.from([]))).text, 'FROM c', 'Containerfile comes first')
  t.equal((await readDockerfiles([join(dir, 'Containerfile'), join(dir, 'Dockerfile')], context, Readable.from([]))).text, 'FROM c\nFROM d\n', 'several -f are joined, each ending its line')
  t.equal((await readDockerfiles(['-'], context, Readable.from([Buffer.from('FROM s\n')]))).text, 'FROM s\n')
  await t.rejects(readDockerfiles(['nope'], context, Readable.from([])), /the Dockerfile nope does not exist/)
  await t.rejects(prepareContext(join(dir, 'missing'), Readable.from([])), /the build context .* does not exist/)
  await t.rejects(prepareContext(join(dir, 'Dockerfile'), Readable.from([])), /is not a directory/)
})

t.test('stdin: a tar becomes the context, anything else the Dockerfile', async t => {
  const src = mkdtempSync(join(tmpdir(), 'tspod-ctx-src-'))
  t.teardown(() => rmSync(src, {recursive: true, force: true}))
  mkdirSync(join(src, 'sub'))
  writeFileSync(join(src, 'sub', 'f'), 'f\n')
  const chunks: Buffer[] = []
  for await (const c of packDirectory(src, {xattrs: false})) chunks.push(c as Buffer)
  const fromTar = await prepareContext('-', Readable.from([Buffer.concat(chunks)]))
  t.teardown(fromTar.cleanup)
  t.equal(fromTar.dockerfileText, undefined)
  t.same((await import('node:fs')).readFileSync(join(fromTar.dir, 'sub', 'f'), 'utf8'), 'f\n')
  const fromText = await prepareContext('-', Readable.from([Buffer.from('FROM x\n')]))
  t.teardown(fromText.cleanup)
  t.equal(fromText.dockerfileText, 'FROM x\n')
  t.equal((await readDockerfiles([], fromText, Readable.from([]))).text, 'FROM x\n')
})
