import t, {type Test} from 'tap'
import {parseDockerfile} from '../../../src/build/parser.js'
import {DockerfileError} from '../../../src/build/dockerfile-error.js'
import type {Instruction} from '../../../src/build/ast.js'

const parse = (text: string) => parseDockerfile(text, 'Dockerfile')
const only = (body: string): Instruction => {
  const df = parse(`FROM scratch\n${body}`)
  t.equal(df.instructions.length, 2, `one instruction in ${JSON.stringify(body)}`)
  return df.instructions[1]
}
const failsWith = (t: Test, text: string, message: RegExp | string, hint?: RegExp) => {
  try {
    parse(text)
  } catch (err) {
    t.type(err, DockerfileError, `DockerfileError for ${JSON.stringify(text)}`)
    const e = err as DockerfileError
    if (typeof message === 'string') t.equal(e.message, message)
    else t.match(e.message, message)
    t.equal(e.exitCode, 125)
    if (hint !== undefined) t.match(e.hint, hint)
    return
  }
  t.fail(`expected ${JSON.stringify(text)} to fail`)
}

t.test('a plain Dockerfile', async t => {
  const df = parse('FROM alpine:3.19\nRUN apk add curl\nCMD ["curl", "--version"]\n')
  t.equal(df.file, 'Dockerfile')
  t.same(df.directives, {escape: '\\'})
  t.same(df.instructions.map(i => i.keyword), ['FROM', 'RUN', 'CMD'])
  t.same(df.instructions[0].args, ['alpine:3.19'])
  t.same(df.instructions[1].args, ['apk add curl'])
  t.equal(df.instructions[1].json, false)
  t.same(df.instructions[2].args, ['curl', '--version'])
  t.equal(df.instructions[2].json, true)
  t.same(df.instructions[2].location, {file: 'Dockerfile', line: 3, column: 1})
})

t.test('parser directives', async t => {
  let df = parse('# syntax=docker/dockerfile:1.7\n# ESCAPE = `\n# check=skip=all\nFROM scratch\n')
  t.same(df.directives, {escape: '`', syntax: 'docker/dockerfile:1.7', check: 'skip=all'})
  df = parse('#!/usr/bin/env dockerfile\n# escape=`\nFROM scratch\nRUN a `\n  b\n')
  t.equal(df.directives.escape, '`')
  t.same(df.instructions[1].args, ['a   b'])
  df = parse('# a comment\n# escape=`\nFROM scratch\n')
  t.equal(df.directives.escape, '\\', 'a directive after a comment is a comment')
  df = parse('\n# escape=`\nFROM scratch\n')
  t.equal(df.directives.escape, '\\', 'a directive after a blank line is a comment')
  df = parse('FROM scratch\n# escape=`\n')
  t.equal(df.directives.escape, '\\', 'a directive after an instruction is a comment')
  df = parse('# unknowndirective=x\n# escape=`\nFROM scratch\n')
  t.equal(df.directives.escape, '\\', 'an unknown directive ends the directives')
  failsWith(t, '# escape=\\\n# escape=`\nFROM scratch\n', /^Dockerfile:2:1: only one escape parser directive can be used/)
  failsWith(t, '# escape=x\nFROM scratch\n', /^Dockerfile:1:1: invalid escape character "x"/)
})

t.test('line continuations, comments and empty lines inside them', async t => {
  const run = only('RUN apt-get update && \\\n    # install\n    apt-get install -y \\\n\n      curl\n')
  t.same(run.args, ['apt-get update &&     apt-get install -y       curl'])
  t.equal(run.original, 'RUN apt-get update &&     apt-get install -y       curl')
  t.equal(run.location.line, 2)
  t.equal(run.endLine, 6)
  t.same(only('RUN echo a\\   \n b').args, ['echo a b'], 'blanks after the escape character still continue')
  t.same(only('RUN echo \\\\\nCMD x').args, ['echo \\CMD x'], 'an escaped escape at the end still continues, as in Docker')
  t.same(only('   run   echo   indented  ').args, ['echo   indented'])
  t.same(only('   run   echo').location, {file: 'Dockerfile', line: 2, column: 4})
  const df = parse('FROM scratch\r\nRUN a \\\r\n  b\r\n')
  t.same(df.instructions[1].args, ['a   b'], 'CRLF line ends')
  t.equal(parse('\uFEFFFROM scratch').instructions[0].keyword, 'FROM', 'byte order mark')
  t.same(parse('FROM scratch\nRUN a \\').instructions[1].args, ['a'], 'continuation at end of file')
})

t.test('instruction names in any case', async t => {
  const df = parse('from scratch\nRun echo\nwOrKdIr /x\n')
  t.same(df.instructions.map(i => i.keyword), ['FROM', 'RUN', 'WORKDIR'])
})

t.test('exec form only for a valid JSON array of strings', async t => {
  t.same(only('CMD ["a", "b c"]'), {...only('CMD ["a", "b c"]'), json: true, args: ['a', 'b c']})
  t.equal(only('CMD   [ "a" ]  ').json, true)
  t.same(only('ENTRYPOINT ["/bin/sh", "-c", "echo \\"$X\\""]').args, ['/bin/sh', '-c', 'echo "$X"'])
  t.same(only('CMD []').args, [])
  t.equal(only('CMD []').json, true)
  const single = only("CMD ['a', 'b']")
  t.equal(single.json, false, 'single quotes are not JSON')
  t.same(single.args, ["['a', 'b']"])
  t.same(only('RUN [ -f /etc/passwd ] && echo yes').args, ['[ -f /etc/passwd ] && echo yes'])
  t.equal(only('RUN ["a"] trailing').json, false)
  t.equal(only('RUN [ "$A" = "b" ]').json, false)
  failsWith(t, 'FROM scratch\nCMD ["a", 1]\n', /^Dockerfile:2:5: a JSON array must hold only strings/)
  failsWith(t, 'FROM scratch\nCMD ["echo", "hi]\n', /^Dockerfile:2:5: unterminated quote in JSON array/, /CMD \["echo", "hello"\]/)
  failsWith(t, 'FROM scratch\nRUN []\n', /RUN requires at least one argument/)
  failsWith(t, 'FROM scratch\nSHELL /bin/bash -c\n', /SHELL requires the arguments to be in JSON form/)
  t.same(only('SHELL ["powershell", "-command"]').args, ['powershell', '-command'])
  const copy = only('COPY ["a b", "/dst dir/"]')
  t.equal(copy.json, true)
  t.same(copy.args, ['a b', '/dst dir/'])
  t.same(only('VOLUME ["/data", "/logs"]').args, ['/data', '/logs'])
  t.same(only('VOLUME /data /logs').args, ['/data', '/logs'])
})

t.test('flags before the arguments', async t => {
  const copy = only('COPY --from=build --chown=1000:1000 --chmod=0755 --link /src /dst')
  t.same(copy.flags.map(f => [f.name, f.value]), [['from', 'build'], ['chown', '1000:1000'], ['chmod', '0755'], ['link', undefined]])
  t.same(copy.args, ['/src', '/dst'])
  t.same(copy.flags[1].location, {file: 'Dockerfile', line: 2, column: 19})
  const run = only('RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=tok --network=none make')
  t.same(run.flags.map(f => f.name), ['mount', 'mount', 'network'])
  t.same(run.args, ['make'])
  t.same(only('RUN --mount="type=bind,target=/a b" ls').flags[0].value, '"type=bind,target=/a b"', 'quotes kept in flag values')
  t.same(only('COPY -- --weird /dst').args, ['--weird', '/dst'], '-- ends the flags')
  t.same(only('FROM --platform=$BUILDPLATFORM golang AS build').flags[0].value, '$BUILDPLATFORM')
  t.same(only('RUN echo --not-a-flag').flags, [])
  failsWith(t, 'FROM scratch\nCOPY --form=build a b\n', /^Dockerfile:2:6: unknown flag --form for COPY: COPY accepts --from, --chown, --chmod/, /remove --form or use one of/)
  failsWith(t, 'FROM scratch\nWORKDIR --x=1 /a\n', /^Dockerfile:2:9: unknown flag --x for WORKDIR: WORKDIR takes no flags/)
  failsWith(t, 'FROM scratch\nRUN --chown=1 x\n', /unknown flag --chown for RUN/)
  failsWith(t, 'FROM scratch\nCOPY --from a b\n', /missing a value on flag --from/, /--from=VALUE/)
  failsWith(t, 'FROM scratch\nCOPY --from=a --from=b x y\n', /--from given twice for COPY/)
  failsWith(t, 'FROM scratch\nCOPY --link=maybe x y\n', /--link takes true or false/)
  t.equal(only('ADD --checksum=sha256:abc --keep-git-dir=true https://x/y /z').flags.length, 2)
  t.equal(only('ADD --unpack=false a.tar /z').flags[0].name, 'unpack')
  t.equal(only('COPY --exclude=*.md --exclude=*.txt --parents . /z').flags.length, 3)
})

t.test('heredocs', async t => {
  let df = parse('FROM scratch\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\nCMD x\n')
  let run = df.instructions[1]
  t.same(run.args, ['<<EOF'])
  t.same(run.heredocs, [{name: 'EOF', expand: true, stripTabs: false, content: 'apt-get update\napt-get install -y curl\n', location: {file: 'Dockerfile', line: 3, column: 1}}])
  t.equal(run.endLine, 5)
  t.equal(df.instructions[2].keyword, 'CMD')

  df = parse('FROM scratch\nRUN <<-EOT bash\n\techo "$HOME"\n\t\tindented\n\tEOT\n')
  run = df.instructions[1]
  t.same(run.heredocs[0].content, 'echo "$HOME"\nindented\n', '<<- strips leading tabs')
  t.equal(run.heredocs[0].stripTabs, true)

  t.equal(parse('FROM scratch\nRUN <<"EOF"\n$X\nEOF\n').instructions[1].heredocs[0].expand, false)
  t.equal(parse("FROM scratch\nRUN <<'EOF'\n$X\nEOF\n").instructions[1].heredocs[0].expand, false)

  df = parse('FROM scratch\nRUN <<FILE1 cat > /f1 && <<FILE2 cat > /f2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\nRUN x\n')
  run = df.instructions[1]
  t.same(run.heredocs.map(h => [h.name, h.content]), [['FILE1', 'I am\nfirst\n'], ['FILE2', 'I am\nsecond\n']])
  t.same(run.heredocs.map(h => h.location.line), [3, 6])
  t.equal(df.instructions[2].location.line, 9)

  df = parse('FROM scratch\nCOPY --chmod=0755 <<EOF /usr/local/bin/hello\n#!/bin/sh\necho hello\nEOF\n')
  const copy = df.instructions[1]
  t.same(copy.args, ['<<EOF', '/usr/local/bin/hello'])
  t.same(copy.heredocs[0].content, '#!/bin/sh\necho hello\n', 'a # line inside a heredoc is content')

  df = parse('FROM scratch\nRUN python3 3<<EOF /dev/fd/3\nprint(1)\nEOF\n')
  t.equal(df.instructions[1].heredocs[0].fileDescriptor, 3)

  df = parse('FROM scratch\nRUN cat <<EOF | \\\n  sort\nb\na\nEOF\n')
  t.same(df.instructions[1].args, ['cat <<EOF |   sort'])
  t.same(df.instructions[1].heredocs[0].content, 'b\na\n', 'the body starts after the continued line')

  t.same(only("RUN echo '<<EOF'").heredocs, [], 'a quoted << is no heredoc')
  t.same(only('RUN ["cat", "<<EOF"]').heredocs, [], 'exec form has no heredocs')
  t.same(only('RUN echo a <<').heredocs, [], 'a bare << is no heredoc')
  t.same(only('ENV A=<<EOF').heredocs, [], 'only RUN, COPY and ADD take heredocs')

  df = parse('FROM scratch\nONBUILD RUN <<EOF\necho later\nEOF\n')
  t.same(df.instructions[1].trigger?.heredocs[0].content, 'echo later\n')
  t.equal(df.instructions[1].endLine, 4)

  failsWith(t, 'FROM scratch\nRUN <<EOF\necho never ends\n', /^Dockerfile:2:1: unterminated heredoc: no line "EOF" ends the here-document/, /a line holding only EOF/)
  failsWith(t, 'FROM scratch\nRUN <<-EOF\necho\n  EOF\n', /unterminated heredoc/)
})

t.test('ONBUILD', async t => {
  const onbuild = only('ONBUILD COPY --chown=app . /app')
  t.equal(onbuild.trigger?.keyword, 'COPY')
  t.same(onbuild.trigger?.flags.map(f => f.name), ['chown'])
  t.same(onbuild.trigger?.args, ['.', '/app'])
  t.same(onbuild.args, ['COPY --chown=app . /app'])
  t.equal(onbuild.trigger?.location.column, 9)
  t.same(only('onbuild run make').trigger?.args, ['make'])
  failsWith(t, 'FROM scratch\nONBUILD ONBUILD RUN x\n', /ONBUILD ONBUILD is not allowed/)
  failsWith(t, 'FROM scratch\nONBUILD FROM alpine\n', /FROM is not allowed as an ONBUILD trigger/)
  failsWith(t, 'FROM scratch\nONBUILD MAINTAINER me\n', /MAINTAINER is not allowed as an ONBUILD trigger/)
  failsWith(t, 'FROM scratch\nONBUILD\n', /ONBUILD requires at least one argument/)
  failsWith(t, 'FROM scratch\nONBUILD RUNX x\n', /^Dockerfile:2:9: unknown instruction "RUNX" \(did you mean RUN\?\)/)
})

t.test('HEALTHCHECK', async t => {
  const hc = only('HEALTHCHECK --interval=5m --timeout=3s --start-period=1s --start-interval=2s --retries=3 CMD curl -f http://localhost/ || exit 1')
  t.equal(hc.subcommand, 'CMD')
  t.same(hc.args, ['curl -f http://localhost/ || exit 1'])
  t.equal(hc.flags.length, 5)
  const json = only('HEALTHCHECK cmd ["curl", "-f", "x"]')
  t.equal(json.json, true)
  t.same(json.args, ['curl', '-f', 'x'])
  t.equal(only('HEALTHCHECK NONE').subcommand, 'NONE')
  failsWith(t, 'FROM scratch\nHEALTHCHECK NONE now\n', /HEALTHCHECK NONE takes no arguments/)
  failsWith(t, 'FROM scratch\nHEALTHCHECK --retries=3 NONE\n', /HEALTHCHECK NONE takes no options/)
  failsWith(t, 'FROM scratch\nHEALTHCHECK FOO x\n', /unknown type "FOO" in HEALTHCHECK/)
  failsWith(t, 'FROM scratch\nHEALTHCHECK CMD\n', /missing command after HEALTHCHECK CMD/)
  failsWith(t, 'FROM scratch\nHEALTHCHECK --port=1 CMD x\n', /unknown flag --port for HEALTHCHECK/)
})

t.test('ENV, LABEL, ARG and single-string instructions', async t => {
  t.same(only('ENV A=1 B="two words" C=three\\ words').args, ['A=1', 'B="two words"', 'C=three\\ words'])
  t.same(only('ENV legacy value  with spaces').args, ['legacy=value  with spaces'], 'legacy form keeps the value as written')
  t.same(only('ENV A=').args, ['A='])
  t.same(only('LABEL "com.example.vendor"="ACME Inc" version=1.0').args, ['"com.example.vendor"="ACME Inc"', 'version=1.0'])
  t.same(only('LABEL description="multi \\\n  line"').args, ['description="multi   line"'])
  t.same(only('ARG A B=2 C="x y"').args, ['A', 'B=2', 'C="x y"'])
  t.same(only('WORKDIR /a b').args, ['/a b'], 'WORKDIR keeps spaces, as Docker does')
  t.same(only('USER app:app').args, ['app:app'])
  t.same(only('STOPSIGNAL SIGKILL').args, ['SIGKILL'])
  t.same(only('MAINTAINER Jane Doe <jane@example.com>').args, ['Jane Doe <jane@example.com>'])
  t.same(only('EXPOSE 80/tcp 53/udp').args, ['80/tcp', '53/udp'])
  t.same(only('COPY "a b" c /dst/').args, ['"a b"', 'c', '/dst/'])
  failsWith(t, 'FROM scratch\nENV A\n', /ENV must have two arguments/)
  failsWith(t, 'FROM scratch\nENV A=1 B\n', /can't find = in "B"/)
  failsWith(t, 'FROM scratch\nENV =x\n', /ENV names can not be blank/)
  failsWith(t, 'FROM scratch\nLABEL\n', /^Dockerfile:2:1: LABEL requires at least one argument/)
  failsWith(t, 'FROM scratch\nARG\n', /ARG requires at least one argument/)
  failsWith(t, 'FROM scratch\nWORKDIR\n', /WORKDIR requires exactly one argument/)
  failsWith(t, 'FROM scratch\nCOPY onlyone\n', /COPY requires at least two arguments/)
  failsWith(t, 'FROM scratch\nEXPOSE\n', /EXPOSE requires at least one argument/)
  failsWith(t, 'FROM scratch\nRUN\n', /RUN requires at least one argument/)
})

t.test('FROM forms', async t => {
  t.same(only('FROM golang:1.22 AS build').args, ['golang:1.22', 'AS', 'build'])
  t.same(only('FROM golang:1.22 as build').args, ['golang:1.22', 'as', 'build'])
  failsWith(t, 'FROM a b\n', /FROM requires either one argument or three/)
  failsWith(t, 'FROM a is b\n', /FROM requires either one argument or three/)
  failsWith(t, 'FROM\n', /FROM requires either one argument or three/)
})

t.test('structural errors', async t => {
  failsWith(t, '', 'Dockerfile:1:1: the Dockerfile has no instructions')
  failsWith(t, '# only a comment\n\n', /has no instructions/)
  failsWith(t, 'ARG A=1\n', /^Dockerfile:1:1: no FROM instruction/, /add FROM image/)
  failsWith(t, 'ARG A\nRUN echo\nFROM scratch\n', /^Dockerfile:2:1: RUN before the first FROM: only ARG may come before FROM/)
  failsWith(t, 'FROM scratch\nRUNN echo\n', /^Dockerfile:2:1: unknown instruction "RUNN" \(did you mean RUN\?\)/, /change "RUNN" to RUN/)
  failsWith(t, 'FROM scratch\n  cpy a b\n', /^Dockerfile:2:3: unknown instruction "cpy" \(did you mean COPY\?\)/)
  failsWith(t, 'FROM scratch\nxyzzyplugh a\n', /unknown instruction "xyzzyplugh"$/)
  t.same(parse('ARG A=1\nARG B\nFROM scratch\n').instructions.map(i => i.keyword), ['ARG', 'ARG', 'FROM'])
})
