/**
 * Frame builders for the fixture generator and table-driven decoder tests. Deterministic:
 * no clocks, no randomness; checksums computed.
 */

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
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
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
