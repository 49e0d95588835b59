/**
 * One hostile scenario, run in its own process with --expose-gc by hostile.test.ts:
 *   node --import tsx --expose-gc test/hostile/scenario.ts <name> [scale]
 * The generated capture goes through the real `analyze` path (stdin reader, decoder, TCP
 * reassembly, SIP dissector and tracker, flow table, rules). While it runs, live memory
 * (heap + array buffers after a full gc) is sampled every few chunks; the peak of those samples
 * and the peak RSS are printed with the anomaly counts as one JSON line.
 */
import { analyze } from '../../src/analysis/analyze.js';
import { ETH_IPV4, ethernet, ip4, ipv4, tcp } from '../gen/packets.js';
import { fragment, invites, OFF, pcapStream, segment, udpFrame, VIP, type GenFrame } from './gen.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

let peakLive = 0;
let chunks = 0;
function sample(): void {
  // Twice: array buffers freed by a collection are counted until their sweep ends, which the
  // next collection waits for. One gc() let the figure swing by 50 MB from run to run.
  gc!();
  gc!();
  const m = process.memoryUsage();
  peakLive = Math.max(peakLive, m.heapUsed + m.arrayBuffers);
}
const baseline = (() => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
})();

const enc = new TextEncoder();
const scale = Number(process.argv[3] ?? 1);
const n = (x: number): number => Math.max(1, Math.round(x * scale));

const scenarios: Record<string, () => Iterable<GenFrame>> = {
  /** A million INVITEs with distinct Call-IDs from one client tuple, none answered. */
  'call-ids': () => invites(n(1_000_000), 20_000, () => ({ a: 2, b: 1, port: 5080 })),

  /** A million INVITEs, each from its own client address and port, none answered. */
  'client-tuples': () =>
    invites(n(1_000_000), 20_000, (i) => ({ a: Math.floor(i / 60_000) % 256, b: 1 + (Math.floor(i / 60_000 / 256) % 250), port: 1024 + (i % 60_000) })),

  /** Fragments that never complete: small first fragments, far-offset ones that need 64 KiB buffers, overlaps, duplicates. */
  fragments: function* () {
    const small = fragment(0, 0, true, 8);
    const far = fragment(0, 64000, true, 8);
    const clash = fragment(0, 0, true, 8, 0x42);
    const total = n(1_500_000);
    for (let i = 0; i < total; i++) {
      const kind = i % 4;
      const id = kind === 2 || kind === 3 ? i - 2 : i;
      const f = (kind === 1 ? far : kind === 2 ? clash : small).slice();
      f[OFF.ipId] = (id >> 8) & 0xff;
      f[OFF.ipId + 1] = id & 0xff;
      // Distinct sources keep the 16-bit ids apart.
      f[OFF.src + 2] = (id >> 16) & 0xff;
      yield { us: Math.floor((i * 1e6) / 50_000), data: f };
    }
  },

  /** TCP streams whose first bytes never arrive: every later segment waits for a hole that never fills. */
  'tcp-gaps': function* () {
    const payload = new Uint8Array(1400).fill(0x78);
    const streams = n(2000);
    const segs = 150;
    const tmpl = segment('192.0.2.9', 40000, VIP, 5060, 0, 0, 0x18, payload);
    const SEQ = 14 + 20 + 4;
    let us = 0;
    // A SYN for each: the stream starts at byte 1000, which never comes.
    const open = segment('192.0.2.9', 40000, VIP, 5060, 999, 0, 0x02, new Uint8Array(0));
    for (let s = 0; s < streams; s++) {
      const f = open.slice();
      f[OFF.sport] = (10000 + s) >> 8;
      f[OFF.sport + 1] = (10000 + s) & 0xff;
      yield { us: (us += 20), data: f };
    }
    for (let k = 0; k < segs; k++) {
      for (let s = 0; s < streams; s++) {
        const f = tmpl.slice();
        const sport = 10000 + s;
        f[OFF.sport] = sport >> 8;
        f[OFF.sport + 1] = sport & 0xff;
        // seq = 1000 + 1400 * (k + 1): byte 1000.. never comes.
        const seq = 1000 + 1400 * (k + 1);
        f[SEQ] = seq >>> 24;
        f[SEQ + 1] = (seq >>> 16) & 0xff;
        f[SEQ + 2] = (seq >>> 8) & 0xff;
        f[SEQ + 3] = seq & 0xff;
        yield { us: (us += 20), data: f };
      }
    }
    // Then more directions than the table holds, each opened and left with a hole.
    const syn = segment('192.0.2.10', 0, VIP, 5060, 999, 0, 0x02, new Uint8Array(0));
    const data = segment('192.0.2.10', 0, VIP, 5060, 3000, 0, 0x18, payload);
    for (let s = 0; s < n(40_000); s++) {
      for (const t of [syn, data]) {
        const f = t.slice();
        f[OFF.src + 3] = 10 + (s >> 16);
        f[OFF.sport] = (s >> 8) & 0xff;
        f[OFF.sport + 1] = s & 0xff;
        yield { us: (us += 20), data: f };
      }
    }
  },

  /** Many TCP directions, each an INVITE whose header block goes on and on but never ends. */
  'tcp-partial': function* () {
    const streams = n(16_000);
    const start = enc.encode('INVITE sip:b@x SIP/2.0\r\nCall-ID: partial\r\n');
    const line = enc.encode('X-Pad: ' + 'C'.repeat(1400 - 9) + '\r\n');
    const syn = segment('192.0.2.11', 0, VIP, 5060, 0, 0, 0x02, new Uint8Array(0));
    const first = segment('192.0.2.11', 0, VIP, 5060, 1, 0, 0x18, start);
    const more = segment('192.0.2.11', 0, VIP, 5060, 0, 0, 0x18, line);
    const SEQ = 14 + 20 + 4;
    const put = (f: Uint8Array, s: number): Uint8Array => {
      f[OFF.src + 3] = 11 + (s >> 16);
      f[OFF.sport] = (s >> 8) & 0xff;
      f[OFF.sport + 1] = s & 0xff;
      return f;
    };
    let us = 0;
    for (let s = 0; s < streams; s++) {
      yield { us: (us += 10), data: put(syn.slice(), s) };
      yield { us: (us += 10), data: put(first.slice(), s) };
    }
    for (let k = 0; k < 40; k++) {
      const seq = 1 + start.length + k * line.length;
      for (let s = 0; s < streams; s++) {
        const f = put(more.slice(), s);
        f[SEQ] = seq >>> 24;
        f[SEQ + 1] = (seq >>> 16) & 0xff;
        f[SEQ + 2] = (seq >>> 8) & 0xff;
        f[SEQ + 3] = seq & 0xff;
        yield { us: (us += 10), data: f };
      }
    }
  },

  /** SIP with thousands of headers, huge lines, absurd Content-Lengths, and a header block that never ends. */
  'sip-huge': function* () {
    const many = 'INVITE sip:b@x SIP/2.0\r\nCall-ID: many\r\n' + 'X-A: 1\r\n'.repeat(5000) + '\r\n';
    const long = 'INVITE sip:b@x SIP/2.0\r\nCall-ID: long\r\nSubject: ' + 'A'.repeat(30_000) + '\r\n\r\n';
    const huge = 'INVITE sip:b@x SIP/2.0\r\nCall-ID: huge\r\nContent-Length: 4294967296\r\n\r\n';
    const udps = [many, long, huge].map((s) => udpFrame(enc.encode(s)));
    let us = 0;
    const rounds = n(400);
    for (let r = 0; r < rounds; r++) for (const f of udps) yield { us: (us += 100), data: f };
    // One TCP direction: the same messages, then 64 MiB of headers with no end.
    let seq = 1;
    const seg = (p: Uint8Array): Uint8Array => {
      const f = ethernet(ipv4({ src: '192.0.2.1', dst: VIP, proto: 6 }, tcp(ip4('192.0.2.1'), ip4(VIP), 5080, 5060, seq, 1, 0x18, p)), ETH_IPV4);
      seq += p.length;
      return f;
    };
    yield { us: (us += 100), data: seg(new Uint8Array(0)) };
    for (const s of [many, long, huge]) {
      const b = enc.encode(s);
      for (let p = 0; p < b.length; p += 1400) yield { us: (us += 100), data: seg(b.subarray(p, p + 1400)) };
    }
    yield { us: (us += 100), data: seg(enc.encode('INVITE sip:b@x SIP/2.0\r\nCall-ID: endless\r\n')) };
    const line = enc.encode('X-Endless: ' + 'B'.repeat(1400 - 13) + '\r\n');
    for (let k = 0; k < n(48_000); k++) yield { us: (us += 10), data: seg(line) };
  },
};

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  const make = scenarios[name];
  if (!make) throw new Error(`no scenario ${name}; one of ${Object.keys(scenarios).join(', ')}`);
  const t0 = performance.now();
  const stdin = pcapStream(make(), () => {
    if (++chunks % 64 === 0) sample();
  });
  const report = await analyze({
    paths: ['-'],
    stdin,
    conntrack: [],
    vips: [VIP + ':5060'],
    udpTimeoutS: 120,
    timerBNs: 32e9,
    forwardWindowNs: 500e6,
    callIds: [],
    sipPorts: [5060, 5080],
  });
  sample();
  const json = JSON.stringify(report);
  const mb = (b: number): number => Math.round((b / (1 << 20)) * 10) / 10;
  const out = {
    scenario: name,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    packets: report.summary.packets,
    inviteTransactions: report.summary.inviteTransactions,
    flows: report.summary.flows,
    findings: report.findings.length,
    callIdsListed: report.findings.reduce((s, f) => s + f.callIds.length, 0),
    reportMb: mb(json.length),
    baselineMb: mb(baseline),
    peakLiveMb: mb(peakLive),
    maxRssMb: mb(process.resourceUsage().maxRSS * 1024),
    anomalies: Object.fromEntries(report.anomalies.map((a) => [a.name, a.count])),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
