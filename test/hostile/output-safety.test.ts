/**
 * Strings from the wire and from files never reach the operator's terminal as control
 * sequences, stay well-formed in XML, escaped in Markdown, and valid in JSON. A capture whose
 * SIP headers (Call-ID, From, User-Agent) carry ANSI escapes, C1 controls, bidi overrides, NUL,
 * invalid UTF-8 and markup, a conntrack dump with such labels and bad lines, and an inventory
 * with such names go through every command in every text format.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePcap } from '../../src/capture/writer.js';
import { udp4Frame } from '../gen/packets.js';
import { runCli } from '../helpers/cli.js';

/** The payload, as bytes (latin1 string): every hostile thing at once. */
const EVIL =
  '\x1b[31mRED\x1b]0;pwned\x07\x1b[2J\x9b2J\x00\x08\x7f' + // CSI, OSC title, clear screen, 8-bit CSI, NUL, BS, DEL
  '\xe2\x80\xae' + // U+202E RIGHT-TO-LEFT OVERRIDE in UTF-8
  '\xe2\x81\xa6' + // U+2066 LEFT-TO-RIGHT ISOLATE
  '\xff\xfe\xc0\x80\xed\xa0\x80' + // invalid UTF-8: bad bytes, overlong NUL, a surrogate
  "<script>alert(1)</script>]]>&amp;&\"'|`*_[x](y)";
const UNICODE_EVIL = '\u001b[31mRED\u001b]0;pwned\u0007\u009b2J\u0000\u202eevil\u2066\u2028<script>]]>&"\'|`';

const T0 = 1_800_000_000;
const VIP = '203.0.113.10';
const DEAD = '198.51.100.11';

function sip(i: number): string {
  const callId = `evil-${i}-${EVIL}@192.0.2.1`;
  return (
    `INVITE sip:bob@${VIP} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 192.0.2.1:5080;branch=z9hG4bKevil${i}\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: "${EVIL}" <sip:evil@192.0.2.1>;tag=t${i}\r\n` +
    `To: <sip:bob@${VIP}>\r\n` +
    `Call-ID: ${callId}\r\n` +
    `CSeq: 1 INVITE\r\n` +
    `User-Agent: ${EVIL}\r\n` +
    `Subject: ${EVIL}\r\n` +
    `Content-Length: 0\r\n\r\n`
  );
}

let dir = '';
const paths = { capture: '', conntrack: '', nodes: '' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stalepin-evil-'));
  const packets = [];
  // Three INVITEs on one client tuple, each forwarded to a terminated backend, none answered,
  // each retransmitted: a pinned flow whose Call-IDs, From and User-Agent are all hostile.
  for (let i = 0; i < 3; i++) {
    for (let r = 0; r < 3; r++) {
      const t = i * 40 + r * 0.5 * 2 ** r;
      const sec = T0 + Math.floor(t);
      const nsec = Math.round((t % 1) * 1e9);
      packets.push({ sec, nsec, data: udp4Frame('192.0.2.1', 5080, VIP, 5060, Buffer.from(sip(i), 'latin1')) });
      packets.push({ sec, nsec: nsec + 1000, data: udp4Frame('198.51.100.1', 5080, DEAD, 5060, Buffer.from(sip(i), 'latin1')) });
    }
  }
  paths.capture = join(dir, 'evil.pcap');
  writeFileSync(paths.capture, encodePcap({ linkType: 1 }, packets));
  paths.conntrack = join(dir, 'conntrack.txt');
  writeFileSync(
    paths.conntrack,
    Buffer.from(
      `udp      17 29 src=192.0.2.1 dst=${VIP} sport=5080 dport=5060 packets=9 bytes=900 src=${DEAD} dst=192.0.2.1 sport=5060 dport=5080 packets=0 bytes=0 [ASSURED] mark=0 use=1 labels=${EVIL.replace(/[\s]/g, '')}\n` +
        `udp      17 29 src=192.0.2.3 dst=${VIP} sport=5080 dport=5060 packets=1 bytes=90 src=198.51.100.12 dst=192.0.2.3 sport=5060 dport=5080 packets=1 bytes=90 [ASSURED] mark=0 use=1\n`.repeat(4) +
        `udp      17 29 src=192.0.2.2 dst=${VIP} sport=5080 dport=5060 ${EVIL}\n` +
        `${EVIL}\n`,
      'latin1',
    ),
  );
  paths.nodes = join(dir, 'nodes.json');
  writeFileSync(
    paths.nodes,
    JSON.stringify({
      nodes: [
        { address: `${DEAD}:5060`, name: UNICODE_EVIL, state: 'terminated', since: new Date((T0 - 60) * 1000).toISOString() },
        { address: '198.51.100.12:5060', name: 'ok', state: 'active' },
        { address: UNICODE_EVIL, state: 'active' },
      ],
    }),
  );
});

afterAll(() => {
  if (dir && !process.env.KEEP) rmSync(dir, { recursive: true, force: true });
});

/** Characters that must never be printed raw: C0 but tab/newline, DEL, C1, bidi controls, line/paragraph separators. */
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

function noUnsafe(text: string, what: string): void {
  const m = UNSAFE.exec(text);
  if (m) {
    const at = m.index;
    throw new Error(`${what}: raw U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 20))}`);
  }
}

/**
 * A strict little XML 1.0 well-formedness check: legal characters only, every tag closed in
 * order, attribute values quoted and free of '<', '&' only in entity or character references.
 */
export function checkXml(x: string): void {
  if (/[^\t\n\r\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u.test(x)) throw new Error('XML: illegal character');
  const ref = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;
  const stack: string[] = [];
  let p = 0;
  const text = (s: string): void => {
    for (let i = s.indexOf('&'); i >= 0; i = s.indexOf('&', i + 1)) if (!ref.test(s.slice(i))) throw new Error(`XML: bare & in ${JSON.stringify(s.slice(i, i + 20))}`);
    if (s.includes('>') && s.includes(']]>')) throw new Error('XML: ]]> in text');
  };
  if (x.startsWith('<?xml')) p = x.indexOf('?>') + 2;
  while (p < x.length) {
    const lt = x.indexOf('<', p);
    if (lt < 0) {
      text(x.slice(p));
      break;
    }
    text(x.slice(p, lt));
    if (x.startsWith('<![CDATA[', lt)) {
      const e = x.indexOf(']]>', lt);
      if (e < 0) throw new Error('XML: unterminated CDATA');
      p = e + 3;
      continue;
    }
    if (x.startsWith('<!--', lt)) {
      const e = x.indexOf('-->', lt);
      if (e < 0) throw new Error('XML: unterminated comment');
      p = e + 3;
      continue;
    }
    const m = /^<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(x.slice(lt));
    if (!m) throw new Error(`XML: bad tag at ${lt}: ${JSON.stringify(x.slice(lt, lt + 60))}`);
    for (const a of m[3]!.matchAll(/=\s*(?:"([^"]*)"|'([^']*)')/g)) text(a[1] ?? a[2] ?? '');
    if (m[1]) {
      if (stack.pop() !== m[2]) throw new Error(`XML: </${m[2]}> does not close the open element`);
    } else if (!m[4]) stack.push(m[2]!);
    p = lt + m[0].length;
  }
  if (stack.length) throw new Error(`XML: unclosed <${stack.join('><')}>`);
}

interface Case {
  name: string;
  args: () => string[];
  kind: 'text' | 'json' | 'ndjson' | 'xml' | 'markdown' | 'csv';
}

const cap = (): string => paths.capture;
const analyzeArgs = (): string[] => ['analyze', cap(), '--conntrack', paths.conntrack, '--nodes', paths.nodes, '--fail-on', 'never'];
const cases: Case[] = [
  ...(['table', 'json', 'junit', 'markdown'] as const).map(
    (f): Case => ({ name: `analyze -f ${f}`, args: () => [...analyzeArgs(), '-f', f], kind: f === 'table' ? 'text' : f === 'junit' ? 'xml' : f === 'markdown' ? 'markdown' : 'json' }),
  ),
  ...(['table', 'json', 'csv'] as const).map((f): Case => ({ name: `calls -f ${f}`, args: () => ['calls', '-f', f, cap()], kind: f === 'table' ? 'text' : f === 'csv' ? 'csv' : 'json' })),
  ...(['table', 'json', 'ndjson'] as const).map((f): Case => ({ name: `messages -f ${f}`, args: () => ['messages', '-f', f, cap()], kind: f === 'table' ? 'text' : f })),
  ...(['table', 'json'] as const).map((f): Case => ({ name: `inspect -f ${f}`, args: () => ['inspect', '-f', f, cap()], kind: f === 'table' ? 'text' : 'json' })),
  ...(['table', 'json', 'ndjson'] as const).map((f): Case => ({ name: `conntrack -f ${f}`, args: () => ['conntrack', '-f', f, paths.conntrack], kind: f === 'table' ? 'text' : f })),
  { name: 'conntrack --summary', args: () => ['conntrack', '--summary', paths.conntrack], kind: 'text' },
  { name: 'flow (the hostile Call-ID)', args: () => ['flow', `evil-0-${Buffer.from(EVIL, 'latin1').toString('latin1')}@192.0.2.1`, cap()], kind: 'text' },
  { name: 'flow (an unknown hostile Call-ID)', args: () => ['flow', UNICODE_EVIL, cap()], kind: 'text' },
  { name: 'analyze of a hostile file name', args: () => ['analyze', join(dir, UNICODE_EVIL)], kind: 'text' },
];

describe('output safety: hostile strings from the wire and from files', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const r = await runCli(c.args());
    expect(r.code, r.stderr).toBeLessThan(3);
    noUnsafe(r.stdout, 'stdout');
    noUnsafe(r.stderr, 'stderr');
    const parse = (t: string): unknown => {
      try {
        return JSON.parse(t);
      } catch (e) {
        throw new Error(`${(e as Error).message} in ${JSON.stringify(t.slice(0, 200))}; stderr ${JSON.stringify(r.stderr.slice(0, 300))}`);
      }
    };
    if (c.kind === 'json') parse(r.stdout);
    if (c.kind === 'ndjson') for (const line of r.stdout.split('\n').filter(Boolean)) parse(line);
    if (c.kind === 'xml') checkXml(r.stdout);
    if (c.kind === 'markdown') {
      // Markup from the wire is inert: no raw tag, no raw pipe breaking a table row.
      // (code spans and fenced blocks are literal text in Markdown)
      const prose = r.stdout.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
      expect(prose).not.toMatch(/(^|[^\\])<script/i);
      expect(prose).not.toMatch(/(^|[^\\])</);
      for (const line of r.stdout.split('\n').filter((l) => l.startsWith('|'))) {
        const cells = line.replace(/\\\|/g, '').split('|').length;
        expect(cells, line).toBe(r.stdout.split('\n').find((l) => l.startsWith('|---'))!.split('|').length);
      }
    }
  });

  it('the hostile strings did reach the outputs (made visible, not dropped)', async () => {
    const r = await runCli([...analyzeArgs(), '-f', 'json']);
    const report = JSON.parse(r.stdout) as { findings: { kind: string; callIds: string[] }[] };
    const ids = report.findings.flatMap((f) => f.callIds);
    expect(ids.some((id) => id.startsWith('evil-0-'))).toBe(true);
    const t = await runCli(analyzeArgs());
    expect(t.stdout).toContain('\\e[31mRED');
    const m = await runCli(['messages', cap()]);
    expect(m.stdout).toMatch(/evil-0-\\e\[31mRED/);
  });

  it('the XML checker rejects what it must', () => {
    for (const bad of ['<a>', '<a></b>', '<a>&</a>', '<a b="<"/>', '<a>\u001b</a>', '<a><![CDATA[x</a>', '<a>]]></a>']) expect(() => checkXml(bad), bad).toThrow();
    checkXml('<?xml version="1.0"?>\n<a b="&amp;&#27;"><c/>x&lt;<![CDATA[<]]></a>');
  });
});
