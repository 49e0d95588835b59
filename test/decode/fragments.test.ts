/** FragmentTable bounds and ordering cases, driven directly (the fixtures cover the decoder path). */
import { describe, expect, it } from 'vitest';
import { Frag, FragmentTable, type FragmentLimits } from '../../src/decode/fragments.js';

class Counter {
  readonly n = new Map<string, number>();
  flag(name: string): void {
    this.n.set(name, (this.n.get(name) ?? 0) + 1);
  }
  get(name: string): number {
    return this.n.get(name) ?? 0;
  }
}

const bytes = (len: number, seed: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (i * 7 + seed) & 0xff);

/** A fragment: datagram key, offset, length, more flag, time. Data is the datagram's bytes at that offset. */
interface F {
  k: string;
  off: number;
  len: number;
  more: boolean;
  t?: number;
  /** Datagram byte range [from, to) this fragment carries other bytes for (overlap cases). */
  garble?: [number, number];
}

interface Case {
  name: string;
  limits?: Partial<FragmentLimits>;
  frags: F[];
  /** Result of each add. */
  want: Frag[];
  anomalies: Record<string, number>;
  /** Datagrams still held at the end. */
  held: number;
}

const D = bytes(3000, 1);

const cases: Case[] = [
  {
    name: 'in order',
    frags: [
      { k: 'a', off: 0, len: 1000, more: true },
      { k: 'a', off: 1000, len: 1000, more: true },
      { k: 'a', off: 2000, len: 1000, more: false },
    ],
    want: [Frag.Held, Frag.Held, Frag.Done],
    anomalies: {},
    held: 0,
  },
  {
    name: 'reversed',
    frags: [
      { k: 'a', off: 2000, len: 1000, more: false },
      { k: 'a', off: 1000, len: 1000, more: true },
      { k: 'a', off: 0, len: 1000, more: true },
    ],
    want: [Frag.Held, Frag.Held, Frag.Done],
    anomalies: {},
    held: 0,
  },
  {
    name: 'two datagrams interleaved',
    frags: [
      { k: 'a', off: 0, len: 1000, more: true },
      { k: 'b', off: 1000, len: 500, more: false },
      { k: 'a', off: 1000, len: 8, more: false },
      { k: 'b', off: 0, len: 1000, more: true },
    ],
    want: [Frag.Held, Frag.Held, Frag.Done, Frag.Done],
    anomalies: {},
    held: 0,
  },
  {
    name: 'overlap with other bytes: first arrival wins, counted',
    frags: [
      { k: 'a', off: 0, len: 1000, more: true },
      { k: 'a', off: 2000, len: 1000, more: false },
      { k: 'a', off: 992, len: 1016, more: true, garble: [992, 1000] },
    ],
    want: [Frag.Held, Frag.Held, Frag.Done],
    anomalies: { ip_fragment_overlap: 1 },
    held: 0,
  },
  {
    name: 'fully covered fragment with other bytes is an overlap, with the same bytes a duplicate',
    frags: [
      { k: 'a', off: 0, len: 1000, more: true },
      { k: 'a', off: 0, len: 1000, more: true },
      { k: 'a', off: 8, len: 16, more: true, garble: [8, 24] },
      { k: 'a', off: 1000, len: 8, more: false },
    ],
    want: [Frag.Held, Frag.Held, Frag.Held, Frag.Done],
    anomalies: { ip_fragment_duplicate: 1, ip_fragment_overlap: 1 },
    held: 0,
  },
  {
    name: 'never completed: timeout by capture time',
    limits: { timeoutSec: 30 },
    frags: [
      { k: 'a', off: 0, len: 1000, more: true, t: 100 },
      { k: 'b', off: 0, len: 1000, more: true, t: 120 },
      { k: 'c', off: 0, len: 1000, more: true, t: 131 },
      { k: 'a', off: 1000, len: 8, more: false, t: 131 },
    ],
    want: [Frag.Held, Frag.Held, Frag.Held, Frag.Held],
    anomalies: { ip_fragment_timeout: 1 },
    held: 3,
  },
  {
    name: 'datagram count bound evicts the oldest',
    limits: { maxDatagrams: 2 },
    frags: [
      { k: 'a', off: 0, len: 100, more: true },
      { k: 'b', off: 0, len: 100, more: true },
      { k: 'c', off: 0, len: 100, more: true },
      { k: 'b', off: 100, len: 8, more: false },
    ],
    want: [Frag.Held, Frag.Held, Frag.Held, Frag.Done],
    anomalies: { ip_fragment_table_full: 1 },
    held: 1,
  },
  {
    name: 'byte budget evicts the oldest',
    limits: { maxBytes: 5000 },
    frags: [
      { k: 'a', off: 0, len: 2000, more: true },
      { k: 'b', off: 0, len: 2000, more: true },
      { k: 'c', off: 0, len: 2000, more: true },
    ],
    want: [Frag.Held, Frag.Held, Frag.Held],
    anomalies: { ip_fragment_table_full: 1 },
    held: 2,
  },
  {
    name: 'beyond 65535 bytes is dropped',
    frags: [
      { k: 'a', off: 0, len: 8, more: true },
      { k: 'a', off: 65528, len: 16, more: false },
    ],
    want: [Frag.Held, Frag.Dropped],
    anomalies: { ip_fragment_too_large: 1 },
    held: 0,
  },
  {
    name: 'two different ends are inconsistent',
    frags: [
      { k: 'a', off: 1000, len: 8, more: false },
      { k: 'a', off: 1000, len: 16, more: false },
    ],
    want: [Frag.Held, Frag.Dropped],
    anomalies: { ip_fragment_inconsistent: 1 },
    held: 0,
  },
];

describe('FragmentTable', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const a = new Counter();
    const t = new FragmentTable(a, { maxDatagrams: 1024, maxBytes: 8 << 20, timeoutSec: 30, ...c.limits });
    const got: Frag[] = [];
    let last: Uint8Array | undefined;
    for (const f of c.frags) {
      const data = D.slice();
      if (f.garble) data.fill(0xee, f.garble[0], f.garble[1]);
      const r = t.add(f.k, 17, f.off, f.more, data, f.off, f.len, f.t ?? 100);
      got.push(r);
      if (r === Frag.Done) last = t.out.slice(0, t.outLen);
    }
    expect(got).toEqual(c.want);
    expect(Object.fromEntries(a.n)).toEqual(c.anomalies);
    expect(t.datagrams).toBe(c.held);
    if (last) {
      // Whatever the order or overlap, the datagram is the original bytes.
      expect(Buffer.compare(last, D.subarray(0, last.length))).toBe(0);
      expect(t.outProto).toBe(17);
    }
    const before = t.datagrams;
    expect(t.finish()).toBe(before);
    expect(t.bytesInFlight).toBe(0);
  });
});
