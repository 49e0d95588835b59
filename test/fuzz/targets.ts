/**
 * Fuzz targets: each takes arbitrary bytes and must end in a result or a StalepinError that is
 * not 'internal'. Anything else thrown (TypeError, RangeError, an invariant below) is a crash.
 * Seeds come from the committed fixtures and from test/fuzz/regressions/.
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { Anomalies } from '../../src/core/anomalies.js';
import { forEachFrame, newFrame, type Frame } from '../../src/capture/index.js';
import { concatBytes } from '../../src/capture/writer.js';
import { Decoder, newPacket } from '../../src/decode/decoder.js';
import { TcpReassembler } from '../../src/decode/tcp-reassembly.js';
import { DecodeStatus, type Packet, type StreamSink, type TcpStream } from '../../src/decode/types.js';
import { SipMessage } from '../../src/sip/message.js';
import { parseSipMessage } from '../../src/sip/parser.js';
import { compareParsers, snapshot } from '../sip/parse-snapshot.js';
import { SipDissector } from '../../src/sip/dissector.js';
import { nativeSipParser } from '../../src/sip/native-parser.js';
import { SipStreamFramer } from '../../src/sip/stream-framer.js';
import { ConntrackParser, LineSplitter } from '../../src/conntrack/parse.js';
import { entryToJson } from '../../src/conntrack/entry.js';
import { ConntrackSummary } from '../../src/conntrack/summary.js';
import { parseInventoryText } from '../../src/inventory/index.js';
import { findNode, merge } from '../../src/inventory/model.js';
import { analyze } from '../../src/analysis/analyze.js';
import { renderJunit, renderMarkdown, renderTable } from '../../src/report/render-analyze.js';
import { Rng, fnv } from './mutate.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fuzzDir = join(repoRoot, 'test', 'fuzz');
export const regressionsDir = join(fuzzDir, 'regressions');
export const crashesDir = join(fuzzDir, 'crashes');

export interface FuzzTarget {
  name: string;
  /** Text inputs also get token and line mutations. */
  text: boolean;
  /** Largest input the mutator produces for this target. */
  maxLen: number;
  seeds(): Promise<Uint8Array[]>;
  /** Offsets of length fields in a seed (for the "length set to an extreme" mutation). */
  fields?(input: Uint8Array): number[];
  run(input: Uint8Array): Promise<void> | void;
}

/** Thrown by targets when an output invariant breaks: a crash like any other. */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new InvariantError(what);
}

function files(dir: string, match: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...files(p, match));
    else if (match(name)) out.push(p);
  }
  return out;
}

const fx = (...p: string[]): string => join(repoRoot, 'fixtures', ...p);
const isCapture = (n: string): boolean => /\.(pcap|pcapng)(\.gz)?$/.test(n) || n.startsWith('bad-') || n === 'gzip-no-suffix.pcap';

/** Regression inputs of one target (named <target>-<hash>.bin): replayed and used as seeds. */
export function regressionFiles(target: string): string[] {
  return files(regressionsDir, (n) => n.startsWith(target + '-') && n.endsWith('.bin'));
}

function withRegressions(target: string, seeds: Uint8Array[]): Uint8Array[] {
  return [...seeds, ...regressionFiles(target).map((p) => new Uint8Array(readFileSync(p)))];
}

// ---------------------------------------------------------------------------------------------
// Structure of capture files, for length-field mutations.

function captureFields(b: Uint8Array): number[] {
  const out: number[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 24) return out;
  const m = dv.getUint32(0, false);
  if (m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1) {
    const le = m === 0xd4c3b2a1 || m === 0x4d3cb2a1;
    out.push(16, 20);
    for (let p = 24, n = 0; p + 16 <= b.length && n < 64; n++) {
      out.push(p + 8, p + 12);
      p += 16 + dv.getUint32(p + 8, le);
    }
  } else if (m === 0x0a0d0d0a) {
    let le = true;
    for (let p = 0, n = 0; p + 12 <= b.length && n < 64; n++) {
      const type = dv.getUint32(p, le);
      if (type === 0x0a0d0d0a) le = dv.getUint32(p + 8, true) === 0x1a2b3c4d;
      const len = dv.getUint32(p + 4, le);
      out.push(p + 4);
      if (type === 1) out.push(p + 8, p + 12);
      if (type === 6) out.push(p + 8, p + 20, p + 24);
      if (type === 3) out.push(p + 8);
      if (type === 0x0a0d0d0a) out.push(p + 16, p + 20);
      if (len < 12 || len % 4 !== 0) break;
      if (p + len <= b.length) out.push(p + len - 4);
      p += len;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Frame sequences: the decode and reassembly targets take a list of frames with link types.
// Encoding per frame: u16 link type, u8 seconds since the previous frame, u16 length, bytes.

export interface SeqFrame {
  linkType: number;
  dt: number;
  data: Uint8Array;
}

export function encodeSeq(frames: SeqFrame[]): Uint8Array {
  const n = frames.reduce((s, f) => s + 5 + f.data.length, 0);
  const out = new Uint8Array(n);
  let p = 0;
  for (const f of frames) {
    out[p] = f.linkType >> 8;
    out[p + 1] = f.linkType & 0xff;
    out[p + 2] = f.dt & 0xff;
    out[p + 3] = f.data.length >> 8;
    out[p + 4] = f.data.length & 0xff;
    out.set(f.data, p + 5);
    p += 5 + f.data.length;
  }
  return out;
}

/** Walk the encoded frames; a length past the end is clamped (the fuzzer will produce them). */
function forEachSeq(b: Uint8Array, cb: (linkType: number, dt: number, off: number, len: number, hdr: number) => void): void {
  let p = 0;
  while (p + 5 <= b.length) {
    const lt = (b[p]! << 8) | b[p + 1]!;
    const dt = b[p + 2]!;
    const len = Math.min((b[p + 3]! << 8) | b[p + 4]!, b.length - p - 5);
    cb(lt, dt, p + 5, len, p);
    p += 5 + len;
  }
}

function seqFields(b: Uint8Array): number[] {
  const out: number[] = [];
  forEachSeq(b, (_lt, _dt, off, len, hdr) => {
    out.push(hdr + 3);
    // Likely IP headers: IPv4 total length, fragment field; IPv6 payload length; UDP length.
    for (let i = off; i < off + Math.min(len, 64); i++) {
      if (b[i] === 0x45 && i + 28 <= off + len) out.push(i + 2, i + 6, i + 24);
      if ((b[i]! & 0xf0) === 0x60 && b[i + 1] === 0 && i + 48 <= off + len) out.push(i + 4, i + 44);
    }
  });
  return out;
}

async function captureFrames(path: string): Promise<SeqFrame[]> {
  const frames: SeqFrame[] = [];
  let prev = -1;
  const ctx = { anomalies: new Anomalies(), warnings: [], interfaces: [] };
  try {
    await forEachFrame([path], ctx, (f: Frame) => {
      const dt = prev < 0 ? 0 : Math.max(0, Math.min(255, f.sec - prev));
      prev = f.sec;
      frames.push({ linkType: f.linkType, dt, data: f.buf.slice(f.off, f.off + f.capLen) });
    });
  } catch {
    // bad-* fixtures: whatever was read before the error is still a seed
  }
  return frames;
}

/** Windows of up to `n` frames from each capture: its start and around its TCP and fragments. */
async function seqSeeds(paths: string[], n: number): Promise<Uint8Array[]> {
  const seeds: Uint8Array[] = [];
  const dec = new Decoder({ anomalies: new Anomalies() });
  const pkt = newPacket();
  for (const p of paths) {
    const frames = await captureFrames(p);
    if (frames.length === 0) continue;
    const starts = new Set<number>([0]);
    let tcp = -1;
    let frag = -1;
    frames.forEach((f, i) => {
      const fr = newFrame();
      fr.buf = f.data;
      fr.capLen = f.data.length;
      fr.linkType = f.linkType;
      dec.decode(fr, pkt);
      if (tcp < 0 && pkt.proto === 6) tcp = i;
      if (frag < 0 && (pkt.status === DecodeStatus.FragmentHeld || pkt.reassembled)) frag = i;
    });
    if (tcp >= 0) starts.add(tcp);
    if (frag >= 0) starts.add(Math.max(0, frag - 2));
    for (const s of starts) seeds.push(encodeSeq(frames.slice(s, s + n)));
  }
  return seeds;
}

const decodeFixtures = (): string[] => files(fx('decode'), isCapture);
const labCaptures = (): string[] => files(fx('lab'), (n) => /\.(pcap|pcapng)$/.test(n));

/** A sink that checks what the reassembler delivers and frames it as SIP. */
class CheckingSink implements StreamSink {
  readonly framer: SipStreamFramer;
  private readonly msg = new SipMessage();
  constructor(private readonly anomalies: Anomalies) {
    this.framer = new SipStreamFramer(
      (_s, buf, off, len) => {
        check(off >= 0 && len > 0 && off + len <= buf.length, `framer delivered [${off}, +${len}) of ${buf.length}`);
        parseSipMessage(buf, off, len, this.msg, this.anomalies);
        touch(this.msg);
      },
      { anomalies },
    );
  }
  data(stream: TcpStream, buf: Uint8Array, off: number, len: number, pkt: Packet): void {
    check(off >= 0 && len > 0 && off + len <= buf.length, `reassembler delivered [${off}, +${len}) of ${buf.length}`);
    this.framer.data(stream, buf, off, len, pkt);
  }
  gap(stream: TcpStream, missing: number): void {
    check(missing >= 0 && Number.isFinite(missing), `gap of ${missing}`);
    this.framer.gap(stream, missing);
  }
  end(stream: TcpStream, reason: 'fin' | 'rst' | 'timeout' | 'evicted' | 'eof'): void {
    this.framer.end(stream, reason);
  }
}

/** Read every lazily decoded field, so their decoders run too. */
function touch(m: SipMessage): void {
  void m.requestUri;
  void m.version;
  void m.reason;
  void m.fromUri;
  void m.toUri;
  void m.fromName;
  void m.toName;
  void m.contentType;
  void m.userAgent;
  void m.server;
  void m.cseqText;
  void m.contacts;
  void m.topVia;
  for (const n of m.headerNames().slice(0, 16)) m.headerValues(n);
  m.header('via');
  const body = m.body();
  check(m.bodyLen === 0 || (body.length === m.bodyLen && m.bodyOff >= m.off && m.bodyOff + m.bodyLen <= m.off + m.len), `body [${m.bodyOff}, +${m.bodyLen}) outside message [${m.off}, +${m.len})`);
  check(m.viaCount >= 0 && m.viaCount <= m.via.length, `viaCount ${m.viaCount}`);
}

function runSeq(input: Uint8Array, small: boolean): void {
  const anomalies = new Anomalies();
  const decoder = new Decoder({ anomalies, ...(small ? { fragments: { maxDatagrams: 3, maxBytes: 8192, timeoutSec: 5 } } : {}) });
  const sink = new CheckingSink(anomalies);
  const tcp = new TcpReassembler(
    sink,
    small
      ? { anomalies, maxStreams: 3, maxBufferedBytesPerStream: 2048, maxBufferedSegmentsPerStream: 4, maxBufferedBytesTotal: 4096, idleTimeoutSec: 10 }
      : { anomalies },
  );
  const frame = newFrame();
  const pkt = newPacket();
  const msg = new SipMessage();
  let sec = 1_700_000_000;
  forEachSeq(input, (lt, dt, off, len) => {
    sec += dt;
    frame.buf = input;
    frame.off = off;
    frame.capLen = len;
    frame.origLen = len;
    frame.linkType = lt;
    frame.sec = sec;
    const st = decoder.decode(frame, pkt);
    if (st === DecodeStatus.Ok) {
      check(pkt.payloadLen >= 0 && pkt.payloadOff >= 0 && pkt.payloadOff + pkt.payloadLen <= pkt.payload.length, `payload [${pkt.payloadOff}, +${pkt.payloadLen}) of ${pkt.payload.length}`);
      if (pkt.proto === 6) tcp.push(pkt);
      else if (pkt.proto === 17 && pkt.payloadLen > 0) {
        parseSipMessage(pkt.payload, pkt.payloadOff, pkt.payloadLen, msg, anomalies);
        touch(msg);
      }
    }
    const fs = decoder.fragmentState();
    // One datagram may exceed a byte budget below 64 KiB (nothing else is left to evict).
    if (small) check(fs.datagrams <= 3 && fs.bytes <= Math.max(8192, 65535), `fragment table ${fs.datagrams} datagrams, ${fs.bytes} bytes over its bound`);
    if (small) check(tcp.streams <= 3 && tcp.bufferedBytes <= 4096, `tcp table ${tcp.streams} streams, ${tcp.bufferedBytes} bytes over its bound`);
  });
  decoder.finish();
  tcp.flush('eof');
}

// ---------------------------------------------------------------------------------------------

const enc = new TextEncoder();

/** Chunks an input into TCP deliveries and gaps, deterministically from its own bytes. */
function runStream(input: Uint8Array): void {
  const anomalies = new Anomalies();
  const sink = new CheckingSink(anomalies);
  const stream: TcpStream = { id: 1, ipVersion: 4, src: '192.0.2.1', dst: '192.0.2.2', srcPort: 5060, dstPort: 5060, user: undefined };
  const pkt = newPacket();
  const rng = new Rng(fnv(input));
  let p = 0;
  while (p < input.length) {
    if (rng.chance(0.05)) sink.gap(stream, rng.pick([0, 1, 100, 70000, 0xffffffff]));
    const n = Math.min(input.length - p, 1 + rng.below(rng.chance(0.5) ? 16 : 4096));
    // A fresh copy per delivery: the framer must not keep references into the caller's buffer.
    const chunk = input.slice(p, p + n);
    sink.data(stream, chunk, 0, n, pkt);
    chunk.fill(0x58);
    p += n;
  }
  sink.end(stream, 'eof');
}

/**
 * A run of datagrams made from one input, through a dissector that finds recent copies in C
 * (dissect() in sip_parse.c) and one that finds them in JavaScript: what each delivers (status
 * and record, field by field) and the anomalies counted must be the same. The run repeats the
 * input (a copy), changes one byte of it (same length), cuts it, and comes back to it, at
 * offsets that vary, so a slot is reused, missed and overwritten.
 */
function runDissect(input: Uint8Array): void {
  if (nativeSipParser() === undefined) return;
  const rng = new Rng(fnv(input));
  const flipped = input.slice();
  if (flipped.length) flipped[rng.below(flipped.length)] ^= 1 << rng.below(8);
  const cut = input.subarray(0, input.length ? rng.below(input.length) + 1 : 0);
  const seq = [input, input, flipped, input, cut, flipped, input];
  const got = [true, false].map((native) => {
    const anomalies = new Anomalies();
    const out: string[] = [];
    const d = new SipDissector({ anomalies, native, onMessage: (msg, ctx, st) => out.push(JSON.stringify([st, ctx.src, snapshot(msg)])) });
    const pkt = newPacket();
    pkt.status = DecodeStatus.Ok;
    pkt.ipVersion = 4;
    pkt.proto = 17;
    pkt.src = new Uint8Array([192, 0, 2, 1]);
    pkt.dst = new Uint8Array([203, 0, 113, 10]);
    pkt.srcPort = 5060;
    pkt.dstPort = 5060;
    for (let i = 0; i < seq.length; i++) {
      const m = seq[i]!;
      // The datagram at an offset inside a bigger buffer, as in a capture reader's chunk.
      const off = (i * 7) % 13;
      const buf = new Uint8Array(off + m.length + 5).fill(0x20);
      buf.set(m, off);
      pkt.payload = buf;
      pkt.payloadOff = off;
      pkt.payloadLen = m.length;
      d.udp(pkt);
    }
    return { out, anomalies: JSON.stringify(anomalies.list()), stats: JSON.stringify(d.stats) };
  });
  const [c, js] = got as [(typeof got)[0], (typeof got)[0]];
  check(c.out.length === js.out.length, `dissect: ${c.out.length} messages delivered with C, ${js.out.length} without`);
  for (let i = 0; i < c.out.length; i++) check(c.out[i] === js.out[i], `dissect: message ${i} differs: C ${c.out[i]}, JavaScript ${js.out[i]}`);
  check(c.anomalies === js.anomalies, `dissect: anomalies differ: C ${c.anomalies}, JavaScript ${js.anomalies}`);
  check(c.stats === js.stats, `dissect: stats differ: C ${c.stats}, JavaScript ${js.stats}`);
}

async function sipSeeds(): Promise<Uint8Array[]> {
  const seeds = new Map<string, Uint8Array>();
  const dec = new Decoder({ anomalies: new Anomalies() });
  const pkt = newPacket();
  for (const p of [...labCaptures(), ...decodeFixtures()]) {
    for (const f of await captureFrames(p)) {
      const fr = newFrame();
      fr.buf = f.data;
      fr.capLen = f.data.length;
      fr.linkType = f.linkType;
      if (dec.decode(fr, pkt) !== DecodeStatus.Ok || pkt.payloadLen < 20) continue;
      const b = pkt.payload.slice(pkt.payloadOff, pkt.payloadOff + pkt.payloadLen);
      const head = new TextDecoder('latin1').decode(b.subarray(0, 12));
      const key = head.split(' ')[0]! + (head.startsWith('SIP/2.0') ? head.slice(8, 11) : '');
      if (/^[A-Z]+$|^SIP\/2\.0\d{3}$/.test(key) && (!seeds.has(key) || seeds.size < 40)) seeds.set(key + seeds.size, b);
    }
  }
  const hand = [
    'INVITE sip:b@x SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@x>;tag=1\r\nt: sip:b@x\r\ni: c1\r\nCSeq: 1 INVITE\r\nl: 4\r\n\r\nbody',
    'SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1, SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK2\r\nFrom: "A \\"q\\"" <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:a@x>, "B" <sip:b@y>;q=0.5\r\nContent-Length: 0\r\n\r\n',
    'OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP h\n ;branch=z9hG4bK3\nCall-ID: c\nCSeq: 7 OPTIONS\nFrom: a;tag=1\nTo: b\n\n',
  ];
  return [...seeds.values(), ...hand.map((s) => enc.encode(s))];
}


// ---------------------------------------------------------------------------------------------

function chunked(input: Uint8Array): Readable {
  // Chunk boundaries from the input's own hash: records straddle reads in varied places.
  const rng = new Rng(fnv(input) ^ 0x5bd1e995);
  const chunks: Buffer[] = [];
  for (let p = 0; p < input.length; ) {
    const n = Math.min(input.length - p, rng.chance(0.3) ? 1 + rng.below(64) : 1 + rng.below(1 << 16));
    chunks.push(Buffer.from(input.subarray(p, p + n)));
    p += n;
  }
  return Readable.from(chunks, { objectMode: false });
}

const defaults = { conntrack: [] as string[], vips: [] as string[], udpTimeoutS: 120, timerBNs: 32e9, forwardWindowNs: 500e6, callIds: [] as string[], sipPorts: [5060, 5080] };

export const targets: FuzzTarget[] = [
  {
    // pcap and pcapng readers (gzip included), then the whole analyze pipeline and every renderer.
    name: 'capture',
    text: false,
    maxLen: 512 * 1024,
    async seeds() {
      const paths = [...files(fx('capture'), isCapture), ...decodeFixtures(), ...labCaptures()];
      return withRegressions('capture', paths.map((p) => new Uint8Array(readFileSync(p))));
    },
    fields: captureFields,
    async run(input) {
      const report = await analyze({ ...defaults, paths: ['-'], stdin: chunked(input) });
      JSON.parse(JSON.stringify(report));
      renderTable(report, true);
      renderJunit(report, 'warning');
      renderMarkdown(report);
    },
  },
  {
    // Decoder on every link type, fragments and TCP with the default bounds.
    name: 'decode',
    text: false,
    maxLen: 256 * 1024,
    async seeds() {
      return withRegressions('decode', await seqSeeds([...decodeFixtures(), ...files(fx('capture'), (n) => /^pcap.*\.pcap$/.test(n))], 64));
    },
    fields: seqFields,
    run: (input) => runSeq(input, false),
  },
  {
    // IP fragment and TCP reassembly with tiny bounds, so eviction and overflow paths run.
    name: 'reassembly',
    text: false,
    maxLen: 256 * 1024,
    async seeds() {
      return withRegressions('reassembly', await seqSeeds([fx('decode', 'frag-ipv4.pcap'), fx('decode', 'frag-ipv6.pcap'), fx('decode', 'tcp-sip.pcap'), ...labCaptures()], 48));
    },
    fields: seqFields,
    run: (input) => runSeq(input, true),
  },
  {
    name: 'sip',
    text: true,
    maxLen: 128 * 1024,
    async seeds() {
      return withRegressions('sip', await sipSeeds());
    },
    run(input) {
      const m = new SipMessage();
      parseSipMessage(input, 0, input.length, m, new Anomalies());
      touch(m);
    },
  },
  {
    // The C parser against the JavaScript one: where C takes a message, the records must match.
    name: 'sip-native',
    text: true,
    maxLen: 128 * 1024,
    async seeds() {
      return withRegressions('sip-native', await sipSeeds());
    },
    run(input) {
      const r = compareParsers(input);
      check(r.mismatch === undefined, r.mismatch ?? '');
    },
  },
  {
    // The dissector's search for copies in C against the one in JavaScript (see runDissect).
    name: 'sip-dissect',
    text: true,
    maxLen: 65_000,
    async seeds() {
      return withRegressions('sip-dissect', await sipSeeds());
    },
    run: runDissect,
  },
  {
    name: 'sip-stream',
    text: true,
    maxLen: 256 * 1024,
    async seeds() {
      const s = await sipSeeds();
      const joined: Uint8Array[] = [];
      for (let i = 0; i < s.length; i += 4) joined.push(concatBytes(s.slice(i, i + 4)));
      return withRegressions('sip-stream', joined);
    },
    run: runStream,
  },
  {
    name: 'conntrack',
    text: true,
    maxLen: 256 * 1024,
    async seeds() {
      const paths = [...files(fx('conntrack'), (n) => n.endsWith('.txt') || n.endsWith('.xml')), ...files(fx('lab', 'killed'), (n) => /conntrack|nf_conntrack/.test(n))];
      return withRegressions('conntrack', paths.map((p) => new Uint8Array(readFileSync(p))));
    },
    run(input) {
      const summary = new ConntrackSummary();
      const parser = new ConntrackParser('fuzz', (e) => {
        summary.add(e);
        JSON.stringify(entryToJson(e, 'fuzz'));
      });
      const splitter = new LineSplitter(parser);
      const b = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
      // Two chunks split at a place taken from the input, so lines straddle pushes.
      const cut = input.length ? fnv(input) % input.length : 0;
      splitter.push(b.subarray(0, cut));
      splitter.push(b.subarray(cut));
      splitter.end();
      parser.finish();
      parser.summary({ time: null, sec: -1, nsec: 0, precision: 0, source: 'none' });
    },
  },
  {
    name: 'inventory',
    text: true,
    maxLen: 256 * 1024,
    async seeds() {
      const paths = [...files(fx('inventory'), (n) => !n.endsWith('.md') && !n.endsWith('.sh')), ...files(fx('lab', 'killed'), (n) => /^(inventory|nft-).*\.json$/.test(n))];
      return withRegressions('inventory', paths.map((p) => new Uint8Array(readFileSync(p))));
    },
    run(input) {
      const inv = parseInventoryText(new TextDecoder().decode(input), 'fuzz');
      for (const n of inv.nodes.slice(0, 32)) findNode(inv, n.address, n.port);
      findNode(inv, '192.0.2.1', 5060);
      merge([inv, inv]);
      JSON.stringify(inv);
    },
  },
];

export function targetByName(name: string): FuzzTarget | undefined {
  return targets.find((t) => t.name === name);
}
