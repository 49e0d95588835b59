/**
 * Where decoded packets become SIP messages: UDP datagrams on a SIP port (or any port, when the
 * payload starts with a SIP start line) are parsed as one message each; TCP directions are
 * framed by SipStreamFramer (this class's `tcp` is the StreamSink to give the reassembler).
 * Each parsed message goes to one callback with a SipContext; both records are reused.
 *
 * Two costs dominate a busy capture and both are avoided here. At a load balancer every
 * datagram is captured twice (arriving, then forwarded unchanged), and retransmissions repeat
 * it again: the last few parsed messages are kept with a private copy of their bytes, and a
 * payload byte-identical to one of them reuses that parsed record (and the strings already
 * decoded from it) instead of being parsed again; the anomalies its parse counted are counted
 * again, so the result is exactly that of a fresh parse. And the endpoint strings of the
 * context come from a small direct-mapped cache keyed by address and port, so the same few
 * thousand endpoints cost no string per message.
 */
import { Anomalies } from '../core/anomalies.js';
import { formatEndpoint, formatIP, Ipv4EndpointText, ipv4EndpointKey, ipv4EndpointKeyOf, ipv4Word } from '../core/address.js';
import { DecodeStatus, type Packet, type TcpStream } from '../decode/types.js';
import { SIP_LIMITS, SipMessage } from './message.js';
import { Dissected, nativeSipParser, newSlots, RECENT, slotBytes, slotOutput, type NativeSipParser } from './native-parser.js';
import { fillSlotRecord, looksLikeSip, parseSipMessage, parseSipMessageJs, slotRecord, SipParseStatus } from './parser.js';
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
  /**
   * Compare, copy and parse recent messages in one C call when the C parser is built (default
   * true). False keeps that in JavaScript, as without the binding: the tests run both.
   */
  native?: boolean;
  /** The slots for the C side (newSlots' size), when the caller keeps them (in a shared buffer). */
  slots?: Uint8Array;
  /**
   * The reading half of a run split in two threads (sip/threaded.ts): each message taken for
   * SIP is handed here, to be dissected and passed on, instead of being parsed and delivered.
   */
  forward?: SipForward;
}

/**
 * Where the reading half hands each message the dissector took for SIP, buf[off, off + len):
 * the HandoffWriter (sip/handoff.ts) dissects it in slots of its own and passes it on.
 */
export interface SipForward {
  udp(buf: Uint8Array, off: number, len: number, pkt: Packet): void;
  tcp(buf: Uint8Array, off: number, len: number, stream: TcpStream, pkt: Packet): void;
}

export interface SipDissectorStats {
  udpMessages: number;
  tcpMessages: number;
  /** Payloads on a SIP port that were not SIP (or not SIP enough to parse). */
  notSip: number;
  invalid: number;
}

/** Forwards to the run's table and remembers the names, to count them again on a reuse. */
class RecordingAnomalies extends Anomalies {
  names: string[] = [];
  constructor(private readonly target: Anomalies) {
    super();
  }
  override add(name: string, first?: string, n = 1): void {
    this.names.push(name);
    this.target.add(name, first, n);
  }
}

/** One recently parsed message with its own copy of the bytes (the record's spans point into it). */
class Recent {
  msg = new SipMessage();
  /** With dissect(): the slot's output array, which msg's span tables are views of. */
  out: Int32Array | undefined = undefined;
  bytes: Uint8Array = new Uint8Array(1024);
  /** -1: empty (or a message too large to keep). */
  len = -1;
  status: SipParseStatus = SipParseStatus.NotSip;
  /** Anomaly names its parse counted, in order. */
  anomalies: string[] = [];
  /**
   * A split run's Parsed message is read where its handoff record put it, in `ring` at this
   * offset (-1: in `bytes`), until settle() copies it into `bytes`: most slots are taken by
   * another message before that, and their bytes are never copied at all.
   */
  ringAt = -1;
  ring: Uint8Array | undefined = undefined;
}

/*
 * RECENT (native-parser.ts): recent messages compared against each new one. At a balancer the
 * forwarded copy follows the arriving one by the forwarding latency, and other calls' messages
 * come in between: on the 400 calls/s benchmark capture (40 µs latency) a window of 4 caught
 * 13% of the copies and one of 8 all of them. Most candidates are rejected on their length
 * alone. A power of two (slots are masked).
 */
/** Endpoint string cache slots (direct-mapped, a power of two). */
const EP_SLOTS = 4096;

type CompareFn = (this: Uint8Array, target: Uint8Array, targetStart: number, targetEnd: number, sourceStart: number, sourceEnd: number) => number;
// Native compare works on any Uint8Array and allocates no view.
const bufCompare = Buffer.prototype.compare as unknown as CompareFn;

export class SipDissector {
  /** The StreamSink for TcpReassembler. */
  readonly tcp: SipStreamFramer;
  readonly stats: SipDissectorStats = { udpMessages: 0, tcpMessages: 0, notSip: 0, invalid: 0 };
  private readonly ports: Uint8Array = new Uint8Array(65536);
  private readonly heuristic: boolean;
  private readonly anomalies: Anomalies;
  private readonly recorder: RecordingAnomalies;
  private readonly onMessage: SipMessageHandler;
  private readonly recent: Recent[] = [];
  /** Each slot's message length (-1 empty), compact: most candidates are rejected on it alone. */
  private readonly recentLen = new Int32Array(RECENT).fill(-1);
  /** Slot the next miss overwrites; the newest is the one before it. */
  private nextSlot = 0;
  /** The record of the message being delivered. */
  private msg: SipMessage;
  private readonly ctx = newSipContext();
  // IPv4 endpoint cache: address, port (-1 empty), "ip" and "ip:port" strings.
  private readonly epAddr = new Int32Array(EP_SLOTS);
  private readonly epPort = new Int32Array(EP_SLOTS).fill(-1);
  private readonly epIp: string[] = new Array<string>(EP_SLOTS).fill('');
  private readonly epStr: string[] = new Array<string>(EP_SLOTS).fill('');
  private readonly epText = new Ipv4EndpointText();
  private readonly tcpEnds = new StreamEndpoints();
  /**
   * With the C parser, the recent messages are compared, copied and parsed in one native call
   * (dissect() in sip_parse.c): the bytes live in these slots, one per Recent record.
   */
  private readonly native: NativeSipParser | undefined;
  private readonly slots: Uint8Array | undefined;
  private readonly forward: SipForward | undefined;

  constructor(opts: SipDissectorOptions) {
    this.anomalies = opts.anomalies;
    this.recorder = new RecordingAnomalies(opts.anomalies);
    this.heuristic = opts.heuristic ?? true;
    this.onMessage = opts.onMessage;
    for (const p of opts.ports ?? DEFAULT_SIP_PORTS) if (p >= 0 && p < 65536) this.ports[p] = 1;
    for (let i = 0; i < RECENT; i++) this.recent.push(new Recent());
    this.forward = opts.forward;
    // Forwarding, the SipForward dissects (in slots of its own).
    this.native = opts.native === false || this.forward !== undefined ? undefined : nativeSipParser();
    if (this.native !== undefined) {
      const slots = (this.slots = opts.slots ?? newSlots());
      for (let i = 0; i < RECENT; i++) {
        const r = this.recent[i]!;
        r.bytes = slotBytes(slots, i);
        r.out = slotOutput(slots, i);
        r.msg = slotRecord(r.out);
      }
    }
    this.msg = this.recent[0]!.msg;
    this.tcp = new SipStreamFramer((stream, buf, off, len, pkt) => this.tcpMessage(stream, buf, off, len, pkt), {
      anomalies: opts.anomalies,
      accept: (stream, buf, off, len) => this.isSipPort(stream.srcPort) || this.isSipPort(stream.dstPort) || (this.heuristic && looksLikeSip(buf, off, len)),
    });
  }

  isSipPort(port: number): boolean {
    return this.ports[port] === 1;
  }

  /**
   * Parse buf[off, off + len), or reuse the record of a byte-identical recent message. Sets
   * this.msg and returns the status.
   */
  private parse(buf: Uint8Array, off: number, len: number): SipParseStatus {
    if (this.native !== undefined) return this.parseNative(buf, off, len, this.native);
    const recent = this.recent;
    const lens = this.recentLen;
    const last = len - 1;
    // Newest first: a balancer's forwarded copy follows its original closely.
    for (let k = 1, i = this.nextSlot; k <= RECENT; k++) {
      i = (i - 1) & (RECENT - 1);
      if (lens[i] !== len || len <= 0) continue;
      const r = recent[i]!;
      const b = r.bytes;
      // Cheap rejections before the native compare: the ends and the middle.
      if (b[last] !== buf[off + last] || b[len >> 1] !== buf[off + (len >> 1)] || b[0] !== buf[off]) continue;
      if (bufCompare.call(b, buf, off, off + len, 0, len) !== 0) continue;
      return this.reuse(r);
    }
    const slot = this.nextSlot;
    const r = recent[slot]!;
    this.nextSlot = (slot + 1) & (RECENT - 1);
    const rec = this.recorderFor(r);
    this.msg = r.msg;
    if (len > SIP_LIMITS.maxMessageSize || len <= 0) {
      // Not kept: parsed where it is (the parser rejects it on its size before reading it).
      r.len = -1;
      lens[slot] = -1;
      r.status = parseSipMessage(buf, off, len, r.msg, rec);
      return r.status;
    }
    if (r.bytes.length < len) r.bytes = new Uint8Array(Math.max(len, r.bytes.length * 2));
    r.bytes.set(buf.subarray(off, off + len), 0);
    r.len = len;
    lens[slot] = len;
    r.status = parseSipMessage(r.bytes, 0, len, r.msg, rec);
    return r.status;
  }

  /** A byte-identical recent message: its record is this one's, and its anomalies count again. */
  private reuse(r: Recent): SipParseStatus {
    const names = r.anomalies;
    for (let j = 0; j < names.length; j++) this.anomalies.add(names[j]!);
    this.msg = r.msg;
    return r.status;
  }

  /** The recorder, emptied, noting into r's list the anomalies of parsing a new message there. */
  private recorderFor(r: Recent): RecordingAnomalies {
    const rec = this.recorder;
    rec.names = r.anomalies;
    // Setting an array's length is a runtime call even when it changes nothing (measured: 1% of analyze).
    if (rec.names.length !== 0) rec.names.length = 0;
    return rec;
  }

  /** parse() with the comparing, copying and parsing done by the C side in one call. */
  private parseNative(buf: Uint8Array, off: number, len: number, native: NativeSipParser): SipParseStatus {
    return this.dissected(native.dissect(buf, off, len, this.slots!), buf, off, len);
  }

  /**
   * The record of a message dissect() returned `kindSlot` for (here, or in the reading half of a
   * split run, whose record put the slot's bytes and results into this dissector's slots, the
   * Via hops left at vo[viaAt...]). Sets this.msg and returns the status.
   */
  private dissected(kindSlot: number, buf: Uint8Array, off: number, len: number, vo?: Int32Array, viaAt?: number): SipParseStatus {
    const r = this.recent[kindSlot & 0xff]!;
    const kind = kindSlot >> 8;
    if (kind === Dissected.Same) return this.reuse(r);
    const rec = this.recorderFor(r);
    this.msg = r.msg;
    r.ringAt = -1;
    if (kind === Dissected.Parsed) {
      if (vo === undefined) fillSlotRecord(r.bytes, 0, len, r.msg, r.out!);
      else {
        // Replayed: the bytes stay in the handoff record (see Recent.ringAt).
        fillSlotRecord(buf, off, len, r.msg, r.out!, vo, viaAt);
        r.ringAt = off;
        r.ring = buf;
      }
      r.status = SipParseStatus.Ok;
    } else if (kind === Dissected.Slow) r.status = parseSipMessageJs(r.bytes, 0, len, r.msg, rec);
    // Not kept (empty, or larger than SIP_LIMITS allows, which the C parser declines too): parsed
    // where it is, by JavaScript, so that a split run never uses this thread's C intern table.
    else r.status = parseSipMessageJs(buf, off, len, r.msg, rec);
    return r.status;
  }

  /**
   * Copy into their slots the bytes of replayed messages still read in the handoff ring (see
   * Recent.ringAt): the ring is about to give that space back to its writer.
   */
  settle(): void {
    for (const r of this.recent) {
      if (r.ringAt < 0) continue;
      const len = r.msg.len;
      r.bytes.set(r.ring!.subarray(r.ringAt, r.ringAt + len), 0);
      r.msg.rebase(r.bytes, 0);
      r.ringAt = -1;
      r.ring = undefined;
    }
  }

  /**
   * A UDP message the reading half dissected (see SipForward), with its packet as it was there;
   * vo[viaAt...] holds its Via hops when it was Parsed.
   */
  replayUdp(kindSlot: number, buf: Uint8Array, off: number, len: number, pkt: Packet, vo: Int32Array, viaAt: number): void {
    this.deliverUdp(this.dissected(kindSlot, buf, off, len, vo, viaAt), pkt);
  }

  /** A TCP message the reading half dissected, with its direction and packet as they were there. */
  replayTcp(kindSlot: number, buf: Uint8Array, off: number, len: number, stream: TcpStream, pkt: Packet, vo: Int32Array, viaAt: number): void {
    this.deliverTcp(this.dissected(kindSlot, buf, off, len, vo, viaAt), stream, pkt);
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
    if (this.forward !== undefined) {
      this.forward.udp(buf, off, len, pkt);
      return true;
    }
    return this.deliverUdp(this.parse(buf, off, len), pkt);
  }

  /** Count a parsed UDP message, fill the context and hand it on; true when it was SIP. */
  private deliverUdp(st: SipParseStatus, pkt: Packet): boolean {
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
    ctx.srcPort = pkt.srcPort;
    ctx.dstPort = pkt.dstPort;
    if (pkt.ipVersion === 4) {
      let i = this.endpoint4(pkt.src, pkt.srcPort);
      ctx.srcIp = this.epIp[i]!;
      ctx.src = this.epStr[i]!;
      ctx.srcKey = ipv4EndpointKey(this.epAddr[i]!, pkt.srcPort);
      i = this.endpoint4(pkt.dst, pkt.dstPort);
      ctx.dstIp = this.epIp[i]!;
      ctx.dst = this.epStr[i]!;
    } else {
      const n = pkt.ipVersion === 6 ? 16 : 4;
      ctx.srcIp = formatIP(pkt.src, 0, n);
      ctx.dstIp = formatIP(pkt.dst, 0, n);
      ctx.src = formatEndpoint(ctx.srcIp, ctx.srcPort);
      ctx.dst = formatEndpoint(ctx.dstIp, ctx.dstPort);
      ctx.srcKey = -1;
    }
    this.onMessage(this.msg, ctx, st);
    return true;
  }

  /** Cache slot holding the strings of IPv4 address a[0..4) and port. */
  private endpoint4(a: Uint8Array, port: number): number {
    const addr = ipv4Word(a);
    const i = (Math.imul(addr ^ Math.imul(port, 0x9e3779b1), 0x85ebca6b) >>> 20) & (EP_SLOTS - 1);
    if (this.epPort[i] !== port || this.epAddr[i] !== addr) {
      this.epAddr[i] = addr;
      this.epPort[i] = port;
      // Flat (one step each): these strings end up as keys and in every record that names the endpoint.
      const text = this.epText;
      text.format(a, 0, port);
      this.epIp[i] = text.ip;
      this.epStr[i] = text.endpoint;
    }
    return i;
  }

  private tcpMessage(stream: TcpStream, buf: Uint8Array, off: number, len: number, pkt: Packet): void {
    if (this.forward !== undefined) this.forward.tcp(buf, off, len, stream, pkt);
    else this.deliverTcp(this.parse(buf, off, len), stream, pkt);
  }

  private deliverTcp(st: SipParseStatus, stream: TcpStream, pkt: Packet): void {
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
    const ends = this.tcpEnds.of(stream);
    ctx.src = ends.src;
    ctx.srcKey = ends.srcKey;
    ctx.dst = ends.dst;
    this.onMessage(this.msg, ctx, st);
  }
}

/**
 * A TCP direction's endpoint strings and its source's key (core/address.ts ipv4EndpointKey; -1
 * but for IPv4), made when the direction changes: its messages come one after another.
 */
export class StreamEndpoints {
  private stream: TcpStream | undefined = undefined;
  private id = -1;
  src = '';
  dst = '';
  srcKey = -1;

  of(stream: TcpStream): this {
    if (this.stream !== stream || this.id !== stream.id) {
      this.stream = stream;
      this.id = stream.id;
      this.src = formatEndpoint(stream.src, stream.srcPort);
      this.dst = formatEndpoint(stream.dst, stream.dstPort);
      this.srcKey = stream.ipVersion === 4 ? ipv4EndpointKeyOf(this.src) : -1;
    }
    return this;
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
