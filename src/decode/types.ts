import type { Frame } from '../capture/types.js';

/** Outcome of decoding one frame down to transport level. */
export const enum DecodeStatus {
  /** Transport header decoded; ports and payload are valid. */
  Ok = 0,
  /** A fragment was buffered; nothing to deliver yet. */
  FragmentHeld = 1,
  /** Decoded as far as possible, but the transport is not UDP/TCP/ICMP(v6) or is unsupported. */
  OtherTransport = 2,
  /** Not IP at all (ARP, LLDP, ...). */
  NotIP = 3,
  /** Link type we do not decode. */
  UnsupportedLink = 4,
  /** A header was impossible (bad version, length below minimum): counted as an anomaly. */
  Malformed = 5,
}

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;

/**
 * The decoded packet record. One instance is reused for every frame (DESIGN principle 1): the
 * decoder resets every field it owns before filling it. Addresses are raw bytes in reused
 * arrays; format them with core/address only when something is reported.
 */
export interface Packet {
  frame: Frame;
  status: DecodeStatus;
  /** 4 or 6, 0 when not IP. */
  ipVersion: number;
  /** Offset in frame.buf of the (outer) IP header, -1 when there is none. */
  netOff: number;
  /** Source and destination address bytes: 4 used for IPv4, 16 for IPv6. */
  src: Uint8Array;
  dst: Uint8Array;
  /** IP protocol of the transport (after IPv6 extension headers). */
  proto: number;
  ttl: number;
  /** Outer 802.1Q/802.1ad VLAN id (-1 when untagged) and the number of tags seen. */
  vlan: number;
  vlanTags: number;
  /** True when this packet is the product of IP fragment reassembly. */
  reassembled: boolean;
  /** True when the capture cut the packet short (snaplen) or a length field overran it. */
  truncated: boolean;
  srcPort: number;
  dstPort: number;
  /** Transport payload: payload[payloadOff, payloadOff + payloadLen). */
  payload: Uint8Array;
  payloadOff: number;
  payloadLen: number;
  /** TCP fields (valid when proto is TCP). */
  tcpSeq: number;
  tcpAck: number;
  tcpFlags: number;
  /** ICMP/ICMPv6 type and code (valid when proto is ICMP/ICMPv6). */
  icmpType: number;
  icmpCode: number;
  /**
   * For ICMP(v6) destination-unreachable: the quoted datagram's header, so the flow it
   * refers to is known. quotedProto is 0 when nothing usable was quoted.
   */
  quotedIpVersion: number;
  quotedSrc: Uint8Array;
  quotedDst: Uint8Array;
  quotedProto: number;
  quotedSrcPort: number;
  quotedDstPort: number;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/**
 * One direction of a TCP connection as the reassembler delivers it. `user` belongs to the
 * consumer (the SIP layer keeps its framer there), so no second lookup table is needed.
 */
export interface TcpStream {
  /** Stable per run, increasing. */
  id: number;
  ipVersion: number;
  /** Address strings (core/address formatting) and ports of this direction. */
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  user: unknown;
}

/** Consumer of reassembled TCP bytes (the SIP framer). */
export interface StreamSink {
  /**
   * In-order bytes of one direction: buf[off, off + len). `pkt` is the segment that completed
   * them (its frame time is the delivery time). The bytes are valid only during the call.
   */
  data(stream: TcpStream, buf: Uint8Array, off: number, len: number, pkt: Packet): void;
  /** `missing` bytes will never arrive before the next data (capture loss, mid-stream start, overflow). */
  gap(stream: TcpStream, missing: number): void;
  /** The direction is finished (FIN, RST, idle timeout, or evicted under the table bound). */
  end(stream: TcpStream, reason: 'fin' | 'rst' | 'timeout' | 'evicted' | 'eof'): void;
}
