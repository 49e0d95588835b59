/**
 * The floor under any SIP parser written in JavaScript on this machine: read and decode the
 * capture with stalepin's own reader (as `inspect` does), skip what stalepin's dissector skips
 * without parsing (datagrams off the SIP port, byte-identical copies of one of the last 16
 * messages, found by the same native compare), and look at each header byte of the rest once:
 * find the line ends up to the empty line, and do nothing else. bench/run.ts times it beside
 * `calls` and `analyze`: what is left between this and their time is SIP itself.
 *
 * Plain JavaScript on the build (dist/), like bin/stalepin: a TypeScript loader would add its
 * own start-up to a run of about a second.
 *
 *   node bench/scan-floor.mjs CAPTURE
 */
import { runPackets } from '../dist/pipeline/packets.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node bench/scan-floor.mjs CAPTURE\n');
  process.exit(2);
}
const RECENT = 16;
const recent = Array.from({ length: RECENT }, () => new Uint8Array(65536));
const recentLen = new Int32Array(RECENT).fill(-1);
let next = 0;
const compare = Buffer.prototype.compare;

let scanned = 0;
let copies = 0;
let lines = 0;
await runPackets({ files: [file] }, (pkt) => {
  // DecodeStatus.Ok is 0; 17 is UDP.
  if (pkt.status !== 0 || pkt.proto !== 17 || (pkt.srcPort !== 5060 && pkt.dstPort !== 5060)) return;
  const b = pkt.payload;
  const off = pkt.payloadOff;
  const len = pkt.payloadLen;
  for (let k = 0; k < RECENT; k++) {
    if (recentLen[k] === len && compare.call(recent[k], b, off, off + len, 0, len) === 0) {
      copies++;
      return;
    }
  }
  recent[next].set(b.subarray(off, off + len), 0);
  recentLen[next] = len;
  next = (next + 1) & (RECENT - 1);
  scanned++;
  const end = off + len;
  for (let i = off; i < end; i++) {
    if (b[i] !== 10) continue;
    lines++;
    if (b[i + 1] === 10 || (b[i + 1] === 13 && b[i + 2] === 10)) break;
  }
});
// Printed, so the loop cannot be optimized away.
process.stdout.write(`${scanned} messages scanned, ${copies} copies skipped, ${lines} header lines\n`);
