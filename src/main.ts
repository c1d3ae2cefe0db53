/**
 * tspod's entry point, bundled to dist/main.cjs: a CommonJS entry spares
 * Node's ES module loader, about 3 ms of every command here (`ps -a`, 40
 * runs each way). dist/main.js, an ES module that only loads it, stays for
 * monitors started by an older tspod, whose exit command names it.
 */
import {dispatch, ignoreEpipe} from './dispatch.js'

ignoreEpipe(process.stdout)
ignoreEpipe(process.stderr)
void dispatch(process.argv.slice(2)).then(code => {
  process.exitCode = code
  // Every handler awaits its own work, so once stdout and stderr are drained
  // (writes to pipes and files are synchronous on Linux) nothing is left but
  // Node's own teardown of the environment (3-4 ms after a `run -d` here):
  // skip it. With output still queued, the natural exit waits for it.
  if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit()
})
