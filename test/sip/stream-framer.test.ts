import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import type { Packet, TcpStream } from '../../src/decode/types.js';
import { SIP_LIMITS } from '../../src/sip/message.js';
import { SipStreamFramer } from '../../src/sip/stream-framer.js';
import { request, response } from './helpers.js';

const dec = new TextDecoder();
const enc = new TextEncoder();

type Step = string | Uint8Array | { gap: number } | { end: true };

function stream(): TcpStream {
  return { id: 1, ipVersion: 4, src: '192.0.2.1', dst: '198.51.100.1', srcPort: 5060, dstPort: 5060, user: undefined };
}

/** A fake packet per step; its frame.sec is the step index, so delivery time is checkable. */
function pktFor(i: number): Packet {
  return { frame: { sec: i, nsec: 0 } } as unknown as Packet;
}

function run(steps: Step[], opts: { accept?: boolean; maxBuffered?: number } = {}) {
  const an = new Anomalies();
  const got: { text: string; at: number }[] = [];
  const framer = new SipStreamFramer(
    (_s, buf, off, len, pkt) => got.push({ text: dec.decode(buf.subarray(off, off + len)), at: pkt.frame.sec }),
    { anomalies: an, accept: opts.accept === false ? () => false : undefined, maxBuffered: opts.maxBuffered },
  );
  const s = stream();
  steps.forEach((st, i) => {
    if (typeof st === 'string' || st instanceof Uint8Array) {
      const b = typeof st === 'string' ? enc.encode(st) : st;
      // Deliver from inside a larger buffer to catch offset mistakes.
      const big = new Uint8Array(b.length + 10);
      big.set(b, 5);
      framer.data(s, big, 5, b.length, pktFor(i));
    } else if ('gap' in st) framer.gap(s, st.gap);
    else framer.end(s, 'fin');
  });
  return { got, anomalies: an.list().map((r) => r.name), framer, s };
}

const inv = dec.decode(request({ body: 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n' }));
const ok = dec.decode(response(200, { body: 'v=0\r\n' }));
const ring = dec.decode(response(180));
const noLength = 'OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: n\r\nCSeq: 1 OPTIONS\r\n\r\n';
const huge = `MESSAGE sip:a@example.com SIP/2.0\r\nCall-ID: big\r\nContent-Length: ${SIP_LIMITS.maxMessageSize + 100}\r\n\r\n`;

interface Case {
  name: string;
  steps: Step[];
  want: [string, number][];
  anomalies?: string[];
  accept?: boolean;
}

const cases: Case[] = [
  { name: 'one message in one segment', steps: [inv], want: [[inv, 0]], anomalies: [] },
  { name: 'three messages in one segment', steps: [inv + ring + ok], want: [[inv, 0], [ring, 0], [ok, 0]], anomalies: [] },
  {
    name: 'one message across segments: split in the headers and in the body',
    steps: [inv.slice(0, 20), inv.slice(20, inv.length - 5), inv.slice(inv.length - 5)],
    want: [[inv, 2]],
    anomalies: [],
  },
  {
    name: 'a message completed together with the start of the next',
    steps: [inv.slice(0, 100), inv.slice(100) + ok.slice(0, 30), ok.slice(30)],
    want: [[inv, 1], [ok, 2]],
    anomalies: [],
  },
  { name: 'byte by byte', steps: [...(ring + ok)].map((c) => c), want: [[ring, ring.length - 1], [ok, ring.length + ok.length - 1]], anomalies: [] },
  { name: 'keep-alive CRLFs between messages', steps: ['\r\n\r\n', ring + '\r\n\r\n' + ok, '\r\n'], want: [[ring, 1], [ok, 1]], anomalies: [] },
  {
    name: 'gap inside a message: the rest is dropped, framing resumes at the next start line',
    steps: [inv.slice(0, 60), { gap: 100 }, inv.slice(160) + ring, ok],
    want: [[ring, 2], [ok, 3]],
    anomalies: ['sip_tcp_truncated_message'],
  },
  {
    name: 'capture starts mid-stream (gap of unknown size): body bytes skipped',
    steps: [{ gap: 0 }, 'o=- 1 1 IN IP4 192.0.2.1\r\n\r\nleftover body', 'more body\r\n' + ring],
    want: [[ring, 2]],
    anomalies: [],
  },
  {
    name: 'garbage without a gap: counted, resynchronised',
    steps: ['hello there\r\nthis is not sip\r\n' + ok],
    want: [[ok, 0]],
    anomalies: ['sip_tcp_resync'],
  },
  {
    name: 'missing Content-Length: framed as no body, counted',
    steps: [noLength + ring],
    want: [[noLength, 0], [ring, 0]],
    anomalies: ['sip_tcp_missing_content_length'],
  },
  {
    name: 'oversized message: skipped across segments, the next one delivered',
    steps: [huge + 'x'.repeat(30000), 'y'.repeat(30000), 'z'.repeat(SIP_LIMITS.maxMessageSize + 100 - 60000) + ring],
    want: [[ring, 2]],
    anomalies: ['sip_message_too_large'],
  },
  {
    name: 'stream ends inside a message',
    steps: [ring, ok.slice(0, 40), { end: true }],
    want: [[ring, 0]],
    anomalies: ['sip_tcp_truncated_message'],
  },
  { name: 'a direction refused by accept() delivers nothing', steps: [inv, ok], want: [], anomalies: [], accept: false },
];

describe('SipStreamFramer', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = run(c.steps, { accept: c.accept });
      expect(r.got.map((g) => [g.text, g.at])).toEqual(c.want);
      if (c.anomalies) expect(r.anomalies).toEqual([...c.anomalies].sort());
    });
  }

  it('keeps state in stream.user and frees it at the end', () => {
    const r = run([inv.slice(0, 10)]);
    expect(r.s.user).toBeDefined();
    expect(r.framer.active).toBe(1);
    r.framer.end(r.s, 'eof');
    expect(r.s.user).toBeUndefined();
    expect(r.framer.active).toBe(0);
  });

  it('bounds the bytes held per direction while resynchronising through junk', () => {
    const junk = 'x'.repeat(10000);
    const steps: Step[] = [{ gap: 0 }];
    for (let i = 0; i < 50; i++) steps.push(junk);
    steps.push('\r\n' + ring);
    const r = run(steps);
    const held = (r.s.user as { hold: Uint8Array }).hold.length;
    expect(held).toBeLessThanOrEqual(SIP_LIMITS.maxMessageSize);
    expect(r.got.map((g) => g.text)).toEqual([ring]);
  });

  it('bounds a header block that never ends', () => {
    const steps: Step[] = ['INVITE sip:a@b SIP/2.0\r\n'];
    for (let i = 0; i < 20; i++) steps.push('X-Junk: ' + 'j'.repeat(9990) + '\r\n');
    const r = run(steps);
    expect((r.s.user as { hold: Uint8Array }).hold.length).toBeLessThanOrEqual(SIP_LIMITS.maxMessageSize);
    expect(r.anomalies).toContain('sip_message_too_large');
  });
});
