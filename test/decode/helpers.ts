/** Shared by the decode tests: Frames from bytes, Packet comparisons, a logging StreamSink. */
import { newFrame, type Frame } from '../../src/capture/types.js';
import { formatIP } from '../../src/core/address.js';
import type { Packet, StreamSink, TcpStream } from '../../src/decode/types.js';
import { fnv1a, type Expect } from '../gen/traffic.js';

export function frameOf(data: Uint8Array, linkType: number, sec = 1_700_000_000, nsec = 0, origLen = data.length): Frame {
  const f = newFrame();
  f.buf = data;
  f.off = 0;
  f.capLen = data.length;
  f.origLen = origLen;
  f.linkType = linkType;
  f.sec = sec;
  f.nsec = nsec;
  return f;
}

const ipText = (b: Uint8Array, v: number): string => formatIP(b, 0, v === 6 ? 16 : 4);

/** The subset of the packet that `e` names, in the same shape, for toEqual. */
export function observed(pkt: Packet, e: Expect): Expect {
  const o: Expect = { status: pkt.status };
  if (e.v !== undefined) o.v = pkt.ipVersion;
  if (e.src !== undefined) o.src = ipText(pkt.src, pkt.ipVersion);
  if (e.dst !== undefined) o.dst = ipText(pkt.dst, pkt.ipVersion);
  if (e.proto !== undefined) o.proto = pkt.proto;
  if (e.sport !== undefined) o.sport = pkt.srcPort;
  if (e.dport !== undefined) o.dport = pkt.dstPort;
  if (e.payloadLen !== undefined) o.payloadLen = pkt.payloadLen;
  if (e.payloadStart !== undefined) {
    o.payloadStart = new TextDecoder().decode(pkt.payload.subarray(pkt.payloadOff, pkt.payloadOff + e.payloadStart.length));
  }
  if (e.payloadHash !== undefined) o.payloadHash = fnv1a(pkt.payload, pkt.payloadOff, pkt.payloadLen);
  if (e.vlan !== undefined) o.vlan = pkt.vlan;
  if (e.vlanTags !== undefined) o.vlanTags = pkt.vlanTags;
  if (e.reassembled !== undefined) o.reassembled = pkt.reassembled;
  if (e.truncated !== undefined) o.truncated = pkt.truncated;
  if (e.icmpType !== undefined) o.icmpType = pkt.icmpType;
  if (e.icmpCode !== undefined) o.icmpCode = pkt.icmpCode;
  if (e.quoted !== undefined) {
    o.quoted = {
      v: pkt.quotedIpVersion,
      src: ipText(pkt.quotedSrc, pkt.quotedIpVersion),
      dst: ipText(pkt.quotedDst, pkt.quotedIpVersion),
      proto: pkt.quotedProto,
      sport: pkt.quotedSrcPort,
      dport: pkt.quotedDstPort,
    };
  }
  return o;
}

const ep = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** Logs what a TcpReassembler delivers, per direction, as text with [gap N] and [end R] marks. */
export class LogSink implements StreamSink {
  readonly logs = new Map<string, string>();
  readonly dataTimes: number[] = [];
  private add(s: TcpStream, t: string): void {
    const k = `${ep(s.src, s.srcPort)}>${ep(s.dst, s.dstPort)}`;
    this.logs.set(k, (this.logs.get(k) ?? '') + t);
  }
  data(s: TcpStream, buf: Uint8Array, off: number, len: number, pkt: Packet): void {
    this.dataTimes.push(pkt.frame.sec);
    this.add(s, new TextDecoder().decode(buf.subarray(off, off + len)));
  }
  gap(s: TcpStream, missing: number): void {
    this.add(s, `[gap ${missing}]`);
  }
  end(s: TcpStream, reason: string): void {
    this.add(s, `[end ${reason}]`);
  }
  record(): Record<string, string> {
    return Object.fromEntries(this.logs);
  }
}
