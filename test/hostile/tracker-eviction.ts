/** Time to push `count` new INVITE transactions (distinct Call-IDs) through a SipTracker bounded at `bound`. */
import { Anomalies } from '../../src/core/anomalies.js';
import { SipMessage } from '../../src/sip/message.js';
import { parseSipMessage } from '../../src/sip/parser.js';
import { SipTracker } from '../../src/sip/transactions.js';
import { newSipContext } from '../../src/sip/types.js';
import { putDigits } from './gen.js';

export function evictionRun(count: number, bound: number): { msPerMessage: number; evicted: number } {
  const anomalies = new Anomalies();
  const tracker = new SipTracker({ anomalies, maxTransactions: bound, maxCalls: bound });
  const D = 'NNNNNNNNNN';
  const text =
    `INVITE sip:bob@203.0.113.10 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5080;branch=z9hG4bK${D}\r\n` +
    `From: <sip:a@192.0.2.1>;tag=${D}\r\nTo: <sip:bob@203.0.113.10>\r\nCall-ID: ${D}@h\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
  const buf = new TextEncoder().encode(text);
  const at: number[] = [];
  for (let i = text.indexOf(D); i >= 0; i = text.indexOf(D, i + 1)) at.push(i);
  const msg = new SipMessage();
  const ctx = newSipContext();
  Object.assign(ctx, { src: '192.0.2.1:5080', dst: '203.0.113.10:5060', srcIp: '192.0.2.1', srcPort: 5080, dstIp: '203.0.113.10', dstPort: 5060 });
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    for (const p of at) putDigits(buf, p, D.length, i);
    parseSipMessage(buf, 0, buf.length, msg, anomalies);
    // 1 µs apart: timer B never fires, so only the bound removes transactions.
    ctx.sec = 1_800_000_000;
    ctx.nsec = i * 1000;
    tracker.track(msg, ctx);
  }
  const ms = performance.now() - t0;
  return { msPerMessage: ms / count, evicted: anomalies.count('sip_transaction_evicted') };
}
