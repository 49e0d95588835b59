/**
 * Property tests: the same table, whatever form it is printed in, normalises to the same
 * entries (on the fields each form carries).
 *  1. Real kernel: the recorded default, extended, XML, /proc and save dumps of one table.
 *  2. Generated: random entries printed by a test renderer that follows the printers' format
 *     strings (libnetfilter_conntrack default/XML, kernel ct_seq_show, conntrack save), parsed
 *     back, for many seeds, with chunk boundaries anywhere.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { repoRoot } from '../helpers/cli.js';
import { parseConntrackStream, parseConntrackText } from '../../src/conntrack/parse.js';
import { ConntrackEntry, protoName, type Tuple } from '../../src/conntrack/entry.js';
import { xorshift32 } from '../gen/rng.js';

const real = join(repoRoot, 'fixtures', 'conntrack', 'real');

type Form = 'default' | 'extended' | 'proc' | 'xml' | 'save' | 'events';

/** The fields a form carries, as a comparable object. */
function project(e: ConntrackEntry, form: Form): Record<string, unknown> {
  const t = (x: Tuple, dir: 'o' | 'r') => {
    const o: Record<string, unknown> = { src: x.src, dst: x.dst, sport: x.sport, dport: x.dport };
    const icmp = form !== 'xml' && !(form === 'save' && dir === 'r');
    if (icmp) Object.assign(o, { type: x.icmpType, code: x.icmpCode, id: x.icmpId });
    if (form !== 'save') Object.assign(o, { packets: x.packets, bytes: x.bytes });
    return o;
  };
  const p: Record<string, unknown> = {
    family: e.family,
    proto: e.protoNum,
    state: e.state,
    orig: t(e.orig, 'o'),
    reply: t(e.reply, 'r'),
    unreplied: e.unreplied,
    // save names ASSURED only; offload is a status bit it does not print.
    assured: e.assured || (form !== 'save' && e.offload),
    zone: e.zone < 0 ? 0 : e.zone,
  };
  if (form !== 'save') p['mark'] = e.mark < 0 ? 0 : e.mark;
  return p;
}

/** XML prints no icmp id, so the key leaves it out (the recorded icmp flows differ by dst). */
function keyOf(e: ConntrackEntry): string {
  return `${e.protoNum} ${e.orig.src} ${e.orig.sport} ${e.orig.dst} ${e.orig.dport}`;
}

describe('real kernel: default, extended, XML, /proc and save forms of one table agree', () => {
  const forms: [string, Form][] = [
    ['list-default.txt', 'default'],
    ['list-extended.txt', 'extended'],
    ['list-xml.txt', 'xml'],
    ['proc-nf_conntrack.txt', 'proc'],
    ['list-save.txt', 'save'],
    ['list-id.txt', 'default'],
    ['list-labels.txt', 'default'],
    ['list-ktimestamp.txt', 'default'],
  ];
  const parsed = forms.map(([f, form]) => ({ f, form, entries: parseConntrackText(readFileSync(join(real, f), 'utf8'), f).entries }));
  const base = parsed[0]!;

  it.each(parsed.slice(1).map((p) => [p.f, p] as const))('%s matches list-default.txt', (_f, other) => {
    expect(other.entries.map(keyOf).sort()).toEqual(base.entries.map(keyOf).sort());
    const byKey = new Map(base.entries.map((e) => [keyOf(e), e]));
    for (const e of other.entries) {
      const b = byKey.get(keyOf(e))!;
      const form = other.form === 'xml' || other.form === 'save' ? other.form : 'default';
      expect(project(e, form), `${other.f} line ${e.line}`).toEqual(project(b, form));
    }
  });

  it('ids agree between -o id, -o extended,id and XML', () => {
    const ids = (f: string) =>
      new Map(parseConntrackText(readFileSync(join(real, f), 'utf8'), f).entries.map((e) => [`${e.protoNum} ${e.orig.src} ${e.orig.sport} ${e.orig.dst} ${e.orig.dport}`, e.id]));
    const a = ids('list-id.txt');
    expect([...a.values()].every((v) => v > 0)).toBe(true);
    expect(ids('list-extended-id.txt')).toEqual(a);
    expect(ids('list-xml.txt')).toEqual(a);
  });
});

// ---- generated tables ------------------------------------------------------------------------

function rng(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 2 ** 32;
}

const V4 = ['192.0.2.', '198.51.100.', '203.0.113.'];
const V6 = ['2001:db8::', '2001:db8:c::', '2001:db8:0:1::', '2001:db8:f:0:1::'];

function randomEntry(r: () => number): ConntrackEntry {
  const e = new ConntrackEntry();
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const v6 = r() < 0.3;
  e.family = v6 ? 'ipv6' : 'ipv4';
  const addr = () => (v6 ? pick(V6) + Math.floor(1 + r() * 0xfffe).toString(16) : pick(V4) + Math.floor(1 + r() * 254));
  const kind = r();
  e.protoNum = kind < 0.5 ? 17 : kind < 0.75 ? 6 : kind < 0.85 ? (v6 ? 58 : 1) : kind < 0.92 ? 132 : 253;
  e.proto = protoName(e.protoNum);
  if (e.protoNum === 6) e.state = pick(['ESTABLISHED', 'TIME_WAIT', 'SYN_SENT', 'CLOSE']);
  if (e.protoNum === 132) e.state = pick(['ESTABLISHED', 'CLOSED', 'COOKIE_WAIT']);
  e.timeout = Math.floor(r() * 432000);
  const client = addr();
  const vip = addr();
  const backend = r() < 0.8 ? addr() : vip;
  const snat = r() < 0.2 ? addr() : client;
  e.orig.src = client;
  e.orig.dst = vip;
  e.reply.src = backend;
  e.reply.dst = snat;
  const ports = e.protoNum === 17 || e.protoNum === 6 || e.protoNum === 132;
  if (ports) {
    e.orig.sport = r() < 0.3 ? 5060 : Math.floor(1024 + r() * 64000);
    e.orig.dport = pick([5060, 5061, 5080]);
    e.reply.sport = r() < 0.5 ? e.orig.dport : 5060;
    e.reply.dport = snat === client ? e.orig.sport : Math.floor(1024 + r() * 64000);
  }
  if (e.protoNum === 1 || e.protoNum === 58) {
    e.orig.icmpType = e.protoNum === 1 ? 8 : 128;
    e.reply.icmpType = e.protoNum === 1 ? 0 : 129;
    e.orig.icmpCode = e.reply.icmpCode = 0;
    e.orig.icmpId = e.reply.icmpId = Math.floor(r() * 65536);
  }
  e.unreplied = r() < 0.3;
  e.assured = !e.unreplied && r() < 0.6;
  e.orig.packets = Math.floor(r() * 1e6);
  e.orig.bytes = e.orig.packets * 90;
  e.reply.packets = e.unreplied ? 0 : Math.floor(r() * 1e6);
  e.reply.bytes = e.reply.packets * 70;
  e.mark = r() < 0.7 ? 0 : Math.floor(r() * 2 ** 32);
  e.zone = r() < 0.8 ? -1 : Math.floor(r() * 65536);
  e.id = Math.floor(r() * 2 ** 32);
  e.use = 1;
  return e;
}

function full6(a: string): string {
  // The kernel's /proc printer: every group, four digits (%pI6).
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

function tupleText(t: Tuple, e: ConntrackEntry, form: Form): string {
  const a = (x: string) => (form === 'proc' && x.includes(':') ? full6(x) : x);
  let s = `src=${a(t.src)} dst=${a(t.dst)} `;
  if (t.sport >= 0) s += `sport=${t.sport} dport=${t.dport} `;
  if (t.icmpType >= 0) s += `type=${t.icmpType} code=${t.icmpCode} id=${t.icmpId} `;
  s += `packets=${t.packets} bytes=${t.bytes} `;
  void e;
  return s;
}

function render(e: ConntrackEntry, form: Form): string {
  if (form === 'save') {
    const st = [!e.unreplied ? 'SEEN_REPLY' : '', e.assured ? 'ASSURED' : ''].filter(Boolean).join(',') || 'UNSET';
    let s = `-A -t ${e.timeout} -u ${st} `;
    if (e.zone >= 0) s += `-w ${e.zone} `;
    s += `-s ${e.orig.src} -d ${e.orig.dst} ${e.reply.src !== e.orig.dst ? '-g' : '-r'} ${e.reply.src} ${e.reply.dst !== e.orig.src ? '-n' : '-q'} ${e.reply.dst} `;
    if (e.protoNum === 253) return s + '-p 253';
    s += `-p ${e.proto} `;
    if (e.orig.sport >= 0) s += `--sport ${e.orig.sport} --dport ${e.orig.dport} --reply-port-src ${e.reply.sport} --reply-port-dst ${e.reply.dport} `;
    const v = e.protoNum === 58 ? 'icmpv6' : 'icmp';
    if (e.orig.icmpType >= 0) s += `--${v}-type ${e.orig.icmpType} --${v}-code ${e.orig.icmpCode} --${v}-id ${e.orig.icmpId} `;
    if (e.state) s += `--state ${e.state} `;
    return s.trimEnd();
  }
  if (form === 'xml') {
    const l3 = e.family === 'ipv4' ? '<layer3 protonum="2" protoname="ipv4">' : '<layer3 protonum="10" protoname="ipv6">';
    const meta = (t: Tuple, dir: string) =>
      `<meta direction="${dir}">${l3}<src>${t.src}</src><dst>${t.dst}</dst></layer3><layer4 protonum="${e.protoNum}" protoname="${e.proto}">` +
      (t.sport >= 0 ? `<sport>${t.sport}</sport><dport>${t.dport}</dport>` : '') +
      `</layer4><counters><packets>${t.packets}</packets><bytes>${t.bytes}</bytes></counters></meta>`;
    const tcpNames = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE'];
    const sctpNames = ['NONE', 'CLOSED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'ESTABLISHED'];
    const state = e.state ? (e.protoNum === 132 ? tcpNames[sctpNames.indexOf(e.state)] : e.state) : '';
    return (
      '<flow>' +
      meta(e.orig, 'original') +
      meta(e.reply, 'reply') +
      '<meta direction="independent">' +
      (state ? `<state>${state}</state>` : '') +
      `<timeout>${e.timeout}</timeout><mark>${e.mark}</mark>` +
      (e.zone >= 0 ? `<zone>${e.zone}</zone>` : '') +
      `<use>1</use><id>${e.id}</id>` +
      (e.assured ? '<assured/>' : '') +
      (e.unreplied ? '<unreplied/>' : '') +
      '</meta></flow>'
    );
  }
  const l3 = form === 'extended' || form === 'proc' ? (e.family === 'ipv4' ? 'ipv4     2 ' : 'ipv6     10 ') : '';
  const head = (form === 'events' ? '[1795464710.771362]\t    [NEW] ' : '') + l3 + `${e.proto.padEnd(8)} ${e.protoNum} ${e.timeout} ` + (e.state ? e.state + ' ' : '');
  let s = head + tupleText(e.orig, e, form) + (e.unreplied ? '[UNREPLIED] ' : '') + tupleText(e.reply, e, form) + (e.assured ? '[ASSURED] ' : '');
  s += `mark=${e.mark} `;
  if (form === 'proc') s += `zone=${e.zone < 0 ? 0 : e.zone} `;
  else if (e.zone >= 0) s += `zone=${e.zone} `;
  s += form === 'proc' ? 'use=2' : `use=1 id=${e.id}`;
  return s;
}

function document(entries: ConntrackEntry[], form: Form): string {
  const body = entries.map((e) => render(e, form)).join('\n') + '\n';
  if (form === 'xml') return `<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n${body}</conntrack>\n`;
  return body + (form === 'proc' ? '' : `conntrack v1.4.7 (conntrack-tools): ${entries.length} flow entries have been shown.\n`);
}

describe('generated tables round-trip through every form', () => {
  const seeds = [1, 2, 3, 42, 5060, 0xdead];
  const forms: Form[] = ['default', 'extended', 'proc', 'xml', 'save', 'events'];
  it.each(seeds)('seed %i', (seed) => {
    const r = rng(seed);
    const table = Array.from({ length: 200 }, () => randomEntry(r));
    for (const form of forms) {
      const { entries, summary } = parseConntrackText(document(table, form), `${form}.txt`);
      expect(summary.badLines, form).toBe(0);
      expect(summary.format, form).toBe(form === 'events' ? 'events' : form);
      expect(entries.map((e) => project(e, form)), form).toEqual(table.map((e) => project(e, form)));
      if (form !== 'save' && form !== 'proc') expect(entries.map((e) => e.id)).toEqual(table.map((e) => e.id));
    }
  });

  it('chunk boundaries anywhere (bytes split mid-line, mid-address, mid-UTF-8) change nothing', async () => {
    const r = rng(7);
    const table = Array.from({ length: 50 }, () => randomEntry(r));
    table[3]!.labels = 'café,straße';
    for (const form of ['extended', 'xml'] as Form[]) {
      let text = document(table, form);
      if (form === 'extended') text = text.replace(/use=1 id=(\d+)\n/, 'use=1 id=$1 labels=café,straße\n');
      const whole = parseConntrackText(text, 'x').entries.map((e) => [project(e, form), e.labels]);
      const bytes = Buffer.from(text, 'utf8');
      for (const size of [1, 2, 3, 7, 64, 1000]) {
        const chunks: Buffer[] = [];
        for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
        const got: unknown[] = [];
        await parseConntrackStream(Readable.from(chunks), { file: 'x', onEntry: (e) => got.push([project(e, form), e.labels]) });
        expect(got, `${form} chunk ${size}`).toEqual(whole);
      }
    }
  });
});

// ---- the lab's recorded failovers (fixtures/lab, from test/lab), when present -----------------

const lab = join(repoRoot, 'fixtures', 'lab');
const labDirs = existsSync(lab) ? readdirSync(lab).filter((d) => existsSync(join(lab, d, 'conntrack-after.txt'))) : [];
if (labDirs.length === 0) console.log('lab conntrack fixtures absent: lab cross-checks skipped');

describe.skipIf(labDirs.length === 0)('lab failover recordings: every form parses and the forms agree', () => {
  it.each(labDirs)('%s', (dir) => {
    for (const when of ['before', 'after']) {
      const forms: [string, Form][] = [
        [`conntrack-${when}.txt`, 'default'],
        [`conntrack-${when}.extended.txt`, 'default'],
        [`conntrack-${when}.ktimestamp.txt`, 'default'],
        [`conntrack-${when}.xml`, 'xml'],
        [`nf_conntrack-${when}.txt`, 'default'],
      ];
      const sets = forms
        .filter(([f]) => existsSync(join(lab, dir, f)))
        .map(([f]) => {
          const { entries, summary } = parseConntrackText(readFileSync(join(lab, dir, f), 'utf8'), f);
          expect(summary.badLines, `${dir}/${f}`).toBe(0);
          return { f, map: new Map(entries.map((e) => [keyOf(e), `${e.target} ${e.snat} ${e.family} ${e.unreplied}`])) };
        });
      expect(sets.length).toBeGreaterThanOrEqual(4);
      expect(sets[0]!.map.size).toBeGreaterThan(0);
      for (const s of sets.slice(1)) expect(s.map, `${dir}/${s.f}`).toEqual(sets[0]!.map);
    }
    const ev = parseConntrackText(readFileSync(join(lab, dir, 'conntrack-events.txt'), 'utf8'), 'events');
    expect(ev.summary.badLines).toBe(0);
    expect(ev.summary.format).toBe('events');
  });
});
