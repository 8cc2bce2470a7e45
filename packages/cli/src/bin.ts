#!/usr/bin/env node
/** The `waffle` executable: runs the command on the process's streams; Ctrl-C stops long work between batches. */

import { run } from './cli.js';

const controller = new AbortController();
// The first signal stops long work between batches (its checkpoint kept); a second one exits at once.
const stop = () => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.exitCode = await run(
  process.argv.slice(2),
  {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
  },
  controller.signal,
);
