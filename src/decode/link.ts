/**
 * Link layers: find where the IP header starts. Each decoder reads the frame bytes
 * buf[off, end), leaves the network offset in pkt.netOff and returns what follows.
 * Facts used: tcpdump.org LINKTYPE_* definitions, IEEE 802.1Q/802.1ad, RFC 2516 (PPPoE).
 */
import type { Packet } from './types.js';

/** What a link decoder found (a small integer, not an object). */
export const enum Net {
  IPv4 = 4,
  IPv6 = 6,
  /** A valid frame that does not carry IP (ARP, LLDP, 802.3 LLC, ...). */
  Other = 0,
  /** Link type not decoded at all. */
  Unsupported = -1,
  /** The link header itself is cut short. */
  Short = -2,
  /** Raw/NULL framing whose IP version nibble is neither 4 nor 6. */
  BadVersion = -3,
}

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW_BSD12 = 12;
export const LINKTYPE_RAW_BSD14 = 14;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_8021Q = 0x8100;
const ETH_8021AD = 0x88a8;
/** Pre-standard QinQ outer tag some switches still emit. */
const ETH_QINQ_OLD = 0x9100;
const ETH_PPPOE_SESSION = 0x8864;

/** True for the link types decodeLink understands. */
export function linkTypeSupported(t: number): boolean {
  return (
    t === LINKTYPE_ETHERNET ||
    t === LINKTYPE_LINUX_SLL ||
    t === LINKTYPE_LINUX_SLL2 ||
    t === LINKTYPE_RAW ||
    t === LINKTYPE_RAW_BSD12 ||
    t === LINKTYPE_RAW_BSD14 ||
    t === LINKTYPE_IPV4 ||
    t === LINKTYPE_IPV6 ||
    t === LINKTYPE_NULL ||
    t === LINKTYPE_LOOP
  );
}

export function decodeLink(linkType: number, buf: Uint8Array, off: number, end: number, pkt: Packet): Net {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      if (end - off < 14) return Net.Short;
      return etherType(buf, off + 14, end, (buf[off + 12]! << 8) | buf[off + 13]!, pkt);
    case LINKTYPE_LINUX_SLL:
      // type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
      if (end - off < 16) return Net.Short;
      return etherType(buf, off + 16, end, (buf[off + 14]! << 8) | buf[off + 15]!, pkt);
    case LINKTYPE_LINUX_SLL2:
      // protocol(2) reserved(2) ifindex(4) ARPHRD(2) type(1) addr len(1) addr(8)
      if (end - off < 20) return Net.Short;
      return etherType(buf, off + 20, end, (buf[off]! << 8) | buf[off + 1]!, pkt);
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_BSD12:
    case LINKTYPE_RAW_BSD14:
      return rawIP(buf, off, end, pkt);
    case LINKTYPE_IPV4:
      pkt.netOff = off;
      return Net.IPv4;
    case LINKTYPE_IPV6:
      pkt.netOff = off;
      return Net.IPv6;
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      return loopback(buf, off, end, pkt);
    default:
      return Net.Unsupported;
  }
}

/** Follow an EtherType through any number of VLAN tags (and a PPPoE session header). */
function etherType(buf: Uint8Array, off: number, end: number, type: number, pkt: Packet): Net {
  for (;;) {
    if (type === ETH_IPV4) {
      pkt.netOff = off;
      return Net.IPv4;
    }
    if (type === ETH_IPV6) {
      pkt.netOff = off;
      return Net.IPv6;
    }
    if (type === ETH_8021Q || type === ETH_8021AD || type === ETH_QINQ_OLD) {
      if (end - off < 4) return Net.Short;
      // The outermost tag is the one a switch port or trunk is configured with.
      if (pkt.vlanTags === 0) pkt.vlan = ((buf[off]! & 0x0f) << 8) | buf[off + 1]!;
      pkt.vlanTags++;
      type = (buf[off + 2]! << 8) | buf[off + 3]!;
      off += 4;
      continue;
    }
    if (type === ETH_PPPOE_SESSION) {
      // ver/type(1) code(1) session(2) length(2), then the PPP protocol (2).
      if (end - off < 8) return Net.Short;
      const ppp = (buf[off + 6]! << 8) | buf[off + 7]!;
      off += 8;
      if (ppp === 0x0021) type = ETH_IPV4;
      else if (ppp === 0x0057) type = ETH_IPV6;
      else return Net.Other;
      continue;
    }
    return Net.Other;
  }
}

function rawIP(buf: Uint8Array, off: number, end: number, pkt: Packet): Net {
  if (end - off < 1) return Net.Short;
  const v = buf[off]! >> 4;
  pkt.netOff = off;
  return v === 4 ? Net.IPv4 : v === 6 ? Net.IPv6 : Net.BadVersion;
}

/**
 * BSD loopback: a 4-byte address family, in the capturing host's byte order for NULL (0) and
 * in network order for LOOP (108), though writers get this wrong both ways; the family values
 * are small, so whichever end holds the non-zero byte tells the order. AF_INET6 differs per
 * OS: 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS); AF_INET is 2 everywhere.
 */
function loopback(buf: Uint8Array, off: number, end: number, pkt: Packet): Net {
  if (end - off < 4) return Net.Short;
  const le = buf[off]! | (buf[off + 1]! << 8);
  const be = (buf[off + 2]! << 8) | buf[off + 3]!;
  const fam = le !== 0 ? le : be;
  pkt.netOff = off + 4;
  if (fam === 2) return Net.IPv4;
  if (fam === 24 || fam === 28 || fam === 30) return Net.IPv6;
  return Net.Other;
}
