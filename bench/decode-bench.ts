/**
 * Decode throughput on frames already in memory (no file reading): the cost the decoder adds
 * on top of a capture reader. Ethernet/IPv4/UDP SIP frames of 600-900 bytes in one big buffer,
 * decoded through one reused Frame and Packet, as the real pipeline does.
 *
 *   npx tsx bench/decode-bench.ts [megabytes=256] [passes=5]
 *   npx tsx bench/decode-bench.ts --file FILE [passes=3]   read + decode end to end (capture reader included)
 */
import { statSync } from 'node:fs';
import { openCapture } from '../src/capture/open.js';
import { ReadStatus } from '../src/capture/reader.js';
import { newFrame } from '../src/capture/types.js';
import { Anomalies } from '../src/core/anomalies.js';
import { Decoder, newPacket } from '../src/decode/decoder.js';
import { TcpReassembler } from '../src/decode/tcp-reassembly.js';
import { DecodeStatus } from '../src/decode/types.js';
import { ETH_IPV4, ethernet, ip4, ipv4, sipInvite, tcp, udp } from '../test/gen/packets.js';

const fileMode = process.argv[2] === '--file';
const mb = fileMode ? 0 : Number(process.argv[2] ?? 256);
const passes = Number(process.argv[fileMode ? 4 : 3] ?? (fileMode ? 3 : 5));

type Maker = (i: number, body: Uint8Array) => Uint8Array;

/** Rewrites frame i of the corpus in place (buf[off, off + len)) after copying. */
type Patch = (i: number, buf: Uint8Array, off: number, len: number) => void;

function corpus(make: Maker, patch?: Patch): { buf: Uint8Array; offs: Uint32Array; lens: Uint32Array; n: number } {
  // A few hundred distinct frames, repeated: the decoder's cost does not depend on the bytes' variety.
  const distinct: Uint8Array[] = [];
  for (let i = 0; i < 256; i++) {
    const pad = 'x'.repeat(180 + ((i * 37) % 300));
    const msg = sipInvite(`c${i}@bench`, i, `b${i}`, `a@192.0.2.${i % 250}`, 'b@example.test', `192.0.2.${i % 250}:5060`) + pad;
    distinct.push(make(i, new TextEncoder().encode(msg)));
  }
  const target = mb * 1024 * 1024;
  const avg = distinct.reduce((a, d) => a + d.length, 0) / distinct.length;
  const n = Math.ceil(target / avg);
  const offs = new Uint32Array(n);
  const lens = new Uint32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += distinct[i % 256]!.length;
  const buf = new Uint8Array(total);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const d = distinct[i % 256]!;
    buf.set(d, o);
    offs[i] = o;
    lens[i] = d.length;
    patch?.(i, buf, o, d.length);
    o += d.length;
  }
  return { buf, offs, lens, n };
}

function run(name: string, make: Maker, withTcp: boolean, patch?: Patch): void {
  const c = corpus(make, patch);
  const anomalies = new Anomalies();
  const decoder = new Decoder({ anomalies });
  let delivered = 0;
  let tcpAnomalies = new Anomalies();
  let tcpR = new TcpReassembler({ data: (_s, _b, _o, len) => void (delivered += len), gap: () => {}, end: () => {} }, { anomalies });
  const frame = newFrame();
  frame.buf = c.buf;
  frame.linkType = 1;
  const pkt = newPacket();
  const rates: number[] = [];
  let ok = 0;
  let bytes = 0;
  for (let p = 0; p < passes; p++) {
    ok = 0;
    bytes = 0;
    // A fresh reassembler per pass: the same segments again would only be retransmissions.
    delivered = 0;
    tcpAnomalies = new Anomalies();
    tcpR = new TcpReassembler({ data: (_s, _b, _o, len) => void (delivered += len), gap: () => {}, end: () => {} }, { anomalies: tcpAnomalies });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < c.n; i++) {
      frame.off = c.offs[i]!;
      frame.capLen = frame.origLen = c.lens[i]!;
      frame.sec = 1_700_000_000 + (i >> 16);
      if (decoder.decode(frame, pkt) === DecodeStatus.Ok) ok++;
      if (withTcp) tcpR.push(pkt);
      bytes += frame.capLen;
    }
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(sec);
  }
  rates.sort((a, b) => a - b);
  const best = rates[0]!;
  const med = rates[rates.length >> 1]!;
  const fmt = (s: number): string => `${(bytes / s / 1e6).toFixed(0)} MB/s, ${(c.n / s / 1e6).toFixed(2)} Mpkt/s`;
  console.log(`${name.padEnd(34)} ${c.n} frames, ${(bytes / 1e6).toFixed(0)} MB: median ${fmt(med)}; best ${fmt(best)}`);
  if (withTcp) {
    tcpR.flush('eof');
    console.log(`${''.padEnd(34)} reassembled ${(delivered / 1e6).toFixed(0)} MB in order; anomalies (last pass): ${[...anomalies.list(), ...tcpAnomalies.list()].map((a) => `${a.name}=${a.count}`).join(' ') || 'none'}`);
  }
  if (ok !== c.n) throw new Error(`${name}: only ${ok} of ${c.n} decoded`);
}

/** Read and decode a capture file end to end, as inspect does, without the SIP layer. */
async function runFile(path: string): Promise<void> {
  const times: number[] = [];
  let packets = 0;
  let bytes = 0;
  let ok = 0;
  for (let p = 0; p < passes; p++) {
    const anomalies = new Anomalies();
    const decoder = new Decoder({ anomalies });
    const pkt = newPacket();
    packets = bytes = ok = 0;
    const t0 = process.hrtime.bigint();
    const r = await openCapture(path, 0, { anomalies, warnings: [], interfaces: [] });
    const f = newFrame();
    for (;;) {
      const st = r.next(f);
      if (st === ReadStatus.Frame) {
        packets++;
        if (decoder.decode(f, pkt) === DecodeStatus.Ok) ok++;
      } else if (st === ReadStatus.NeedData) await r.fill();
      else break;
    }
    await r.close();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    bytes = statSync(path).size;
  }
  times.sort((a, b) => a - b);
  const fmt = (s: number): string => `${(bytes / s / 1e6).toFixed(0)} MB/s, ${(packets / s / 1e6).toFixed(2)} Mpkt/s`;
  console.log(`read+decode ${path}: ${packets} frames (${ok} to transport), ${(bytes / 1e6).toFixed(0)} MB: median ${fmt(times[times.length >> 1]!)}; best ${fmt(times[0]!)}`);
}

if (fileMode) {
  await runFile(process.argv[3]!);
  process.exit(0);
}

const A = '192.0.2.10';
const B = '198.51.100.20';
run('Ethernet/IPv4/UDP SIP', (i, body) => ethernet(ipv4({ src: A, dst: B, proto: 17, id: i }, udp(ip4(A), ip4(B), 5060, 5060, body)), ETH_IPV4), false);
run('Ethernet/802.1Q/IPv4/UDP SIP', (i, body) => ethernet(ipv4({ src: A, dst: B, proto: 17, id: i }, udp(ip4(A), ip4(B), 5060, 5060, body)), ETH_IPV4, [100]), false);
// 64 TCP connections (client to server), each an in-order byte stream: sequence numbers are
// rewritten per copy so every segment continues its connection.
const CONNS = 64;
const nextSeq = new Uint32Array(CONNS).fill(1);
run(
  'Ethernet/IPv4/TCP SIP + reassembly',
  (i, body) => ethernet(ipv4({ src: A, dst: B, proto: 6, id: i }, tcp(ip4(A), ip4(B), 40000, 5060, 1, 1, 0x18, body)), ETH_IPV4),
  true,
  (i, buf, off, len) => {
    const conn = i % CONNS;
    const port = 40000 + conn;
    buf[off + 34] = port >> 8;
    buf[off + 35] = port & 0xff;
    const s = nextSeq[conn]!;
    buf[off + 38] = s >>> 24;
    buf[off + 39] = (s >>> 16) & 0xff;
    buf[off + 40] = (s >>> 8) & 0xff;
    buf[off + 41] = s & 0xff;
    nextSeq[conn] = (s + len - 54) >>> 0;
  },
);
