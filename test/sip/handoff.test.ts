/**
 * The handoff records of a split run (sip/handoff.ts), written and read in one thread: what the
 * reading side's dissector found, replayed into the tracking side's, must be what one dissector
 * delivers itself, message by message, with the packets' time passing at the same points.
 */
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { newFrame } from '../../src/capture/types.js';
import { Decoder, newPacket } from '../../src/decode/decoder.js';
import { DecodeStatus, type Packet } from '../../src/decode/types.js';
import { SipDissector } from '../../src/sip/dissector.js';
import { HandoffReader, HandoffWriter, handoffSlots, newHandoffBuffer } from '../../src/sip/handoff.js';
import type { SipMessage } from '../../src/sip/message.js';
import { nativeSipParser } from '../../src/sip/native-parser.js';
import type { SipParseStatus } from '../../src/sip/parser.js';
import type { SipContext } from '../../src/sip/types.js';
import { udp4Frame, udp6Frame } from '../gen/packets.js';
import { request, response, sipText } from './helpers.js';

const why = nativeSipParser() === undefined ? 'the C parser binding is not built (npm install needs g++, make and python3)' : undefined;
if (why) console.log(`handoff tests skipped: ${why}`);

function seen(msg: SipMessage, ctx: SipContext, status: SipParseStatus): string {
  const via = msg.via.slice(0, msg.viaCount).map((h) => `${h.transport} ${h.host}:${h.port};${h.branch};${h.rport};${h.received}`);
  return JSON.stringify([status, ctx.sec, ctx.nsec, ctx.precision, ctx.transport, ctx.src, ctx.dst, ctx.srcIp, ctx.dstIp, msg.isRequest, msg.method, msg.statusCode, msg.callId, msg.cseqText, msg.fromUri, msg.toUri, msg.fromTag, msg.toTag, via, msg.contacts, msg.headerNames().map((n) => [n, msg.headerValues(n)]), msg.userAgent, Array.from(msg.body())]);
}

/** Frames of a balancer's capture: copies at two hops, a retransmission, a folded header, IPv6, noise. */
function frames(): Uint8Array[] {
  const inv = request({ callId: 'h-1', branch: 'z9hG4bKh1' });
  const out: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const m = request({ callId: `h-${i}`, branch: `z9hG4bKh${i}` });
    out.push(udp4Frame('192.0.2.1', 5060, '203.0.113.10', 5060, m));
    out.push(udp4Frame('203.0.113.10', 40000, '198.51.100.11', 5060, m));
    out.push(udp4Frame('198.51.100.11', 5060, '203.0.113.10', 40000, response(i % 2 ? 200 : 486, { callId: `h-${i}`, branch: `z9hG4bKh${i}` })));
    if (i % 7 === 0) out.push(udp4Frame('192.0.2.1', 5060, '203.0.113.10', 5060, m));
    if (i % 9 === 0) out.push(udp4Frame('192.0.2.9', 9999, '203.0.113.10', 7777, 'not sip at all, on no SIP port'));
  }
  const folded = sipText(['INVITE sip:b@example.com SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfold', 'Subject: a', ' folded line', 'From: <sip:a@example.com>;tag=1', 'To: <sip:b@example.com>', 'Call-ID: folded', 'CSeq: 1 INVITE', 'Content-Length: 0']);
  out.push(udp4Frame('192.0.2.1', 5060, '203.0.113.10', 5060, folded));
  out.push(udp6Frame('2001:db8::1', 5060, '2001:db8::10', 5060, inv));
  out.push(udp4Frame('192.0.2.1', 5060, '203.0.113.10', 5060, 'SIP/2.0 200 OK\r\nbroken'));
  return out;
}

/** Decode each frame and hand it to `each`, as the pipeline does, with its time. */
function decodeAll(each: (pkt: Packet) => void): void {
  const dec = new Decoder({ anomalies: new Anomalies() });
  const frame = newFrame();
  const pkt = newPacket();
  frames().forEach((bytes, i) => {
    frame.buf = bytes;
    frame.off = 0;
    frame.capLen = frame.origLen = bytes.length;
    frame.sec = 1_700_000_000 + (i >> 3);
    frame.nsec = (i % 8) * 125_000_000;
    frame.precision = 9;
    dec.decode(frame, pkt);
    each(pkt);
  });
}

describe.skipIf(why !== undefined)('handoff records', () => {
  it('replayed, deliver what one dissector delivers, and time passes after the same packets', () => {
    const one: string[] = [];
    const an1 = new Anomalies();
    const d1 = new SipDissector({ anomalies: an1, onMessage: (m, c, s) => one.push(seen(m, c, s)) });
    decodeAll((pkt) => {
      if (pkt.status !== DecodeStatus.Ok) return;
      if (pkt.proto === 17) d1.udp(pkt);
      one.push(`tick ${pkt.frame.sec} ${pkt.frame.nsec}`);
    });

    const two: string[] = [];
    const sab = newHandoffBuffer();
    const writer = new HandoffWriter(sab);
    const front = new SipDissector({ anomalies: new Anomalies(), forward: writer, onMessage: () => expect.fail('the reading side delivers nothing') });
    const an2 = new Anomalies();
    const back = new SipDissector({ anomalies: an2, slots: handoffSlots(sab, 1), onMessage: (m, c, s) => two.push(seen(m, c, s)) });
    const reader = new HandoffReader(sab, { dissector: back, tick: (s, n) => two.push(`tick ${s} ${n}`), progress: () => undefined });
    decodeAll((pkt) => {
      if (pkt.status !== DecodeStatus.Ok) return;
      writer.tickAfter = true;
      const sent = pkt.proto === 17 && front.udp(pkt);
      writer.tickAfter = false;
      if (!sent) writer.tick(pkt.frame.sec, pkt.frame.nsec);
      writer.flush();
      reader.drain();
    });
    writer.end();
    reader.drain();
    expect(reader.ended).toBe(true);
    expect(one.filter((e) => !e.startsWith('tick')).length).toBeGreaterThan(120);
    expect(two).toEqual(one);
    expect(back.stats).toEqual(d1.stats);
    expect(an2.list()).toEqual(an1.list());
  });

  it('a message read where its record is keeps its bytes after the ring has gone round over that record', () => {
    const m = sipText(
      ['INVITE sip:b@example.com SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKring', 'From: <sip:a@example.com>;tag=1', 'To: <sip:b@example.com>', 'Call-ID: ring-1', 'CSeq: 1 INVITE', 'Contact: <sip:a@192.0.2.1>', 'User-Agent: ring test', 'Content-Length: {CL}'],
      'v=0\r\n',
    );
    const pkt = newPacket();
    const dec = new Decoder({ anomalies: new Anomalies() });
    const frame = newFrame();
    frame.buf = udp4Frame('192.0.2.1', 5060, '203.0.113.10', 5060, m);
    frame.capLen = frame.origLen = frame.buf.length;
    frame.sec = 1_700_000_000;
    frame.precision = 9;
    dec.decode(frame, pkt);
    let expected = '';
    new SipDissector({ anomalies: new Anomalies(), onMessage: (msg, c, st) => (expected = seen(msg, c, st)) }).udp(pkt);
    const sab = newHandoffBuffer();
    const writer = new HandoffWriter(sab);
    const front = new SipDissector({ anomalies: new Anomalies(), forward: writer, onMessage: () => expect.fail('the reading side delivers nothing') });
    let delivered = 0;
    let last = '';
    // Copies of the message are records of 80 bytes that point at its slot: 20,000 of them go
    // round the 1 MiB ring, over the record that carried the message's bytes.
    const copies = 20_000;
    const back = new SipDissector({ anomalies: new Anomalies(), slots: handoffSlots(sab, 1), onMessage: (msg, c, st) => ++delivered === copies && (last = seen(msg, c, st)) });
    const reader = new HandoffReader(sab, { dissector: back, tick: () => undefined, progress: () => undefined });
    for (let i = 0; i < copies; i++) {
      front.udp(pkt);
      writer.flush();
      reader.drain();
    }
    expect(delivered).toBe(copies);
    expect(last).toBe(expected);
    expect(last).toContain('ring test');
  });
});
