/**
 * Per-direction TCP byte-stream reassembly, good enough for SIP framing (RFC 3261 section 18.3
 * needs whole messages, in order, and to know where bytes are missing).
 *
 * - In-order bytes go straight from the packet to the sink (no copy).
 * - Segments ahead of the next expected sequence number are copied and held, bounded per
 *   direction and globally; when a bound is hit the oldest hole is declared a gap.
 * - Bytes before the next expected sequence number were delivered already: retransmissions
 *   and partial overlaps are trimmed, never delivered twice.
 * - A hole is declared a gap (sink.gap) when the other direction acknowledges bytes beyond it
 *   (the receiver had them, so the capture lost them), when buffering overflows, and when the
 *   direction ends (FIN with holes, RST, idle timeout, eviction, end of input).
 * - No SYN seen: the stream starts at the first segment seen, after a gap(stream, 0) ("an
 *   unknown amount is missing"), so the consumer resynchronises.
 * Sequence arithmetic is modulo 2^32 (RFC 9293 section 3.4).
 */
import type { Anomalies } from '../core/anomalies.js';
import { formatIP } from '../core/address.js';
import { A } from './anomaly-names.js';
import { DecodeStatus, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type Packet, type StreamSink, type TcpStream } from './types.js';

export interface TcpReassemblyOptions {
  anomalies: Anomalies;
  /** Directions tracked at once; the least recently active is evicted beyond it (default 16384). */
  maxStreams?: number;
  /** Out-of-order bytes held per direction (default 256 KiB). */
  maxBufferedBytesPerStream?: number;
  /** Out-of-order segments held per direction (default 512). */
  maxBufferedSegmentsPerStream?: number;
  /** Out-of-order bytes held across all directions (default 32 MiB). */
  maxBufferedBytesTotal?: number;
  /** A direction with no segment for this many seconds of capture time ends with 'timeout' (default 300). */
  idleTimeoutSec?: number;
}

export type EndReason = 'fin' | 'rst' | 'timeout' | 'evicted' | 'eof';

interface Segment {
  seq: number;
  data: Uint8Array;
  fin: boolean;
}

class Direction {
  /** Next expected sequence number (unsigned 32-bit). */
  next = 0;
  ooo: Segment[] = [];
  oooBytes = 0;
  lastSec = 0;
  started = false;
  /** Ended (FIN/RST): kept as a tombstone so late retransmissions are not a new stream. */
  closed = false;
  peer: Direction | undefined;
  /** Neighbours in the activity list (least recently active first). */
  older: Direction | undefined;
  newer: Direction | undefined;
  constructor(
    readonly key: string,
    readonly stream: TcpStream,
  ) {}
}

/** Signed distance a - b in sequence space. */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

function dirKey(pkt: Packet, reverse: boolean): string {
  const n = pkt.ipVersion === 6 ? 16 : 4;
  const a = reverse ? pkt.dst : pkt.src;
  const b = reverse ? pkt.src : pkt.dst;
  let k = reverse ? String.fromCharCode(pkt.dstPort, pkt.srcPort) : String.fromCharCode(pkt.srcPort, pkt.dstPort);
  for (let i = 0; i < n; i += 2) k += String.fromCharCode((a[i]! << 8) | a[i + 1]!);
  for (let i = 0; i < n; i += 2) k += String.fromCharCode((b[i]! << 8) | b[i + 1]!);
  return k;
}

export class TcpReassembler {
  private readonly table = new Map<string, Direction>();
  // Activity order is a linked list, not Map re-insertion: finding the oldest entry of a Map
  // that had entries deleted at its front walks over every deleted slot until V8 rehashes
  // (measured: 4 us per segment with 16k streams instead of 0.4, 12 us when evicting).
  private oldest: Direction | undefined;
  private newest: Direction | undefined;
  private readonly anomalies: Anomalies;
  private readonly maxStreams: number;
  private readonly maxPerStream: number;
  private readonly maxSegs: number;
  private readonly maxTotal: number;
  private readonly idle: number;
  private buffered = 0;
  private nextId = 1;
  /** The record of the latest push: delivery packet for data released outside a push. */
  private lastPkt: Packet | undefined;

  constructor(
    private readonly sink: StreamSink,
    opts: TcpReassemblyOptions,
  ) {
    this.anomalies = opts.anomalies;
    this.maxStreams = opts.maxStreams ?? 16384;
    this.maxPerStream = opts.maxBufferedBytesPerStream ?? 256 * 1024;
    this.maxSegs = opts.maxBufferedSegmentsPerStream ?? 512;
    this.maxTotal = opts.maxBufferedBytesTotal ?? 32 * 1024 * 1024;
    this.idle = opts.idleTimeoutSec ?? 300;
  }

  /** Directions currently tracked (open or tombstoned), and out-of-order bytes held. */
  get streams(): number {
    return this.table.size;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Feed one decoded packet; anything but a decoded TCP segment is ignored. */
  push(pkt: Packet): void {
    if (pkt.status !== DecodeStatus.Ok || pkt.proto !== 6) return;
    this.lastPkt = pkt;
    const sec = pkt.frame.sec;
    this.expire(sec);
    const flags = pkt.tcpFlags;
    const key = dirKey(pkt, false);
    let d = this.table.get(key);
    if (d) {
      this.touch(d);
      if (d.closed && flags & TCP_SYN) {
        this.remove(d);
        d = undefined;
      }
    }
    if (!d) {
      if (pkt.payloadLen === 0 && (flags & (TCP_SYN | TCP_FIN)) === 0) {
        // A pure ACK or RST of a direction we do not track: it may still tell us the peer lost nothing.
        if (flags & TCP_ACK) {
          const peer = this.table.get(dirKey(pkt, true));
          if (peer) this.ackSeen(peer, pkt.tcpAck, pkt);
        }
        return;
      }
      d = this.create(key, pkt);
    }
    d.lastSec = sec;
    if (flags & TCP_ACK && d.peer) this.ackSeen(d.peer, pkt.tcpAck, pkt);
    if (d.closed) {
      if (pkt.payloadLen > 0) this.flag(A.tcpRetransmission);
      return;
    }
    let seq = pkt.tcpSeq;
    if (flags & TCP_SYN) {
      seq = (seq + 1) >>> 0;
      if (!d.started) {
        d.next = seq;
        d.started = true;
      }
    } else if (!d.started) {
      d.next = seq;
      d.started = true;
      this.flag(A.tcpMidstream);
      this.sink.gap(d.stream, 0);
    }
    if (pkt.payloadLen > 0 || flags & TCP_FIN) this.segment(d, seq, pkt.payload, pkt.payloadOff, pkt.payloadLen, (flags & TCP_FIN) !== 0, pkt);
    if (flags & TCP_RST && !d.closed) this.close(d, 'rst', pkt);
  }

  /** End every direction (end of input: reason 'eof'). Held bytes are delivered after a gap. */
  flush(reason: EndReason = 'eof'): void {
    for (const d of [...this.table.values()]) {
      if (!d.closed) this.close(d, reason, this.lastPkt);
      this.remove(d);
    }
  }

  private create(key: string, pkt: Packet): Direction {
    while (this.table.size >= this.maxStreams) {
      const oldest = this.oldest!;
      if (!oldest.closed) {
        this.flag(A.tcpTableFull);
        this.close(oldest, 'evicted', pkt);
      }
      this.remove(oldest);
    }
    const n = pkt.ipVersion === 6 ? 16 : 4;
    const stream: TcpStream = {
      id: this.nextId++,
      ipVersion: pkt.ipVersion,
      src: formatIP(pkt.src, 0, n),
      dst: formatIP(pkt.dst, 0, n),
      srcPort: pkt.srcPort,
      dstPort: pkt.dstPort,
      user: undefined,
    };
    const d = new Direction(key, stream);
    const peer = this.table.get(dirKey(pkt, true));
    if (peer) {
      d.peer = peer;
      peer.peer = d;
    }
    this.table.set(key, d);
    this.link(d);
    return d;
  }

  private segment(d: Direction, seq: number, buf: Uint8Array, off: number, len: number, fin: boolean, pkt: Packet): void {
    let rel = seqDiff(seq, d.next);
    if (rel < 0) {
      if (rel + len <= 0) {
        // Entirely old: a retransmission (or a keep-alive probe one byte back).
        if (len > 0) this.flag(A.tcpRetransmission);
        if (fin && rel + len === 0) this.finish(d, pkt);
        return;
      }
      this.flag(A.tcpRetransmission);
      off -= rel;
      len += rel;
      seq = d.next;
      rel = 0;
    }
    if (rel === 0) {
      if (len > 0) {
        d.next = (d.next + len) >>> 0;
        this.sink.data(d.stream, buf, off, len, pkt);
      }
      if (fin) this.finish(d, pkt);
      else this.drain(d, pkt);
      return;
    }
    this.flag(A.tcpOutOfOrder);
    while (
      d.ooo.length > 0 &&
      (d.oooBytes + len > this.maxPerStream || d.ooo.length >= this.maxSegs || this.buffered + len > this.maxTotal)
    ) {
      // Waiting longer for the hole would exceed a bound: give it up.
      this.flag(A.tcpBufferOverflow);
      this.skipHole(d, pkt);
      if (d.closed) return;
      rel = seqDiff(seq, d.next);
      if (rel <= 0) {
        this.segment(d, seq, buf, off, len, fin, pkt);
        return;
      }
    }
    if (len > this.maxPerStream || this.buffered + len > this.maxTotal) {
      // Cannot hold even this one segment: the hole before it is lost.
      this.flag(A.tcpBufferOverflow);
      this.gap(d, rel);
      d.next = seq;
      this.segment(d, seq, buf, off, len, fin, pkt);
      return;
    }
    const seg: Segment = { seq, data: buf.slice(off, off + len), fin };
    let i = d.ooo.length;
    while (i > 0 && seqDiff(d.ooo[i - 1]!.seq, seq) > 0) i--;
    d.ooo.splice(i, 0, seg);
    d.oooBytes += len;
    this.buffered += len;
  }

  /** Deliver held segments that have become contiguous. */
  private drain(d: Direction, pkt: Packet): void {
    while (d.ooo.length > 0 && !d.closed) {
      const s = d.ooo[0]!;
      const rel = seqDiff(s.seq, d.next);
      if (rel > 0) return;
      d.ooo.shift();
      d.oooBytes -= s.data.length;
      this.buffered -= s.data.length;
      const skip = -rel;
      if (skip < s.data.length) {
        d.next = (d.next + s.data.length - skip) >>> 0;
        this.sink.data(d.stream, s.data, skip, s.data.length - skip, pkt);
      } else if (skip > 0 || s.data.length > 0) this.flag(A.tcpRetransmission);
      if (s.fin && seqDiff((s.seq + s.data.length) >>> 0, d.next) === 0) this.finish(d, pkt);
    }
  }

  /** Give up on the hole before the first held segment, then deliver what follows it. */
  private skipHole(d: Direction, pkt: Packet | undefined): void {
    const first = d.ooo[0];
    if (!first) return;
    this.gap(d, seqDiff(first.seq, d.next));
    d.next = first.seq;
    if (pkt) this.drain(d, pkt);
    else this.discard(d);
  }

  private gap(d: Direction, missing: number): void {
    this.flag(A.tcpGap);
    this.sink.gap(d.stream, missing);
  }

  /** The other direction acknowledged `ack`: bytes below it reached the receiver. */
  private ackSeen(d: Direction, ack: number, pkt: Packet): void {
    if (d.closed || d.ooo.length === 0) return;
    // Only when the receiver has acknowledged into the held data is the hole proven lost by the capture.
    if (seqDiff(ack, d.ooo[0]!.seq) > 0) this.skipHole(d, pkt);
  }

  private finish(d: Direction, pkt: Packet): void {
    d.next = (d.next + 1) >>> 0;
    this.close(d, 'fin', pkt);
  }

  private close(d: Direction, reason: EndReason, pkt: Packet | undefined): void {
    if (reason !== 'fin') while (d.ooo.length > 0 && !d.closed) this.skipHole(d, pkt);
    this.discard(d);
    d.closed = true;
    this.sink.end(d.stream, reason);
  }

  private discard(d: Direction): void {
    this.buffered -= d.oooBytes;
    d.oooBytes = 0;
    d.ooo.length = 0;
  }

  private remove(d: Direction): void {
    this.discard(d);
    if (this.table.get(d.key) === d) {
      this.table.delete(d.key);
      this.unlink(d);
    }
    if (d.peer && d.peer.peer === d) d.peer.peer = undefined;
  }

  /** Append as the most recently active. */
  private link(d: Direction): void {
    d.older = this.newest;
    d.newer = undefined;
    if (this.newest) this.newest.newer = d;
    else this.oldest = d;
    this.newest = d;
  }

  private unlink(d: Direction): void {
    if (d.older) d.older.newer = d.newer;
    else this.oldest = d.newer;
    if (d.newer) d.newer.older = d.older;
    else this.newest = d.older;
    d.older = d.newer = undefined;
  }

  private touch(d: Direction): void {
    if (this.newest === d) return;
    this.unlink(d);
    this.link(d);
  }

  private expire(sec: number): void {
    const limit = sec - this.idle;
    for (let d = this.oldest; d !== undefined && d.lastSec < limit; d = this.oldest) {
      if (!d.closed) this.close(d, 'timeout', this.lastPkt);
      this.remove(d);
    }
  }

  private flag(name: string): void {
    this.anomalies.add(name);
  }
}
