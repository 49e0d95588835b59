import { describe, expect, it } from 'vitest';
import { jsonString, jsonText } from '../../src/report/json-text.js';
import { JsonBytes, writeJsonBytes } from '../../src/report/json-bytes.js';
import { writeFlowJson, type ReportFlow } from '../../src/report/analyze.js';

/** writeJsonBytes's output, decoded, and the chunks it was handed on in. */
function streamed(value: Record<string, unknown>, elements: Parameters<typeof writeJsonBytes>[2] = {}): { text: string; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  const w = new JsonBytes((c) => chunks.push(c));
  writeJsonBytes(value, w, elements);
  w.flush();
  return { text: Buffer.concat(chunks).toString('utf8'), chunks };
}

describe('writeJsonBytes', () => {
  it('writes the same bytes as jsonText(value, 2), as UTF-8', () => {
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

  it('hands a long list on in chunks, never as one piece', () => {
    const flows = Array.from({ length: 20_000 }, (_, i) => ({ client: `192.0.2.1:${10000 + i}`, invites: i }));
    const r = streamed({ schema: 's', flows, anomalies: [] });
    expect(r.text).toBe(jsonText({ schema: 's', flows, anomalies: [] }, 2));
    expect(r.chunks.length).toBeGreaterThan(10);
    expect(Math.max(...r.chunks.map((c) => c.length))).toBeLessThanOrEqual(1 << 16);
  });
});

describe('direct renderers', () => {
  it('jsonString is jsonText for every kind of string', () => {
    for (const s of ['', 'sip:alice@example.com', '192.0.2.1:5060', 'a"b', 'back\\slash', '\u001b[31m', '\u007f', '\u0080\u009b', 'é', '\u202e', '\u2028', '\ud800', '\u{1f600}', ' ~']) expect(jsonString(s)).toBe(jsonText(s));
  });

  it('writeFlowJson writes the indented jsonText of a report flow', () => {
    const flows: ReportFlow[] = [
      { transport: 'udp', client: '192.0.2.1:5060', dst: '203.0.113.10:5060', invites: 3, answered: 1, unanswered: 2, calls: 2, first: '2023-11-14T22:13:20.000000Z', last: null, targets: [], notForwarded: 1 },
      {
        transport: 'tcp',
        client: '[2001:db8::1]:5060',
        dst: 'a"\u001b',
        invites: 0,
        answered: 0,
        unanswered: 0,
        calls: 0,
        first: null,
        last: '2023-11-14T22:13:21Z',
        targets: [
          { target: '198.51.100.11:5060', how: 'egress-copy', invites: 2, answered: 2, unanswered: 0, first: 'x', last: null },
          { target: '198.51.100.12:5060', how: 'reply-path', invites: 1, answered: 0, unanswered: 1, first: null, last: '\u2028' },
        ],
        notForwarded: 0,
      },
    ];
    for (const f of flows) {
      const w = new JsonBytes(() => undefined);
      writeFlowJson(w, f);
      expect(Buffer.from(w.taken()).toString('utf8')).toBe(jsonText(f, 2).replace(/\n/g, '\n    '));
    }
    const doc = { schema: 's', flows, anomalies: [] };
    expect(streamed(doc, { flows: writeFlowJson }).text).toBe(jsonText(doc, 2));
  });
});
