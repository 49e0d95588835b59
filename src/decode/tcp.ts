/** TCP header (RFC 9293): ports, sequence numbers, flags and the payload range. */
import { A } from './anomaly-names.js';
import type { AnomalySink } from './packet.js';
import { DecodeStatus, type Packet } from './types.js';

export function decodeTCP(buf: Uint8Array, off: number, end: number, pkt: Packet, a: AnomalySink): DecodeStatus {
  if (end - off < 20) {
    pkt.truncated = true;
    a.flag(A.tcpTruncated);
    return DecodeStatus.Malformed;
  }
  const hl = (buf[off + 12]! >> 4) << 2;
  if (hl < 20) {
    a.flag(A.tcpBadHeaderLength);
    return DecodeStatus.Malformed;
  }
  if (end - off < hl) {
    pkt.truncated = true;
    a.flag(A.tcpTruncated);
    return DecodeStatus.Malformed;
  }
  pkt.srcPort = (buf[off]! << 8) | buf[off + 1]!;
  pkt.dstPort = (buf[off + 2]! << 8) | buf[off + 3]!;
  pkt.tcpSeq = ((buf[off + 4]! << 24) | (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!) >>> 0;
  pkt.tcpAck = ((buf[off + 8]! << 24) | (buf[off + 9]! << 16) | (buf[off + 10]! << 8) | buf[off + 11]!) >>> 0;
  pkt.tcpFlags = buf[off + 13]!;
  pkt.payload = buf;
  pkt.payloadOff = off + hl;
  pkt.payloadLen = end - off - hl;
  return DecodeStatus.Ok;
}
