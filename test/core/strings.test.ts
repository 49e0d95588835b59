/**
 * flatten must really flatten, also in optimized code: a read whose result is unused is dropped
 * by the optimizer, and then every key stays a tree of its parts. Measured in a child process
 * with the collector exposed: 200,000 keys built the way the tracker builds them.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flatten, writeDecimal } from '../../src/core/strings.js';
import { repoRoot } from '../helpers/cli.js';

const script = `
const { flatten } = await import(${JSON.stringify(join(repoRoot, 'dist', 'core', 'strings.js'))});
// As the tracker's key cache does it: a method that builds a key and flattens it, called hot
// enough to be optimized with flatten inlined.
class Keys {
  constructor(flat) { this.flat = flat; }
  get(a, b, n) { return this.flat ? flatten('b\\x00' + a + '\\x00' + b + ':' + n + '\\x00' + 'INVITE') : 'b\\x00' + a + '\\x00' + b + ':' + n + '\\x00' + 'INVITE'; }
}
function heapOf(flat) {
  const keys = new Keys(flat);
  const keep = [];
  for (let r = 0; r < 3; r++) { keep.length = 0; for (let i = 0; i < 200000; i++) keep.push(keys.get('z9hG4bK' + i, '192.0.2.' + (i & 255), 5060 + i)); }
  globalThis.gc();
  const used = process.memoryUsage().heapUsed;
  if (keep[12345] !== 'b\\x00z9hG4bK12345\\x00192.0.2.57:17405\\x00INVITE') throw new Error('changed: ' + JSON.stringify(keep[12345]));
  return used;
}
globalThis.gc();
const base = process.memoryUsage().heapUsed;
const plain = heapOf(false) - base;
const flat = heapOf(true) - base;
console.log(JSON.stringify({ plain, flat }));
`;

describe('flatten', () => {
  it('returns the same string', () => {
    const s = 'a' + 1 + 'b' + 'c'.repeat(3);
    expect(flatten(s)).toBe('a1bccc');
    expect(flatten('')).toBe('');
  });

  it('keeps concatenated keys in a fraction of the memory, in optimized code too', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const { plain, flat } = JSON.parse(r.stdout) as { plain: number; flat: number };
    expect(flat).toBeLessThan(plain * 0.5);
  });
});

describe('writeDecimal', () => {
  it('writes what String() does for every digit count up to 2^53 - 1, after what is there', () => {
    const t = new Uint8Array(20).fill(0x78);
    for (const v of [0, 7, 9, 10, 99, 100, 255, 65535, 2 ** 31 - 1, 2 ** 31, 1e15, Number.MAX_SAFE_INTEGER]) {
      const end = writeDecimal(t, 2, v);
      expect(Buffer.from(t.subarray(2, end)).toString('latin1')).toBe(String(v));
      expect(t[1]).toBe(0x78);
    }
  });
});
