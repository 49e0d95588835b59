import { describe, expect, it } from 'vitest';
import { jsonText, writeJsonText } from '../../src/report/json-text.js';

function streamed(value: Record<string, unknown>): { text: string; pieces: number } {
  const parts: string[] = [];
  writeJsonText(value, (s) => parts.push(s));
  return { text: parts.join(''), pieces: parts.length };
}

describe('writeJsonText', () => {
  it('writes the same bytes as jsonText(value, 2), in pieces', () => {
    const cases: Record<string, unknown>[] = [
      {},
      { a: [] },
      { a: undefined, b: () => 1, c: null, d: 'x' },
      { schema: 'stalepin/report@1', flows: [{ client: '192.0.2.1:5060', targets: [{ t: 1 }, { t: 2 }], n: [] }, { client: 'a"\\b\u001b[2J\u009b\u202e' }], summary: { x: { y: [1, [2, []]] } } },
      { list: [undefined, null, 1, 'two', [3], { four: 4 }, () => 5] },
      { 'k\u2028ey': '\u2029', nested: { arr: ['\u007f'] } },
    ];
    for (const c of cases) expect(streamed(c).text).toBe(jsonText(c, 2));
  });

  it('hands each element of a member list over on its own', () => {
    const flows = Array.from({ length: 1000 }, (_, i) => ({ client: `192.0.2.1:${10000 + i}`, invites: i }));
    const r = streamed({ schema: 's', flows, anomalies: [] });
    expect(r.text).toBe(jsonText({ schema: 's', flows, anomalies: [] }, 2));
    expect(r.pieces).toBeGreaterThan(1000);
  });
});
