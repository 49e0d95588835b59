/**
 * Deterministic decoder fixtures: one small classic pcap per link type or protocol case, each
 * with the decode result every packet must give. The test suite decodes the same bytes from
 * memory and from the written files, and checks that regenerating gives identical bytes.
 *
 *   npx tsx test/gen/traffic.ts fixtures/decode
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodePcap, type PcapPacket } from '../../src/capture/writer.js';
import {
  concat,
  ETH_IPV4,
  ETH_IPV6,
  ethernet,
  fragmentIPv4,
  fragmentIPv6,
  gre,
  icmp4,
  icmp6,
  ip4,
  ip6,
  ipv4,
  ipv6,
  ipv6Ext,
  ipv6FragHeader,
  nullLoopback,
  sctp,
  sipInvite,
  sll,
  sll2,
  tcp,
  u16,
  udp,
} from './packets.js';

/** DecodeStatus values (src/decode/types.ts), spelled out so this file needs no const enum. */
export const S = { Ok: 0, FragmentHeld: 1, OtherTransport: 2, NotIP: 3, UnsupportedLink: 4, Malformed: 5 } as const;

/** What decoding one packet must give; fields left out are not checked. */
export interface Expect {
  status: number;
  v?: number;
  src?: string;
  dst?: string;
  proto?: number;
  sport?: number;
  dport?: number;
  payloadLen?: number;
  /** Payload text prefix (checked on reassembled and truncated cases). */
  payloadStart?: string;
  /** fnv1a of the whole payload (reassembly cases). */
  payloadHash?: number;
  vlan?: number;
  vlanTags?: number;
  reassembled?: boolean;
  truncated?: boolean;
  icmpType?: number;
  icmpCode?: number;
  quoted?: { v: number; src: string; dst: string; proto: number; sport: number; dport: number };
}

export interface TrafficFixture {
  name: string;
  linkType: number;
  snapLen?: number;
  packets: PcapPacket[];
  expect: Expect[];
  /** Anomaly counts after decoding every packet and calling finish(). */
  anomalies?: Record<string, number>;
  /** For TCP fixtures: the sink's log per stream, "src>dst" -> text with [gap N] and [end R] marks. */
  streams?: Record<string, string>;
}

const T0 = 1_700_000_000;

/** FNV-1a, 32-bit: a cheap fingerprint of payload bytes. */
export function fnv1a(b: Uint8Array, off = 0, len = b.length - off): number {
  let h = 0x811c9dc5;
  for (let i = off; i < off + len; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  return h;
}
const enc = new TextEncoder();
const text = (s: string): Uint8Array => enc.encode(s);

const C4 = '192.0.2.10';
const S4 = '198.51.100.20';
const C6 = '2001:db8::10';
const S6 = '2001:db8:1::20';

function invite(n: number, via = C4): string {
  return sipInvite(`call-${n}@stalepin.test`, n, `b${n}`, `alice@${via}`, `bob@example.test`, `${via}:5060`);
}

function options(n: number): string {
  return `OPTIONS sip:lb.example.test SIP/2.0\r\nVia: SIP/2.0/TCP ${C4}:40000;branch=z9hG4bKo${n}\r\nCall-ID: opt-${n}\r\nCSeq: ${n} OPTIONS\r\nContent-Length: 0\r\n\r\n`;
}

function udp4(src: string, sport: number, dst: string, dport: number, payload: Uint8Array, id = 1, extra: Partial<Parameters<typeof ipv4>[0]> = {}): Uint8Array {
  return ipv4({ src, dst, proto: 17, id, ...extra }, udp(ip4(src), ip4(dst), sport, dport, payload));
}

function udp6(src: string, sport: number, dst: string, dport: number, payload: Uint8Array): Uint8Array {
  return ipv6({ src, dst, next: 17 }, udp(ip6(src), ip6(dst), sport, dport, payload));
}

/** Packets at T0 + i ms unless a time is given. */
class Builder {
  packets: PcapPacket[] = [];
  expect: Expect[] = [];
  private ms = 0;
  add(data: Uint8Array, e: Expect, o: { atSec?: number; origLen?: number } = {}): this {
    const sec = o.atSec ?? T0 + Math.floor(this.ms / 1000);
    const nsec = o.atSec !== undefined ? 0 : (this.ms % 1000) * 1_000_000;
    if (o.atSec !== undefined) this.ms = (o.atSec - T0) * 1000;
    this.ms++;
    this.packets.push(o.origLen === undefined ? { sec, nsec, data } : { sec, nsec, data, origLen: o.origLen });
    this.expect.push(e);
    return this;
  }
}

const ok4 = (sport: number, dport: number, payloadLen: number, extra: Partial<Expect> = {}): Expect => ({
  status: S.Ok,
  v: 4,
  src: C4,
  dst: S4,
  proto: 17,
  sport,
  dport,
  payloadLen,
  ...extra,
});
const ok6 = (sport: number, dport: number, payloadLen: number, extra: Partial<Expect> = {}): Expect => ({
  status: S.Ok,
  v: 6,
  src: C6,
  dst: S6,
  proto: 17,
  sport,
  dport,
  payloadLen,
  ...extra,
});

function linkFixtures(): TrafficFixture[] {
  const m4 = text(invite(1));
  const m6 = text(invite(2, `[${C6}]`));
  const p4 = udp4(C4, 5060, S4, 5060, m4);
  const p6 = udp6(C6, 5060, S6, 5060, m6);
  const out: TrafficFixture[] = [];
  const simple = (name: string, linkType: number, frames: [Uint8Array, Expect][]): void => {
    const b = new Builder();
    for (const [d, e] of frames) b.add(d, e);
    out.push({ name, linkType, packets: b.packets, expect: b.expect });
  };
  const arp = concat(u16(1), u16(0x0800), Uint8Array.of(6, 4), u16(1), new Uint8Array(20));
  simple('link-ethernet', 1, [
    [ethernet(p4, ETH_IPV4), ok4(5060, 5060, m4.length, { vlan: -1, vlanTags: 0 })],
    [ethernet(p6, ETH_IPV6), ok6(5060, 5060, m6.length)],
    [ethernet(arp, 0x0806), { status: S.NotIP }],
    // 802.3 with an LLC header: the type field is a length.
    [ethernet(Uint8Array.of(0x42, 0x42, 0x03, 0, 0, 0), 6), { status: S.NotIP }],
    [ethernet(new Uint8Array(0), ETH_IPV4).subarray(0, 10), { status: S.Malformed, truncated: true }],
  ]);
  simple('link-vlan', 1, [
    [ethernet(p4, ETH_IPV4, [100]), ok4(5060, 5060, m4.length, { vlan: 100, vlanTags: 1 })],
    [ethernet(p4, ETH_IPV4, [200, 100], true), ok4(5060, 5060, m4.length, { vlan: 200, vlanTags: 2 })],
    [ethernet(p6, ETH_IPV6, [300, 200, 100], true), ok6(5060, 5060, m6.length, { vlan: 300, vlanTags: 3 })],
  ]);
  simple('link-sll', 113, [
    [sll(p4, ETH_IPV4), ok4(5060, 5060, m4.length)],
    [sll(p6, ETH_IPV6, 4), ok6(5060, 5060, m6.length)],
    [sll(arp, 0x0806), { status: S.NotIP }],
  ]);
  simple('link-sll2', 276, [
    [sll2(p4, ETH_IPV4), ok4(5060, 5060, m4.length)],
    [sll2(p6, ETH_IPV6), ok6(5060, 5060, m6.length)],
  ]);
  simple('link-null-le', 0, [
    [nullLoopback(p4, 2, 'le'), ok4(5060, 5060, m4.length)],
    [nullLoopback(p6, 30, 'le'), ok6(5060, 5060, m6.length)],
    [nullLoopback(p6, 28, 'le'), ok6(5060, 5060, m6.length)],
  ]);
  simple('link-null-be', 0, [
    [nullLoopback(p4, 2, 'be'), ok4(5060, 5060, m4.length)],
    [nullLoopback(p6, 24, 'be'), ok6(5060, 5060, m6.length)],
    [nullLoopback(arp, 7, 'be'), { status: S.NotIP }],
  ]);
  simple('link-loop', 108, [
    [nullLoopback(p4, 2, 'be'), ok4(5060, 5060, m4.length)],
    [nullLoopback(p6, 24, 'be'), ok6(5060, 5060, m6.length)],
  ]);
  simple('link-raw', 101, [
    [p4, ok4(5060, 5060, m4.length)],
    [p6, ok6(5060, 5060, m6.length)],
  ]);
  simple('link-raw-bsd12', 12, [[p4, ok4(5060, 5060, m4.length)]]);
  simple('link-raw-bsd14', 14, [[p6, ok6(5060, 5060, m6.length)]]);
  simple('link-ipv4', 228, [[p4, ok4(5060, 5060, m4.length)]]);
  simple('link-ipv6', 229, [[p6, ok6(5060, 5060, m6.length)]]);
  const ub = new Builder();
  ub.add(Uint8Array.of(0x08, 0x02, 0, 0, ...new Uint8Array(40)), { status: S.UnsupportedLink });
  ub.add(Uint8Array.of(0x08, 0x01, 0, 0, ...new Uint8Array(40)), { status: S.UnsupportedLink });
  out.push({ name: 'link-unsupported-80211', linkType: 105, packets: ub.packets, expect: ub.expect, anomalies: { unsupported_linktype: 2 } });
  return out;
}

function ipFixtures(): TrafficFixture[] {
  const out: TrafficFixture[] = [];
  const m = text(invite(3));
  // Router alert (RFC 2113) and a record-route option (padded by the builder).
  const b = new Builder();
  b.add(ethernet(udp4(C4, 5060, S4, 5060, m, 7, { options: Uint8Array.of(0x94, 4, 0, 0) }), ETH_IPV4), ok4(5060, 5060, m.length));
  b.add(ethernet(udp4(C4, 5061, S4, 5060, m, 8, { options: Uint8Array.of(7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0) }), ETH_IPV4), ok4(5061, 5060, m.length));
  // Ethernet padding after a short datagram must not become payload.
  b.add(concat(ethernet(udp4(C4, 5062, S4, 5060, text('x')), ETH_IPV4), new Uint8Array(13)), ok4(5062, 5060, 1));
  b.add(ethernet(ipv4({ src: C4, dst: S4, proto: 17, totalLength: 12 }, new Uint8Array(8)), ETH_IPV4), { status: S.Malformed });
  out.push({ name: 'ipv4-options', linkType: 1, packets: b.packets, expect: b.expect, anomalies: { ipv4_bad_total_length: 1 } });

  const m6 = text(invite(4, `[${C6}]`));
  const u = udp(ip6(C6), ip6(S6), 5060, 5060, m6);
  const x = new Builder();
  x.add(ethernet(ipv6({ src: C6, dst: S6, next: 0 }, concat(ipv6Ext(17), u)), ETH_IPV6), ok6(5060, 5060, m6.length));
  // Hop-by-hop, routing, destination options (16 bytes), then UDP: next header chain 0 -> 43 -> 60 -> 17.
  x.add(
    ethernet(ipv6({ src: C6, dst: S6, next: 0 }, concat(ipv6Ext(43), ipv6Ext(60), ipv6Ext(17, new Uint8Array(14)), u)), ETH_IPV6),
    ok6(5060, 5060, m6.length),
  );
  x.add(ethernet(ipv6({ src: C6, dst: S6, next: 44 }, concat(ipv6FragHeader(17, 0, false, 99), u)), ETH_IPV6), ok6(5060, 5060, m6.length));
  // AH (RFC 4302): 12 bytes fixed + 12 bytes ICV, payload length field 4 => (4+2)*4 = 24 bytes.
  const ah = concat(Uint8Array.of(17, 4, 0, 0), new Uint8Array(20));
  x.add(ethernet(ipv6({ src: C6, dst: S6, next: 51 }, concat(ah, u)), ETH_IPV6), ok6(5060, 5060, m6.length));
  x.add(ethernet(ipv6({ src: C6, dst: S6, next: 60 }, ipv6Ext(59)), ETH_IPV6), { status: S.OtherTransport, v: 6, proto: 59 });
  x.add(ethernet(ipv6({ src: C6, dst: S6, next: 50 }, new Uint8Array(32)), ETH_IPV6), { status: S.OtherTransport, v: 6, proto: 50 });
  x.add(ethernet(ipv6({ src: C6, dst: S6, next: 0 }, Uint8Array.of(17, 4, 0, 0)), ETH_IPV6), { status: S.OtherTransport, v: 6, truncated: true });
  out.push({
    name: 'ipv6-ext',
    linkType: 1,
    packets: x.packets,
    expect: x.expect,
    anomalies: { ip_ah_skipped: 1, ipv6_no_next_header: 1, unsupported_esp: 1, ipv6_ext_header_truncated: 1 },
  });
  return out;
}

function fragmentFixtures(): TrafficFixture[] {
  const out: TrafficFixture[] = [];
  // IPv4: a ~1700-byte INVITE over UDP cut in 3 fragments.
  const big = text(invite(5) + 'X'.repeat(1400));
  const t4 = udp(ip4(C4), ip4(S4), 5060, 5060, big);
  const chunk = Math.ceil(t4.length / 3 / 8) * 8;
  const f = (id: number): Uint8Array[] => fragmentIPv4({ src: C4, dst: S4, proto: 17, id }, t4, chunk).map((p) => ethernet(p, ETH_IPV4));
  const held: Expect = { status: S.FragmentHeld, v: 4 };
  const done = ok4(5060, 5060, big.length, { reassembled: true, payloadStart: 'INVITE sip:', payloadHash: fnv1a(big) });
  const b = new Builder();
  const [a0, a1, a2] = f(101);
  b.add(a0!, held).add(a1!, held).add(a2!, done);
  const [r0, r1, r2] = f(102);
  b.add(r2!, held).add(r1!, held).add(r0!, done);
  const [s0, s1, s2] = f(103);
  b.add(s1!, held).add(s2!, held).add(s0!, done);
  // Overlap: after fragments 0 and 2, a copy of fragment 1 that also claims the first 8 bytes of
  // fragment 2 with other bytes; first arrival wins, so the reassembled payload is the original.
  const [o0, , o2] = f(104);
  const liar = ethernet(ipv4({ src: C4, dst: S4, proto: 17, id: 104, fragOffset: chunk, moreFragments: true }, concat(t4.subarray(chunk, 2 * chunk), new Uint8Array(8).fill(0x21))), ETH_IPV4);
  b.add(o0!, held).add(o2!, held).add(liar, done);
  // Exact duplicate of a fragment: counted, harmless.
  const [d0, d1, d2] = f(105);
  b.add(d0!, held).add(d0!, held).add(d1!, held).add(d2!, done);
  // Never completed; times out when a packet 31 s later arrives.
  const [n0] = f(106);
  b.add(n0!, held);
  b.add(ethernet(udp4(C4, 5060, S4, 5060, text('late')), ETH_IPV4), ok4(5060, 5060, 4), { atSec: T0 + 31 });
  // Never completed, still held at the end of input.
  const [e0] = f(107);
  b.add(e0!, held);
  out.push({
    name: 'frag-ipv4',
    linkType: 1,
    packets: b.packets,
    expect: b.expect,
    anomalies: { ip_fragment_overlap: 1, ip_fragment_duplicate: 1, ip_fragment_timeout: 1, ip_fragment_incomplete: 1 },
  });

  // IPv6: fragmentable part starting with a destination-options header, in order and reversed.
  const big6 = text(invite(6, `[${C6}]`) + 'Y'.repeat(1400));
  const t6 = concat(ipv6Ext(17), udp(ip6(C6), ip6(S6), 5060, 5060, big6));
  const chunk6 = Math.ceil(t6.length / 3 / 8) * 8;
  const g = (id: number): Uint8Array[] => fragmentIPv6({ src: C6, dst: S6 }, 60, t6, chunk6, id).map((p) => ethernet(p, ETH_IPV6));
  const held6: Expect = { status: S.FragmentHeld, v: 6 };
  const done6 = ok6(5060, 5060, big6.length, { reassembled: true, payloadStart: 'INVITE sip:', payloadHash: fnv1a(big6) });
  const c = new Builder();
  const [i0, i1, i2] = g(0x01020304);
  c.add(i0!, held6).add(i1!, held6).add(i2!, done6);
  const [j0, j1, j2] = g(0x01020305);
  c.add(j2!, held6).add(j1!, held6).add(j0!, done6);
  out.push({ name: 'frag-ipv6', linkType: 1, packets: c.packets, expect: c.expect, anomalies: {} });
  return out;
}

function tcpFixture(): TrafficFixture {
  const b = new Builder();
  const cIp = ip4(C4);
  const sIp = ip4(S4);
  const SYN = 0x02;
  const ACK = 0x10;
  const PSH = 0x08;
  const FIN = 0x01;
  let cSeq = 1000;
  let sSeq = 5000;
  const cli = (seq: number, flags: number, data: Uint8Array): void => {
    b.add(ethernet(ipv4({ src: C4, dst: S4, proto: 6 }, tcp(cIp, sIp, 40000, 5060, seq, sSeq, flags, data)), ETH_IPV4), {
      status: S.Ok,
      v: 4,
      src: C4,
      dst: S4,
      proto: 6,
      sport: 40000,
      dport: 5060,
      payloadLen: data.length,
    });
  };
  const srv = (seq: number, ack: number, flags: number, data: Uint8Array): void => {
    b.add(ethernet(ipv4({ src: S4, dst: C4, proto: 6 }, tcp(sIp, cIp, 5060, 40000, seq, ack, flags, data)), ETH_IPV4), {
      status: S.Ok,
      v: 4,
      src: S4,
      dst: C4,
      proto: 6,
      sport: 5060,
      dport: 40000,
      payloadLen: data.length,
    });
  };
  const none = new Uint8Array(0);
  cli(cSeq, SYN, none);
  srv(sSeq, cSeq + 1, SYN | ACK, none);
  cSeq++;
  sSeq++;
  cli(cSeq, ACK, none);
  let client = '';
  // One INVITE across 3 segments.
  const m1 = text(invite(7).replace('SIP/2.0/UDP', 'SIP/2.0/TCP'));
  const cut1 = 100;
  const cut2 = 250;
  for (const [s, e] of [
    [0, cut1],
    [cut1, cut2],
    [cut2, m1.length],
  ] as const) {
    cli(cSeq + s, ACK | PSH, m1.subarray(s, e));
  }
  cSeq += m1.length;
  client += new TextDecoder().decode(m1);
  // The server's response, acknowledging the whole INVITE.
  const resp = text('SIP/2.0 100 Trying\r\nCall-ID: call-7@stalepin.test\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n');
  srv(sSeq, cSeq, ACK | PSH, resp);
  sSeq += resp.length;
  // Three messages coalesced in one segment, then that segment retransmitted.
  const m234 = text(options(1) + options(2) + options(3));
  cli(cSeq, ACK | PSH, m234);
  cli(cSeq, ACK | PSH, m234);
  cSeq += m234.length;
  client += new TextDecoder().decode(m234);
  // Partial overlap: the second segment repeats the first one's last 20 bytes.
  const m5 = text(options(4));
  cli(cSeq, ACK | PSH, m5.subarray(0, 40));
  cli(cSeq + 20, ACK | PSH, m5.subarray(20));
  cSeq += m5.length;
  client += new TextDecoder().decode(m5);
  // Out of order: second half first.
  const m6 = text(options(5));
  const h6 = 30;
  cli(cSeq + h6, ACK | PSH, m6.subarray(h6));
  cli(cSeq, ACK | PSH, m6.subarray(0, h6));
  cSeq += m6.length;
  client += new TextDecoder().decode(m6);
  // A gap: the first 50 bytes of m7 never appear in the capture; the server's ACK beyond them proves them lost.
  const m7 = text(options(6));
  cli(cSeq + 50, ACK | PSH, m7.subarray(50));
  cSeq += m7.length;
  srv(sSeq, cSeq, ACK, none);
  client += `[gap 50]` + new TextDecoder().decode(m7.subarray(50));
  const m8 = text(options(7));
  cli(cSeq, ACK | PSH | FIN, m8);
  cSeq += m8.length + 1;
  client += new TextDecoder().decode(m8) + '[end fin]';
  srv(sSeq, cSeq, ACK | FIN, none);
  const server = new TextDecoder().decode(resp) + '[end fin]';
  // A second connection seen from its middle (no SYN), never closed.
  const mid = text(options(8));
  b.add(ethernet(ipv4({ src: C4, dst: S4, proto: 6 }, tcp(cIp, sIp, 40001, 5060, 777777, 1, ACK | PSH, mid)), ETH_IPV4), {
    status: S.Ok,
    sport: 40001,
    payloadLen: mid.length,
  });
  return {
    name: 'tcp-sip',
    linkType: 1,
    packets: b.packets,
    expect: b.expect,
    anomalies: { tcp_retransmission: 2, tcp_out_of_order: 2, tcp_gap: 1, tcp_midstream_start: 1 },
    streams: {
      [`${C4}:40000>${S4}:5060`]: client,
      [`${S4}:5060>${C4}:40000`]: server,
      [`${C4}:40001>${S4}:5060`]: '[gap 0]' + new TextDecoder().decode(mid) + '[end eof]',
    },
  };
}

function icmpFixture(): TrafficFixture {
  const b = new Builder();
  const B4 = '198.51.100.21';
  const B6 = '2001:db8:1::21';
  // The backend refuses a forwarded INVITE: port unreachable quoting IPv4 header + 8 bytes + some payload.
  const orig = udp4(C4, 5060, B4, 5060, text(invite(9)), 4242);
  b.add(ethernet(ipv4({ src: B4, dst: C4, proto: 1 }, icmp4(3, 3, orig.subarray(0, 28 + 32))), ETH_IPV4), {
    status: S.Ok,
    v: 4,
    src: B4,
    dst: C4,
    proto: 1,
    icmpType: 3,
    icmpCode: 3,
    quoted: { v: 4, src: C4, dst: B4, proto: 17, sport: 5060, dport: 5060 },
  });
  const orig6 = udp6(C6, 5062, B6, 5060, text(invite(10, `[${C6}]`)));
  b.add(ethernet(ipv6({ src: B6, dst: C6, next: 58 }, icmp6(ip6(B6), ip6(C6), 1, 4, orig6.subarray(0, 48 + 16))), ETH_IPV6), {
    status: S.Ok,
    v: 6,
    src: B6,
    dst: C6,
    proto: 58,
    icmpType: 1,
    icmpCode: 4,
    quoted: { v: 6, src: C6, dst: B6, proto: 17, sport: 5062, dport: 5060 },
  });
  // Echo request: ICMP decoded, nothing quoted.
  b.add(ethernet(ipv4({ src: C4, dst: S4, proto: 1 }, icmp4(8, 0, text('ping'))), ETH_IPV4), { status: S.Ok, proto: 1, icmpType: 8, payloadLen: 4 });
  // Quote cut before the ports.
  b.add(ethernet(ipv4({ src: B4, dst: C4, proto: 1 }, icmp4(3, 3, orig.subarray(0, 22))), ETH_IPV4), { status: S.Ok, icmpType: 3 });
  return { name: 'icmp-unreachable', linkType: 1, packets: b.packets, expect: b.expect, anomalies: { icmp_quote_truncated: 1 } };
}

function tunnelFixture(): TrafficFixture {
  const b = new Builder();
  const inner = udp4('203.0.113.1', 5060, '203.0.113.2', 5060, text(invite(11)));
  const other = (proto: number): Expect => ({ status: S.OtherTransport, v: 4, src: C4, dst: S4, proto });
  b.add(ethernet(ipv4({ src: C4, dst: S4, proto: 47 }, gre(ETH_IPV4, inner)), ETH_IPV4), other(47));
  b.add(ethernet(ipv4({ src: C4, dst: S4, proto: 4 }, inner), ETH_IPV4), other(4));
  b.add(ethernet(ipv4({ src: C4, dst: S4, proto: 41 }, udp6(C6, 5060, S6, 5060, text('x'))), ETH_IPV4), other(41));
  b.add(ethernet(ipv4({ src: C4, dst: S4, proto: 132 }, sctp(5060, 5060, text(invite(12)))), ETH_IPV4), other(132));
  b.add(ethernet(ipv4({ src: C4, dst: S4, proto: 103 }, new Uint8Array(16)), ETH_IPV4), other(103));
  return {
    name: 'tunnels',
    linkType: 1,
    packets: b.packets,
    expect: b.expect,
    anomalies: { unsupported_gre: 1, unsupported_ip_in_ip: 2, unsupported_sctp: 1, unsupported_ip_protocol: 1 },
  };
}

function truncatedFixture(): TrafficFixture {
  const b = new Builder();
  const m = text(invite(13));
  const full4 = ethernet(udp4(C4, 5060, S4, 5060, m), ETH_IPV4);
  const full6 = ethernet(udp6(C6, 5060, S6, 5060, m), ETH_IPV6);
  const cut = (d: Uint8Array, n: number): [Uint8Array, { origLen: number }] => [d.subarray(0, n), { origLen: d.length }];
  const [a, ao] = cut(full4, 96);
  b.add(a, ok4(5060, 5060, 96 - 42, { truncated: true, payloadStart: 'INVITE sip:' }), ao);
  const [c, co] = cut(full6, 96);
  b.add(c, ok6(5060, 5060, 96 - 62, { truncated: true }), co);
  const [d, dO] = cut(full4, 38);
  b.add(d, { status: S.Malformed, v: 4, truncated: true }, dO);
  const [e, eo] = cut(full4, 24);
  b.add(e, { status: S.Malformed, truncated: true }, eo);
  return {
    name: 'truncated',
    linkType: 1,
    snapLen: 96,
    packets: b.packets,
    expect: b.expect,
    anomalies: { ip_truncated: 3, udp_header_truncated: 1, ipv4_header_truncated: 1 },
  };
}

export function trafficFixtures(): TrafficFixture[] {
  return [...linkFixtures(), ...ipFixtures(), ...fragmentFixtures(), tcpFixture(), icmpFixture(), tunnelFixture(), truncatedFixture()];
}

export function encodeFixture(f: TrafficFixture): Uint8Array {
  return encodePcap({ linkType: f.linkType, snapLen: f.snapLen ?? 65535, resolution: 'ns' }, f.packets);
}

/** Write every fixture as <name>.pcap into outDir; returns the paths written. */
export function writeTrafficFixtures(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const paths: string[] = [];
  for (const f of trafficFixtures()) {
    const p = join(outDir, `${f.name}.pcap`);
    writeFileSync(p, encodeFixture(f));
    paths.push(p);
  }
  return paths;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = process.argv[2] ?? 'fixtures/decode';
  for (const p of writeTrafficFixtures(dir)) console.log(p);
}
