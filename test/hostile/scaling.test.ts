/**
 * Tables bounded by eviction must also stay fast at their bound: a hostile capture that keeps a
 * table full makes every packet pay for finding the oldest entry. Per-message cost with a large
 * table is compared with a small one (ratios, so a slow machine does not fail them).
 */
import { describe, expect, it } from 'vitest';
import { tcpRoundRobin } from './tcp-streams.js';
import { evictionRun } from './tracker-eviction.js';

function best<T>(n: number, f: () => T, key: (t: T) => number): number {
  let m = Infinity;
  for (let i = 0; i < n; i++) m = Math.min(m, key(f()));
  return m;
}

describe('eviction cost at the bound', () => {
  it('TCP reassembly: 16,000 active directions cost about what 10 do per segment', () => {
    const few = best(3, () => tcpRoundRobin(10, 200_000), (r) => r.usPerSegment);
    const many = best(3, () => tcpRoundRobin(16_000, 200_000), (r) => r.usPerSegment);
    // Before the activity list: 4.1 us against 0.4 (walks over deleted Map slots).
    expect(many / few).toBeLessThan(4);
  }, 60_000);

  it('TCP reassembly: evicting at the 16,384-direction bound stays cheap', () => {
    const r = tcpRoundRobin(20_000, 200_000);
    expect(r.evicted).toBeGreaterThan(150_000);
    const few = best(3, () => tcpRoundRobin(10, 200_000), (x) => x.usPerSegment);
    // Before: 12 us per segment against 0.4.
    expect(r.usPerSegment / few).toBeLessThan(15);
  }, 60_000);

  // Taking the oldest entry with `map.values().next()` walked every slot deleted since V8 last
  // rehashed the Map (~50 us per eviction at the default bounds: 1,000,000 distinct Call-IDs
  // took 208 s instead of ~20 s); live transactions and calls are now intrusive lists.
  it('SIP tracker: evicting at a 100,000-transaction bound costs about what it does at 1,000', () => {
    const small = best(2, () => evictionRun(200_000, 1_000), (r) => r.msPerMessage);
    const large = evictionRun(200_000, 100_000);
    expect(large.evicted).toBe(100_000);
    expect(large.msPerMessage / small).toBeLessThan(3);
  }, 120_000);
});
