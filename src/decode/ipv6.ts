/**
 * IPv6 (RFC 8200): the fixed header, then hop-by-hop (0), routing (43), destination options
 * (60), fragment (44) and AH (51, RFC 4302) headers are walked to the upper-layer protocol.
 */
import { A } from './anomaly-names.js';
import { copyAddr, type AnomalySink, type NetScratch } from './packet.js';
import type { Packet } from './types.js';

/** More than this many extension headers is not a real packet. */
const MAX_EXT_HEADERS = 16;

export function decodeIPv6(buf: Uint8Array, off: number, end: number, pkt: Packet, s: NetScratch, a: AnomalySink): boolean {
  if (end - off < 40) {
    pkt.truncated = true;
    a.flag(A.ipv6HeaderTruncated);
    return false;
  }
  if (buf[off]! >> 4 !== 6) {
    a.flag(A.ipBadVersion);
    return false;
  }
  const plen = (buf[off + 4]! << 8) | buf[off + 5]!;
  const next = buf[off + 6]!;
  let l4End: number;
  if (plen === 0 && next !== 59) {
    // Jumbograms (RFC 2675) and offloaded super-packets both say 0: trust the capture.
    a.flag(A.ipv6ZeroPayloadLength);
    l4End = end;
  } else {
    l4End = off + 40 + plen;
    if (l4End > end) {
      pkt.truncated = true;
      a.flag(A.ipTruncated);
      l4End = end;
    }
  }
  pkt.ipVersion = 6;
  pkt.ttl = buf[off + 7]!;
  copyAddr(pkt.src, buf, off + 8, 16);
  copyAddr(pkt.dst, buf, off + 24, 16);
  return walkIPv6Ext(buf, off + 40, l4End, next, pkt, s, a);
}

/**
 * Walk extension headers from `next` at buf[off] to the upper layer; sets pkt.proto and the
 * scratch. A non-atomic fragment header stops the walk: the rest is the fragmentable part,
 * whose first header is pkt.proto (walked again after reassembly). Returns false when a
 * header is cut short or absurd (flagged); pkt.proto then holds the header that failed.
 */
export function walkIPv6Ext(buf: Uint8Array, off: number, end: number, next: number, pkt: Packet, s: NetScratch, a: AnomalySink): boolean {
  s.isFragment = false;
  s.fragOff = 0;
  s.more = false;
  s.fragId = 0;
  for (let n = 0; ; n++) {
    if (n > MAX_EXT_HEADERS) {
      pkt.proto = next;
      a.flag(A.ipv6TooManyExt);
      return false;
    }
    if (next === 0 || next === 43 || next === 60 || next === 51 || next === 44) {
      if (end - off < 8) {
        pkt.proto = next;
        pkt.truncated = true;
        a.flag(A.ipv6ExtTruncated);
        return false;
      }
    }
    switch (next) {
      case 0:
      case 43:
      case 60: {
        const len = (buf[off + 1]! + 1) << 3;
        if (end - off < len) {
          pkt.proto = next;
          pkt.truncated = true;
          a.flag(A.ipv6ExtTruncated);
          return false;
        }
        next = buf[off]!;
        off += len;
        continue;
      }
      case 51: {
        const len = (buf[off + 1]! + 2) << 2;
        if (end - off < len) {
          pkt.proto = next;
          pkt.truncated = true;
          a.flag(A.ipv6ExtTruncated);
          return false;
        }
        a.flag(A.ipAhSkipped);
        next = buf[off]!;
        off += len;
        continue;
      }
      case 44: {
        const fo = (buf[off + 2]! << 8) | buf[off + 3]!;
        const fragOff = fo & 0xfff8;
        const more = (fo & 1) !== 0;
        next = buf[off]!;
        if (fragOff === 0 && !more) {
          // Atomic fragment (RFC 6946): the datagram is whole, keep walking.
          off += 8;
          continue;
        }
        s.isFragment = true;
        s.fragOff = fragOff;
        s.more = more;
        s.fragId = ((buf[off + 4]! << 24) | (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!) >>> 0;
        pkt.proto = next;
        s.l4Off = off + 8;
        s.l4End = end;
        return true;
      }
      default:
        pkt.proto = next;
        s.l4Off = off;
        s.l4End = end;
        return true;
    }
  }
}
