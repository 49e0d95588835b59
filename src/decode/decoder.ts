/**
 * Frame -> Packet: link, network (with fragment reassembly), transport. One Decoder per
 * input run; it owns the fragment table and the reused scratch, the caller owns the Packet.
 * The common path (Ethernet/IPv4/UDP) allocates nothing.
 */
import type { Frame } from '../capture/types.js';
import type { Anomalies, Warning } from '../core/anomalies.js';
import { linkTypeName } from '../core/linktypes.js';
import { A } from './anomaly-names.js';
import { defaultFragmentLimits, Frag, FragmentTable, type FragmentLimits } from './fragments.js';
import { decodeICMP } from './icmp.js';
import { decodeIPv4 } from './ipv4.js';
import { decodeIPv6, walkIPv6Ext } from './ipv6.js';
import { decodeLink, Net } from './link.js';
import { NetScratch, resetPacket, type AnomalySink } from './packet.js';
import { decodeTCP } from './tcp.js';
import { DecodeStatus, type Packet } from './types.js';
import { decodeUDP } from './udp.js';

export { newPacket } from './packet.js';

export interface DecoderOptions {
  anomalies: Anomalies;
  /** Reassembly bounds; defaults in fragments.ts (1024 datagrams, 8 MiB, 30 s). */
  fragments?: Partial<FragmentLimits>;
  /**
   * Where an anomaly was first seen, for the report. Called only for the first occurrence of
   * each name. Default: "input S record at byte N".
   */
  where?: (frame: Frame) => string;
}

/** An interface whose link type is not decoded: listed once, with how many frames it skipped. */
export interface UnsupportedLink {
  ifIndex: number;
  linkType: number;
  frames: number;
}

const defaultWhere = (f: Frame): string => `input ${f.source} record at byte ${f.recordOffset}`;

export class Decoder implements AnomalySink {
  private readonly anomalies: Anomalies;
  private readonly where: (frame: Frame) => string;
  private readonly s = new NetScratch();
  private readonly frags: FragmentTable;
  private readonly unsupported = new Map<number, UnsupportedLink>();
  private frame: Frame | undefined;

  constructor(ctx: DecoderOptions) {
    this.anomalies = ctx.anomalies;
    this.where = ctx.where ?? defaultWhere;
    this.frags = new FragmentTable(this, { ...defaultFragmentLimits, ...ctx.fragments });
  }

  flag(name: string): void {
    if (this.anomalies.count(name) === 0 && this.frame) this.anomalies.add(name, this.where(this.frame));
    else this.anomalies.add(name);
  }

  /** Decode one frame into `pkt` (reset first). Also sets pkt.status. */
  decode(frame: Frame, pkt: Packet): DecodeStatus {
    this.frame = frame;
    resetPacket(pkt, frame);
    const st = this.decodeFrame(frame, pkt);
    pkt.status = st;
    return st;
  }

  private decodeFrame(frame: Frame, pkt: Packet): DecodeStatus {
    const buf = frame.buf;
    const end = frame.off + frame.capLen;
    const net = decodeLink(frame.linkType, buf, frame.off, end, pkt);
    const s = this.s;
    if (net === Net.IPv4) {
      if (!decodeIPv4(buf, pkt.netOff, end, pkt, s, this)) return DecodeStatus.Malformed;
    } else if (net === Net.IPv6) {
      if (!decodeIPv6(buf, pkt.netOff, end, pkt, s, this)) return pkt.ipVersion === 6 ? DecodeStatus.OtherTransport : DecodeStatus.Malformed;
    } else return this.notIP(net, frame, pkt);
    if (s.isFragment) return this.fragment(buf, frame, pkt);
    return this.transport(buf, s.l4Off, s.l4End, pkt);
  }

  private notIP(net: Net, frame: Frame, pkt: Packet): DecodeStatus {
    if (net === Net.Other) return DecodeStatus.NotIP;
    if (net === Net.Unsupported) {
      let u = this.unsupported.get(frame.ifIndex);
      if (!u) {
        u = { ifIndex: frame.ifIndex, linkType: frame.linkType, frames: 0 };
        this.unsupported.set(frame.ifIndex, u);
      }
      u.frames++;
      this.flag(A.unsupportedLinktype);
      return DecodeStatus.UnsupportedLink;
    }
    if (net === Net.Short) {
      pkt.truncated = true;
      this.flag(A.linkTruncated);
    } else this.flag(A.ipBadVersion);
    return DecodeStatus.Malformed;
  }

  private fragment(buf: Uint8Array, frame: Frame, pkt: Packet): DecodeStatus {
    const s = this.s;
    if (pkt.truncated) {
      // A fragment whose bytes the capture cut can never be reassembled correctly.
      this.flag(A.fragTruncated);
      return DecodeStatus.FragmentHeld;
    }
    const v6 = pkt.ipVersion === 6;
    const key = fragmentKey(pkt, s.fragId, v6 ? -1 : pkt.proto);
    const proto = !v6 || s.fragOff === 0 ? pkt.proto : -1;
    const r = this.frags.add(key, proto, s.fragOff, s.more, buf, s.l4Off, s.l4End - s.l4Off, frame.sec);
    if (r !== Frag.Done) return DecodeStatus.FragmentHeld;
    pkt.reassembled = true;
    const out = this.frags.out;
    const len = this.frags.outLen;
    if (v6) {
      // The fragmentable part may itself start with destination options.
      if (!walkIPv6Ext(out, 0, len, this.frags.outProto, pkt, s, this)) return DecodeStatus.OtherTransport;
      if (s.isFragment) {
        this.flag(A.ipv6NestedFragment);
        return DecodeStatus.OtherTransport;
      }
      return this.transport(out, s.l4Off, s.l4End, pkt);
    }
    pkt.proto = this.frags.outProto;
    return this.transport(out, 0, len, pkt);
  }

  private transport(buf: Uint8Array, off: number, end: number, pkt: Packet): DecodeStatus {
    for (;;) {
      switch (pkt.proto) {
        case 17:
          return decodeUDP(buf, off, end, pkt, this);
        case 6:
          return decodeTCP(buf, off, end, pkt, this);
        case 1:
          if (pkt.ipVersion === 4) return decodeICMP(buf, off, end, pkt, false, this);
          break;
        case 58:
          if (pkt.ipVersion === 6) return decodeICMP(buf, off, end, pkt, true, this);
          break;
        case 51: {
          // IPv4 AH (IPv6 AH is walked with the extension headers): skip it, the payload is clear.
          if (end - off < 8) {
            pkt.truncated = true;
            this.flag(A.ipv6ExtTruncated);
            return DecodeStatus.OtherTransport;
          }
          const len = (buf[off + 1]! + 2) << 2;
          pkt.proto = buf[off]!;
          off += len;
          this.flag(A.ipAhSkipped);
          if (off > end) {
            pkt.truncated = true;
            return DecodeStatus.OtherTransport;
          }
          continue;
        }
        case 4:
        case 41:
          this.flag(A.unsupportedIpInIp);
          return DecodeStatus.OtherTransport;
        case 47:
          this.flag(A.unsupportedGre);
          return DecodeStatus.OtherTransport;
        case 132:
          this.flag(A.unsupportedSctp);
          return DecodeStatus.OtherTransport;
        case 50:
          this.flag(A.unsupportedEsp);
          return DecodeStatus.OtherTransport;
        case 59:
          this.flag(A.ipv6NoNextHeader);
          return DecodeStatus.OtherTransport;
      }
      this.flag(A.unsupportedIpProtocol);
      return DecodeStatus.OtherTransport;
    }
  }

  /** End of input: count datagrams whose fragments never all arrived. */
  finish(): void {
    this.frags.finish();
  }

  /** Datagrams and bytes held for reassembly right now (for tests and memory reports). */
  fragmentState(): { datagrams: number; bytes: number } {
    return { datagrams: this.frags.datagrams, bytes: this.frags.bytesInFlight };
  }

  /** Interfaces skipped for their link type, by interface index. */
  unsupportedLinks(): UnsupportedLink[] {
    return [...this.unsupported.values()].sort((a, b) => a.ifIndex - b.ifIndex);
  }

  /** One warning per interface whose link type is not decoded. */
  warnings(): Warning[] {
    return this.unsupportedLinks().map((u) => ({
      code: A.unsupportedLinktype,
      message: `interface ${u.ifIndex}: link type ${u.linkType} (${linkTypeName(u.linkType)}) is not decoded; ${u.frames} frame(s) skipped`,
    }));
  }
}

/** Reassembly key: version, IPv4 protocol (-1 for IPv6), identification, addresses. */
function fragmentKey(pkt: Packet, id: number, proto: number): string {
  const n = pkt.ipVersion === 6 ? 16 : 4;
  let k = String.fromCharCode(pkt.ipVersion, proto + 1, id >>> 16, id & 0xffff);
  for (let i = 0; i < n; i += 2) k += String.fromCharCode((pkt.src[i]! << 8) | pkt.src[i + 1]!);
  for (let i = 0; i < n; i += 2) k += String.fromCharCode((pkt.dst[i]! << 8) | pkt.dst[i + 1]!);
  return k;
}
