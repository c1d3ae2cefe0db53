/** tspod's entry point, bundled to dist/main.js. */
import {dispatch, ignoreEpipe} from './dispatch.js'

ignoreEpipe(process.stdout)
ignoreEpipe(process.stderr)
process.exitCode = await dispatch(process.argv.slice(2))
// Every handler awaits its own work, so once stdout and stderr are drained
// (writes to pipes and files are synchronous on Linux) nothing is left but
// Node's own teardown of the environment (3-4 ms after a `run -d` here):
// skip it. With output still queued, the natural exit waits for it.
if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit()
