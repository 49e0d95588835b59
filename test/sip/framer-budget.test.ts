import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { newPacket } from '../../src/decode/decoder.js';
import type { TcpStream } from '../../src/decode/types.js';
import { SipStreamFramer } from '../../src/sip/stream-framer.js';

const stream = (id: number): TcpStream => ({ id, ipVersion: 4, src: '192.0.2.1', dst: '203.0.113.10', srcPort: 10000 + id, dstPort: 5060, user: undefined });
const partial = new TextEncoder().encode('INVITE sip:a@203.0.113.10 SIP/2.0\r\nCall-ID: x\r\nContent-Length: 50000\r\n\r\n' + 'v'.repeat(6000));

describe('SIP framer: budget across TCP directions', () => {
  it('gives up partial messages past the budget, counts it, and gets bytes back when directions end', () => {
    const anomalies = new Anomalies();
    const f = new SipStreamFramer(() => undefined, { anomalies, maxBufferedTotal: 64 * 1024 });
    const pkt = newPacket();
    const streams = Array.from({ length: 40 }, (_, i) => stream(i));
    for (const s of streams) f.data(s, partial, 0, partial.length, pkt);
    expect(f.buffered).toBeLessThanOrEqual(64 * 1024);
    expect(anomalies.count('sip_tcp_buffer_budget')).toBeGreaterThan(0);
    for (const s of streams) f.end(s, 'fin');
    expect(f.buffered).toBe(0);
    expect(f.active).toBe(0);
  });

  it('returns a large buffer once its message is complete', () => {
    const anomalies = new Anomalies();
    const seen: number[] = [];
    const f = new SipStreamFramer((_s, _b, _o, len) => seen.push(len), { anomalies });
    const s = stream(1);
    const body = 'b'.repeat(20000);
    const msg = new TextEncoder().encode(`INVITE sip:a@203.0.113.10 SIP/2.0\r\nCall-ID: y\r\nCSeq: 1 INVITE\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    f.data(s, msg, 0, 10000, newPacket());
    expect(f.buffered).toBeGreaterThan(0);
    f.data(s, msg, 10000, msg.length - 10000, newPacket());
    expect(seen).toEqual([msg.length]);
    expect(f.buffered).toBe(0);
  });
});
