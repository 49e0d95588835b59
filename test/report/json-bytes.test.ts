import { describe, expect, it } from 'vitest';
import { JsonBytes } from '../../src/report/json-bytes.js';
import { jsonString, jsonText } from '../../src/report/json-text.js';
import { formatIso } from '../../src/core/time.js';

/** Run `write` against a JsonBytes and return the text, with the chunks it handed on. */
function render(write: (w: JsonBytes) => void): { text: string; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  const w = new JsonBytes((b) => chunks.push(b));
  write(w);
  w.flush();
  return { text: Buffer.concat(chunks).toString('utf8'), chunks };
}

describe('JsonBytes', () => {
  const strings = [
    '',
    'abc',
    'sip:+15550100@203.0.113.10',
    'a"b',
    'back\\slash',
    '\u0000\u001f\u007f\u0080\u009b',
    '\u001b[31mred',
    'é€😀',
    '\ud800 lone',
    '\u2028\u2029\u202e\u2066',
    'x'.repeat(70_000),
    'é'.repeat(40_000),
  ];

  it('writes strings as jsonString does, and text as UTF-8', () => {
    for (const s of strings) {
      expect(render((w) => w.string(s)).text).toBe(jsonString(s));
      expect(Buffer.from(render((w) => w.text(s)).text)).toEqual(Buffer.from(s, 'utf8'));
    }
  });

  it('writes numbers as JSON.stringify does', () => {
    for (const x of [0, 7, 9, 10, 99, 100, 486, 123456789, 2_000_000_000, 2 ** 53 - 1, 2 ** 53, -1, -0, 1.5, 1e21, NaN, Infinity]) {
      expect(render((w) => w.number(x)).text, String(x)).toBe(JSON.stringify(x));
    }
  });

  it('writes times as the JSON string of formatIso', () => {
    const secs = [0, 1_700_000_000, 1_699_999_999, 253_402_300_799, -1, 8.64e12, 9e15];
    const nsecs = [0, 5, 1000, 99_999_999, 100_000_000, 123_456_789, 999_999_999, 1.5, 1e9];
    for (const sec of secs)
      for (const nsec of nsecs)
        for (const p of [0, 1, 3, 6, 9, 12, -1, 2.5]) {
          expect(render((w) => w.isoString(sec, nsec, p)).text, `${sec} ${nsec} ${p}`).toBe(jsonText(formatIso(sec, nsec, p)));
        }
  });

  it('keeps every byte across chunk boundaries and never writes into a chunk it handed on', () => {
    let expected = '';
    const { text, chunks } = render((w) => {
      for (let i = 0; i < 20_000; i++) {
        const s = strings[i % strings.length]!.slice(0, 100 + (i % 50));
        w.ascii(i ? ',' : '[');
        w.string(s);
        w.number(i);
        expected += (i ? ',' : '[') + jsonString(s) + JSON.stringify(i);
      }
      w.ascii(']');
      expected += ']';
    });
    expect(text).toBe(expected);
    expect(chunks.length).toBeGreaterThan(10);
    // Each chunk is memory of its own: what was handed on is never written to again.
    expect(new Set(chunks.map((c) => c.buffer)).size).toBe(chunks.length);
  });
});
