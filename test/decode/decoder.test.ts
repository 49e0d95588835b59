/** Decoder edge cases not worth a fixture file: malformed headers, odd encapsulations, record reuse. */
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { Decoder, newPacket } from '../../src/decode/decoder.js';
import { DecodeStatus } from '../../src/decode/types.js';
import {
  concat,
  ETH_IPV4,
  ETH_IPV6,
  ethernet,
  fragmentIPv6,
  icmp4,
  ip4,
  ipv4,
  nullLoopback,
  sll,
  tcp,
  u16,
  udp,
  udp4Frame,
} from '../gen/packets.js';
import { frameOf } from './helpers.js';

const C = '192.0.2.10';
const S = '198.51.100.20';
const udpBytes = udp(ip4(C), ip4(S), 5060, 5060, new TextEncoder().encode('hello'));
const v4 = ipv4({ src: C, dst: S, proto: 17 }, udpBytes);

function setByte(b: Uint8Array, i: number, v: number): Uint8Array {
  const c = b.slice();
  c[i] = v;
  return c;
}

interface Case {
  name: string;
  linkType: number;
  data: Uint8Array;
  status: DecodeStatus;
  anomaly?: string;
  check?: Partial<{ vlan: number; vlanTags: number; payloadLen: number; truncated: boolean; proto: number; srcPort: number }>;
}

const cases: Case[] = [
  { name: 'raw IP with version 5', linkType: 101, data: setByte(v4, 0, 0x55), status: DecodeStatus.Malformed, anomaly: 'ip_bad_version' },
  { name: 'IPv4 IHL below 5', linkType: 228, data: setByte(v4, 0, 0x44), status: DecodeStatus.Malformed, anomaly: 'ipv4_bad_header_length' },
  {
    name: 'IPv4 total length 0 (segmentation offload): captured bytes used',
    linkType: 228,
    data: setByte(setByte(v4, 2, 0), 3, 0),
    status: DecodeStatus.Ok,
    anomaly: 'ipv4_zero_total_length',
    check: { payloadLen: 5 },
  },
  { name: 'IPv4 header cut', linkType: 228, data: v4.subarray(0, 19), status: DecodeStatus.Malformed, anomaly: 'ipv4_header_truncated' },
  { name: 'IPv6 header cut', linkType: 229, data: Uint8Array.of(0x60, 0, 0, 0), status: DecodeStatus.Malformed, anomaly: 'ipv6_header_truncated' },
  { name: 'Linux cooked header cut', linkType: 113, data: sll(v4, ETH_IPV4).subarray(0, 10), status: DecodeStatus.Malformed, anomaly: 'link_header_truncated' },
  { name: 'Linux cooked with a VLAN tag inside', linkType: 113, data: sll(concat(u16(42), u16(ETH_IPV4), v4), 0x8100), status: DecodeStatus.Ok, check: { vlan: 42, vlanTags: 1 } },
  {
    name: 'pre-standard 0x9100 outer tag',
    linkType: 1,
    data: ethernet(concat(u16(7), u16(0x8100), u16(8), u16(ETH_IPV4), v4), 0x9100),
    status: DecodeStatus.Ok,
    check: { vlan: 7, vlanTags: 2 },
  },
  { name: 'VLAN tag cut', linkType: 1, data: ethernet(Uint8Array.of(0, 1), 0x8100), status: DecodeStatus.Malformed, anomaly: 'link_header_truncated' },
  {
    name: 'PPPoE session carrying IPv4',
    linkType: 1,
    data: ethernet(concat(Uint8Array.of(0x11, 0, 0, 1), u16(v4.length + 2), u16(0x0021), v4), 0x8864),
    status: DecodeStatus.Ok,
    check: { payloadLen: 5 },
  },
  { name: 'PPPoE session carrying LCP', linkType: 1, data: ethernet(concat(Uint8Array.of(0x11, 0, 0, 1), u16(6), u16(0xc021), new Uint8Array(4)), 0x8864), status: DecodeStatus.NotIP },
  { name: 'NULL loopback with a Linux AF_INET6 (10) is not guessed', linkType: 0, data: nullLoopback(v4, 10, 'le'), status: DecodeStatus.NotIP },
  { name: 'NULL header cut', linkType: 0, data: Uint8Array.of(2, 0), status: DecodeStatus.Malformed, anomaly: 'link_header_truncated' },
  {
    name: 'UDP length below 8',
    linkType: 228,
    data: ipv4({ src: C, dst: S, proto: 17 }, setByte(setByte(udpBytes, 4, 0), 5, 3)),
    status: DecodeStatus.Ok,
    anomaly: 'udp_bad_length',
    check: { payloadLen: 5 },
  },
  {
    name: 'UDP length beyond the IP datagram',
    linkType: 228,
    data: ipv4({ src: C, dst: S, proto: 17 }, setByte(udpBytes, 5, 200)),
    status: DecodeStatus.Ok,
    anomaly: 'udp_bad_length',
    check: { payloadLen: 5, truncated: true },
  },
  { name: 'UDP header cut inside the IP datagram', linkType: 228, data: ipv4({ src: C, dst: S, proto: 17 }, udpBytes.subarray(0, 6)), status: DecodeStatus.Malformed, anomaly: 'udp_header_truncated' },
  {
    name: 'TCP data offset below 5',
    linkType: 228,
    data: ipv4({ src: C, dst: S, proto: 6 }, setByte(tcp(ip4(C), ip4(S), 1, 2, 3, 4, 0x10, new Uint8Array(0)), 12, 0x40)),
    status: DecodeStatus.Malformed,
    anomaly: 'tcp_bad_header_length',
  },
  {
    name: 'TCP options skipped by the data offset',
    linkType: 228,
    data: ipv4({ src: C, dst: S, proto: 6 }, concat(setByte(tcp(ip4(C), ip4(S), 1, 2, 3, 4, 0x10, new Uint8Array(0)), 12, 0x60), Uint8Array.of(1, 1, 1, 0), Uint8Array.of(65))),
    status: DecodeStatus.Ok,
    check: { payloadLen: 1, srcPort: 1 },
  },
  { name: 'ICMP header cut', linkType: 228, data: ipv4({ src: C, dst: S, proto: 1 }, Uint8Array.of(3, 3, 0)), status: DecodeStatus.Malformed, anomaly: 'icmp_header_truncated' },
  { name: 'ICMPv6 protocol number inside IPv4', linkType: 228, data: ipv4({ src: C, dst: S, proto: 58 }, new Uint8Array(8)), status: DecodeStatus.OtherTransport, anomaly: 'unsupported_ip_protocol' },
  {
    name: 'IPv4 AH before UDP is skipped',
    linkType: 228,
    data: ipv4({ src: C, dst: S, proto: 51 }, concat(Uint8Array.of(17, 4, 0, 0), new Uint8Array(20), udpBytes)),
    status: DecodeStatus.Ok,
    anomaly: 'ip_ah_skipped',
    check: { proto: 17, payloadLen: 5 },
  },
  {
    name: 'IPv6 fragment cut by the snap length is not reassembled',
    linkType: 1,
    data: ethernet(fragmentIPv6({ src: '2001:db8::1', dst: '2001:db8::2' }, 17, new Uint8Array(64), 32, 9)[0]!, ETH_IPV6).subarray(0, 70),
    status: DecodeStatus.FragmentHeld,
    anomaly: 'ip_fragment_truncated',
  },
];

describe('Decoder edge cases', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const anomalies = new Anomalies();
    const d = new Decoder({ anomalies });
    const pkt = newPacket();
    expect(d.decode(frameOf(c.data, c.linkType), pkt)).toBe(c.status);
    expect(pkt.status).toBe(c.status);
    if (c.anomaly) expect(anomalies.list().map((a) => a.name)).toContain(c.anomaly);
    for (const [k, v] of Object.entries(c.check ?? {})) expect([k, pkt[k as keyof typeof pkt]]).toEqual([k, v]);
  });

  it('resets every field of the reused packet between frames', () => {
    const d = new Decoder({ anomalies: new Anomalies() });
    const pkt = newPacket();
    const quoted = ipv4({ src: S, dst: C, proto: 1 }, icmp4(3, 3, v4.subarray(0, 28)));
    d.decode(frameOf(ethernet(quoted, ETH_IPV4, [5]), 1), pkt);
    expect([pkt.quotedProto, pkt.quotedSrcPort, pkt.vlan]).toEqual([17, 5060, 5]);
    d.decode(frameOf(Uint8Array.of(1, 2, 3), 1), pkt);
    expect(pkt).toMatchObject({
      status: DecodeStatus.Malformed,
      ipVersion: 0,
      netOff: -1,
      proto: 0,
      vlan: -1,
      vlanTags: 0,
      srcPort: 0,
      dstPort: 0,
      payloadLen: 0,
      icmpType: 0,
      quotedIpVersion: 0,
      quotedProto: 0,
      quotedSrcPort: 0,
      quotedDstPort: 0,
    });
  });

  it('records the first location of an anomaly with the caller-supplied text', () => {
    const anomalies = new Anomalies();
    const d = new Decoder({ anomalies, where: (f) => `x.pcap at byte ${f.recordOffset}` });
    const f = frameOf(setByte(v4, 0, 0x55), 101);
    f.recordOffset = 1234;
    d.decode(f, newPacket());
    f.recordOffset = 999;
    d.decode(f, newPacket());
    expect(anomalies.list()).toEqual([{ name: 'ip_bad_version', count: 2, first: 'x.pcap at byte 1234' }]);
  });

  it('decodes a frame at a non-zero offset of a larger buffer', () => {
    const frame = udp4Frame(C, 5070, S, 5060, 'abc');
    const big = concat(new Uint8Array(100).fill(0xff), frame, new Uint8Array(50).fill(0xff));
    const f = frameOf(big, 1);
    f.off = 100;
    f.capLen = frame.length;
    const pkt = newPacket();
    expect(new Decoder({ anomalies: new Anomalies() }).decode(f, pkt)).toBe(DecodeStatus.Ok);
    expect([pkt.srcPort, pkt.payloadOff, pkt.payloadLen, pkt.netOff]).toEqual([5070, 100 + 42, 3, 114]);
  });
});
