/**
 * The packets a run saw: how many, and the earliest and latest capture time, kept in place
 * (a new Stamp per packet would be garbage at once). The analyzer keeps one; the reading thread
 * of a split `analyze` keeps its own and hands it over at its end (sip/threaded.ts).
 */
import { stamp, type Stamp } from './types.js';

/** The analyzer lets capture time drive the tracker's timers every this many packets. */
export const ADVANCE_EVERY = 1024;

/** A span as it crosses threads. */
export interface PacketSpanFields {
  count: number;
  lo: Stamp;
  hi: Stamp;
}

export class PacketSpan implements PacketSpanFields {
  count = 0;
  readonly lo = stamp(0, 0, 0);
  readonly hi = stamp(0, 0, 0);

  /** Count one packet; true when the timers are due after it (every ADVANCE_EVERY-th). */
  add(f: Stamp): boolean {
    const lo = this.lo;
    const hi = this.hi;
    const first = this.count === 0;
    if (first || f.sec < lo.sec || (f.sec === lo.sec && f.nsec < lo.nsec)) set(lo, f);
    if (first || f.sec > hi.sec || (f.sec === hi.sec && f.nsec > hi.nsec)) set(hi, f);
    return ++this.count % ADVANCE_EVERY === 0;
  }

  /** Take in a span counted elsewhere. */
  merge(o: PacketSpanFields): void {
    if (o.count === 0) return;
    if (this.count === 0) {
      set(this.lo, o.lo);
      set(this.hi, o.hi);
    } else {
      if (o.lo.sec < this.lo.sec || (o.lo.sec === this.lo.sec && o.lo.nsec < this.lo.nsec)) set(this.lo, o.lo);
      if (o.hi.sec > this.hi.sec || (o.hi.sec === this.hi.sec && o.hi.nsec > this.hi.nsec)) set(this.hi, o.hi);
    }
    this.count += o.count;
  }

  /** Earliest packet time (undefined before the first packet); a copy. */
  get first(): Stamp | undefined {
    return this.count > 0 ? { ...this.lo } : undefined;
  }
  /** Latest packet time; a copy. */
  get last(): Stamp | undefined {
    return this.count > 0 ? { ...this.hi } : undefined;
  }

  fields(): PacketSpanFields {
    return { count: this.count, lo: { ...this.lo }, hi: { ...this.hi } };
  }
}

function set(s: Stamp, f: Stamp): void {
  s.sec = f.sec;
  s.nsec = f.nsec;
  s.precision = f.precision;
}
