/**
 * The C parser (native/sip/sip_parse.c) against the JavaScript parser it speeds up: on every
 * message it takes, the record must be the JavaScript parser's, field for field, and the
 * JavaScript parser must find nothing wrong with the message. Real messages (lab fixtures and
 * ../shared/captures), a table of edge cases, and mutated messages. Skips with a printed reason
 * when the binding was not built (no compiler at npm install); CI builds it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { SIP_LIMITS, SipMessage } from '../../src/sip/message.js';
import { Dissected, HANDOFF_MAX, nativeSipParser, newSlots, RECENT, SLOT_CAP, SLOTS_HEAD, slotBytes, slotOutput } from '../../src/sip/native-parser.js';
import { fillSlotRecord, parseSipMessage, parseSipMessageJs, SipParseStatus, slotRecord } from '../../src/sip/parser.js';
import { runSip } from '../../src/sip/source.js';
import { request, response, sipText } from './helpers.js';
import { compareParsers, snapshot } from './parse-snapshot.js';

const repoRoot = resolve(__dirname, '..', '..');
const capturesDir = resolve(repoRoot, '..', 'shared', 'captures');
const labDir = resolve(repoRoot, 'fixtures', 'lab');
const enc = new TextEncoder();

const why = process.env.STALEPIN_SIP_PARSER === 'js' ? 'STALEPIN_SIP_PARSER=js' : nativeSipParser() === undefined ? 'the C parser binding is not built (npm install needs g++, make and python3) or was refused' : undefined;
if (why) console.log(`C parser tests skipped: ${why}`);

function listCaptures(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...listCaptures(p));
    else if (/\.(pcap|pcapng|cap)(\.gz)?$/.test(n)) out.push(p);
  }
  return out;
}

/** The bytes of every SIP message the dissector finds in a capture (UDP and TCP-framed). */
async function messagesOf(file: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  await runSip({ files: [file] }, { onMessage: (m) => void out.push(m.buf.slice(m.off, m.off + m.len)) });
  return out;
}

/** Every SIP message of the captures through both parsers: how many there were, how many C took. */
async function agreeOn(files: string[]): Promise<{ all: number; taken: number }> {
  let all = 0;
  let taken = 0;
  for (const f of files) {
    for (const m of await messagesOf(f)) {
      all++;
      if (expectAgree(m, f)) taken++;
    }
  }
  return { all, taken };
}

function expectAgree(bytes: Uint8Array, label: string, off = 0, len = bytes.length - off): boolean {
  const r = compareParsers(bytes, off, len);
  if (r.mismatch !== undefined) expect.fail(`${label}: ${r.mismatch}\n${new TextDecoder('latin1').decode(bytes.subarray(off, off + Math.min(len, 600)))}`);
  return r.native;
}

const lines = (ls: string[], body = ''): Uint8Array => sipText(ls, body);
const INVITE = ['INVITE sip:bob@example.com SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds', 'Max-Forwards: 70', 'To: Bob <sip:bob@example.com>', 'From: Alice <sip:alice@example.com>;tag=1928301774', 'Call-ID: a84b4c76e66710@pc33.example.com', 'CSeq: 314159 INVITE', 'Contact: <sip:alice@192.0.2.1>', 'Content-Length: 0'];
const swap = (i: number, v: string): string[] => INVITE.map((l, k) => (k === i ? v : l));

interface Edge {
  name: string;
  input: Uint8Array;
  /** Must the C parser take it (true) or leave it to JavaScript (false)? */
  native: boolean;
}

const edges: Edge[] = [
  { name: 'a plain INVITE', input: lines(INVITE), native: true },
  { name: 'CRLFs before the start line', input: enc.encode('\r\n\r\n' + new TextDecoder().decode(lines(INVITE))), native: true },
  { name: 'bare LF line ends', input: sipText(INVITE, '', '\n'), native: true },
  { name: 'a lower-case version', input: lines(swap(0, 'INVITE sip:bob@example.com sip/2.0')), native: true },
  { name: 'a status line without a reason', input: lines(['SIP/2.0 100', ...INVITE.slice(1)]), native: true },
  { name: 'a status line with a tab before the reason', input: lines(['SIP/2.0 180\tRinging', ...INVITE.slice(1)]), native: true },
  { name: 'a status line with two spaces', input: lines(['SIP/2.0  180 Ringing', ...INVITE.slice(1)]), native: false },
  { name: 'a status code out of range', input: lines(['SIP/2.0 700 Odd', ...INVITE.slice(1)]), native: false },
  { name: 'a request line with a tab', input: lines(swap(0, 'INVITE\tsip:bob@example.com SIP/2.0')), native: false },
  { name: 'a request line with trailing blanks', input: lines(swap(0, 'INVITE sip:bob@example.com SIP/2.0 ')), native: false },
  { name: 'SIP/3.0', input: lines(swap(0, 'INVITE sip:bob@example.com SIP/3.0')), native: false },
  { name: 'a Request-URI without a scheme', input: lines(swap(0, 'INVITE bob@example.com SIP/2.0')), native: false },
  { name: 'compact forms', input: lines(['INVITE sip:b@x SIP/2.0', 'v: SIP/2.0/UDP h;branch=z9hG4bK1', 'f: <sip:a@x>;tag=1', 't: sip:b@x', 'i: c1', 'CSeq: 1 INVITE', 'm: <sip:a@h>', 'c: application/sdp', 'l: 4'], 'body'), native: true },
  { name: 'a folded header', input: lines(swap(3, 'To: Bob\r\n <sip:bob@example.com>')), native: false },
  { name: 'two Call-IDs', input: lines([...INVITE.slice(0, -1), 'Call-ID: other', 'Content-Length: 0']), native: false },
  { name: 'two Content-Lengths', input: lines([...INVITE, 'Content-Length: 0']), native: false },
  { name: 'no To', input: lines(INVITE.filter((l) => !l.startsWith('To'))), native: false },
  { name: 'no Via', input: lines(INVITE.filter((l) => !l.startsWith('Via'))), native: false },
  { name: 'an empty Call-ID', input: lines(swap(5, 'Call-ID:')), native: false },
  { name: 'a CSeq method not the request method', input: lines(swap(6, 'CSeq: 1 BYE')), native: false },
  { name: 'a CSeq above 2^31-1', input: lines(swap(6, 'CSeq: 2147483648 INVITE')), native: false },
  { name: 'a Max-Forwards above 255', input: lines(swap(2, 'Max-Forwards: 256')), native: false },
  { name: 'a header line without a colon', input: lines([...INVITE.slice(0, 3), 'Garbage line', ...INVITE.slice(3)]), native: false },
  { name: 'an empty header value', input: lines([...INVITE.slice(0, 3), 'Subject:', ...INVITE.slice(3)]), native: true },
  { name: 'Via hops in one header and across lines, IPv6, quoted and bracketed params', input: lines(swap(1, 'Via: SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bKa;received=[2001:db8::2];rport=5071, SIP / 2.0 / tcp Proxy.Example.COM ;branch="z9hG4bK q";rport\r\nv: SIP/2.0/TLS h3;received=198.51.100.7;branch=')), native: true },
  { name: 'a Via with an empty hop', input: lines(swap(1, 'Via: SIP/2.0/UDP h;branch=z9hG4bK1,,SIP/2.0/UDP g')), native: false },
  { name: 'a Via port above 65535', input: lines(swap(1, 'Via: SIP/2.0/UDP h:65536;branch=z9hG4bK1')), native: false },
  { name: 'a Via rport above 65535 (taken as 0, as in JavaScript)', input: lines(swap(1, 'Via: SIP/2.0/UDP h;branch=z9hG4bK1;rport=70000')), native: true },
  { name: '33 Via hops', input: lines([...INVITE.slice(0, 2), ...Array.from({ length: 32 }, (_, i) => `Via: SIP/2.0/UDP h${i};branch=z9hG4bK${i}`), ...INVITE.slice(2)]), native: false },
  { name: 'a header line longer than the limit', input: lines([...INVITE.slice(0, 3), `X-Long: ${'y'.repeat(SIP_LIMITS.maxLineLength)}`, ...INVITE.slice(3)]), native: false },
  { name: 'a header line just within the limit', input: lines([...INVITE.slice(0, 3), `X-Long: ${'y'.repeat(SIP_LIMITS.maxLineLength - 8)}`, ...INVITE.slice(3)]), native: true },
  { name: 'a message larger than the limit', input: lines(INVITE.slice(0, -1), 'v'.repeat(SIP_LIMITS.maxMessageSize)), native: false },
  { name: '20 Contact lines (16 kept)', input: lines([...INVITE.slice(0, -1), ...Array.from({ length: 20 }, (_, i) => `Contact: <sip:c${i}@h>`), 'Content-Length: 0']), native: true },
  { name: 'a quoted display name holding < and ;', input: lines(swap(4, 'From: "A <x>; \\"y\\"" <sip:alice@example.com>;tag=q1')), native: true },
  { name: 'an empty tag, then a real one', input: lines(swap(4, 'From: <sip:alice@example.com>;tag=;tag=second')), native: true },
  { name: 'a tag without a value', input: lines(swap(3, 'To: <sip:bob@example.com>;tag')), native: true },
  { name: 'an addr-spec with params and trailing junk', input: lines(swap(3, 'To: sip:bob@example.com;tag=9 junk')), native: true },
  { name: 'an unclosed quote in From', input: lines(swap(4, 'From: "Alice <sip:alice@example.com>;tag=1')), native: false },
  { name: 'a UTF-8 Call-ID and display name', input: lines(swap(5, 'Call-ID: grüße-✓@example.com').map((l) => (l.startsWith('To') ? 'To: "Bjørn" <sip:bob@example.com>' : l))), native: true },
  { name: 'a Call-ID longer than the intern table keeps', input: lines(swap(5, `Call-ID: ${'x'.repeat(300)}@example.com`)), native: true },
  { name: 'a body with Content-Length and padding after it', input: enc.encode(new TextDecoder().decode(lines(swap(8, 'Content-Length: 4'), 'v=0\r')) + '\r\n\0 '), native: true },
  { name: 'bytes past Content-Length', input: lines(swap(8, 'Content-Length: 2'), 'v=0 and more'), native: false },
  { name: 'a body shorter than Content-Length', input: lines(swap(8, 'Content-Length: 40'), 'v=0'), native: false },
  { name: 'no Content-Length: the rest is body', input: lines(INVITE.slice(0, -1), 'v=0\r\n'), native: true },
  { name: 'headers cut short', input: enc.encode('INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: c\r\n'), native: false },
  { name: 'not SIP at all', input: enc.encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), native: false },
  { name: 'an empty input', input: new Uint8Array(0), native: false },
  { name: 'a response from the helpers', input: response(486), native: true },
  { name: 'a request from the helpers', input: request({ method: 'BYE', extraVia: ['SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1'] }), native: true },
];

// A binding that is built but refused (its output layout, slot buffer or intern table is not
// the size this version of native-parser.ts expects) would leave every C test skipped as if it
// were not built, and the tool on its JavaScript path.
const built = existsSync(resolve(repoRoot, 'native', 'sip', 'build', 'Release', 'stalepin_sip.node'));
describe.skipIf(!built || process.env.STALEPIN_SIP_PARSER === 'js')('the built C SIP parser binding', () => {
  it('is taken: its sizes are the ones native-parser.ts expects', () => {
    expect(nativeSipParser()).toBeDefined();
  });
});

describe.skipIf(why !== undefined)('the C SIP parser', () => {
  it.each(edges)('$name', ({ input, native, name }) => {
    expect(expectAgree(input, name)).toBe(native);
    // The same bytes inside a larger buffer: spans are absolute offsets.
    const big = new Uint8Array(input.length + 64).fill(0x41);
    big.set(input, 32);
    expect(expectAgree(big, `${name} at offset 32`, 32, input.length)).toBe(native);
  });

  it('never reads past the message: a span running off the buffer is left to JavaScript', () => {
    const m = lines(INVITE);
    const out = new SipMessage();
    const native = nativeSipParser()!;
    expect(native.parse(m, 0, m.length + 1)).not.toBe(0);
    expect(native.parse(m, 10, m.length)).not.toBe(0);
    expect(native.parse(m, -1, 4)).not.toBe(0);
    // parseSipMessage still parses what is in range.
    expect(parseSipMessage(m, 0, m.length, out, new Anomalies())).toBe(SipParseStatus.Ok);
  });

  it('parseSipMessage gives what it declines to the JavaScript parser, anomalies and all', () => {
    const folded = lines(swap(3, 'To: Bob\r\n <sip:bob@example.com>;tag=x'));
    const a = new SipMessage();
    const b = new SipMessage();
    const an1 = new Anomalies();
    const an2 = new Anomalies();
    expect(parseSipMessage(folded, 0, folded.length, a, an1)).toBe(parseSipMessageJs(folded, 0, folded.length, b, an2));
    expect(a.toUri).toBe('sip:bob@example.com');
    expect(a.toTag).toBe('x');
    const dup = lines([...INVITE, 'Content-Length: 0']);
    parseSipMessage(dup, 0, dup.length, a, an1);
    expect(an1.count('sip_duplicate_header')).toBe(1);
  });

  it('the intern table hands back the right string through collisions, evictions and case', () => {
    // 20000 Call-IDs of one length and branch values that differ in one character fill the
    // 8192 slots many times over; then the first ones again, and hosts differing in case.
    const msg = (i: number, host = 'pc33.example.com'): Uint8Array => lines(swap(5, `Call-ID: ${String(i).padStart(8, '0')}@x`).map((l) => (l.startsWith('Via') ? `Via: SIP/2.0/UDP ${host};branch=z9hG4bK${i % 977}` : l)));
    let taken = 0;
    for (let i = 0; i < 20000; i++) if (expectAgree(msg(i), `message ${i}`)) taken++;
    for (let i = 0; i < 2000; i += 7) if (expectAgree(msg(i, i % 2 ? 'PC33.Example.COM' : 'pc33.example.com'), `again ${i}`)) taken++;
    expect(taken).toBe(20000 + Math.ceil(2000 / 7));
  });

  it('agrees with JavaScript on mutated messages', () => {
    // Deterministic: a failure names its seed and round, and reruns the same.
    let state = 0x9e3779b9;
    const rnd = (n: number): number => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) % n;
    };
    const seeds = edges.map((e) => e.input).filter((b) => b.length > 20);
    const special = enc.encode(' \t\r\n:;,"<>=[]/\\0123456789AZaz@.-\x80\xff\x00');
    let taken = 0;
    let declined = 0;
    for (let round = 0; round < 30000; round++) {
      const seed = seeds[round % seeds.length]!;
      const b = Array.from(seed);
      const edits = 1 + rnd(4);
      for (let k = 0; k < edits; k++) {
        const at = rnd(b.length + 1);
        switch (rnd(4)) {
          case 0:
            if (at < b.length) b[at] = special[rnd(special.length)]!;
            break;
          case 1:
            b.splice(at, 0, special[rnd(special.length)]!);
            break;
          case 2:
            b.splice(at, 1 + rnd(3));
            break;
          default: {
            // Repeat a stretch: duplicate headers, doubled separators.
            const n = 1 + rnd(40);
            b.splice(at, 0, ...b.slice(at, at + n));
          }
        }
      }
      if (expectAgree(Uint8Array.from(b), `seed ${round % seeds.length}, round ${round}`)) taken++;
      else declined++;
    }
    // Both ways must be exercised, or the comparison says little.
    expect(taken).toBeGreaterThan(3000);
    expect(declined).toBeGreaterThan(3000);
  });

  it('takes the messages of the lab fixtures with the JavaScript parser\'s result', async () => {
    const { all, taken } = await agreeOn(listCaptures(labDir));
    expect(all).toBeGreaterThan(100);
    // sipp's messages are well-formed: the C parser should take nearly all of them.
    expect(taken / all).toBeGreaterThan(0.95);
  });

  it.skipIf(!existsSync(capturesDir))('agrees on every message of the public captures in ../shared/captures', async () => {
    const { all, taken } = await agreeOn(listCaptures(capturesDir));
    expect(all).toBeGreaterThan(1000);
    expect(taken).toBeGreaterThan(all / 2);
  });

  it('the binding refuses to parse until it has a valid output array, even after a refused one', () => {
    const node = join(repoRoot, 'native', 'sip', 'build', 'Release', 'stalepin_sip.node');
    // A fresh process: the state is per environment, and this one's is set up already.
    const script = `const b = require(${JSON.stringify(node)}); const r = [];
      for (const f of [() => b.parse(new Uint8Array(8), 0, 8), () => b.setOutput(new Int32Array(3)), () => b.parse(new Uint8Array(8), 0, 8)])
        try { f(); r.push('ok'); } catch (e) { r.push(e.name); }
      process.stdout.write(r.join(' '));`;
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })).toBe('TypeError TypeError TypeError');
  });

  it('two copies of the loader module in one process share one parser (the C side has one output array)', () => {
    const mod = join(repoRoot, 'dist', 'sip', 'native-parser.js');
    const script = `const a = await import('${mod}?a'); const b = await import('${mod}?b'); process.stdout.write(String(a.nativeSipParser() !== undefined && a.nativeSipParser() === b.nativeSipParser()));`;
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })).toBe('true');
  });

  it('STALEPIN_SIP_PARSER=js turns it off, and the output stays the same', () => {
    const bin = join(repoRoot, 'bin', 'stalepin');
    const pcap = join(labDir, 'killed', 'lb-any.pcap');
    const run = (env: NodeJS.ProcessEnv): string =>
      ['calls', 'messages'].map((cmd) => execFileSync(process.execPath, [bin, cmd, pcap, '-f', cmd === 'calls' ? 'json' : 'ndjson'], { env: { ...process.env, ...env }, encoding: 'utf8' })).join('');
    const kind = (env: NodeJS.ProcessEnv): string =>
      execFileSync(process.execPath, ['--input-type=module', '-e', `import('${join(repoRoot, 'dist', 'sip', 'native-parser.js')}').then((m) => process.stdout.write(m.sipParserKind()))`], { env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(kind({})).toBe('c');
    expect(kind({ STALEPIN_SIP_PARSER: 'js' })).toBe('js');
    const c = run({});
    expect(c.length).toBeGreaterThan(100);
    expect(run({ STALEPIN_SIP_PARSER: 'js' })).toBe(c);
  });
});

describe.skipIf(why !== undefined)('dissect(): recent messages compared, copied and parsed in C', () => {
  const kindOf = (d: number): Dissected => d >> 8;
  const slotOf = (d: number): number => d & 0xff;

  it('parses a new message in its slot, and answers Same for the very same bytes elsewhere', () => {
    const p = nativeSipParser()!;
    const slots = newSlots();
    const inv = request({ callId: 'dissect-1', branch: 'z9hG4bKd1' });
    const d1 = p.dissect(inv, 0, inv.length, slots);
    expect(kindOf(d1)).toBe(Dissected.Parsed);
    const slot = slotBytes(slots, slotOf(d1));
    expect(slot.byteOffset).toBe(SLOTS_HEAD + slotOf(d1) * SLOT_CAP);
    expect(Buffer.from(slot.subarray(0, inv.length)).equals(Buffer.from(inv))).toBe(true);
    // The results are in the slot's output array (offsets from the slot's start): a record
    // whose tables are views of it, filled from it, is the JavaScript parser's.
    const c = slotRecord(slotOutput(slots, slotOf(d1)));
    fillSlotRecord(slot, 0, inv.length, c, slotOutput(slots, slotOf(d1)));
    const js = new SipMessage();
    const an = new Anomalies();
    expect(parseSipMessageJs(inv, 0, inv.length, js, an)).toBe(SipParseStatus.Ok);
    expect(snapshot(c)).toEqual(snapshot(js));
    // The same bytes at another offset of another buffer.
    const shifted = new Uint8Array(inv.length + 7);
    shifted.set(inv, 7);
    expect(p.dissect(shifted, 7, inv.length, slots)).toBe(slotOf(d1) | (Dissected.Same << 8));
    // One byte different, same length: a new slot.
    const other = request({ callId: 'dissect-1', branch: 'z9hG4bKd9' });
    expect(other.length).toBe(inv.length);
    const d2 = p.dissect(other, 0, other.length, slots);
    expect(kindOf(d2)).toBe(Dissected.Parsed);
    expect(slotOf(d2)).not.toBe(slotOf(d1));
    // Parsing into another slot left the first slot's results (and so its record) alone.
    expect(snapshot(c)).toEqual(snapshot(js));
  });

  it('keeps the last RECENT messages: the oldest is forgotten, slots are taken in turn', () => {
    const p = nativeSipParser()!;
    const slots = newSlots();
    const msgs = Array.from({ length: RECENT + 1 }, (_, i) => request({ callId: `ring-${i}`, branch: `z9hG4bKr${i}` }));
    const got = msgs.map((m) => p.dissect(m, 0, m.length, slots));
    expect(got.map(kindOf)).toEqual(msgs.map(() => Dissected.Parsed));
    expect(got.map(slotOf)).toEqual(msgs.map((_, i) => i % RECENT));
    // msgs[1] is still held; msgs[0]'s slot now holds msgs[RECENT].
    expect(kindOf(p.dissect(msgs[1]!, 0, msgs[1]!.length, slots))).toBe(Dissected.Same);
    expect(kindOf(p.dissect(msgs[0]!, 0, msgs[0]!.length, slots))).toBe(Dissected.Parsed);
  });

  it('a message the C parser declines is kept for JavaScript to parse, and is Same when it comes again', () => {
    const p = nativeSipParser()!;
    const slots = newSlots();
    const broken = sipText(['OPTIONS sip:x@example.com SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKb1', 'Max-Forwards: lots', 'CSeq: 1 OPTIONS', 'Content-Length: 0']);
    const d = p.dissect(broken, 0, broken.length, slots);
    expect(kindOf(d)).toBe(Dissected.Slow);
    expect(p.dissect(broken, 0, broken.length, slots)).toBe(slotOf(d) | (Dissected.Same << 8));
  });

  it('empty, oversized and out-of-range messages are not kept and never read; each empties the slot it takes', () => {
    const p = nativeSipParser()!;
    const slots = newSlots();
    const inv = request({ callId: 'dissect-range', branch: 'z9hG4bKdr' });
    const first = p.dissect(inv, 0, inv.length, slots);
    const big = new Uint8Array(SIP_LIMITS.maxMessageSize + 1).fill(0x41);
    const cases: [Uint8Array, number, number][] = [
      [inv, 0, 0],
      [big, 0, big.length],
      [inv, 1, inv.length],
      [inv, -1, 4],
      [inv, inv.length, 1],
      [inv, 0x7fffffff, 2],
    ];
    const got = cases.map(([b, off, len]) => p.dissect(b, off, len, slots));
    expect(got.map(kindOf)).toEqual(cases.map(() => Dissected.NotKept));
    expect(got.map(slotOf)).toEqual(cases.map((_, i) => (slotOf(first) + 1 + i) % RECENT));
    // A message of the largest size is kept.
    const largest = new Uint8Array(SIP_LIMITS.maxMessageSize).fill(0x41);
    expect(kindOf(p.dissect(largest, 0, largest.length, slots))).toBe(Dissected.Slow);
    expect(kindOf(p.dissect(largest, 0, largest.length, slots))).toBe(Dissected.Same);
  });

  it('dissectInto() writes the record dissect() writes, into the slots and array bindHandoff() gave', () => {
    const p = nativeSipParser()!;
    const inv = request({ callId: 'dissect-into', branch: 'z9hG4bKdi' });
    const broken = sipText(['OPTIONS sip:x@example.com SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKdi2', 'Max-Forwards: lots', 'CSeq: 1 OPTIONS', 'Content-Length: 0']);
    const big = new Uint8Array(SIP_LIMITS.maxMessageSize + 1).fill(0x41);
    const msgs: [Uint8Array, number, number][] = [
      [inv, 0, inv.length],
      [inv, 0, inv.length],
      [broken, 0, broken.length],
      [response(180, { callId: 'dissect-into', branch: 'z9hG4bKdi' }), 0, 300],
      [inv, 0, 0],
      [big, 0, big.length],
      [inv, -1, 4],
      [inv, 0x7fffffff, 2],
      [broken, 0, broken.length],
    ];
    msgs[3]![2] = msgs[3]![0].length;
    const room = 4 * HANDOFF_MAX + big.length + 8;
    const [slotsA, slotsB] = [newSlots(), newSlots()];
    const [toA, toB] = [new Uint8Array(room), new Uint8Array(room)];
    p.bindHandoff(slotsB, toB);
    p.handoffOwner = undefined;
    // Every string in the intern table first, so that neither call below is the one that puts
    // it there: both records then say "hit" for it.
    const warm = newSlots();
    for (const [b, off, len] of msgs) p.dissect(b, off, len, warm);
    for (const [b, off, len] of msgs) {
      toA.fill(0);
      toB.fill(0);
      expect(p.dissectInto(b, off, len, 8)).toBe(p.dissect(b, off, len, slotsA, toA, 8));
      expect(Buffer.compare(toA, toB)).toBe(0);
      expect(Buffer.compare(slotsA, slotsB)).toBe(0);
    }
    // The record must fit: room for HANDOFF_MAX words and the bytes from a 4-aligned offset.
    expect(() => p.dissectInto(inv, 0, inv.length, (room - 4 * HANDOFF_MAX - inv.length + 8) & ~3)).toThrow(TypeError);
    expect(() => p.dissectInto(inv, 0, inv.length, 2)).toThrow(TypeError);
    expect(() => p.bindHandoff(new Uint8Array(8), toB)).toThrow(TypeError);
  });

  it('refuses slots of another size, and a header that lies cannot make it read out of bounds', () => {
    const p = nativeSipParser()!;
    const inv = request({ callId: 'dissect-bad', branch: 'z9hG4bKdb' });
    expect(() => p.dissect(inv, 0, inv.length, new Uint8Array(SLOTS_HEAD + SLOT_CAP))).toThrow(TypeError);
    expect(() => p.dissect(inv, 0, inv.length, newSlots().subarray(1, 1 + SLOTS_HEAD + RECENT * SLOT_CAP - 1))).toThrow(TypeError);
    const slots = newSlots();
    const head = new Int32Array(slots.buffer, 0, RECENT + 1);
    // Garbage lengths and next slot: only a length equal to the message's is compared.
    head.fill(0x7fffffff);
    head[RECENT] = -5;
    const d = p.dissect(inv, 0, inv.length, slots);
    expect(kindOf(d)).toBe(Dissected.Parsed);
    expect(slotOf(d)).toBe(-5 & (RECENT - 1));
  });
});
