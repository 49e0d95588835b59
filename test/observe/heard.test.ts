/**
 * The heard-from table (observe/heard.ts) against a plain Map model, and the endpoint keys it
 * is found by: the key the dissector takes from a packet's bytes must be the one the text gives.
 */
import { describe, expect, it } from 'vitest';
import { ipv4EndpointKey, ipv4EndpointKeyOf } from '../../src/core/address.js';
import { Anomalies } from '../../src/core/anomalies.js';
import { HeardTable } from '../../src/observe/heard.js';
import { SipDissector } from '../../src/sip/dissector.js';
import { newPacket } from '../../src/decode/packet.js';
import { DecodeStatus } from '../../src/decode/types.js';
import { request } from '../sip/helpers.js';

interface Row {
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
  precision: number;
  count: number;
}

function rowOf(t: HeardTable, address: string): Row | undefined {
  const i = t.find(address);
  if (i < 0) return undefined;
  return { firstSec: t.firstSec[i]!, firstNsec: t.firstNsec[i]!, lastSec: t.lastSec[i]!, lastNsec: t.lastNsec[i]!, precision: t.precision[i]!, count: t.count[i]! };
}

describe('HeardTable', () => {
  it('holds what a Map of rows holds, for IPv4 endpoints, IPv6 and other text, as it grows', () => {
    let s = 99;
    const rnd = (n: number): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const addresses: string[] = [];
    for (let i = 0; i < 6000; i++) addresses.push(`198.51.100.${i % 256}:${5060 + Math.floor(i / 256)}`);
    for (let i = 0; i < 300; i++) addresses.push(`[2001:db8::${i.toString(16)}]:5060`);
    addresses.push('0.0.0.0:0', '255.255.255.255:65535');
    const t = new HeardTable(1_000_000);
    const model = new Map<string, Row>();
    let prev = addresses[0]!;
    for (let n = 0; n < 40_000; n++) {
      // Often the address just heard from again (a message and its forwarded copy), through growth.
      const a = (prev = rnd(3) === 0 ? prev : addresses[rnd(addresses.length)]!);
      const sec = 1_700_000_000 + rnd(50);
      const nsec = rnd(1_000_000_000);
      const p = 3 + rnd(7);
      expect(t.heard(a, ipv4EndpointKeyOf(a), sec, nsec, p)).toBe(true);
      const r = model.get(a);
      if (r === undefined) model.set(a, { firstSec: sec, firstNsec: nsec, lastSec: sec, lastNsec: nsec, precision: p, count: 1 });
      else {
        r.count++;
        if (sec > r.lastSec || (sec === r.lastSec && nsec > r.lastNsec)) [r.lastSec, r.lastNsec] = [sec, nsec];
        else if (sec < r.firstSec || (sec === r.firstSec && nsec < r.firstNsec)) [r.firstSec, r.firstNsec] = [sec, nsec];
        if (p > r.precision) r.precision = p;
      }
    }
    expect(t.size).toBe(model.size);
    expect(model.size).toBeGreaterThan(5000);
    for (const [a, r] of model) expect(rowOf(t, a), a).toEqual(r);
    for (const a of ['198.51.100.1:1', '[2001:db8::1]:5061', 'nothing']) expect(t.find(a)).toBe(-1);
  });

  it('stops at its bound: a new address is refused, a known one still counts', () => {
    const t = new HeardTable(3);
    for (const a of ['192.0.2.1:5060', '[2001:db8::1]:5060', '192.0.2.2:5060']) expect(t.heard(a, ipv4EndpointKeyOf(a), 1, 0, 6)).toBe(true);
    expect(t.heard('192.0.2.3:5060', ipv4EndpointKeyOf('192.0.2.3:5060'), 2, 0, 6)).toBe(false);
    expect(t.heard('[2001:db8::2]:5060', -1, 2, 0, 6)).toBe(false);
    expect(t.heard('192.0.2.1:5060', ipv4EndpointKeyOf('192.0.2.1:5060'), 3, 0, 6)).toBe(true);
    expect(t.size).toBe(3);
    expect(rowOf(t, '192.0.2.1:5060')?.count).toBe(2);
    expect(t.find('192.0.2.3:5060')).toBe(-1);
    expect(t.dropped).toBe(2);
  });

  it('crosses threads whole: the table made from fields() answers as the original and goes on from there', () => {
    const t = new HeardTable(4);
    const hear = (x: HeardTable, a: string, sec: number): boolean => x.heard(a, ipv4EndpointKeyOf(a), sec, 0, 6);
    for (let i = 0; i < 2000; i++) hear(t, `198.51.100.7:${5060 + (i % 2)}`, 1 + i);
    hear(t, '[2001:db8::1]:5060', 5);
    hear(t, 'tcp-text:5060', 6);
    hear(t, '[2001:db8::2]:5060', 7);
    const { texts, ...columns } = t.fields();
    // As structured clone hands them over: copies.
    const moved = HeardTable.fromFields({ ...structuredClone(columns), texts: [...texts] }, 4);
    for (const a of ['198.51.100.7:5060', '198.51.100.7:5061', '[2001:db8::1]:5060', 'tcp-text:5060']) expect(rowOf(moved, a), a).toEqual(rowOf(t, a));
    expect(moved.find('[2001:db8::2]:5060')).toBe(-1);
    expect([moved.size, moved.dropped]).toEqual([4, 1]);
    expect(hear(moved, 'tcp-text:5060', 9)).toBe(true);
    expect(rowOf(moved, 'tcp-text:5060')).toMatchObject({ count: 2, lastSec: 9 });
    expect(hear(moved, '192.0.2.9:1', 9)).toBe(false);
    expect(moved.dropped).toBe(2);
  });
});

describe('IPv4 endpoint keys', () => {
  it('the text formatEndpoint writes, and only that, names a key', () => {
    expect(ipv4EndpointKeyOf('192.0.2.1:5060')).toBe(ipv4EndpointKey((192 << 24) | (0 << 16) | (2 << 8) | 1, 5060));
    expect(ipv4EndpointKeyOf('255.255.255.255:65535')).toBe(2 ** 48 - 1);
    expect(ipv4EndpointKeyOf('0.0.0.0:0')).toBe(0);
    for (const bad of ['192.0.2.1', '192.0.2.01:5060', ' 192.0.2.1:5060', '192.0.2.1:05060', '192.0.2.1:65536', '192.0.2.256:1', '[2001:db8::1]:5060', '192.0.2.1:', 'host:5060']) {
      expect(ipv4EndpointKeyOf(bad), bad).toBe(-1);
    }
  });

  it("the dissector's key for a message is the key of its source text (UDP over IPv4 and IPv6)", () => {
    const seen: { src: string; key: number }[] = [];
    const d = new SipDissector({ anomalies: new Anomalies(), onMessage: (_m, ctx) => void seen.push({ src: ctx.src, key: ctx.srcKey }) });
    const bytes = request({ callId: 'k1' });
    for (const [v, src] of [
      [4, [203, 0, 113, 250]],
      [4, [10, 1, 2, 3]],
      [6, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]],
    ] as const) {
      const pkt = newPacket();
      pkt.status = DecodeStatus.Ok;
      pkt.proto = 17;
      pkt.ipVersion = v;
      pkt.src.set(src);
      pkt.dst.set(v === 4 ? [198, 51, 100, 1] : src);
      pkt.srcPort = 40000 + src.length;
      pkt.dstPort = 5060;
      pkt.payload = bytes;
      pkt.payloadOff = 0;
      pkt.payloadLen = bytes.length;
      expect(d.udp(pkt)).toBe(true);
    }
    expect(seen.map((x) => x.src)).toEqual(['203.0.113.250:40004', '10.1.2.3:40004', '[2001:db8::7]:40016']);
    for (const x of seen) expect(x.key, x.src).toBe(ipv4EndpointKeyOf(x.src));
    expect(seen[0]!.key).toBeGreaterThan(2 ** 31);
  });
});
