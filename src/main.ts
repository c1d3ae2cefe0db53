/** tspod's entry point, bundled to dist/main.js. */
import {dispatch, ignoreEpipe} from './dispatch.js'

ignoreEpipe(process.stdout)
ignoreEpipe(process.stderr)
process.exitCode = await dispatch(process.argv.slice(2))
