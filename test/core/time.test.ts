import { describe, expect, it } from 'vitest';
import { diffNs, formatIso, parseDuration, parseTime } from '../../src/core/time.js';

describe('formatIso', () => {
  it('prints exactly `precision` fraction digits from nsec, UTC', () => {
    expect(formatIso(1_700_000_000, 5, 9)).toBe('2023-11-14T22:13:20.000000005Z');
    expect(formatIso(1_700_000_000, 123_456_789, 6)).toBe('2023-11-14T22:13:20.123456Z');
    expect(formatIso(1_700_000_000, 123_456_789, 0)).toBe('2023-11-14T22:13:20Z');
    expect(formatIso(1_700_000_000, 999_999_999, 3)).toBe('2023-11-14T22:13:20.999Z');
    expect(formatIso(0, 0, 9)).toBe('1970-01-01T00:00:00.000000000Z');
  });

  it('gives the same answer whatever was printed before (the per-second cache)', () => {
    const seq: [number, number][] = [
      [1_700_000_000, 1],
      [1_700_000_000, 200_000_000],
      [1_700_000_001, 0],
      [1_700_000_000, 7],
      [-1, 500_000_000],
      [1_700_000_000, 7],
    ];
    const alone = seq.map(([s, n]) => {
      const d = new Date(s * 1000).toISOString().slice(0, 19);
      return `${d}.${String(n).padStart(9, '0')}Z`;
    });
    expect(seq.map(([s, n]) => formatIso(s, n, 9))).toEqual(alone);
  });

  it('a second Date cannot hold is printed raw, not thrown', () => {
    expect(formatIso(1e16, 5, 9)).toBe('@10000000000000000.000000005');
    expect(formatIso(1_700_000_000, 5, 9)).toBe('2023-11-14T22:13:20.000000005Z');
  });
});

describe('parseTime, parseDuration, diffNs', () => {
  it('reads ISO with offsets and epoch with a fraction', () => {
    expect(parseTime('2023-11-14T22:13:20.5Z')).toEqual({ sec: 1_700_000_000, nsec: 500_000_000 });
    expect(parseTime('2023-11-14T23:13:20+01:00')).toEqual({ sec: 1_700_000_000, nsec: 0 });
    expect(parseTime('1700000000.000000001')).toEqual({ sec: 1_700_000_000, nsec: 1 });
    expect(parseTime('yesterday')).toBeUndefined();
  });
  it('durations in every unit', () => {
    expect(parseDuration('500ms')).toBe(500e6);
    expect(parseDuration('1.5s')).toBe(1.5e9);
    expect(parseDuration('2m')).toBe(120e9);
    expect(parseDuration('32')).toBe(32e9);
    expect(parseDuration('soon')).toBeUndefined();
    expect(diffNs(10, 900_000_000, 11, 100_000_000)).toBe(200_000_000);
  });
});
