#!/usr/bin/env node
/**
 * The SIP parser alone, per message: the JavaScript parser against the C fast path (and the
 * bare C call), over the distinct SIP messages of a capture held in memory, one Buffer each.
 * Usage, after npm run build: node bench/parse-bench.mjs [FILE] [ROUNDS]
 * (default bench/corpus/lb-40m.pcap, 5 rounds; prints ns per message for each round).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = process.argv[2] ?? join(root, 'bench', 'corpus', 'lb-40m.pcap');
const rounds = Number(process.argv[3] ?? 5);
const { runSip } = await import(join(root, 'dist', 'sip', 'source.js'));
const { parseSipMessage, parseSipMessageJs } = await import(join(root, 'dist', 'sip', 'parser.js'));
const { nativeSipParser } = await import(join(root, 'dist', 'sip', 'native-parser.js'));
const { SipMessage } = await import(join(root, 'dist', 'sip', 'message.js'));
const { Anomalies } = await import(join(root, 'dist', 'core', 'anomalies.js'));

// The messages the dissector parses: byte-identical copies (the forwarded ones) are skipped there.
const msgs = [];
const seen = new Set();
await runSip({ files: [file] }, {
  onMessage(m) {
    const b = Buffer.from(m.buf.subarray(m.off, m.off + m.len));
    const k = b.toString('latin1');
    if (seen.has(k)) return;
    if (seen.size > 50000) seen.clear();
    seen.add(k);
    msgs.push(b);
  },
});
const bytes = msgs.reduce((a, m) => a + m.length, 0);
console.log(`${file}: ${msgs.length} distinct SIP messages, ${(bytes / msgs.length).toFixed(0)} bytes on average`);
const native = nativeSipParser();
const out = new SipMessage();
const an = new Anomalies();
const runs = { 'JavaScript parser': (m) => parseSipMessageJs(m, 0, m.length, out, an) };
if (native) {
  runs['C fast path, record filled'] = (m) => parseSipMessage(m, 0, m.length, out, an);
  runs['C call alone'] = (m) => native.parse(m, 0, m.length);
} else console.log('the C parser is not built: JavaScript only');
for (let r = 0; r < rounds; r++) {
  const line = [];
  for (const [name, f] of Object.entries(runs)) {
    const t = process.hrtime.bigint();
    for (const m of msgs) f(m);
    line.push(`${name} ${(Number(process.hrtime.bigint() - t) / msgs.length).toFixed(0)} ns`);
  }
  console.log(`round ${r + 1}: ${line.join(', ')}`);
}
