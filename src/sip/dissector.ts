/**
 * Where decoded packets become SIP messages: UDP datagrams on a SIP port (or any port, when the
 * payload starts with a SIP start line) are parsed as one message each; TCP directions are
 * framed by SipStreamFramer (this class's `tcp` is the StreamSink to give the reassembler).
 * Each parsed message goes to one callback with a SipContext; both records are reused.
 */
import type { Anomalies } from '../core/anomalies.js';
import { formatEndpoint, formatIP } from '../core/address.js';
import { DecodeStatus, type Packet, type TcpStream } from '../decode/types.js';
import { SipMessage } from './message.js';
import { looksLikeSip, parseSipMessage, SipParseStatus } from './parser.js';
import { SipStreamFramer } from './stream-framer.js';
import { DEFAULT_SIP_PORTS, newSipContext, type SipContext } from './types.js';

export type SipMessageHandler = (msg: SipMessage, ctx: SipContext, status: SipParseStatus) => void;

export interface SipDissectorOptions {
  anomalies: Anomalies;
  /** Ports always treated as SIP (default 5060, 5080). */
  ports?: readonly number[];
  /** Also detect SIP on other ports by its start line (default true). */
  heuristic?: boolean;
  /**
   * Receives every message whose start line is SIP: Ok and Invalid (a bound broken, unusable
   * start line details). NotSip payloads are only counted.
   */
  onMessage: SipMessageHandler;
}

export interface SipDissectorStats {
  udpMessages: number;
  tcpMessages: number;
  /** Payloads on a SIP port that were not SIP (or not SIP enough to parse). */
  notSip: number;
  invalid: number;
}

export class SipDissector {
  /** The StreamSink for TcpReassembler. */
  readonly tcp: SipStreamFramer;
  readonly stats: SipDissectorStats = { udpMessages: 0, tcpMessages: 0, notSip: 0, invalid: 0 };
  private readonly ports: Uint8Array = new Uint8Array(65536);
  private readonly heuristic: boolean;
  private readonly anomalies: Anomalies;
  private readonly onMessage: SipMessageHandler;
  private readonly msg = new SipMessage();
  private readonly ctx = newSipContext();

  constructor(opts: SipDissectorOptions) {
    this.anomalies = opts.anomalies;
    this.heuristic = opts.heuristic ?? true;
    this.onMessage = opts.onMessage;
    for (const p of opts.ports ?? DEFAULT_SIP_PORTS) if (p >= 0 && p < 65536) this.ports[p] = 1;
    this.tcp = new SipStreamFramer((stream, buf, off, len, pkt) => this.tcpMessage(stream, buf, off, len, pkt), {
      anomalies: opts.anomalies,
      accept: (stream, buf, off, len) => this.isSipPort(stream.srcPort) || this.isSipPort(stream.dstPort) || (this.heuristic && looksLikeSip(buf, off, len)),
    });
  }

  isSipPort(port: number): boolean {
    return this.ports[port] === 1;
  }

  /** Offer a decoded packet; UDP SIP is parsed and delivered. Returns true when it was SIP. */
  udp(pkt: Packet): boolean {
    if (pkt.status !== DecodeStatus.Ok || pkt.proto !== 17) return false;
    const buf = pkt.payload;
    const off = pkt.payloadOff;
    const len = pkt.payloadLen;
    const onPort = this.ports[pkt.srcPort] === 1 || this.ports[pkt.dstPort] === 1;
    if (!onPort) {
      if (!this.heuristic || len < 12) return false;
      // Cheapest rejection first: a start line begins with a letter or CR/LF.
      const c = buf[off]!;
      if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 13 || c === 10)) return false;
      if (!looksLikeSip(buf, off, len)) return false;
    } else if (isKeepAlive(buf, off, len)) return false;
    const st = parseSipMessage(buf, off, len, this.msg, this.anomalies);
    if (st === SipParseStatus.NotSip) {
      this.stats.notSip++;
      return false;
    }
    if (st === SipParseStatus.Invalid) this.stats.invalid++;
    this.stats.udpMessages++;
    const ctx = this.ctx;
    const f = pkt.frame;
    ctx.sec = f.sec;
    ctx.nsec = f.nsec;
    ctx.precision = f.precision;
    ctx.ifIndex = f.ifIndex;
    ctx.transport = 'udp';
    const n = pkt.ipVersion === 6 ? 16 : 4;
    ctx.srcIp = formatIP(pkt.src, 0, n);
    ctx.dstIp = formatIP(pkt.dst, 0, n);
    ctx.srcPort = pkt.srcPort;
    ctx.dstPort = pkt.dstPort;
    ctx.src = formatEndpoint(ctx.srcIp, ctx.srcPort);
    ctx.dst = formatEndpoint(ctx.dstIp, ctx.dstPort);
    this.onMessage(this.msg, ctx, st);
    return true;
  }

  private tcpMessage(stream: TcpStream, buf: Uint8Array, off: number, len: number, pkt: Packet): void {
    const st = parseSipMessage(buf, off, len, this.msg, this.anomalies);
    if (st === SipParseStatus.NotSip) {
      this.stats.notSip++;
      return;
    }
    if (st === SipParseStatus.Invalid) this.stats.invalid++;
    this.stats.tcpMessages++;
    const ctx = this.ctx;
    const f = pkt.frame;
    ctx.sec = f.sec;
    ctx.nsec = f.nsec;
    ctx.precision = f.precision;
    ctx.ifIndex = f.ifIndex;
    ctx.transport = 'tcp';
    ctx.srcIp = stream.src;
    ctx.dstIp = stream.dst;
    ctx.srcPort = stream.srcPort;
    ctx.dstPort = stream.dstPort;
    ctx.src = formatEndpoint(stream.src, stream.srcPort);
    ctx.dst = formatEndpoint(stream.dst, stream.dstPort);
    this.onMessage(this.msg, ctx, st);
  }
}

/** CRLF keep-alives (RFC 5626) and NAT pings of a few NUL bytes. */
function isKeepAlive(b: Uint8Array, off: number, len: number): boolean {
  for (let i = off; i < off + len; i++) {
    const c = b[i]!;
    if (c !== 13 && c !== 10 && c !== 0 && c !== 32) return false;
  }
  return true;
}
