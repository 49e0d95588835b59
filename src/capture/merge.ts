/**
 * Several inputs as one stream in timestamp order (rotated tcpdump -C/-G files, one capture per
 * host). A k-way merge of the readers' current heads: each reader fills its own Frame, a small
 * binary heap picks the earliest, and that reader only advances on the following call, so the
 * emitted bytes stay valid until then. Files are not assumed to be sorted inside (multi-
 * interface pcapng is not); the merge only orders heads, as mergecap does.
 */
import { StalepinError } from '../core/errors.js';
import { openCapture } from './open.js';
import { ReadStatus, type CaptureReader, type FrameSource, type ReaderContext } from './reader.js';
import { newFrame, type Frame } from './types.js';

export class MergeReader implements FrameSource {
  private readonly heads: Frame[];
  /** Reader indices with a valid head, as a binary min-heap on (sec, nsec, index). */
  private readonly heap: number[] = [];
  /** Readers whose head must be (re)read before the next pick, in order. */
  private readonly todo: number[];
  /** Reader that reported NeedData, or -1. */
  private starving = -1;

  constructor(readonly readers: CaptureReader[]) {
    this.heads = readers.map(() => newFrame());
    this.todo = readers.map((_, i) => i);
  }

  next(out: Frame): ReadStatus {
    const todo = this.todo;
    while (todo.length > 0) {
      const i = todo[todo.length - 1]!;
      const st = this.readers[i]!.next(this.heads[i]!);
      if (st === ReadStatus.NeedData) {
        this.starving = i;
        return ReadStatus.NeedData;
      }
      todo.pop();
      if (st === ReadStatus.Frame) this.push(i);
    }
    if (this.heap.length === 0) return ReadStatus.End;
    const i = this.pop();
    const h = this.heads[i]!;
    out.sec = h.sec;
    out.nsec = h.nsec;
    out.precision = h.precision;
    out.ifIndex = h.ifIndex;
    out.linkType = h.linkType;
    out.buf = h.buf;
    out.off = h.off;
    out.capLen = h.capLen;
    out.origLen = h.origLen;
    out.source = h.source;
    out.recordOffset = h.recordOffset;
    todo.push(i);
    return ReadStatus.Frame;
  }

  fill(): Promise<void> {
    const i = this.starving;
    this.starving = -1;
    return i < 0 ? Promise.resolve() : this.readers[i]!.fill();
  }

  async close(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.close()));
  }

  private less(a: number, b: number): boolean {
    const x = this.heads[a]!;
    const y = this.heads[b]!;
    if (x.sec !== y.sec) return x.sec < y.sec;
    if (x.nsec !== y.nsec) return x.nsec < y.nsec;
    return a < b;
  }

  private push(i: number): void {
    const h = this.heap;
    let c = h.length;
    h.push(i);
    while (c > 0) {
      const parent = (c - 1) >> 1;
      if (!this.less(h[c]!, h[parent]!)) break;
      const t = h[c]!;
      h[c] = h[parent]!;
      h[parent] = t;
      c = parent;
    }
  }

  private pop(): number {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let c = 0;
      for (;;) {
        const l = 2 * c + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const m = r < h.length && this.less(h[r]!, h[l]!) ? r : l;
        if (!this.less(h[m]!, h[c]!)) break;
        const t = h[c]!;
        h[c] = h[m]!;
        h[m] = t;
        c = m;
      }
    }
    return top;
  }
}

/**
 * Open every input (all up front, so a bad file fails before any work) and return one source:
 * the reader itself for one input, a MergeReader for several. Frame.source is the input's index.
 */
export async function openCaptures(paths: string[], ctx: ReaderContext): Promise<{ source: FrameSource; readers: CaptureReader[] }> {
  if (paths.filter((p) => p === '-').length > 1) throw new StalepinError('bad_usage', 'standard input ("-") can be given only once');
  const readers: CaptureReader[] = [];
  try {
    for (let i = 0; i < paths.length; i++) readers.push(await openCapture(paths[i]!, i, ctx));
  } catch (e) {
    await Promise.all(readers.map((r) => r.close()));
    throw e;
  }
  return { source: readers.length === 1 ? readers[0]! : new MergeReader(readers), readers };
}

/**
 * Drive the frames of one or many inputs through `cb` in timestamp order; `cb` returns false to
 * stop early. The Frame passed to cb is reused: copy what must outlive the call. Resolves to the
 * number of frames delivered.
 */
export async function forEachFrame(paths: string[], ctx: ReaderContext, cb: (f: Frame) => void | false): Promise<number> {
  const { source } = await openCaptures(paths, ctx);
  const f = newFrame();
  let n = 0;
  try {
    for (;;) {
      const st = source.next(f);
      if (st === ReadStatus.Frame) {
        n++;
        if (cb(f) === false) break;
      } else if (st === ReadStatus.NeedData) await source.fill();
      else break;
    }
  } finally {
    await source.close();
  }
  return n;
}
