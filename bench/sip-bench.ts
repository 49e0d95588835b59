/**
 * SIP parser and tracker throughput, in memory (no capture reading or decoding):
 *
 *   npx tsx bench/sip-bench.ts [SECONDS]     parse a mixed message corpus; then parse + track
 *   npx tsx bench/sip-bench.ts --file CAP    end to end on a capture: read, decode, SIP, track
 *   npx tsx bench/sip-bench.ts --split CAP   where the time goes: read+decode alone, + SIP
 *                                            dissection (parse), + transaction tracking
 *
 * The corpus is built here, deterministic: INVITEs with SDP, provisional and final responses,
 * ACK, BYE, compact forms and a folded header, the mix of a call.
 */
import { statSync } from 'node:fs';
import { Anomalies } from '../src/core/anomalies.js';
import { SipMessage } from '../src/sip/message.js';
import { parseSipMessage } from '../src/sip/parser.js';
import { runPackets } from '../src/pipeline/packets.js';
import { SipDissector } from '../src/sip/dissector.js';
import { runSip } from '../src/sip/source.js';
import { SipTracker } from '../src/sip/transactions.js';
import { newSipContext } from '../src/sip/types.js';

const enc = new TextEncoder();
const sdp = 'v=0\r\no=- 3711 3711 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n';

function call(i: number): Uint8Array[] {
  const cid = `${(i * 2654435761) >>> 0}-bench@192.0.2.10`;
  const br = `z9hG4bK${i.toString(36)}x`;
  const via = `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${br};rport`;
  const from = `From: "Carrier" <sip:+15550100${i % 1000}@carrier.example.net>;tag=f${i}`;
  const to = 'To: <sip:+15550199@service.example.com>';
  const m = (lines: string[], body = ''): Uint8Array => enc.encode(lines.join('\r\n').replace('{CL}', String(body.length)) + '\r\n\r\n' + body);
  return [
    m([`INVITE sip:+15550199@service.example.com SIP/2.0`, via, 'Max-Forwards: 70', from, to, `Call-ID: ${cid}`, 'CSeq: 1 INVITE', 'Contact: <sip:carrier@192.0.2.10:5060>', 'User-Agent: bench/1.0', 'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS', 'Supported: timer,', ' replaces', 'Content-Type: application/sdp', 'Content-Length: {CL}'], sdp),
    m(['SIP/2.0 100 Trying', `${via};received=192.0.2.10`, from, to, `Call-ID: ${cid}`, 'CSeq: 1 INVITE', 'Content-Length: 0']),
    m(['SIP/2.0 180 Ringing', `${via};received=192.0.2.10`, from, `${to};tag=t${i}`, `Call-ID: ${cid}`, 'CSeq: 1 INVITE', 'Contact: <sip:svc@198.51.100.11>', 'Content-Length: 0']),
    m(['SIP/2.0 200 OK', `${via};received=192.0.2.10`, from, `${to};tag=t${i}`, `Call-ID: ${cid}`, 'CSeq: 1 INVITE', 'Contact: <sip:svc@198.51.100.11>', 'Server: svc/2.3', 'Content-Type: application/sdp', 'Content-Length: {CL}'], sdp),
    m([`ACK sip:svc@198.51.100.11 SIP/2.0`, `v: SIP/2.0/UDP 192.0.2.10:5060;branch=${br}a`, 'Max-Forwards: 70', `f: <sip:+15550100${i % 1000}@carrier.example.net>;tag=f${i}`, `t: <sip:+15550199@service.example.com>;tag=t${i}`, `i: ${cid}`, 'CSeq: 1 ACK', 'l: 0']),
    m([`BYE sip:svc@198.51.100.11 SIP/2.0`, `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${br}b`, 'Max-Forwards: 70', from, `${to};tag=t${i}`, `Call-ID: ${cid}`, 'CSeq: 2 BYE', 'Content-Length: 0']),
    m(['SIP/2.0 200 OK', `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${br}b`, from, `${to};tag=t${i}`, `Call-ID: ${cid}`, 'CSeq: 2 BYE', 'Content-Length: 0']),
  ];
}

function measure(label: string, seconds: number, corpus: Uint8Array[], bytes: number, step: (m: Uint8Array, i: number) => void): void {
  // Warm up, then run whole passes until the time is up.
  for (let i = 0; i < corpus.length; i++) step(corpus[i]!, i);
  const t0 = process.hrtime.bigint();
  let passes = 0;
  let elapsed = 0;
  do {
    for (let i = 0; i < corpus.length; i++) step(corpus[i]!, i);
    passes++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (elapsed < seconds);
  const msgs = (passes * corpus.length) / elapsed;
  const mb = (passes * bytes) / elapsed / 1e6;
  console.log(`${label.padEnd(22)} ${(msgs / 1e3).toFixed(0).padStart(6)} k messages/s  ${mb.toFixed(0).padStart(5)} MB/s  (avg ${(bytes / corpus.length).toFixed(0)} B/message)`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--split') {
    for (const f of argv.slice(1)) {
      const size = statSync(f).size;
      for (const stage of ['decode', 'parse', 'track'] as const) {
        const an = new Anomalies();
        const tr = new SipTracker({ anomalies: an });
        let n = 0;
        const d = new SipDissector({
          anomalies: an,
          onMessage: (m, ctx) => {
            n++;
            if (stage === 'track') tr.track(m, ctx);
          },
        });
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await runPackets({ files: [f], anomalies: an, tcp: stage === 'decode' ? undefined : d.tcp }, (pkt) => {
          if (stage !== 'decode' && pkt.status === 0 && pkt.proto === 17) d.udp(pkt);
        });
        tr.finish();
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        const c = process.cpuUsage(c0);
        const cpu = (c.user + c.system) / 1e6;
        console.log(`${f} ${stage.padEnd(6)} ${n} SIP messages  ${s.toFixed(2)} s wall (${(size / s / 1e6).toFixed(0)} MB/s)  ${cpu.toFixed(2)} s cpu (${(size / cpu / 1e6).toFixed(0)} MB/s)`);
      }
    }
    return;
  }
  if (argv[0] === '--file') {
    for (const f of argv.slice(1)) {
      const size = statSync(f).size;
      const t0 = process.hrtime.bigint();
      const r = await runSip({ files: [f] }, {});
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(`${f}: ${(size / 1e6).toFixed(1)} MB, ${r.frames} frames, ${r.tracker.messages} SIP messages, ${r.tracker.transactions} transactions in ${s.toFixed(2)} s = ${(size / s / 1e6).toFixed(0)} MB/s, peak RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
    }
    return;
  }
  const seconds = Number(argv[0] ?? 3);
  const corpus: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) corpus.push(...call(i));
  const bytes = corpus.reduce((n, m) => n + m.length, 0);
  const msg = new SipMessage();
  const an = new Anomalies();
  let sink = 0;
  measure('parse', seconds, corpus, bytes, (m) => {
    parseSipMessage(m, 0, m.length, msg, an);
    sink += msg.cseqNum;
  });
  measure('parse + fromUri/UA', seconds, corpus, bytes, (m) => {
    parseSipMessage(m, 0, m.length, msg, an);
    sink += msg.fromUri.length + msg.userAgent.length;
  });
  const ctx = newSipContext();
  ctx.src = '192.0.2.10:5060';
  ctx.dst = '198.51.100.11:5060';
  let t = 1_700_000_000;
  let tr = new SipTracker({ anomalies: an });
  let n = 0;
  measure('parse + track', seconds, corpus, bytes, (m, i) => {
    if (i === 0) {
      // A fresh tracker per pass, so that every pass sees new transactions (not retransmissions).
      tr.finish();
      tr = new SipTracker({ anomalies: an });
    }
    parseSipMessage(m, 0, m.length, msg, an);
    ctx.sec = t + Math.floor(n / 10000);
    ctx.nsec = (n % 10000) * 100000;
    n++;
    sink += tr.track(msg, ctx).txId;
  });
  t += 1;
  if (sink === 42) console.log('');
  if (an.size) console.log('anomalies:', an.list().map((a) => `${a.name}=${a.count}`).join(', '));
}

void main();
