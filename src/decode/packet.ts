/**
 * The reusable Packet record: one allocation per decoder user, reset field by field for every
 * frame (DESIGN principle 1). Address arrays are never reallocated; only the first 4 (IPv4) or
 * 16 (IPv6) bytes are meaningful, as ipVersion / quotedIpVersion say.
 */
import { newFrame, type Frame } from '../capture/types.js';
import { DecodeStatus, type Packet } from './types.js';

const EMPTY = new Uint8Array(0);

export function newPacket(): Packet {
  return {
    frame: newFrame(),
    status: DecodeStatus.NotIP,
    ipVersion: 0,
    netOff: -1,
    src: new Uint8Array(16),
    dst: new Uint8Array(16),
    proto: 0,
    ttl: 0,
    vlan: -1,
    vlanTags: 0,
    reassembled: false,
    truncated: false,
    srcPort: 0,
    dstPort: 0,
    payload: EMPTY,
    payloadOff: 0,
    payloadLen: 0,
    tcpSeq: 0,
    tcpAck: 0,
    tcpFlags: 0,
    icmpType: 0,
    icmpCode: 0,
    quotedIpVersion: 0,
    quotedSrc: new Uint8Array(16),
    quotedDst: new Uint8Array(16),
    quotedProto: 0,
    quotedSrcPort: 0,
    quotedDstPort: 0,
  };
}

/** Every scalar field back to "nothing decoded"; the payload points at the frame's buffer. */
export function resetPacket(pkt: Packet, frame: Frame): void {
  pkt.frame = frame;
  pkt.status = DecodeStatus.NotIP;
  pkt.ipVersion = 0;
  pkt.netOff = -1;
  pkt.proto = 0;
  pkt.ttl = 0;
  pkt.vlan = -1;
  pkt.vlanTags = 0;
  pkt.reassembled = false;
  pkt.truncated = false;
  pkt.srcPort = 0;
  pkt.dstPort = 0;
  pkt.payload = frame.buf;
  pkt.payloadOff = 0;
  pkt.payloadLen = 0;
  pkt.tcpSeq = 0;
  pkt.tcpAck = 0;
  pkt.tcpFlags = 0;
  pkt.icmpType = 0;
  pkt.icmpCode = 0;
  pkt.quotedIpVersion = 0;
  pkt.quotedProto = 0;
  pkt.quotedSrcPort = 0;
  pkt.quotedDstPort = 0;
}

/** Copy n address bytes from buf[off] into dst[0..n) without allocating. */
export function copyAddr(dst: Uint8Array, buf: Uint8Array, off: number, n: number): void {
  for (let i = 0; i < n; i++) dst[i] = buf[off + i]!;
}

/**
 * What the network layer tells the layers after it, in one record the decoder owns and
 * reuses: the transport's byte range and, for a fragment, where it belongs.
 */
export class NetScratch {
  l4Off = 0;
  l4End = 0;
  isFragment = false;
  fragOff = 0;
  more = false;
  fragId = 0;
}

/** Where a module reports an anomaly; the decoder adds the first location. */
export interface AnomalySink {
  flag(name: string): void;
}
