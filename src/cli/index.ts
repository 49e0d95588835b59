#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { startReaderEarly } from '../sip/reader-thread.js';

// V8 lets the old generation grow to about four times what survived the last full collection
// before collecting again. Our live data is bounded (flows, transactions in flight) but the
// SIP tracker promotes a steady stream of short-lived objects, so a 1 GB capture peaked at
// 440 MB RSS for 80 MB of live data. Growing by 30% instead: since the tracker and flow table
// were made smaller, that costs no measurable time (1 GB, medians of 3: analyze 197 -> 188 MB,
// calls 155 -> 149 MB; docs/sip.md). A value given on node's command line wins (NODE_OPTIONS
// refuses this flag).
if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) setFlagsFromString('--heap-growing-percent=30');

/** Commands whose runs read on two threads when they can (sip/source.ts runSip, analysis/analyze.ts). */
const SPLIT_COMMANDS = new Set(['analyze', 'calls', 'messages', 'flow']);

// The commands that read captures on a second thread (sip/threaded.ts) start it before this
// thread loads the program (about 65 ms), so that both load at once: see sip/reader-thread.ts.
if (SPLIT_COMMANDS.has(process.argv[2] ?? '') && process.env.STALEPIN_THREADS !== '1' && process.env.STALEPIN_SIP_PARSER !== 'js') startReaderEarly();

const { main, processIo } = await import('./main.js');
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
