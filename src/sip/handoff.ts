/**
 * The records a split SIP run passes from its reading thread to its tracking thread through a
 * ring (pipeline/ring.ts), and the two ends that write and read them (sip/threaded.ts starts
 * both). The reading thread reads, decodes and reassembles; its dissector hands each SIP message
 * to a HandoffWriter (its SipForward), which has the C side compare, copy and parse it into the
 * writer's slots and write the record straight into the ring. A record carries what dissect()
 * said, the packet fields the delivery needs, and, for a message copied into a slot, the slot's
 * bytes and its parse results packed (the fields, spans and header spans, then the Via hops).
 * The tracking thread copies the results into its own dissector's slot, where they were on the
 * reading side, reads the hops and the bytes where the record has them (its dissector copies
 * the bytes into the slot only if the slot is still in use when the ring wants the space back,
 * SipDissector.settle), and so makes the records, strings and anomalies of one thread; then it
 * tracks and writes. For `analyze` the writer also keeps some of that work (see its constructor).
 *
 * One SharedArrayBuffer holds the ring, then the reading side's slots, then the tracking side's:
 * the tracking side's copies are copyWithin calls inside it, with no view or object made per
 * message.
 *
 * Record layout (byte offsets from the record's start, which is 8-byte aligned):
 *   0  int32  type | slot << 8 | kind << 16 | flags << 24 (slot and kind: dissect()'s result)
 *   4  int32  record size in bytes
 *   8  f64    capture seconds (TICK, MESSAGE) or bytes read (PROGRESS)
 *   16 int32  nanoseconds                      (PROGRESS: f64 total at 16, -1 unknown)
 *   20 int32  precision
 *   24 int32  interface index
 *   28 int32  source port       32 int32  destination port
 *   36 int32  message length    40 int32  parse result words that follow
 *   44 int32  IP version
 *   48 16 bytes source address  64 16 bytes destination address (UDP)
 *   48 int32  source address text length, 52 destination's, 56 f64 stream id (TCP)
 *   80 the packed parse results, then the message bytes, then (TCP) the two address texts.
 *
 * An Ignored record (a UDP message over IPv4 that `analyze`'s tracker would ignore, see
 * HandoffWriter.ignorable): 8 f64 time, 16 nanoseconds; 24 bytes in all.
 *
 * An ICMP record: 8 f64 time, 16 nanoseconds, 20 precision, 24 interface index, 28 ICMP type,
 * 32 code, 36 IP version, 40 quoted IP version, 44 quoted protocol, 48 quoted destination
 * port, 52 quoted source port, 56 source address, 72 quoted destination, 88 quoted source (16
 * bytes each); 104 bytes in all.
 */
import { Anomalies } from '../core/anomalies.js';
import { formatEndpoint, formatIP, ipv4EndpointKey, ipv4Word } from '../core/address.js';
import { HeardTable, type HeardFields } from '../observe/heard.js';
import { MAGIC_COOKIE, SipMessage } from './message.js';
import { parseSipMessageJs, SipParseStatus } from './parser.js';
import { Dissected, HANDOFF_MAX, NATIVE_OK, nativeSipParser, Out, RECENT, SLOT_CAP, SLOTS_BYTES, SLOTS_HEAD, SLOTS_OUT, type NativeSipParser } from './native-parser.js';
import { newPacket } from '../decode/packet.js';
import type { Packet, TcpStream } from '../decode/types.js';
import { RING_DATA, RingReader, RingWriter, newRingBuffer } from '../pipeline/ring.js';
import { StreamEndpoints, type SipDissector, type SipForward } from './dissector.js';

export const enum Rec {
  Udp = 1,
  Tcp = 2,
  /** Capture time passed (a decoded packet, SIP or not). */
  Tick = 3,
  Progress = 4,
  End = 5,
  /** An ICMP(v6) destination-unreachable quoting a UDP or TCP datagram (analyze). */
  Icmp = 6,
  /** A message `analyze`'s tracker would ignore: only counted (its time passes). */
  Ignored = 7,
}

/** Flag of a UDP record: its packet's time passes once it is delivered (no Tick follows). */
const TICK_AFTER = 1;

const HEAD = 80;
const ICMP_SIZE = 104;
const IGNORED_SIZE = 24;

/** Method bytes the inviteOnly tracker keeps (sip/transactions.ts track()). */
const INVITE = [73, 78, 86, 73, 84, 69];
const ACK = [65, 67, 75];
/** A top Via branch that is the magic cookie alone: the tracker counts sip_bad_branch for it. */
const COOKIE = [...MAGIC_COOKIE].map((c) => c.charCodeAt(0));

/**
 * Ring data bytes: room for about 2,000 messages of the benchmark capture, far more than either
 * side's batches, and every page of it is touched as it cycles: 4 MiB cost `analyze` 4-5 MB of
 * peak RSS against 1 MiB, at the same speed (docs/sip.md).
 */
const HANDOFF_RING_BYTES = 1 << 20;

/** The buffer of one split run: the ring, the reading side's slots, the tracking side's. */
export function newHandoffBuffer(): SharedArrayBuffer {
  return newRingBuffer(HANDOFF_RING_BYTES, 2 * SLOTS_BYTES);
}

/** The slots of one side (0 reading, 1 tracking), as a dissector takes them (SipDissectorOptions.slots). */
export function handoffSlots(sab: SharedArrayBuffer, side: 0 | 1): Uint8Array {
  return new Uint8Array(sab, slotsAt(side), SLOTS_BYTES);
}

function slotsAt(side: 0 | 1): number {
  return RING_DATA + HANDOFF_RING_BYTES + side * SLOTS_BYTES;
}

/** The reading side's end: a SipForward for its dissector, and the packet-level records. */
export class HandoffWriter implements SipForward {
  private readonly ring: RingWriter;
  private readonly native: NativeSipParser;
  private readonly slots: Uint8Array;
  /** The same slots as words: dissect()'s results per slot, from SLOTS_OUT on. */
  private readonly slotWords: Int32Array;
  private readonly enc = new TextEncoder();

  /**
   * For `analyze` (with `analyze.maxHeard`, its FlowLimits' bound), two parts of the tracking
   * side's work are done here, where there is time to spare:
   * - A UDP message over IPv4 that the inviteOnly tracker would ignore goes as an Ignored
   *   record, not as a message (see ignorable()). A quarter of the messages at a balancer are
   *   BYEs and their responses; the tracking thread then neither copies, unpacks nor delivers
   *   them.
   * - The heard-from table (observe/heard.ts) is kept here, in message order, as the analyzer
   *   would have kept it; heardFields() hands it over at the end.
   */
  constructor(sab: SharedArrayBuffer, analyze?: { maxHeard: number }) {
    const native = nativeSipParser();
    if (native === undefined) throw new Error('a split SIP run needs the C parser');
    this.native = native;
    this.ring = new RingWriter(sab, HANDOFF_RING_BYTES);
    this.slots = handoffSlots(sab, 0);
    this.slotWords = new Int32Array(sab, slotsAt(0), SLOTS_BYTES / 4);
    this.dropIgnored = analyze !== undefined;
    this.heard = analyze ? new HeardTable(analyze.maxHeard) : undefined;
  }

  private readonly dropIgnored: boolean;
  private readonly heard: HeardTable | undefined;
  /** Per slot: does its message reach the tracker (its parse not NotSip)? For Same copies. */
  private readonly slotSip = new Uint8Array(RECENT);
  private readonly scratch = new SipMessage();
  private readonly scratchAnomalies = new Anomalies();
  // The last TCP direction's source, as the dissector words it.
  private readonly tcpEnds = new StreamEndpoints();

  /** The heard-from table (analyze), at the end. */
  heardFields(): HeardFields | undefined {
    return this.heard?.fields();
  }

  udp(buf: Uint8Array, off: number, len: number, pkt: Packet): void {
    const ring = this.ring;
    const at = this.message(Rec.Udp, buf, off, len, pkt, undefined, 0, this.dropIgnored && pkt.ipVersion === 4);
    if (at < 0) return;
    const u8 = ring.u8;
    const n = pkt.ipVersion === 6 ? 16 : 4;
    for (let i = 0; i < n; i++) {
      u8[at + 48 + i] = pkt.src[i]!;
      u8[at + 64 + i] = pkt.dst[i]!;
    }
    ring.i32[(at >> 2) + 7] = pkt.srcPort;
    ring.i32[(at >> 2) + 8] = pkt.dstPort;
    ring.commit(at, ring.i32[(at >> 2) + 1]!);
  }

  tcp(buf: Uint8Array, off: number, len: number, stream: TcpStream, pkt: Packet): void {
    const ring = this.ring;
    const src = this.enc.encode(stream.src);
    const dst = this.enc.encode(stream.dst);
    const at = this.message(Rec.Tcp, buf, off, len, pkt, stream, src.length + dst.length, false);
    const w = at >> 2;
    ring.i32[w + 7] = stream.srcPort;
    ring.i32[w + 8] = stream.dstPort;
    ring.i32[w + 11] = stream.ipVersion;
    ring.i32[w + 12] = src.length;
    ring.i32[w + 13] = dst.length;
    ring.f64[(at >> 3) + 7] = stream.id;
    const size = ring.i32[w + 1]!;
    const texts = at + size - src.length - dst.length;
    ring.u8.set(src, texts);
    ring.u8.set(dst, texts + src.length);
    ring.commit(at, size);
  }

  /**
   * Dissect the message straight into a record (the C side packs the results and copies the
   * bytes after the head) and write the parts both transports share: its offset, not committed.
   * With `mayIgnore` (a UDP message over IPv4, dropIgnored), a message the tracker would ignore
   * goes as a committed Ignored record instead, and the result is -1.
   */
  private message(type: Rec, buf: Uint8Array, off: number, len: number, pkt: Packet, stream: TcpStream | undefined, extra: number, mayIgnore: boolean): number {
    const ring = this.ring;
    const at = ring.reserve(HEAD + HANDOFF_MAX * 4 + Math.max(len, 0) + extra);
    const native = this.native;
    // The C side holds one writer's arrays per environment (one in a worker; a test may make more).
    if (native.handoffOwner !== this) {
      native.bindHandoff(this.slots, ring.u8);
      native.handoffOwner = this;
    }
    const d = native.dissectInto(buf, off, len, at + HEAD);
    let kindSlot = d & 0x3ff;
    let words = d >>> 10;
    let kind = kindSlot >> 8;
    const slot = kindSlot & 0xff;
    if (this.heard !== undefined && this.reachesTracker(kind, slot, buf, off, len)) this.hear(pkt, stream);
    if (mayIgnore && this.ignorable(kindSlot)) {
      if (kind === Dissected.Parsed) this.unsent[slot] = 1;
      this.ignoredRecord(at, pkt);
      return -1;
    }
    if (kind === Dissected.Same && this.unsent[slot] === 1) {
      // The slot's message went as an Ignored record, so the tracking side's slot lacks it;
      // this copy of it (over TCP or IPv6: not ignored) goes as a parsed message.
      words = this.packSlot(slot, at + HEAD, len);
      kind = Dissected.Parsed;
      kindSlot = slot | (kind << 8);
    }
    this.unsent[slot] = 0;
    // What the tracking side cannot find in its own slots: the bytes copied into a slot (C put
    // them there) or, not kept, as they are (rare: empty or oversized).
    let bytes = 0;
    if (kind === Dissected.Parsed || kind === Dissected.Slow) bytes = len;
    else if (kind === Dissected.NotKept && len > 0) {
      bytes = len;
      ring.u8.set(buf.subarray(off, off + len), at + HEAD);
    }
    const size = HEAD + words * 4 + bytes + extra;
    const i32 = ring.i32;
    const w = at >> 2;
    const f = pkt.frame;
    i32[w] = type | (kindSlot << 8) | (type === Rec.Udp && this.tickAfter ? TICK_AFTER << 24 : 0);
    i32[w + 1] = size;
    ring.f64[(at >> 3) + 1] = f.sec;
    i32[w + 4] = f.nsec;
    i32[w + 5] = f.precision;
    i32[w + 6] = f.ifIndex;
    i32[w + 9] = len;
    i32[w + 10] = words;
    i32[w + 11] = pkt.ipVersion;
    return at;
  }

  /**
   * Would the tracking side's dissector deliver this message (its parse not NotSip), as
   * dissect() left it? What the C side parsed is SIP; what it left to JavaScript is parsed here
   * as the tracking side will parse it (rare: messages with an anomaly).
   */
  private reachesTracker(kind: number, slot: number, buf: Uint8Array, off: number, len: number): boolean {
    if (kind === Dissected.Same) return this.slotSip[slot] === 1;
    if (kind === Dissected.NotKept) return parseSipMessageJs(buf, off, len, this.scratch, this.scratchAnomalies) !== SipParseStatus.NotSip;
    const sip = kind === Dissected.Parsed || parseSipMessageJs(this.slots, SLOTS_HEAD + slot * SLOT_CAP, len, this.scratch, this.scratchAnomalies) !== SipParseStatus.NotSip;
    this.slotSip[slot] = sip ? 1 : 0;
    return sip;
  }

  /** The analyzer's heard() for a message from pkt's source (or the TCP stream's), with the dissector's key. */
  private hear(pkt: Packet, stream: TcpStream | undefined): void {
    const f = pkt.frame;
    const heard = this.heard!;
    if (stream !== undefined) {
      const ends = this.tcpEnds.of(stream);
      heard.heard(ends.src, ends.srcKey, f.sec, f.nsec, f.precision);
    } else if (pkt.ipVersion === 4) {
      heard.heard('', ipv4EndpointKey(ipv4Word(pkt.src), pkt.srcPort), f.sec, f.nsec, f.precision);
    } else heard.heard(formatEndpoint(formatIP(pkt.src, 0, 16), pkt.srcPort), -1, f.sec, f.nsec, f.precision);
  }

  /** An Ignored record for the message at `at`, committed. */
  private ignoredRecord(at: number, pkt: Packet): void {
    const ring = this.ring;
    ring.i32[at >> 2] = Rec.Ignored | (this.tickAfter ? TICK_AFTER << 24 : 0);
    ring.i32[(at >> 2) + 1] = IGNORED_SIZE;
    ring.f64[(at >> 3) + 1] = pkt.frame.sec;
    ring.i32[(at >> 2) + 4] = pkt.frame.nsec;
    ring.commit(at, IGNORED_SIZE);
  }

  /**
   * What dissect() writes at `to` for a message it parses, from slot `slot`'s bytes and results
   * as it left them: the words written (the bytes follow them).
   */
  private packSlot(slot: number, to: number, len: number): number {
    const i32 = this.ring.i32;
    const o = (slotsAt(0) + SLOTS_OUT) / 4 + slot * Out.Size;
    const head = Out.HSpans + 4 * i32[o + Out.HeaderCount]!;
    const via = i32[o + Out.ViaCount]! * Out.ViaInts;
    i32.copyWithin(to >> 2, o, o + head);
    i32.copyWithin((to >> 2) + head, o + Out.Via, o + Out.Via + via);
    const bytes = slotsAt(0) + SLOTS_HEAD + slot * SLOT_CAP;
    this.ring.u8.copyWithin(to + (head + via) * 4, bytes, bytes + len);
    return head + via;
  }

  /** Per slot: 1 while its message was parsed but went as an Ignored record (not to the tracking side). */
  private readonly unsent = new Uint8Array(RECENT);

  /**
   * Would the inviteOnly tracker return from this message at once, with nothing counted but
   * the message (track(): neither an INVITE nor an ACK, keyed, no bad branch)? Only a message
   * the C side parsed, now or as the slot's earlier copy: its results are in this side's slot.
   * For one parsed now, the intern-table entries its parse made are taken back, since the
   * tracking thread will never store their strings.
   */
  private ignorable(kindSlot: number): boolean {
    const kind = kindSlot >> 8;
    if (kind !== Dissected.Parsed && kind !== Dissected.Same) return false;
    const slot = kindSlot & 0xff;
    const w = this.slotWords;
    const o = SLOTS_OUT / 4 + slot * Out.Size;
    if (w[o + Out.Status] !== NATIVE_OK || w[o + Out.ViaCount]! <= 0 || w[o + Out.CallIdE]! <= w[o + Out.CallIdS]! || w[o + Out.CSeqNum]! < 0) return false;
    const b = this.slots;
    const base = SLOTS_HEAD + slot * SLOT_CAP;
    const request = w[o + Out.IsRequest] === 1;
    const ms = base + w[o + (request ? Out.MethodS : Out.CSeqMs)]!;
    const me = base + w[o + (request ? Out.MethodE : Out.CSeqMe)]!;
    if (me <= ms || bytesAre(b, ms, me, INVITE) || bytesAre(b, ms, me, ACK)) return false;
    const bs = w[o + Out.Via + 5]!;
    if (bs >= 0 && bytesAre(b, base + bs, base + w[o + Out.Via + 6]!, COOKIE)) return false;
    if (kind === Dissected.Parsed) this.native.unintern(b, slot);
    return true;
  }

  /** Set by the run for the UDP message of a packet whose Tick it stands for. */
  tickAfter = false;

  tick(sec: number, nsec: number): void {
    const ring = this.ring;
    const at = ring.reserve(24);
    ring.i32[at >> 2] = Rec.Tick;
    ring.i32[(at >> 2) + 1] = 24;
    ring.f64[(at >> 3) + 1] = sec;
    ring.i32[(at >> 2) + 4] = nsec;
    ring.commit(at, 24);
  }

  /** An ICMP(v6) packet that quotes a datagram (pkt.quotedProto not 0). */
  icmp(pkt: Packet): void {
    const ring = this.ring;
    const at = ring.reserve(ICMP_SIZE);
    const i32 = ring.i32;
    const u8 = ring.u8;
    const w = at >> 2;
    const f = pkt.frame;
    i32[w] = Rec.Icmp;
    i32[w + 1] = ICMP_SIZE;
    ring.f64[(at >> 3) + 1] = f.sec;
    i32[w + 4] = f.nsec;
    i32[w + 5] = f.precision;
    i32[w + 6] = f.ifIndex;
    i32[w + 7] = pkt.icmpType;
    i32[w + 8] = pkt.icmpCode;
    i32[w + 9] = pkt.ipVersion;
    i32[w + 10] = pkt.quotedIpVersion;
    i32[w + 11] = pkt.quotedProto;
    i32[w + 12] = pkt.quotedDstPort;
    i32[w + 13] = pkt.quotedSrcPort;
    for (let i = 0; i < 16; i++) {
      u8[at + 56 + i] = pkt.src[i]!;
      u8[at + 72 + i] = pkt.quotedDst[i]!;
      u8[at + 88 + i] = pkt.quotedSrc[i]!;
    }
    ring.commit(at, ICMP_SIZE);
  }

  progress(done: number, total: number | undefined): void {
    const ring = this.ring;
    const at = ring.reserve(24);
    ring.i32[at >> 2] = Rec.Progress;
    ring.i32[(at >> 2) + 1] = 24;
    ring.f64[(at >> 3) + 1] = done;
    ring.f64[(at >> 3) + 2] = total ?? -1;
    ring.commit(at, 24);
    ring.publish();
  }

  /** Make what was written so far visible to the tracking side. */
  flush(): void {
    this.ring.publish();
  }

  /** The last record; the ring is closed after it. */
  end(): void {
    const ring = this.ring;
    const at = ring.reserve(8);
    ring.i32[at >> 2] = Rec.End;
    ring.i32[(at >> 2) + 1] = 8;
    ring.commit(at, 8);
    ring.close();
  }

  get stopRequested(): boolean {
    return this.ring.stopRequested;
  }
}

/** Are b[s, e) these bytes? */
function bytesAre(b: Uint8Array, s: number, e: number, these: readonly number[]): boolean {
  if (e - s !== these.length) return false;
  for (let i = 0; i < these.length; i++) if (b[s + i] !== these[i]) return false;
  return true;
}

export interface HandoffTarget {
  dissector: SipDissector;
  /** Capture time passed (tracker.advance). */
  tick(sec: number, nsec: number): void;
  progress(done: number, total: number | undefined): void;
  /** An ICMP record (only a run that asks the reading side for them gets any). */
  icmp?(pkt: Packet): void;
  /** An Ignored record (likewise): a message at (sec, nsec) the tracker would ignore. */
  ignored?(sec: number, nsec: number): void;
}

/** The tracking side's end: replays each record into its dissector (and its tracker). */
export class HandoffReader {
  readonly ring: RingReader;
  private readonly slots: number;
  private readonly pkt = newPacket();
  private readonly stream: TcpStream = { id: 0, ipVersion: 4, src: '', dst: '', srcPort: 0, dstPort: 0, user: undefined };
  private readonly dec = new TextDecoder();
  /** The End record was read. */
  ended = false;
  /** Where the Via hops of the last Parsed record are (a word index into the buffer). */
  private viaAt = 0;

  constructor(
    sab: SharedArrayBuffer,
    private readonly to: HandoffTarget,
  ) {
    this.ring = new RingReader(sab, HANDOFF_RING_BYTES);
    this.slots = slotsAt(1);
    // Replayed messages are read in the ring until then (SipDissector.settle).
    this.ring.beforeRelease = () => to.dissector.settle();
  }

  /** Replay every record published so far (up to End). */
  drain(): void {
    const ring = this.ring;
    const i32 = ring.i32;
    let at: number;
    while (!this.ended && (at = ring.next()) >= 0) {
      const w = at >> 2;
      const head = i32[w]!;
      const size = i32[w + 1]!;
      const type = head & 0xff;
      if (type === Rec.Udp || type === Rec.Tcp) this.message(at, head);
      else if (type === Rec.Tick) this.to.tick(ring.f64[(at >> 3) + 1]!, i32[w + 4]!);
      else if (type === Rec.Progress) {
        const total = ring.f64[(at >> 3) + 2]!;
        this.to.progress(ring.f64[(at >> 3) + 1]!, total < 0 ? undefined : total);
      } else if (type === Rec.Ignored) {
        const sec = ring.f64[(at >> 3) + 1]!;
        this.to.ignored!(sec, i32[w + 4]!);
        if (((head >>> 24) & TICK_AFTER) !== 0) this.to.tick(sec, i32[w + 4]!);
      } else if (type === Rec.Icmp) this.icmp(at);
      else if (type === Rec.End) this.ended = true;
      else throw new Error(`handoff: record type ${type} at ${at}`);
      ring.advance(size);
    }
    ring.release();
  }

  private icmp(at: number): void {
    const ring = this.ring;
    const i32 = ring.i32;
    const u8 = ring.u8;
    const w = at >> 2;
    const pkt = this.pkt;
    const f = pkt.frame;
    f.sec = ring.f64[(at >> 3) + 1]!;
    f.nsec = i32[w + 4]!;
    f.precision = i32[w + 5]!;
    f.ifIndex = i32[w + 6]!;
    pkt.icmpType = i32[w + 7]!;
    pkt.icmpCode = i32[w + 8]!;
    pkt.ipVersion = i32[w + 9]!;
    pkt.quotedIpVersion = i32[w + 10]!;
    pkt.quotedProto = i32[w + 11]!;
    pkt.quotedDstPort = i32[w + 12]!;
    pkt.quotedSrcPort = i32[w + 13]!;
    for (let i = 0; i < 16; i++) {
      pkt.src[i] = u8[at + 56 + i]!;
      pkt.quotedDst[i] = u8[at + 72 + i]!;
      pkt.quotedSrc[i] = u8[at + 88 + i]!;
    }
    pkt.proto = pkt.ipVersion === 6 ? 58 : 1;
    this.to.icmp?.(pkt);
  }

  private message(at: number, head: number): void {
    const ring = this.ring;
    const i32 = ring.i32;
    const u8 = ring.u8;
    const w = at >> 2;
    const kindSlot = (head >> 8) & 0xffff;
    const kind = kindSlot >> 8;
    const slot = kindSlot & 0xff;
    const len = i32[w + 9]!;
    const words = i32[w + 10]!;
    const bytesAt = at + HEAD + words * 4;
    // Into this side's slot, as the reading side's dissect() left them in its own: the words
    // packed before the Via hops are the slot's results up to the last header span (the hops
    // are read from the record). The bytes only for JavaScript to parse: a Parsed message is
    // read in the record (SipDissector.settle). The slots' length header is dissect()'s, which
    // this side never calls: it is left as it is.
    if (kind === Dissected.Parsed || kind === Dissected.Slow) {
      const base = this.slots;
      if (kind === Dissected.Slow) u8.copyWithin(base + SLOTS_HEAD + slot * SLOT_CAP, bytesAt, bytesAt + len);
      if (words > 0) {
        const from = w + HEAD / 4;
        this.viaAt = from + Out.HSpans + 4 * i32[from + Out.HeaderCount]!;
        const o = (base + SLOTS_OUT) / 4 + slot * Out.Size;
        i32.copyWithin(o, from, this.viaAt);
      }
    }
    const pkt = this.pkt;
    const f = pkt.frame;
    const sec = ring.f64[(at >> 3) + 1]!;
    f.sec = sec;
    f.nsec = i32[w + 4]!;
    f.precision = i32[w + 5]!;
    f.ifIndex = i32[w + 6]!;
    const ipVersion = i32[w + 11]!;
    if ((head & 0xff) === Rec.Udp) {
      pkt.ipVersion = ipVersion;
      pkt.srcPort = i32[w + 7]!;
      pkt.dstPort = i32[w + 8]!;
      const n = ipVersion === 6 ? 16 : 4;
      for (let i = 0; i < n; i++) {
        pkt.src[i] = u8[at + 48 + i]!;
        pkt.dst[i] = u8[at + 64 + i]!;
      }
      this.to.dissector.replayUdp(kindSlot, u8, bytesAt, len, pkt, i32, this.viaAt);
      if (((head >>> 24) & TICK_AFTER) !== 0) this.to.tick(sec, f.nsec);
      return;
    }
    const s = this.stream;
    const srcLen = i32[w + 12]!;
    const dstLen = i32[w + 13]!;
    const texts = bytesAt + (kind === Dissected.Same ? 0 : len);
    s.id = ring.f64[(at >> 3) + 7]!;
    s.ipVersion = ipVersion;
    s.srcPort = i32[w + 7]!;
    s.dstPort = i32[w + 8]!;
    s.src = this.dec.decode(u8.slice(texts, texts + srcLen));
    s.dst = this.dec.decode(u8.slice(texts + srcLen, texts + srcLen + dstLen));
    this.to.dissector.replayTcp(kindSlot, u8, bytesAt, len, s, pkt, i32, this.viaAt);
  }
}
