/**
 * The dissector reuses the parsed record of a byte-identical recent datagram (an LB's forwarded
 * copy, a retransmission) and caches endpoint strings. Whatever it reuses, what a consumer sees
 * must equal a fresh parse of every datagram: the same fields, the same anomaly counts, the
 * same context. Each case delivers a sequence of datagrams through the dissector and compares
 * with parseSipMessage run on each one alone.
 */
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { newFrame } from '../../src/capture/types.js';
import { Decoder, newPacket } from '../../src/decode/decoder.js';
import { SipDissector } from '../../src/sip/dissector.js';
import { nativeSipParser } from '../../src/sip/native-parser.js';
import { SipMessage } from '../../src/sip/message.js';
import { parseSipMessage, SipParseStatus } from '../../src/sip/parser.js';
import { udp4Frame } from '../gen/packets.js';
import { request, response, sipText } from './helpers.js';

interface Dgram {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  payload: Uint8Array;
}

/** What a consumer can observe of one delivered message. */
function view(msg: SipMessage, status: SipParseStatus) {
  const v = msg.topVia;
  return {
    status,
    isRequest: msg.isRequest,
    method: msg.method,
    statusCode: msg.statusCode,
    reason: msg.isRequest ? '' : msg.reason,
    requestUri: msg.isRequest ? msg.requestUri : '',
    callId: msg.callId,
    cseq: msg.cseqText,
    via: msg.via.slice(0, msg.viaCount).map((h) => ({ ...h })),
    top: v ? `${v.transport} ${v.host}:${v.port} ${v.branch}` : '',
    fromUri: msg.fromUri,
    toUri: msg.toUri,
    fromTag: msg.fromTag,
    toTag: msg.toTag,
    contacts: msg.contacts,
    userAgent: msg.userAgent,
    headers: msg.headerNames(),
    body: Array.from(msg.body()),
    complete: msg.complete,
  };
}

/**
 * Both ways of finding recent copies: in C (dissect() in sip_parse.c, with the C parser) and in
 * JavaScript (without the binding, or STALEPIN_SIP_PARSER=js).
 */
const PATHS: { name: string; native: boolean }[] = [{ name: 'JavaScript', native: false }];
if (nativeSipParser() !== undefined) PATHS.push({ name: 'C', native: true });
else console.log('dissector.test: the C parser is not built (npm install builds it); only the JavaScript path is tested');

function deliver(dgrams: Dgram[], native: boolean) {
  const an = new Anomalies();
  const seen: { v: ReturnType<typeof view>; src: string; dst: string; srcIp: string; dstIp: string }[] = [];
  const d = new SipDissector({
    native,
    anomalies: an,
    onMessage: (msg, ctx, status) => seen.push({ v: view(msg, status), src: ctx.src, dst: ctx.dst, srcIp: ctx.srcIp, dstIp: ctx.dstIp }),
  });
  const dec = new Decoder({ anomalies: an });
  const frame = newFrame();
  const pkt = newPacket();
  // One shared frame buffer, overwritten per datagram, as a capture reader does.
  const shared = new Uint8Array(70000);
  for (const g of dgrams) {
    const bytes = udp4Frame(g.src, g.sport, g.dst, g.dport, g.payload);
    shared.fill(0x55);
    shared.set(bytes, 3);
    frame.buf = shared;
    frame.off = 3;
    frame.capLen = bytes.length;
    frame.origLen = bytes.length;
    dec.decode(frame, pkt);
    d.udp(pkt);
  }
  return { an, seen, stats: d.stats };
}

function fresh(dgrams: Dgram[]) {
  const an = new Anomalies();
  const out: ReturnType<typeof view>[] = [];
  for (const g of dgrams) {
    const msg = new SipMessage();
    const st = parseSipMessage(g.payload, 0, g.payload.length, msg, an);
    if (st !== SipParseStatus.NotSip) out.push(view(msg, st));
  }
  return { an, out };
}

const CLIENT = { src: '192.0.2.1', sport: 5060 };
const toVip = { dst: '203.0.113.10', dport: 5060 };
const toBackend = { dst: '198.51.100.11', dport: 5060 };
const fromBackend = { src: '198.51.100.11', sport: 5060, dst: '192.0.2.1', dport: 5060 };
const inv = request({ callId: 'dup-1', branch: 'z9hG4bKdup1' });
const inv2 = request({ callId: 'dup-2', branch: 'z9hG4bKdup2' });
// Same length as inv, one byte different (the branch): must not be taken for it.
const invOther = request({ callId: 'dup-1', branch: 'z9hG4bKdup9' });
const ok = response(200, { callId: 'dup-1', branch: 'z9hG4bKdup1' });
// Anomalies on every parse: no Call-ID, a bad Max-Forwards, a duplicate CSeq.
const broken = sipText(['OPTIONS sip:x@example.com SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKb1', 'Max-Forwards: lots', 'CSeq: 1 OPTIONS', 'CSeq: 2 OPTIONS', 'Content-Length: 0']);
const notSip = new TextEncoder().encode('HELLO there, not a SIP start line\r\n\r\n');
const invalid = sipText(['INVITE sip:x@example.com SIP/3.0', 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKv3', 'Call-ID: v3', 'CSeq: 1 INVITE', 'Content-Length: 0']);

const cases: { name: string; dgrams: Dgram[] }[] = [
  { name: 'LB copy: the same datagram arriving and forwarded', dgrams: [{ ...CLIENT, ...toVip, payload: inv }, { ...CLIENT, ...toBackend, payload: inv }] },
  {
    name: 'interleaved copies of two messages, then a retransmission',
    dgrams: [
      { ...CLIENT, ...toVip, payload: inv },
      { ...CLIENT, ...toVip, payload: inv2 },
      { ...CLIENT, ...toBackend, payload: inv },
      { ...CLIENT, ...toBackend, payload: inv2 },
      { ...CLIENT, ...toVip, payload: inv },
    ],
  },
  { name: 'same length, one byte different', dgrams: [{ ...CLIENT, ...toVip, payload: inv }, { ...CLIENT, ...toVip, payload: invOther }, { ...CLIENT, ...toVip, payload: inv }] },
  { name: 'request then its response then the request again', dgrams: [{ ...CLIENT, ...toVip, payload: inv }, { ...fromBackend, payload: ok }, { ...CLIENT, ...toVip, payload: inv }] },
  { name: 'anomalies are counted again for each copy', dgrams: [{ ...CLIENT, ...toVip, payload: broken }, { ...CLIENT, ...toBackend, payload: broken }, { ...CLIENT, ...toBackend, payload: broken }] },
  { name: 'not SIP, twice (counted, not delivered)', dgrams: [{ ...CLIENT, ...toVip, payload: notSip }, { ...CLIENT, ...toVip, payload: notSip }] },
  { name: 'invalid (bad version), twice', dgrams: [{ ...CLIENT, ...toVip, payload: invalid }, { ...CLIENT, ...toBackend, payload: invalid }] },
  {
    name: 'more distinct messages than the reuse ring holds, then the first again',
    dgrams: [...Array.from({ length: 20 }, (_, i) => ({ ...CLIENT, ...toVip, payload: request({ callId: `ring-${i}`, branch: `z9hG4bKring${i}` }) })), { ...CLIENT, ...toVip, payload: request({ callId: 'ring-0', branch: 'z9hG4bKring0' }) }],
  },
];

describe.each(PATHS)('SipDissector: reuse of identical datagrams ($name)', ({ native }) => {
  for (const c of cases) {
    it(c.name, () => {
      const got = deliver(c.dgrams, native);
      const want = fresh(c.dgrams);
      expect(got.seen.map((s) => s.v)).toEqual(want.out);
      expect(got.an.list()).toEqual(want.an.list());
      const notSipCount = c.dgrams.length - want.out.length;
      expect(got.stats.notSip).toBe(notSipCount);
      expect(got.stats.invalid).toBe(want.out.filter((o) => o.status === SipParseStatus.Invalid).length);
      // Context: the endpoints of each datagram, whatever was reused.
      const delivered = c.dgrams.filter((g) => g.payload !== notSip);
      expect(got.seen.map((s) => [s.src, s.dst, s.srcIp, s.dstIp])).toEqual(delivered.map((g) => [`${g.src}:${g.sport}`, `${g.dst}:${g.dport}`, g.src, g.dst]));
    });
  }
});

describe.each(PATHS)('SipDissector: which copies are reused ($name)', ({ native }) => {
  it('an LB copy that comes a dozen messages after the original is not parsed again; one that comes after 20 is', () => {
    // The records are reused: what a message said is taken when it is delivered.
    const delivered: SipMessage[] = [];
    const callIds: string[] = [];
    const an = new Anomalies();
    const d = new SipDissector({
      native,
      anomalies: an,
      onMessage: (msg) => {
        delivered.push(msg);
        callIds.push(msg.callId);
      },
    });
    const dec = new Decoder({ anomalies: an });
    const frame = newFrame();
    const pkt = newPacket();
    const send = (g: Dgram, i: number): void => {
      const bytes = udp4Frame(g.src, g.sport, g.dst, g.dport, g.payload, i + 1);
      frame.buf = bytes;
      frame.off = 0;
      frame.capLen = frame.origLen = bytes.length;
      dec.decode(frame, pkt);
      d.udp(pkt);
    };
    const other = (k: number): Dgram => ({ ...CLIENT, ...toVip, payload: request({ callId: `between-${k}`, branch: `z9hG4bKb${k}` }) });
    let n = 0;
    send({ ...CLIENT, ...toVip, payload: inv }, n++);
    for (let k = 0; k < 12; k++) send(other(k), n++);
    send({ ...CLIENT, ...toBackend, payload: inv }, n++);
    expect(delivered[13]).toBe(delivered[0]);
    for (let k = 100; k < 120; k++) send(other(k), n++);
    send({ ...CLIENT, ...toBackend, payload: inv }, n++);
    expect(delivered[34]).not.toBe(delivered[0]);
    expect(callIds[34]).toBe('dup-1');
  });
});

describe.each(PATHS)('SipDissector: endpoint strings ($name)', ({ native }) => {
  it('many endpoints (more than the cache holds) are each formatted right', () => {
    const dgrams: Dgram[] = [];
    for (let i = 0; i < 6000; i++) dgrams.push({ src: `192.0.2.${i % 250}`, sport: 10000 + i, dst: '203.0.113.10', dport: 5060, payload: inv });
    // Revisit the first ones: their cache slots were likely overwritten.
    for (let i = 0; i < 50; i++) dgrams.push({ src: `192.0.2.${i % 250}`, sport: 10000 + i, dst: '203.0.113.10', dport: 5060, payload: inv });
    const got = deliver(dgrams, native);
    expect(got.seen.map((s) => s.src)).toEqual(dgrams.map((g) => `${g.src}:${g.sport}`));
    expect(got.seen.every((s) => s.dst === '203.0.113.10:5060')).toBe(true);
  });
});
