/**
 * ICMP (RFC 792) and ICMPv6 (RFC 4443). Destination-unreachable messages quote the datagram
 * that failed: its addresses, protocol and ports name the flow a backend refused, which later
 * stages use as evidence ("port unreachable" from a terminated backend).
 */
import { A } from './anomaly-names.js';
import { copyAddr, type AnomalySink } from './packet.js';
import { DecodeStatus, type Packet } from './types.js';

export const ICMP_DEST_UNREACHABLE = 3;
export const ICMPV6_DEST_UNREACHABLE = 1;

/** An ICMP(v6) error that quotes a datagram (the flow it is about is known). */
export function isIcmpAbout(pkt: Packet): boolean {
  return (pkt.proto === 1 || pkt.proto === 58) && pkt.quotedProto !== 0;
}

export function decodeICMP(buf: Uint8Array, off: number, end: number, pkt: Packet, v6: boolean, a: AnomalySink): DecodeStatus {
  if (end - off < 8) {
    pkt.truncated = true;
    a.flag(A.icmpTruncated);
    return DecodeStatus.Malformed;
  }
  pkt.icmpType = buf[off]!;
  pkt.icmpCode = buf[off + 1]!;
  pkt.payload = buf;
  pkt.payloadOff = off + 8;
  pkt.payloadLen = end - off - 8;
  if (!v6 && pkt.icmpType === ICMP_DEST_UNREACHABLE) quotedIPv4(buf, off + 8, end, pkt, a);
  else if (v6 && pkt.icmpType === ICMPV6_DEST_UNREACHABLE) quotedIPv6(buf, off + 8, end, pkt, a);
  return DecodeStatus.Ok;
}

function hasPorts(proto: number): boolean {
  // UDP, TCP, SCTP and DCCP all start with source and destination port.
  return proto === 17 || proto === 6 || proto === 132 || proto === 33;
}

function quotedIPv4(buf: Uint8Array, off: number, end: number, pkt: Packet, a: AnomalySink): void {
  if (end - off < 20 || buf[off]! >> 4 !== 4) {
    a.flag(A.icmpQuoteTruncated);
    return;
  }
  const hl = (buf[off]! & 0x0f) << 2;
  pkt.quotedIpVersion = 4;
  pkt.quotedProto = buf[off + 9]!;
  copyAddr(pkt.quotedSrc, buf, off + 12, 4);
  copyAddr(pkt.quotedDst, buf, off + 16, 4);
  const fragOff = ((buf[off + 6]! << 8) | buf[off + 7]!) & 0x1fff;
  const l4 = off + hl;
  // RFC 792 guarantees 64 bits of the original payload: enough for both ports.
  if (fragOff === 0 && hl >= 20 && hasPorts(pkt.quotedProto)) {
    if (end - l4 >= 4) {
      pkt.quotedSrcPort = (buf[l4]! << 8) | buf[l4 + 1]!;
      pkt.quotedDstPort = (buf[l4 + 2]! << 8) | buf[l4 + 3]!;
    } else a.flag(A.icmpQuoteTruncated);
  }
}

function quotedIPv6(buf: Uint8Array, off: number, end: number, pkt: Packet, a: AnomalySink): void {
  if (end - off < 40 || buf[off]! >> 4 !== 6) {
    a.flag(A.icmpQuoteTruncated);
    return;
  }
  pkt.quotedIpVersion = 6;
  copyAddr(pkt.quotedSrc, buf, off + 8, 16);
  copyAddr(pkt.quotedDst, buf, off + 24, 16);
  let next = buf[off + 6]!;
  let p = off + 40;
  // A light walk: the quote is cut at 1232 bytes total, so stop quietly at its end.
  for (let n = 0; n < 8; n++) {
    if (next === 0 || next === 43 || next === 60) {
      if (end - p < 8) break;
      const len = (buf[p + 1]! + 1) << 3;
      next = buf[p]!;
      p += len;
    } else if (next === 44) {
      if (end - p < 8) break;
      const fragOff = ((buf[p + 2]! << 8) | buf[p + 3]!) & 0xfff8;
      next = buf[p]!;
      p += 8;
      if (fragOff !== 0) {
        pkt.quotedProto = next;
        return;
      }
    } else break;
  }
  pkt.quotedProto = next;
  if (hasPorts(next)) {
    if (end - p >= 4) {
      pkt.quotedSrcPort = (buf[p]! << 8) | buf[p + 1]!;
      pkt.quotedDstPort = (buf[p + 2]! << 8) | buf[p + 3]!;
    } else a.flag(A.icmpQuoteTruncated);
  }
}
