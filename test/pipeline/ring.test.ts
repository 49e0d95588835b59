import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { newRingBuffer, RingReader, RingWriter } from '../../src/pipeline/ring.js';

const builtRing = join(resolve(__dirname, '..', '..'), 'dist', 'pipeline', 'ring.js');

/** A deterministic stream of sizes: small, large, and ones that end exactly at the ring's end. */
function* sizes(seed: number): Generator<number> {
  let x = seed;
  for (;;) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    yield 8 + ((x >>> 8) % 200);
  }
}

describe('RingWriter / RingReader', () => {
  it('hands records over in order, with their contents, through many wraps of a small ring', () => {
    const cap = 1024;
    const sab = newRingBuffer(cap);
    const w = new RingWriter(sab, cap);
    const r = new RingReader(sab, cap);
    const gen = sizes(7);
    let written = 0;
    let read = 0;
    let wrapsSeen = 0;
    let lastAt = 0;
    // The writer writes until the ring is full, then the reader reads some: both ends move
    // through every position, and a record never straddles the end.
    for (let round = 0; round < 3000; round++) {
      // At most 128 records of 8 bytes fit: more means the writer overran the reader.
      for (let k = 0; ; k++) {
        if (k > 128) expect.fail('the writer wrote past the reader');
        const size = gen.next().value;
        const at = w.tryReserve(size);
        if (at < 0) break;
        expect(at % 8).toBe(0);
        expect(at - 32 + size).toBeLessThanOrEqual(cap);
        w.i32[at >> 2] = 1;
        w.i32[(at >> 2) + 1] = size;
        for (let i = 8; i < size; i++) w.u8[at + i] = (written + i) & 0xff;
        w.commit(at, size);
        written++;
      }
      w.publish();
      const take = 1 + (round % 5);
      for (let k = 0; k < take; k++) {
        const at = r.next();
        if (at < 0) break;
        if (at < lastAt) wrapsSeen++;
        lastAt = at;
        const size = r.i32[(at >> 2) + 1]!;
        expect(r.i32[at >> 2]).toBe(1);
        for (let i = 8; i < size; i++) if (r.u8[at + i] !== ((read + i) & 0xff)) expect.fail(`record ${read}, byte ${i}`);
        r.advance(size);
        read++;
      }
      r.release();
    }
    // Then the rest.
    for (let at = r.next(); at >= 0; at = r.next()) {
      r.advance(r.i32[(at >> 2) + 1]!);
      read++;
    }
    expect(read).toBe(written);
    expect(written).toBeGreaterThan(5000);
    expect(wrapsSeen).toBeGreaterThan(100);
  });

  it('never lets the writer catch up with the reader: a full ring refuses, a read frees room', () => {
    const cap = 1024;
    const sab = newRingBuffer(cap);
    const w = new RingWriter(sab, cap);
    const r = new RingReader(sab, cap);
    let n = 0;
    for (let at = w.tryReserve(64); at >= 0 && n < 100; at = w.tryReserve(64)) {
      w.i32[(at >> 2) + 1] = 64;
      w.commit(at, 64);
      n++;
    }
    // 1024 bytes hold 15 records of 64, not 16: equal positions would read as empty.
    expect(n).toBe(15);
    w.publish();
    const at = r.next();
    r.advance(r.i32[(at >> 2) + 1]!);
    expect(w.tryReserve(64)).toBe(-1);
    r.release();
    expect(w.tryReserve(64)).toBeGreaterThanOrEqual(0);
  });

  it('goes back to the start only when the reader is past the whole record there', () => {
    const cap = 1024;
    const sab = newRingBuffer(cap);
    const w = new RingWriter(sab, cap);
    const r = new RingReader(sab, cap);
    const put = (size: number): number => {
      const at = w.tryReserve(size);
      if (at >= 0) {
        w.i32[(at >> 2) + 1] = size;
        w.commit(at, size);
      }
      return at;
    };
    const take = (): void => {
      const at = r.next();
      r.advance(r.i32[(at >> 2) + 1]!);
      r.release();
    };
    put(72);
    for (let i = 0; i < 14; i++) expect(put(64)).toBeGreaterThan(0);
    w.publish();
    // 968 bytes used, 56 left at the end: a record of 72 must go to the start, where the
    // reader, having read the first 72, would be exactly where the record ends.
    take();
    expect(put(72)).toBe(-1);
    take();
    expect(put(72)).toBe(32);
  });

  it('refuses a record larger than half the ring', () => {
    const w = new RingWriter(newRingBuffer(1024), 1024);
    expect(() => w.tryReserve(600)).toThrow(/larger than half/);
  });

  // A worker needs JavaScript it can load: the built module (npm test builds it first).
  it.skipIf(!existsSync(builtRing))('wakes a waiting side at once: a writer in another thread waits for room, the reader for records', async () => {
    const cap = 1024;
    const n = 400;
    const sab = newRingBuffer(cap);
    // First the reader pauses after every 7 records, so the writer fills the ring (15 records)
    // and waits for room; then the writer pauses after every 10, so the reader catches up and
    // waits for records. A side woken only by its wait's 1 s timeout, not by the other's
    // notify, would take tens of seconds.
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
      import(workerData.ring).then(({ RingWriter }) => {
        const w = new RingWriter(workerData.sab, workerData.cap);
        const nap = new Int32Array(new SharedArrayBuffer(4));
        for (let i = 0; i < workerData.n; i++) {
          const at = w.reserve(64);
          w.i32[at >> 2] = 1;
          w.i32[(at >> 2) + 1] = i;
          w.commit(at, 64);
          if (i >= workerData.n / 2 && i % 10 === 9) {
            w.publish();
            Atomics.wait(nap, 0, 0, 2);
          }
        }
        w.close();
      });`,
      { eval: true, workerData: { ring: pathToFileURL(builtRing).href, sab, cap, n } },
    );
    const r = new RingReader(sab, cap);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const started = performance.now();
    let waits = 0;
    for (let i = 0; i < n; ) {
      const at = r.next();
      if (at < 0) {
        waits++;
        await r.wait();
        continue;
      }
      expect(r.i32[(at >> 2) + 1]).toBe(i);
      r.advance(64);
      if (++i < n / 2 && i % 7 === 0) {
        r.release();
        Atomics.wait(nap, 0, 0, 2);
      }
    }
    await new Promise((done) => worker.once('exit', done));
    expect(waits).toBeGreaterThan(10);
    expect(performance.now() - started).toBeLessThan(5_000);
  }, 60_000);
});
