/**
 * A byte ring in a SharedArrayBuffer from one thread to one other: the writer appends records,
 * the reader takes them in order. Used to hand dissected SIP messages from the reading thread
 * to the tracking one (sip/threaded.ts) without a message event, a copy into the receiving
 * isolate or an object per message.
 *
 * Records are 8-byte aligned and never wrap: one that does not fit before the end goes to the
 * start, after a WRAP word where there was room for one. Positions are byte offsets in the data
 * area; the ring is empty when the two are equal, so the writer never fills it to the last
 * byte. Each side publishes its position with an atomic store, in batches (the writer when it
 * has written PUBLISH_BYTES or must wait, the reader when it has read a batch), and notifies
 * only when the other side has said it waits.
 */

/** Control words before the data area (int32 each, 8 of them). */
const enum Ctl {
  Write = 0,
  Read = 1,
  /** The writer has written its last record. */
  Closed = 2,
  /** The reader asks the writer to stop (an interrupted run). */
  Stop = 3,
  /** The writer waits for room (1): only then does a release need a notify. */
  WriterWaits = 4,
  /** The reader waits for records (1): only then does a publish need a notify. */
  ReaderWaits = 5,
}

/** Where the data area starts in the buffer. */
export const RING_DATA = 32;
/** Record type of the word that sends the reader back to the start. */
const RING_WRAP = 0x7f;
const PUBLISH_BYTES = 64 * 1024;

// In Node since 16; TypeScript declares it from lib es2024 on.
type WaitAsync = (a: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * A buffer for a ring of `dataBytes`, then `extraBytes` (a multiple of 8) the two sides may use
 * as they agree: the views below cover all of it, so a record can be copied to or from there
 * with copyWithin, without a view made per record.
 */
export function newRingBuffer(dataBytes: number, extraBytes = 0): SharedArrayBuffer {
  if (dataBytes % 8 !== 0 || dataBytes < 1024 || extraBytes % 8 !== 0) throw new RangeError('ring sizes must be multiples of 8, the ring at least 1024 bytes');
  return new SharedArrayBuffer(RING_DATA + dataBytes + extraBytes);
}

/**
 * Views over the whole buffer. Record offsets are byte offsets into the buffer (the data area
 * starts at RING_DATA); the two sides keep positions relative to the data area.
 */
class RingViews {
  readonly ctl: Int32Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;
  /** Bytes of the data area. */
  readonly cap: number;
  constructor(sab: SharedArrayBuffer, dataBytes: number) {
    this.ctl = new Int32Array(sab, 0, RING_DATA / 4);
    this.cap = dataBytes;
    this.i32 = new Int32Array(sab);
    this.f64 = new Float64Array(sab, 0, sab.byteLength >> 3);
    this.u8 = new Uint8Array(sab);
  }
}

export class RingWriter extends RingViews {
  /** Where the next record goes (not yet published when ahead of ctl[Write]). */
  private w = 0;
  private published = 0;
  /** The reader's position as tryReserve() last loaded it. */
  private seenRead = 0;

  /**
   * Room for a record of `bytes` (rounded up to 8): returns its byte offset in the buffer.
   * Blocks while the reader has not made room. Write the record there, then call commit().
   */
  reserve(bytes: number): number {
    for (;;) {
      const at = this.tryReserve(bytes);
      if (at >= 0) return at;
      this.publish();
      // Said before waiting, on the position tryReserve saw: a reader that moved after this
      // store sees it and notifies, one that moved before makes the wait return at once.
      Atomics.store(this.ctl, Ctl.WriterWaits, 1);
      Atomics.wait(this.ctl, Ctl.Read, this.seenRead, 1000);
      Atomics.store(this.ctl, Ctl.WriterWaits, 0);
    }
  }

  /** reserve() without waiting: -1 when the reader has not made room yet. */
  tryReserve(bytes: number): number {
    const size = (bytes + 7) & ~7;
    if (size > this.cap / 2) throw new RangeError(`ring record of ${size} bytes is larger than half the ring`);
    const r = (this.seenRead = Atomics.load(this.ctl, Ctl.Read));
    const w = this.w;
    if (w >= r) {
      if (this.cap - w > size || (this.cap - w === size && r > 0)) return RING_DATA + w;
      // To the start, if the reader is past what the record needs there (and not at 0:
      // equal positions would read as empty).
      if (r > size) {
        this.i32[(RING_DATA + w) >> 2] = RING_WRAP;
        this.w = 0;
        return RING_DATA;
      }
    } else if (r - w > size) return RING_DATA + w;
    return -1;
  }

  /** The record at the offset reserve() gave is written: `bytes` as passed to reserve(). */
  commit(at: number, bytes: number): void {
    let w = at - RING_DATA + ((bytes + 7) & ~7);
    if (w === this.cap) w = 0;
    this.w = w;
    if (((w - this.published) & 0x7fffffff) >= PUBLISH_BYTES || w < this.published) this.publish();
  }

  /** Make every committed record visible to the reader. */
  publish(): void {
    if (this.published === this.w) return;
    this.published = this.w;
    Atomics.store(this.ctl, Ctl.Write, this.w);
    // A notify takes a lock in V8 even with no one waiting (no wall-time gain measured, though).
    if (Atomics.load(this.ctl, Ctl.ReaderWaits) === 1) Atomics.notify(this.ctl, Ctl.Write);
  }

  /** No more records. */
  close(): void {
    this.publish();
    Atomics.store(this.ctl, Ctl.Closed, 1);
    Atomics.notify(this.ctl, Ctl.Write);
  }

  /** Has the reader asked to stop? */
  get stopRequested(): boolean {
    return Atomics.load(this.ctl, Ctl.Stop) === 1;
  }
}

export class RingReader extends RingViews {
  /** Called before the space read so far goes back to the writer (a reader still using some copies it out). */
  beforeRelease: (() => void) | undefined = undefined;
  private r = 0;
  /** The writer's published position, as last loaded. */
  private end = 0;

  /**
   * Offset of the next record, or -1 when none is published yet. After reading it, call
   * advance() with its size.
   */
  next(): number {
    if (this.r === this.end) {
      this.release();
      this.end = Atomics.load(this.ctl, Ctl.Write);
      if (this.r === this.end) return -1;
    }
    if (this.i32[(RING_DATA + this.r) >> 2] === RING_WRAP) {
      this.r = 0;
      if (this.r === this.end) return -1;
    }
    return RING_DATA + this.r;
  }

  /** The record at next()'s offset, of `bytes` (rounded up to 8), is read. */
  advance(bytes: number): void {
    let r = this.r + ((bytes + 7) & ~7);
    if (r === this.cap) r = 0;
    this.r = r;
  }

  /** Give the space read so far back to the writer. */
  release(): void {
    this.beforeRelease?.();
    Atomics.store(this.ctl, Ctl.Read, this.r);
    if (Atomics.load(this.ctl, Ctl.WriterWaits) === 1) Atomics.notify(this.ctl, Ctl.Read);
  }

  /** Wait (without blocking the event loop) until the writer publishes or closes. */
  async wait(): Promise<void> {
    const seen = Atomics.load(this.ctl, Ctl.Write);
    if (seen !== this.r || Atomics.load(this.ctl, Ctl.Closed) === 1) return;
    this.release();
    // As the writer's reserve(): said before the wait's value is checked.
    Atomics.store(this.ctl, Ctl.ReaderWaits, 1);
    const res = waitAsync(this.ctl, Ctl.Write, seen, 1000);
    if (res.async) await res.value;
    Atomics.store(this.ctl, Ctl.ReaderWaits, 0);
  }

  /** Ask the writer to stop. */
  stop(): void {
    Atomics.store(this.ctl, Ctl.Stop, 1);
    this.release();
  }
}
