/**
 * IP fragment reassembly for IPv4 (RFC 791) and IPv6 (RFC 8200), by capture time.
 *
 * Datagrams are keyed by (version, source, destination, identification), plus the protocol
 * for IPv4. Fragments may come in any order. Overlaps are resolved deterministically: bytes
 * already held win ("first wins"); a fragment that brings nothing new is a duplicate when its
 * bytes agree and an overlap when they do not. Memory is bounded by a datagram count and a
 * byte budget; the oldest datagram is evicted first. Fragments are rare in SIP traffic, so
 * this path may allocate (a key string and a buffer per datagram).
 */
import { A } from './anomaly-names.js';
import type { AnomalySink } from './packet.js';

export interface FragmentLimits {
  /** Datagrams being reassembled at once (default 1024). */
  maxDatagrams: number;
  /** Bytes of reassembly buffers in flight (default 8 MiB). */
  maxBytes: number;
  /** A datagram not completed this many seconds (capture time) after its first fragment is dropped (default 30, as Linux's ipfrag_time). */
  timeoutSec: number;
}

export const defaultFragmentLimits: FragmentLimits = { maxDatagrams: 1024, maxBytes: 8 * 1024 * 1024, timeoutSec: 30 };

/** Largest reassembled payload: IPv4's total length and IPv6's payload length are 16 bits. */
const MAX_DATAGRAM = 65535;

export const enum Frag {
  Held = 0,
  Done = 1,
  Dropped = 2,
}

class Datagram {
  buf: Uint8Array;
  /** Received byte ranges, merged and sorted: [start0, end0, start1, end1, ...]. */
  ranges: number[] = [];
  received = 0;
  /** Length of the whole payload once the last fragment was seen, -1 before. */
  total = -1;
  /** Upper-layer protocol (IPv6: from the fragment at offset 0; -1 until seen). */
  proto: number;
  constructor(
    readonly key: string,
    readonly firstSec: number,
    size: number,
    proto: number,
  ) {
    this.buf = new Uint8Array(size);
    this.proto = proto;
  }
}

export class FragmentTable {
  private readonly table = new Map<string, Datagram>();
  private bytes = 0;
  /** The last completed payload: out[0, outLen), valid until the next add(). */
  out: Uint8Array = new Uint8Array(0);
  outLen = 0;
  outProto = 0;

  constructor(
    private readonly a: AnomalySink,
    readonly limits: FragmentLimits = defaultFragmentLimits,
  ) {}

  get datagrams(): number {
    return this.table.size;
  }

  get bytesInFlight(): number {
    return this.bytes;
  }

  /**
   * Add one fragment's data (buf[off, off + len) at byte `fragOff` of the payload). `proto`
   * is the upper-layer protocol when this fragment knows it (IPv4 always; IPv6 when
   * fragOff is 0), else -1. Returns Done with out/outLen/outProto set when it completes one.
   */
  add(key: string, proto: number, fragOff: number, more: boolean, buf: Uint8Array, off: number, len: number, sec: number): Frag {
    this.expire(sec);
    const fend = fragOff + len;
    let d = this.table.get(key);
    if (fend > MAX_DATAGRAM) {
      this.a.flag(A.fragTooLarge);
      if (d) this.drop(d);
      return Frag.Dropped;
    }
    if (!d) {
      while (this.table.size >= this.limits.maxDatagrams) this.evictOldest();
      const size = Math.max(more ? 2048 : fend, fend);
      this.reserve(size);
      d = new Datagram(key, sec, size, -1);
      this.table.set(key, d);
      this.bytes += size;
    }
    if (proto >= 0 && fragOff === 0) d.proto = proto;
    else if (proto >= 0 && d.proto < 0) d.proto = proto;

    if (!more) {
      if ((d.total >= 0 && d.total !== fend) || (d.ranges.length > 0 && d.ranges[d.ranges.length - 1]! > fend)) {
        this.a.flag(A.fragInconsistent);
        this.drop(d);
        return Frag.Dropped;
      }
      d.total = fend;
    } else if (d.total >= 0 && fend > d.total) {
      this.a.flag(A.fragInconsistent);
      this.drop(d);
      return Frag.Dropped;
    }

    if (fend > d.buf.length) {
      let size = d.buf.length;
      while (size < fend) size *= 2;
      if (size > MAX_DATAGRAM) size = MAX_DATAGRAM;
      this.reserve(size - d.buf.length, d);
      const nb = new Uint8Array(size);
      nb.set(d.buf);
      this.bytes += size - d.buf.length;
      d.buf = nb;
    }

    const copied = this.fill(d, fragOff, buf, off, len);
    if (copied === 0 && len > 0) {
      this.a.flag(this.sameBytes(d, fragOff, buf, off, len) ? A.fragDuplicate : A.fragOverlap);
    } else if (copied < len) {
      this.a.flag(A.fragOverlap);
    }

    if (d.total >= 0 && d.received === d.total) {
      this.table.delete(d.key);
      this.bytes -= d.buf.length;
      this.out = d.buf;
      this.outLen = d.total;
      this.outProto = d.proto;
      return Frag.Done;
    }
    return Frag.Held;
  }

  /** Drop datagrams whose first fragment is older than the timeout. */
  expire(sec: number): void {
    if (this.table.size === 0) return;
    const limit = sec - this.limits.timeoutSec;
    // Insertion order is first-fragment order (up to capture-time disorder, which only delays).
    for (const d of this.table.values()) {
      if (d.firstSec >= limit) break;
      this.a.flag(A.fragTimeout);
      this.drop(d);
    }
  }

  /** End of input: whatever is still held never completed. Returns how many. */
  finish(): number {
    const n = this.table.size;
    for (const d of [...this.table.values()]) {
      this.a.flag(A.fragIncomplete);
      this.drop(d);
    }
    return n;
  }

  /** Evict oldest datagrams (never `keep`) until `need` more bytes fit the budget. */
  private reserve(need: number, keep?: Datagram): void {
    while (this.bytes + need > this.limits.maxBytes) {
      let victim: Datagram | undefined;
      for (const d of this.table.values()) {
        if (d !== keep) {
          victim = d;
          break;
        }
      }
      if (!victim) return;
      this.a.flag(A.fragTableFull);
      this.drop(victim);
    }
  }

  private evictOldest(): void {
    const first = this.table.values().next();
    if (first.done) return;
    this.a.flag(A.fragTableFull);
    this.drop(first.value);
  }

  private drop(d: Datagram): void {
    if (this.table.delete(d.key)) this.bytes -= d.buf.length;
  }

  /** Copy the parts of [s, s+len) no range covers yet; merge the range in. Returns bytes copied. */
  private fill(d: Datagram, s: number, buf: Uint8Array, off: number, len: number): number {
    const e = s + len;
    const r = d.ranges;
    let cur = s;
    let copied = 0;
    for (let i = 0; i < r.length && cur < e; i += 2) {
      const rs = r[i]!;
      const re = r[i + 1]!;
      if (re <= cur) continue;
      if (rs >= e) break;
      if (rs > cur) {
        d.buf.set(buf.subarray(off + (cur - s), off + (rs - s)), cur);
        copied += rs - cur;
      }
      cur = re;
    }
    if (cur < e) {
      d.buf.set(buf.subarray(off + (cur - s), off + len), cur);
      copied += e - cur;
    }
    d.received += copied;
    // Merge [s, e) into the sorted list.
    const merged: number[] = [];
    let ns = s;
    let ne = e;
    let placed = false;
    for (let i = 0; i < r.length; i += 2) {
      const rs = r[i]!;
      const re = r[i + 1]!;
      if (re < ns) merged.push(rs, re);
      else if (rs > ne) {
        if (!placed) {
          merged.push(ns, ne);
          placed = true;
        }
        merged.push(rs, re);
      } else {
        ns = Math.min(ns, rs);
        ne = Math.max(ne, re);
      }
    }
    if (!placed) merged.push(ns, ne);
    d.ranges = merged;
    return copied;
  }

  private sameBytes(d: Datagram, s: number, buf: Uint8Array, off: number, len: number): boolean {
    for (let i = 0; i < len; i++) if (d.buf[s + i] !== buf[off + i]) return false;
    return true;
  }
}
