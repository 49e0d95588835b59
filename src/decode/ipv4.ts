/** IPv4 header (RFC 791): options skipped by IHL, header checksum not verified. */
import { A } from './anomaly-names.js';
import { copyAddr, type AnomalySink, type NetScratch } from './packet.js';
import type { Packet } from './types.js';

/**
 * Decode the IPv4 header at buf[off, end). On success fills the packet's addresses, proto and
 * TTL and the scratch's transport range and fragment fields, and returns true. A header that
 * cannot be read returns false after flagging why.
 */
export function decodeIPv4(buf: Uint8Array, off: number, end: number, pkt: Packet, s: NetScratch, a: AnomalySink): boolean {
  if (end - off < 20) {
    pkt.truncated = true;
    a.flag(A.ipv4HeaderTruncated);
    return false;
  }
  const vihl = buf[off]!;
  if (vihl >> 4 !== 4) {
    a.flag(A.ipBadVersion);
    return false;
  }
  const hl = (vihl & 0x0f) << 2;
  if (hl < 20) {
    a.flag(A.ipv4BadHeaderLength);
    return false;
  }
  if (end - off < hl) {
    pkt.truncated = true;
    a.flag(A.ipv4HeaderTruncated);
    return false;
  }
  const total = (buf[off + 2]! << 8) | buf[off + 3]!;
  let l4End: number;
  if (total === 0) {
    // Segmentation offload on the capturing host hands libpcap super-packets whose length
    // field is still 0; the captured bytes are all there is.
    a.flag(A.ipv4ZeroTotalLength);
    l4End = end;
  } else if (total < hl) {
    a.flag(A.ipv4BadTotalLength);
    return false;
  } else {
    l4End = off + total;
    if (l4End > end) {
      pkt.truncated = true;
      a.flag(A.ipTruncated);
      l4End = end;
    }
  }
  pkt.ipVersion = 4;
  pkt.ttl = buf[off + 8]!;
  pkt.proto = buf[off + 9]!;
  copyAddr(pkt.src, buf, off + 12, 4);
  copyAddr(pkt.dst, buf, off + 16, 4);
  const ff = (buf[off + 6]! << 8) | buf[off + 7]!;
  s.more = (ff & 0x2000) !== 0;
  s.fragOff = (ff & 0x1fff) << 3;
  s.isFragment = s.more || s.fragOff !== 0;
  s.fragId = (buf[off + 4]! << 8) | buf[off + 5]!;
  s.l4Off = off + hl;
  s.l4End = l4End;
  return true;
}
