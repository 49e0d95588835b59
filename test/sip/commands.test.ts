import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePcap } from '../../src/capture/writer.js';
import { ETH_IPV4, ethernet, ip4, ipv4, tcp, udp4Frame } from '../gen/packets.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { request, response, sipText } from './helpers.js';
import { callRecord, InOrder, ParkedElements, writeJsonElement } from '../../src/cli/commands/calls.js';
import { JsonBytes } from '../../src/report/json-bytes.js';
import { jsonText } from '../../src/report/json-text.js';
import type { SipCall } from '../../src/sip/transactions.js';

const dec = new TextDecoder();
const BASE = 1_700_000_000;

/** A pcap (Ethernet) of UDP SIP messages: [t seconds, src "ip:port", dst "ip:port", bytes]. */
function udpPcap(msgs: [number, string, string, Uint8Array][]): Uint8Array {
  return encodePcap(
    { linkType: 1, resolution: 'ns' },
    msgs.map(([t, s, d, m], i) => {
      const [sip, sp] = s.split(':');
      const [dip, dp] = d.split(':');
      return { sec: BASE + Math.floor(t), nsec: Math.round((t % 1) * 1e9), data: udp4Frame(sip!, Number(sp), dip!, Number(dp), m, i + 1) };
    }),
  );
}

const C = '192.0.2.1:5060';
const VIP = '203.0.113.10:5060';
const B = '198.51.100.11:5060';
const inv = { callId: 'cmd-1', branch: 'z9hG4bKc1' };

const lbCall = udpPcap([
  [0, C, VIP, request(inv)],
  [0.0001, C, B, request(inv)],
  [0.5, C, VIP, request(inv)],
  [0.5001, C, B, request(inv)],
  [0.6, B, C, response(200, inv)],
  [0.6001, VIP, C, response(200, inv)],
  [0.7, C, VIP, request({ ...inv, method: 'ACK', branch: 'z9hG4bKc2', toTag: 'tt1' })],
  [5, C, VIP, request({ callId: 'cmd-2', branch: 'z9hG4bKd1', from: 'other@carrier.example' })],
  [5.1, VIP, C, response(486, { callId: 'cmd-2', branch: 'z9hG4bKd1', from: 'other@carrier.example' })],
  [50, C, VIP, request({ callId: 'cmd-3', branch: 'z9hG4bKe1' })],
  [90, C, VIP, request({ callId: 'cmd-4', branch: 'z9hG4bKf1' })],
]);

describe('messages command', () => {
  it('ndjson: one record per message with transaction and flags', async () => {
    const r = await runCli(['messages', '--format', 'ndjson', '-q', '-'], lbCall);
    expect(r.code).toBe(0);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs).toHaveLength(11);
    expect(recs[0]).toEqual({
      time: '2023-11-14T22:13:20.000000000Z',
      src: C,
      dst: VIP,
      transport: 'udp',
      method: 'INVITE',
      status: 0,
      reason: '',
      callId: 'cmd-1',
      cseq: 1,
      cseqMethod: 'INVITE',
      branch: 'z9hG4bKc1',
      tx: 1,
      retransmission: false,
      forwardedCopy: false,
      invalid: false,
    });
    expect(recs.slice(0, 6).map((x) => (x.retransmission ? 'R' : x.forwardedCopy ? 'F' : '.')).join('')).toBe('.FRR.F');
    expect(new Set(recs.slice(0, 6).map((x) => x.tx))).toEqual(new Set([1]));
  });

  it('json has an envelope; table output makes escape sequences visible', async () => {
    const evil = udpPcap([[0, C, B, sipText(['OPTIONS sip:a@example.com SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: x\x1b[2Jy', 'CSeq: 1 OPTIONS', 'l: 0'])]]);
    const j = await runCli(['messages', '--format', 'json', '-q', '-'], evil);
    const doc = JSON.parse(j.stdout);
    expect([doc.schema, doc.count, doc.messages[0].callId]).toEqual(['stalepin/messages@1', 1, 'x\x1b[2Jy']);
    const t = await runCli(['messages', '-q', '-'], evil);
    expect(t.stdout).not.toContain('\x1b');
    expect(t.stdout).toContain('x\\e[2Jy');
  });

  it('SIP over TCP through the real reassembler: two messages in one segment, one across two', async () => {
    const a = request({ callId: 'tcp-1', branch: 'z9hG4bKt1' });
    const b = response(100, { callId: 'tcp-1', branch: 'z9hG4bKt1' });
    const c = request({ callId: 'tcp-2', branch: 'z9hG4bKt2', body: 'v=0\r\n' });
    const stream = new Uint8Array([...a, ...b, ...c]);
    const cut1 = a.length + b.length;
    const cut2 = cut1 + 50;
    const seg = (seq: number, flags: number, p: Uint8Array) => ethernet(ipv4({ src: '192.0.2.7', dst: '198.51.100.11', proto: 6 }, tcp(ip4('192.0.2.7'), ip4('198.51.100.11'), 40000, 5060, seq, 1, flags, p)), ETH_IPV4);
    const pcap = encodePcap({ linkType: 1 }, [
      { sec: BASE, nsec: 0, data: seg(999, 0x02, new Uint8Array(0)) },
      { sec: BASE, nsec: 1000, data: seg(1000, 0x18, stream.subarray(0, cut1)) },
      { sec: BASE, nsec: 2000, data: seg(1000 + cut1, 0x18, stream.subarray(cut1, cut2)) },
      { sec: BASE + 1, nsec: 0, data: seg(1000 + cut2, 0x18, stream.subarray(cut2)) },
    ]);
    const r = await runCli(['messages', '--format', 'ndjson', '-q', '-'], pcap);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.map((x) => [x.callId, x.method || x.status, x.transport, x.time])).toEqual([
      ['tcp-1', 'INVITE', 'tcp', '2023-11-14T22:13:20.000001Z'],
      ['tcp-1', 100, 'tcp', '2023-11-14T22:13:20.000001Z'],
      ['tcp-2', 'INVITE', 'tcp', '2023-11-14T22:13:21.000000Z'],
    ]);
  });

  it('--sip-port: SIP on a port not listed is still found by its start line; a listed port needs no heuristic', async () => {
    const p = udpPcap([[0, '192.0.2.1:7000', '198.51.100.1:7001', request(inv)]]);
    const r = await runCli(['messages', '--format', 'ndjson', '-q', '--sip-port', '7001', '-'], p);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });
});

describe('calls command', () => {
  it('json: states, codes, backends, summary counters', async () => {
    const r = await runCli(['calls', '--format', 'json', '-q', '-'], lbCall);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.schema).toBe('stalepin/calls@1');
    expect(doc.calls.map((c: { callId: string; state: string; finalCode: number; backends: string[] }) => [c.callId, c.state, c.finalCode, c.backends])).toEqual([
      ['cmd-1', 'in-call', 200, [B]],
      ['cmd-2', 'failed', 486, [VIP]],
      ['cmd-3', 'unanswered', 0, [VIP]],
      ['cmd-4', 'setup', 0, [VIP]],
    ]);
    expect(doc.summary).toMatchObject({ sipMessages: 11, inviteTransactions: 4, unansweredInvites: 1, calls: 4 });
  });

  it('--timer-b changes what counts as unanswered', async () => {
    const r = await runCli(['calls', '--format', 'json', '-q', '--timer-b', '60s', '-'], lbCall);
    expect(JSON.parse(r.stdout).calls.map((c: { state: string }) => c.state)).toEqual(['in-call', 'failed', 'setup', 'setup']);
  });

  const filters: [string, string[], string[]][] = [
    ['--state', ['--state', 'failed,unanswered'], ['cmd-2', 'cmd-3']],
    ['--from', ['--from', 'carrier.example'], ['cmd-2']],
    ['--to', ['--to', 'nobody'], []],
    ['--call-id', ['--call-id', 'cmd-4'], ['cmd-4']],
  ];
  it.each(filters)('filter %s', async (_n, args, want) => {
    const r = await runCli(['calls', '--format', 'csv', '-q', ...args, '-'], lbCall);
    const rows = r.stdout.trim().split('\n').slice(1).filter(Boolean);
    expect(rows.map((l) => l.split(',')[0])).toEqual(want);
  });

  it('table output has a header and one row per call', async () => {
    const r = await runCli(['calls', '-q', '-'], lbCall);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^call-id\s+start\s+from\s+to\s+state\s+code\s+setup s\s+msgs\s+backend\(s\)$/);
    expect(lines).toHaveLength(5);
  });

  // A long list, finished out of order: the first call lasts until its BYE at the end while 1500
  // short ones (486) are over long before; the Call-IDs grow longer as the list goes on.
  const longList = (() => {
    const msgs: [number, string, string, Uint8Array][] = [];
    const first = { callId: 'long-1', branch: 'z9hG4bKlong1' };
    msgs.push([0, C, VIP, request(first)], [0.1, VIP, C, response(200, first)]);
    for (let i = 0; i < 1500; i++) {
      const o = { callId: `short-${i}-${'x'.repeat(Math.floor(i / 100))}`, branch: `z9hG4bKs${i}` };
      msgs.push([1 + i * 0.01, C, VIP, request(o)], [1.005 + i * 0.01, VIP, C, response(486, o)]);
    }
    const bye = { method: 'BYE', callId: 'long-1', cseq: 2, branch: 'z9hG4bKlongbye', toTag: 'tt1' };
    msgs.push([100, C, VIP, request(bye)], [100.1, VIP, C, response(200, bye)]);
    return udpPcap(msgs);
  })();

  it('a long list streams in the order of the first INVITE, whatever order calls end in', async () => {
    const j = await runCli(['calls', '--format', 'json', '-q', '-'], longList);
    expect(j.code).toBe(0);
    const doc = JSON.parse(j.stdout);
    expect(doc.summary).toMatchObject({ calls: 1501, listed: 1501 });
    expect(doc.calls[0]).toMatchObject({ callId: 'long-1', state: 'completed', endReason: 'bye' });
    expect(doc.calls.slice(1).map((c: { callId: string }) => c.callId)).toEqual(Array.from({ length: 1500 }, (_, i) => `short-${i}-${'x'.repeat(Math.floor(i / 100))}`));
    const csv = await runCli(['calls', '--format', 'csv', '-q', '--state', 'failed', '-'], longList);
    expect(csv.stdout.trim().split('\n').slice(1).map((l) => l.split(',')[0])).toEqual(doc.calls.slice(1).map((c: { callId: string }) => c.callId));
  });

  it('a long table: columns sized by the first 1000 rows, later longer values kept whole', async () => {
    const r = await runCli(['calls', '-q', '-'], longList);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 1501);
    expect(lines[1]!.startsWith('long-1 ')).toBe(true);
    // Row 1000 (call short-998) sized the Call-ID column; short-1499 is 6 characters longer.
    const col = lines[0]!.indexOf('start');
    expect(lines[1000]!.indexOf('2023-')).toBe(col);
    const last = lines[1501]!;
    expect(last.startsWith(`short-1499-${'x'.repeat(14)}  2023-`)).toBe(true);
    expect(last.indexOf('2023-')).toBeGreaterThan(col);
  });

  const bad: [string, string[]][] = [
    ['unknown state', ['calls', '--state', 'bogus', '-']],
    ['bad timer', ['calls', '--timer-b', 'soon', '-']],
    ['bad port', ['calls', '--sip-port', '99999', '-']],
  ];
  it.each(bad)('%s: exit 2 with one line', async (_n, args) => {
    const r = await runCli(args, lbCall);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('flow command', () => {
  it('draws one column per address and marks copies and retransmissions', async () => {
    const r = await runCli(['flow', '-q', 'cmd-1', '-'], lbCall);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[3]).toMatch(new RegExp(`^\\s+${C.replace(/\./g, '\\.')}\\s+${VIP.replace(/\./g, '\\.')}\\s+${B.replace(/\./g, '\\.')}$`));
    expect(r.stdout).toContain('INVITE (1 INVITE) [F]');
    expect(r.stdout).toContain('INVITE (1 INVITE) [R]');
    expect(r.stdout).toMatch(/\.{10,}>/);
    expect(r.stdout).toMatch(/<-{10,}/);
    expect(lines.filter((l) => l.startsWith('+'))).toHaveLength(7);
  });

  it('unknown Call-ID: exit 2', async () => {
    const r = await runCli(['flow', 'nope', '-'], lbCall);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no SIP message with Call-ID nope');
  });
});

// Golden files are rewritten with UPDATE_GOLDEN=1 and then reviewed in the diff.
const goldenDir = join(repoRoot, 'test', 'golden', 'sip');
const labKilled = join(repoRoot, 'fixtures', 'lab', 'killed', 'lb-any.pcap');
const goldenCases: [string, string[], 'json' | 'text'][] = [
  ['calls-killed.json', ['calls', '--format', 'json', '-q', labKilled], 'json'],
  ['calls-fragmented.json', ['calls', '--format', 'json', '-q', join(repoRoot, 'fixtures', 'lab', 'fragmented', 'lb-any.pcap')], 'json'],
  ['flow-killed-fixed-after-1.txt', ['flow', '-q', 'fixed-after-1-20081@203.0.113.2', labKilled], 'text'],
  ['flow-killed-fixed-before-1.txt', ['flow', '-q', 'fixed-before-1-20021@203.0.113.2', labKilled], 'text'],
];

describe('golden output on lab fixtures', () => {
  it.each(goldenCases)('%s', async (name, args, kind) => {
    if (!existsSync(args[args.length - 1]!)) return;
    const r = await runCli(args);
    expect(r.code).toBe(0);
    const path = join(goldenDir, name);
    if (process.env['UPDATE_GOLDEN'] || !existsSync(path)) {
      mkdirSync(goldenDir, { recursive: true });
      writeFileSync(path, r.stdout);
    }
    const want = readFileSync(path, 'utf8');
    if (kind === 'json') expect(JSON.parse(r.stdout)).toEqual(JSON.parse(want));
    else expect(r.stdout).toBe(want);
  });
});

void dec;

describe('calls json element', () => {
  const base: SipCall = {
    id: 1,
    callId: 'a"b\\c\u001b[31m\u009b\u2028',
    fromTag: 'f',
    toTag: '',
    from: 'sip:\u202eevil@example.com',
    to: 'sip:bob@example.com\u007f',
    startSec: BASE,
    startNsec: 123456789,
    precision: 9,
    transport: 'udp',
    state: 'failed',
    finalCode: 486,
    setupNs: 100_000_000,
    ringNs: -1,
    endSec: BASE + 1,
    endNsec: 5,
    endReason: 'failure',
    addresses: ['192.0.2.1:5060', '[2001:db8::1]:5060'],
    backends: [],
    messages: 4,
    inviteTx: 1,
    unansweredInvites: 0,
    evicted: false,
  };
  const reference = (c: SipCall): string => '    ' + jsonText(callRecord(c), 2).replace(/\n/g, '\n    ');
  it('is the indented jsonText of the record, for hostile strings, empty and full arrays, nulls', () => {
    const cases: SipCall[] = [
      base,
      { ...base, endReason: undefined, setupNs: -1, ringNs: 0, backends: ['198.51.100.11:5060'], addresses: [], evicted: true, precision: 6, startNsec: 1000 },
      { ...base, callId: '', from: '', to: '\u{1f600}\ud800', state: 'in-call', finalCode: 0 },
    ];
    for (const c of cases) {
      const chunks: Uint8Array[] = [];
      const w = new JsonBytes((b) => chunks.push(b));
      writeJsonElement(w, c);
      w.flush();
      const text = Buffer.concat(chunks).toString('utf8');
      expect(text).toBe(reference(c));
      expect(JSON.parse(text)).toEqual(callRecord(c));
    }
  });
});

describe('calls: the in-order buffer', () => {
  it('writes in id order while few calls wait', () => {
    const out: number[] = [];
    const o = new InOrder<number>((x) => out.push(x), 10);
    for (const id of [3, 2, 5, 1, 4]) o.put(id, id);
    o.drain();
    expect(out).toEqual([1, 2, 3, 4, 5]);
  });

  it('one call in progress holds back at most `max` finished ones; it comes out when it ends', () => {
    const out: number[] = [];
    const o = new InOrder<number>((x) => out.push(x), 100);
    let most = 0;
    // Call 1 lasts; calls 2..1000 end in order, call 500 is dropped by a filter.
    for (let id = 2; id <= 1000; id++) {
      o.put(id, id === 500 ? null : id);
      most = Math.max(most, (o as unknown as { waiting: Map<number, unknown> }).waiting.size);
    }
    expect(most).toBeLessThanOrEqual(101);
    o.put(1, 1);
    o.drain();
    expect(out).toHaveLength(999);
    expect(new Set(out).size).toBe(999);
    expect(out.includes(500)).toBe(false);
    // Everything passed over is in order; call 1 comes where it ended.
    const rest = out.filter((x) => x !== 1);
    expect(rest).toEqual([...rest].sort((a, b) => a - b));
    expect(out.indexOf(1)).toBeGreaterThan(900);
  });

  it('calls that wait as parked JSON bytes come out as the elements written in order', () => {
    // Calls of every size (one with a hundred long addresses: its element outruns a 64 KB chunk),
    // finishing in a shuffled order, in waves: each wave waits for its first call.
    const call = (id: number): SipCall => ({
      id,
      callId: `c${id}@example.com${'x'.repeat(id % 300)}`,
      fromTag: 'f',
      toTag: '',
      from: `sip:+1555${id}@192.0.2.50`,
      to: id % 7 === 0 ? 'sip:\u00e9\u202e"q"@example.com' : 'sip:bob@example.com',
      startSec: BASE + id,
      startNsec: (id * 7919) % 1e9,
      precision: 6,
      transport: id % 5 === 0 ? 'tcp' : 'udp',
      state: 'completed',
      finalCode: 200,
      setupNs: id * 1000,
      ringNs: id % 3 === 0 ? -1 : id,
      endSec: BASE + id + 9,
      endNsec: 0,
      endReason: id % 4 === 0 ? undefined : 'bye',
      addresses: Array.from({ length: id === 77 ? 100 : 3 }, (_, k) => `192.0.2.${k % 250}:${40000 + k}${'9'.repeat(id === 77 ? 700 : 0)}`),
      backends: id % 2 === 0 ? ['198.51.100.11:5060'] : [],
      messages: 14,
      inviteTx: id,
      unansweredInvites: 0,
      evicted: false,
    });
    const n = 9000;
    const want: Uint8Array[] = [];
    const direct = new JsonBytes((b) => want.push(b));
    for (let id = 1; id <= n; id++) {
      direct.ascii(id > 1 ? ',\n' : '\n');
      writeJsonElement(direct, call(id));
    }
    direct.flush();
    const got: Uint8Array[] = [];
    const w = new JsonBytes((b) => got.push(b));
    const parked = new ParkedElements();
    let listed = 0;
    const order = new InOrder<SipCall | number>(
      (c) => {
        w.ascii(listed++ ? ',\n' : '\n');
        if (typeof c === 'number') parked.take(c, w);
        else writeJsonElement(w, c);
      },
      MAX_WAITING,
      (c) => (typeof c === 'number' ? c : parked.park(c)),
    );
    let seed = 5;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
    for (let start = 1; start <= n; start += 500) {
      const ids = Array.from({ length: 500 }, (_, k) => start + k);
      const rest = ids.slice(1).sort(() => rnd() - 0.5);
      for (const id of [...rest, ids[0]!]) order.put(id, call(id));
    }
    order.drain();
    w.flush();
    expect(listed).toBe(n);
    expect(Buffer.concat(got).equals(Buffer.concat(want))).toBe(true);
    // Blocks whose elements were all written are used again: 500 calls wait at a time.
    expect(parked.blockCount).toBeLessThanOrEqual(3);
  });
});

const MAX_WAITING = 10_000;
