/**
 * Frame builders for the fixture generator and table-driven decoder tests. Deterministic:
 * no clocks, no randomness; checksums computed.
 */
import { concatBytes } from '../../src/capture/writer.js';

export const ETH_IPV4 = 0x0800;
export const ETH_IPV6 = 0x86dd;
export const ETH_VLAN = 0x8100;
export const ETH_QINQ = 0x88a8;

export function ip4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

export function ip6(text: string): Uint8Array {
  const [l, r] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = l ? l.split(':') : [];
  const right = r ? r.split(':') : [];
  const fill = r === undefined ? [] : new Array(8 - left.length - right.length).fill('0');
  const g = [...left, ...fill, ...right];
  const out = new Uint8Array(16);
  g.forEach((x, i) => {
    const v = parseInt(x, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

export function u16(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}

export function u32(v: number): Uint8Array {
  return Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/** Internet checksum over the concatenation of the parts. */
export function checksum(...parts: Uint8Array[]): number {
  let sum = 0;
  let odd = -1;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      if (odd < 0) odd = p[i]!;
      else {
        sum += (odd << 8) | p[i]!;
        odd = -1;
      }
    }
  }
  if (odd >= 0) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ethernet(payload: Uint8Array, etherType: number, vlans: number[] = [], qinq = false): Uint8Array {
  const dst = Uint8Array.of(0x02, 0, 0, 0, 0, 0x02);
  const src = Uint8Array.of(0x02, 0, 0, 0, 0, 0x01);
  const tags = vlans.map((id, i) => concat(u16(qinq && i === 0 && vlans.length > 1 ? ETH_QINQ : ETH_VLAN), u16(id & 0xfff)));
  return concat(dst, src, ...tags, u16(etherType), payload);
}

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto: number;
  id?: number;
  ttl?: number;
  /** Fragment offset in bytes (multiple of 8) and more-fragments flag. */
  fragOffset?: number;
  moreFragments?: boolean;
  dontFragment?: boolean;
  /** Raw option bytes (padded to 4 by the builder). */
  options?: Uint8Array;
  /** Override total length (for corrupt cases). */
  totalLength?: number;
}

export function ipv4(o: Ipv4Opts, payload: Uint8Array): Uint8Array {
  let opts = o.options ?? new Uint8Array(0);
  if (opts.length % 4) opts = concat(opts, new Uint8Array(4 - (opts.length % 4)));
  const ihl = 5 + opts.length / 4;
  const h = new Uint8Array(ihl * 4);
  h[0] = 0x40 | ihl;
  const total = o.totalLength ?? h.length + payload.length;
  h.set(u16(total), 2);
  h.set(u16(o.id ?? 1), 4);
  const frag = ((o.fragOffset ?? 0) >> 3) | (o.moreFragments ? 0x2000 : 0) | (o.dontFragment ? 0x4000 : 0);
  h.set(u16(frag), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  h.set(ip4(o.src), 12);
  h.set(ip4(o.dst), 16);
  h.set(opts, 20);
  h.set(u16(checksum(h)), 10);
  return concat(h, payload);
}

export interface Ipv6Opts {
  src: string;
  dst: string;
  /** Next header of the first header after the fixed one. */
  next: number;
  hopLimit?: number;
}

export function ipv6(o: Ipv6Opts, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(40);
  h[0] = 0x60;
  h.set(u16(payload.length), 4);
  h[6] = o.next;
  h[7] = o.hopLimit ?? 64;
  h.set(ip6(o.src), 8);
  h.set(ip6(o.dst), 24);
  return concat(h, payload);
}

function pseudoHeader(src: Uint8Array, dst: Uint8Array, proto: number, len: number): Uint8Array {
  if (src.length === 4) return concat(src, dst, Uint8Array.of(0, proto), u16(len));
  return concat(src, dst, u32(len), Uint8Array.of(0, 0, 0, proto));
}

export function udp(src: Uint8Array, dst: Uint8Array, sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const h = concat(u16(sport), u16(dport), u16(8 + payload.length), u16(0));
  const c = checksum(pseudoHeader(src, dst, 17, 8 + payload.length), h, payload) || 0xffff;
  h.set(u16(c), 6);
  return concat(h, payload);
}

export function tcp(
  src: Uint8Array,
  dst: Uint8Array,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  payload: Uint8Array,
): Uint8Array {
  const h = concat(u16(sport), u16(dport), u32(seq >>> 0), u32(ack >>> 0), Uint8Array.of(5 << 4, flags), u16(65535), u16(0), u16(0));
  h.set(u16(checksum(pseudoHeader(src, dst, 6, h.length + payload.length), h, payload)), 16);
  return concat(h, payload);
}

/** An Ethernet/IPv4/UDP frame carrying `payload`. */
export function udp4Frame(src: string, sport: number, dst: string, dport: number, payload: Uint8Array | string, id = 1): Uint8Array {
  const p = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  return ethernet(ipv4({ src, dst, proto: 17, id }, udp(ip4(src), ip4(dst), sport, dport, p)), ETH_IPV4);
}

/** An Ethernet/IPv6/UDP frame carrying `payload`. */
export function udp6Frame(src: string, sport: number, dst: string, dport: number, payload: Uint8Array | string): Uint8Array {
  const p = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  return ethernet(ipv6({ src, dst, next: 17 }, udp(ip6(src), ip6(dst), sport, dport, p)), ETH_IPV6);
}

/** A small valid SIP INVITE, deterministic from its arguments. */
export function sipInvite(callId: string, cseq: number, branch: string, from: string, to: string, via: string): string {
  return (
    `INVITE sip:${to} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP ${via};branch=z9hG4bK${branch};rport\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: <sip:${from}>;tag=f${branch}\r\n` +
    `To: <sip:${to}>\r\n` +
    `Call-ID: ${callId}\r\n` +
    `CSeq: ${cseq} INVITE\r\n` +
    `Contact: <sip:${from}>\r\n` +
    `Content-Length: 0\r\n\r\n`
  );
}

// ---- Link layers and protocols beyond Ethernet/UDP (decoder tests and fixtures) ----

const SLL_ADDR = Uint8Array.of(0x02, 0, 0, 0, 0, 0x01, 0, 0);

/** Linux cooked v1 (LINKTYPE_LINUX_SLL, 16-byte header). */
export function sll(payload: Uint8Array, protocol: number, packetType = 0): Uint8Array {
  return concat(u16(packetType), u16(1), u16(6), SLL_ADDR, u16(protocol), payload);
}

/** Linux cooked v2 (LINKTYPE_LINUX_SLL2, 20-byte header). */
export function sll2(payload: Uint8Array, protocol: number, ifIndex = 2, packetType = 0): Uint8Array {
  return concat(u16(protocol), u16(0), u32(ifIndex), u16(1), Uint8Array.of(packetType, 6), SLL_ADDR, payload);
}

/** BSD loopback header: a 4-byte address family in the given byte order. */
export function nullLoopback(payload: Uint8Array, family: number, byteOrder: 'le' | 'be'): Uint8Array {
  const h = byteOrder === 'be' ? u32(family) : Uint8Array.of(family & 0xff, (family >> 8) & 0xff, 0, 0);
  return concat(h, payload);
}

/** An IPv6 hop-by-hop (0), routing (43) or destination-options (60) header, padded to 8 bytes. */
export function ipv6Ext(next: number, body: Uint8Array = new Uint8Array(6)): Uint8Array {
  let b = body;
  if ((b.length + 2) % 8) b = concat(b, new Uint8Array(8 - ((b.length + 2) % 8)));
  return concat(Uint8Array.of(next, (b.length + 2) / 8 - 1), b);
}

/** IPv6 fragment header. */
export function ipv6FragHeader(next: number, fragOffset: number, more: boolean, id: number): Uint8Array {
  return concat(Uint8Array.of(next, 0), u16((fragOffset & 0xfff8) | (more ? 1 : 0)), u32(id));
}

/** Split `payload` (the transport bytes) into IPv4 fragments of `chunk` bytes (a multiple of 8). */
export function fragmentIPv4(o: Ipv4Opts, payload: Uint8Array, chunk: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const part = payload.subarray(off, Math.min(payload.length, off + chunk));
    out.push(ipv4({ ...o, fragOffset: off, moreFragments: off + chunk < payload.length }, part));
  }
  return out;
}

/** Split `payload` (first header `next`) into IPv6 fragments of `chunk` bytes (a multiple of 8). */
export function fragmentIPv6(o: Omit<Ipv6Opts, 'next'>, next: number, payload: Uint8Array, chunk: number, id: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const part = payload.subarray(off, Math.min(payload.length, off + chunk));
    out.push(ipv6({ ...o, next: 44 }, concat(ipv6FragHeader(next, off, off + chunk < payload.length, id), part)));
  }
  return out;
}

/** ICMPv4 message (type, code, 4 unused bytes, body) with its checksum. */
export function icmp4(type: number, code: number, body: Uint8Array): Uint8Array {
  const m = concat(Uint8Array.of(type, code, 0, 0), u32(0), body);
  m.set(u16(checksum(m)), 2);
  return m;
}

/** ICMPv6 message with its checksum over the pseudo-header. */
export function icmp6(src: Uint8Array, dst: Uint8Array, type: number, code: number, body: Uint8Array): Uint8Array {
  const m = concat(Uint8Array.of(type, code, 0, 0), u32(0), body);
  m.set(u16(checksum(pseudoHeader(src, dst, 58, m.length), m)), 2);
  return m;
}

/** Minimal GRE header (RFC 2784, no options) carrying `protocol` (an EtherType). */
export function gre(protocol: number, payload: Uint8Array): Uint8Array {
  return concat(u16(0), u16(protocol), payload);
}

/** SCTP common header and one DATA chunk (checksum left 0: decoders must not care). */
export function sctp(sport: number, dport: number, data: Uint8Array): Uint8Array {
  const chunkLen = 16 + data.length;
  const pad = new Uint8Array((4 - (chunkLen % 4)) % 4);
  return concat(u16(sport), u16(dport), u32(1), u32(0), Uint8Array.of(0, 3), u16(chunkLen), u32(1), u16(0), u16(0), u32(0), data, pad);
}
