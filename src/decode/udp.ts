/** UDP (RFC 768). The checksum is not verified: captures of offloading hosts carry garbage there. */
import { A } from './anomaly-names.js';
import type { AnomalySink } from './packet.js';
import { DecodeStatus, type Packet } from './types.js';

export function decodeUDP(buf: Uint8Array, off: number, end: number, pkt: Packet, a: AnomalySink): DecodeStatus {
  if (end - off < 8) {
    pkt.truncated = true;
    a.flag(A.udpTruncated);
    return DecodeStatus.Malformed;
  }
  pkt.srcPort = (buf[off]! << 8) | buf[off + 1]!;
  pkt.dstPort = (buf[off + 2]! << 8) | buf[off + 3]!;
  const len = (buf[off + 4]! << 8) | buf[off + 5]!;
  let pend = end;
  if (len < 8) {
    // 0 is legal only in IPv6 jumbograms; otherwise the IP length is the better witness.
    if (len !== 0) a.flag(A.udpBadLength);
  } else if (off + len <= end) {
    pend = off + len;
  } else if (!pkt.truncated) {
    // The UDP length claims more than the IP datagram holds: not a capture cut but a lie.
    a.flag(A.udpBadLength);
    pkt.truncated = true;
  }
  pkt.payload = buf;
  pkt.payloadOff = off + 8;
  pkt.payloadLen = pend - off - 8;
  return DecodeStatus.Ok;
}
