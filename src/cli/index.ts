#!/usr/bin/env node
import { main, processIo } from './main.js';

const io = processIo();
main(process.argv.slice(2), io).then(
  (code) => {
    // Let buffered stdout drain (a pipe to `head` may close early: that is not an error).
    process.exitCode = code;
  },
  () => {
    process.exitCode = 3;
  },
);
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});
