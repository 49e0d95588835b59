import { describe, expect, it } from 'vitest';
import { KeyIndex } from '../../src/sip/key-index.js';

describe('KeyIndex', () => {
  it('tells apart keys that share a primary string', () => {
    const ix = new KeyIndex<number>();
    ix.set('z9hG4bK1', 'a.example', 5060, 'INVITE', 1);
    ix.set('z9hG4bK1', 'a.example', 5060, 'CANCEL', 2);
    ix.set('z9hG4bK1', 'a.example', 5061, 'INVITE', 3);
    ix.set('z9hG4bK1', 'b.example', 5060, 'INVITE', 4);
    expect(ix.get('z9hG4bK1', 'a.example', 5060, 'INVITE')).toBe(1);
    expect(ix.get('z9hG4bK1', 'a.example', 5060, 'CANCEL')).toBe(2);
    expect(ix.get('z9hG4bK1', 'a.example', 5061, 'INVITE')).toBe(3);
    expect(ix.get('z9hG4bK1', 'b.example', 5060, 'INVITE')).toBe(4);
    expect(ix.get('z9hG4bK1', 'b.example', 5060, 'CANCEL')).toBeUndefined();
    expect(ix.get('z9hG4bK2', 'a.example', 5060, 'INVITE')).toBeUndefined();
    expect(ix.size).toBe(4);
    // Replacing keeps one entry.
    ix.set('z9hG4bK1', 'a.example', 5060, 'INVITE', 5);
    expect(ix.get('z9hG4bK1', 'a.example', 5060, 'INVITE')).toBe(5);
    expect(ix.size).toBe(4);
  });

  it('removes a key only while it maps to the value given', () => {
    const ix = new KeyIndex<string>();
    ix.set('call-1', 'tag-a', -1, '', 'old');
    ix.set('call-1', 'tag-a', -1, '', 'new');
    ix.deleteIf('call-1', 'tag-a', -1, '', 'old');
    expect(ix.get('call-1', 'tag-a', -1, '')).toBe('new');
    ix.deleteIf('call-1', 'tag-a', -1, '', 'new');
    expect(ix.get('call-1', 'tag-a', -1, '')).toBeUndefined();
    expect(ix.size).toBe(0);
    ix.deleteIf('call-1', 'tag-a', -1, '', 'new');
    expect(ix.size).toBe(0);
  });

  // A model: a Map keyed by the parts joined with a separator no part contains.
  it('behaves as a Map of the joined parts under random sets and removals', () => {
    const ix = new KeyIndex<number>();
    const model = new Map<string, number>();
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    // Few primaries and few other parts: long lists under one primary, removals at their head,
    // middle and tail.
    const key = (): [string, string, number, string] => [`p${rnd(5)}`, `a${rnd(3)}`, rnd(3) - 1, rnd(2) ? 'INVITE' : ''];
    for (let i = 0; i < 20_000; i++) {
      const [p, a, n, c] = key();
      const k = `${p}|${a}|${n}|${c}`;
      const op = rnd(3);
      if (op === 0) {
        ix.set(p, a, n, c, i);
        model.set(k, i);
      } else if (op === 1) {
        // Remove with the right value half the time, a wrong one otherwise.
        const v = model.get(k);
        const asked = v !== undefined && rnd(2) ? v : -1;
        ix.deleteIf(p, a, n, c, asked);
        if (v !== undefined && asked === v) model.delete(k);
      }
      expect(ix.get(p, a, n, c)).toBe(model.get(k));
      expect(ix.size).toBe(model.size);
    }
    for (const [k, v] of model) {
      const [p, a, n, c] = k.split('|');
      expect(ix.get(p!, a!, Number(n), c!)).toBe(v);
    }
  });
});
