/**
 * The Dockerfile as the parser hands it to the builder. The parser does not
 * expand variables or remove quotes: which instructions expand, and with what
 * environment, is only known while building (a base image's ENV counts), so
 * arguments stay as written and the builder runs them through expand.ts.
 */

/** Where something starts in a Dockerfile; line and column count from 1. */
export interface SourceLocation {
  file: string
  line: number
  column: number
}

/** A `--name=value` (or bare `--name`) written before an instruction's arguments. */
export interface InstructionFlag {
  name: string
  /** Undefined for a flag written without `=`. Raw: not expanded, quotes kept. */
  value: string | undefined
  location: SourceLocation
}

/** A here-document attached to an instruction (`RUN <<EOF`, `COPY <<EOF /dst`). */
export interface Heredoc {
  /** The delimiter word without quotes, e.g. `EOF`. */
  name: string
  /** The body, with the trailing newline of its last line; tabs already stripped for `<<-`. */
  content: string
  /** False when the delimiter was quoted: the body is not expanded. */
  expand: boolean
  /** True for `<<-`. */
  stripTabs: boolean
  /** The file descriptor it was written for (`3<<EOF`), when one was given. */
  fileDescriptor?: number
  /** The body's first line. */
  location: SourceLocation
}

export interface Instruction {
  /** Upper-case: `FROM`, `RUN`, `COPY`, … */
  keyword: string
  /**
   * The instruction as written, continuation lines joined (escape + newline
   * removed), heredoc bodies excluded: what history's `created_by` and error
   * messages show.
   */
  original: string
  location: SourceLocation
  /** The last line the instruction occupies, heredoc bodies included. */
  endLine: number
  flags: InstructionFlag[]
  /** True when the arguments were a JSON array (exec form). */
  json: boolean
  /**
   * The arguments after the flags:
   * - exec form: the JSON array's strings;
   * - shell form of RUN, CMD, ENTRYPOINT (and HEALTHCHECK CMD's command):
   *   one string, the rest of the line as written;
   * - ENV, LABEL, ARG: one `key=value` token per pair, quotes kept (the
   *   legacy `ENV key value` form becomes one `key=value` token too, with
   *   the value as written);
   * - WORKDIR, USER, STOPSIGNAL, MAINTAINER: one string, the rest of the
   *   line (Docker keeps `WORKDIR /a b` as the path `/a b`);
   * - ONBUILD: one string, the trigger as written (parsed in `trigger`);
   * - every other instruction: whitespace-separated words, quotes kept (a
   *   quoted part keeps its blanks: `COPY "a b" /d` gives `"a b"`, `/d`).
   */
  args: string[]
  heredocs: Heredoc[]
  /** ONBUILD's trigger, parsed as an instruction of its own. */
  trigger?: Instruction
  /** HEALTHCHECK's `CMD` or `NONE`. */
  subcommand?: string
}

export interface ParserDirectives {
  /** The escape character: `\` by default, or a backtick. */
  escape: '\\' | '`'
  syntax?: string
  check?: string
}

export interface Dockerfile {
  file: string
  directives: ParserDirectives
  /** Instructions in file order, ARGs before the first FROM included. */
  instructions: Instruction[]
}
