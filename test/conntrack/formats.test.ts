/**
 * Every conntrack output form, from real-kernel recordings (fixtures/conntrack/real, made by
 * test/conntrack/record-samples.sh) and hand-written edge cases (fixtures/conntrack/edge, per
 * the conntrack-tools / libnetfilter_conntrack / kernel / ipvsadm print formats).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { parseConntrackFile, parseConntrackText } from '../../src/conntrack/parse.js';
import { detectFormat } from '../../src/conntrack/detect.js';
import { entryToJson, type ConntrackEntry, type EntryJson } from '../../src/conntrack/entry.js';
import { StalepinError } from '../../src/core/errors.js';

const real = join(repoRoot, 'fixtures', 'conntrack', 'real');
const edge = join(repoRoot, 'fixtures', 'conntrack', 'edge');

function load(dir: string, name: string): { entries: ConntrackEntry[]; json: EntryJson[]; summary: ReturnType<typeof parseConntrackText>['summary'] } {
  const r = parseConntrackText(readFileSync(join(dir, name), 'utf8'), name);
  return { ...r, json: r.entries.map((e) => entryToJson(e)) };
}

/** The recorded topology: what every real table must contain (see record-samples.sh). */
const realTables: [file: string, format: string, entries: number, timeSource: 'file' | 'none'][] = [
  ['list-default.txt', 'default', 16, 'none'],
  ['list-extended.txt', 'extended', 16, 'none'],
  ['list-id.txt', 'default', 16, 'none'],
  ['list-extended-id.txt', 'extended', 16, 'none'],
  ['list-ktimestamp.txt', 'default', 16, 'file'],
  ['list-labels.txt', 'default', 16, 'none'],
  ['list-save.txt', 'save', 16, 'none'],
  ['list-xml.txt', 'xml', 16, 'none'],
  ['list-xml-ktimestamp.txt', 'xml', 16, 'file'],
  ['list-extended-id-ktimestamp-labels.txt', 'extended', 16, 'file'],
  ['proc-nf_conntrack.txt', 'proc', 16, 'none'],
  ['list6-default.txt', 'default', 4, 'none'],
  ['list6-extended.txt', 'extended', 4, 'none'],
  ['list6-xml.txt', 'xml', 4, 'none'],
  ['list6-save.txt', 'save', 4, 'none'],
];

describe('real kernel tables: every format normalises', () => {
  it.each(realTables)('%s', (file, format, count, timeSource) => {
    const { entries, json, summary } = load(real, file);
    expect(summary.format).toBe(format);
    expect(detectFormat(readFileSync(join(real, file), 'utf8'))).toBe(format);
    expect(summary.badLines).toBe(0);
    expect(entries).toHaveLength(count);
    expect(summary.snapshot.source).toBe(timeSource);
    // The pinned SIP flow: client 192.0.2.10:5060 -> VIP 203.0.113.10:5060 -> backend .20.
    if (count === 16) {
      const sip = json.find((j) => j.client === '192.0.2.10:5060' && j.proto === 'udp');
      expect(sip).toMatchObject({ service: '203.0.113.10:5060', target: '198.51.100.20:5060', dnat: true, snat: false, family: 'ipv4', protoNum: 17 });
      expect(sip!.flags).not.toContain('unreplied');
      // The flow DNATed to a backend that does not answer: the stale-pin shape.
      const dead = json.find((j) => j.service === '203.0.113.10:5070');
      expect(dead).toMatchObject({ target: '198.51.100.30:5060', flags: ['unreplied'] });
      // Masquerade: the reply goes to the LB's own address.
      expect(json.find((j) => j.service === '203.0.113.10:5080')).toMatchObject({ target: '198.51.100.21:5060', snat: true });
      const tcp = json.filter((j) => j.proto === 'tcp' && j.family === 'ipv4').map((j) => j.state).sort();
      expect(tcp).toEqual(['ESTABLISHED', 'TIME_WAIT']);
      expect(json.find((j) => j.proto === 'sctp')).toMatchObject({ state: 'CLOSED', protoNum: 132, flags: ['unreplied'] });
      expect(json.find((j) => j.protoNum === 253)).toMatchObject({ proto: 'unknown', service: '198.51.100.20' });
      if (format !== 'save' && format !== 'proc') expect(json.find((j) => j.client === '192.0.2.10:5062')).toMatchObject({ zone: 7 });
      if (format === 'proc') expect(json.find((j) => j.client === '192.0.2.10:5062')).toMatchObject({ zone: 7 });
      if (format === 'save') expect(json.find((j) => j.client === '192.0.2.10:5062')).toMatchObject({ zone: 7 });
    }
    const v6 = json.find((j) => j.family === 'ipv6' && j.proto === 'udp');
    expect(v6).toMatchObject({ client: '[2001:db8:c::10]:5060', service: '[2001:db8:f::10]:5060', target: '[2001:db8:b::20]:5060' });
  });

  it('reads ids, labels, marks, counters and start times where the format prints them', () => {
    const { json } = load(real, 'list-extended-id-ktimestamp-labels.txt');
    const sip = json.find((j) => j.client === '192.0.2.10:5060' && j.proto === 'udp')!;
    expect(sip.labels).toEqual(['sip-carrier', 'audit']);
    expect(sip.mark).toBe(42);
    expect(sip.id).toBeGreaterThan(0);
    expect(sip.orig.packets).toBe(3);
    expect(sip.reply.packets).toBe(3);
    expect(sip.start).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const xml = load(real, 'list-xml-ktimestamp.txt').json.find((j) => j.client === '192.0.2.10:5060' && j.proto === 'udp')!;
    expect(xml.start).toMatch(/\.\d{9}Z$/);
    expect(xml.id).toBeGreaterThan(0);
  });

  it('reads the icmp tuple (type, code, id) in text forms and the save form', () => {
    for (const f of ['list-default.txt', 'proc-nf_conntrack.txt', 'list-save.txt']) {
      const icmp = load(real, f).json.find((j) => j.proto === 'icmp' && j.service === '203.0.113.10')!;
      expect(icmp.orig).toMatchObject({ icmpType: 8, icmpCode: 0, icmpId: 23130 });
    }
    const v6 = load(real, 'list6-default.txt').json.find((j) => j.proto === 'icmpv6' && j.service === '[2001:db8:f::10]')!;
    expect(v6.orig).toMatchObject({ icmpType: 128, icmpId: 27499 });
    expect(v6.reply).toMatchObject({ icmpType: 129 });
  });
});

const realEvents: [file: string, format: string, hasTime: boolean, hasId: boolean][] = [
  ['events-default.txt', 'events', false, false],
  ['events-timestamp.txt', 'events', true, false],
  ['events-id.txt', 'events', false, true],
  ['events-timestamp-id.txt', 'events', true, true],
  ['events-extended-timestamp-id.txt', 'events', true, true],
  ['events-ktimestamp.txt', 'events', false, false],
  ['events-xml-timestamp.txt', 'xml-events', true, true],
];

describe('real kernel event streams', () => {
  it.each(realEvents)('%s', (file, format, hasTime, hasId) => {
    const { json, summary } = load(real, file);
    expect(summary.format).toBe(format);
    expect(summary.badLines).toBe(0);
    expect(json.length).toBeGreaterThan(20);
    const kinds = new Set(json.map((j) => j.event));
    expect(kinds).toEqual(new Set(['new', 'update', 'destroy']));
    expect(json.every((j) => j.time !== undefined)).toBe(hasTime);
    expect(json.some((j) => j.id !== undefined)).toBe(hasId);
    // conntrack -I / -U / -D made these: the [USERSPACE] suffix names the netlink port.
    const us = json.filter((j) => j.portid !== undefined);
    expect(us.length).toBeGreaterThanOrEqual(4);
    // progname is looked up by conntrack as the event arrives: empty when that process is gone.
    expect(us.every((j) => j.progname === undefined || j.progname === 'conntrack')).toBe(true);
    // A NEW event for the pinned flow is unreplied; its UPDATE is replied.
    const first = json.find((j) => j.client === '192.0.2.10:5060' && j.proto === 'udp' && j.event === 'new')!;
    expect(first.flags).toContain('unreplied');
    expect(first.target).toBe('198.51.100.20:5060');
    if (hasTime) expect(summary.snapshot.source).toBe('file');
  });

  it('DESTROY events carry counters, and ktimestamp start/stop', () => {
    const { json } = load(real, 'events-ktimestamp.txt');
    const d = json.find((j) => j.event === 'destroy' && j.proto === 'icmp')!;
    expect(d.start).toBeDefined();
    expect(d.stop).toBeDefined();
    expect(d.orig.packets).toBe(1);
  });
});

interface EdgeCase {
  file: string;
  format: string | null;
  entries: number;
  bad?: number;
  check?: (j: EntryJson[]) => void;
}

const edgeCases: EdgeCase[] = [
  {
    file: 'offload-zones-labels.txt',
    format: 'default',
    entries: 4,
    check: (j) => {
      expect(j[0]).toMatchObject({ flags: ['offload'], proto: 'udp' });
      expect(j[0]!.timeout).toBeUndefined();
      expect(j[1]).toMatchObject({ flags: ['offload', 'hw_offload'], state: 'ESTABLISHED' });
      expect(j[2]).toMatchObject({ zone: 3, zoneOrig: 10, zoneReply: 20, mark: 305419896, secmark: 7, helper: 'sip', id: 4001, labels: ['sip-carrier', 'pinned'], deltaSec: 12 });
      expect(j[3]).toMatchObject({ flags: ['unreplied'], secctx: 'system_u:object_r:unlabeled_t:s0', target: '198.51.100.99:5060' });
    },
  },
  {
    file: 'icmp-generic.txt',
    format: 'default',
    entries: 7,
    check: (j) => {
      expect(j[0]).toMatchObject({ proto: 'icmp', id: 77, orig: { icmpType: 8, icmpCode: 0, icmpId: 4660 }, reply: { icmpType: 0, icmpId: 4660 } });
      expect(j[1]).toMatchObject({ proto: 'icmpv6', family: 'ipv6', client: '[2001:db8::10]', flags: ['unreplied'] });
      expect(j[2]).toMatchObject({ proto: 'gre', orig: { srcKey: 0, dstKey: 0 }, flags: ['assured'] });
      expect(j[3]).toMatchObject({ proto: 'unknown', protoNum: 50, client: '192.0.2.10', target: '198.51.100.20' });
      expect(j[4]).toMatchObject({ proto: 'sctp', state: 'ESTABLISHED', target: '198.51.100.20:3868', dnat: true });
      expect(j[5]).toMatchObject({ proto: 'dccp', state: 'OPEN' });
      expect(j[6]).toMatchObject({ proto: 'udplite', protoNum: 136 });
    },
  },
  {
    file: 'proc-ipv6-offload.txt',
    format: 'proc',
    entries: 4,
    check: (j) => {
      expect(j[0]).toMatchObject({ client: '[2001:db8:c::10]:5060', target: '[2001:db8:b::20]:5060', zone: 0 });
      expect(j[1]).toMatchObject({ flags: ['offload', 'hw_offload'] });
      expect(j[1]!.timeout).toBeUndefined();
      expect(j[1]!.state).toBeUndefined();
      expect(j[2]).toMatchObject({ zoneOrig: 5, secctx: 'system_u:object_r:unlabeled_t:s0', deltaSec: 100 });
      expect(j[3]).toMatchObject({ client: '[::ffff:192.0.2.19]:5060', target: '[2001:db8:b::21]:5060' });
    },
  },
  {
    file: 'save-edge.txt',
    format: 'save',
    entries: 5,
    check: (j) => {
      expect(j[0]).toMatchObject({ flags: ['assured'], secmark: 9, zone: 7, zoneOrig: 1, zoneReply: 2, target: '198.51.100.20:5060', timeout: 26 });
      expect(j[1]).toMatchObject({ family: 'ipv6', flags: ['unreplied'], snat: true, target: '[2001:db8:b::99]:5060', reply: { dst: '2001:db8:b::1', dport: 61000 } });
      expect(j[2]).toMatchObject({ event: 'update', proto: 'sctp', state: 'ESTABLISHED' });
      expect(j[3]).toMatchObject({ event: 'destroy', proto: 'icmp', orig: { icmpType: 8, icmpId: 4660 } });
      expect(j[4]).toMatchObject({ proto: 'unknown', protoNum: 50 });
    },
  },
  {
    file: 'events-edge.txt',
    format: 'events',
    entries: 5,
    bad: 1,
    check: (j) => {
      expect(j.map((x) => x.event)).toEqual(['new', 'update', 'update', 'destroy', 'destroy']);
      expect(j[0]!.time).toBe('2026-11-23T20:11:50.771362Z');
      expect(j[2]).toMatchObject({ portid: 2609027602, mark: 8, id: 12 });
      expect(j[2]!.progname).toBeUndefined();
      expect(j[3]).toMatchObject({ portid: 11585, progname: 'conntrack', deltaSec: 1 });
      expect(j[3]!.timeout).toBeUndefined();
    },
  },
  {
    file: 'flows.xml',
    format: 'xml',
    entries: 3,
    check: (j) => {
      expect(j[0]).toMatchObject({
        zoneOrig: 1,
        zoneReply: 2,
        zone: 7,
        mark: 42,
        secmark: 3,
        labels: ['sip-carrier', 'pinned'],
        helper: 'sip',
        flags: ['unreplied'],
        start: '2026-11-23T20:11:50.771362000Z',
        stop: '2026-11-23T20:12:20.123456789Z',
        line: 3,
      });
      expect(j[1]).toMatchObject({ family: 'ipv6', state: 'ESTABLISHED', flags: ['assured'] });
      // libnetfilter_conntrack prints SCTP states through the TCP table: SYN_SENT is CLOSED.
      expect(j[2]).toMatchObject({ proto: 'sctp', state: 'CLOSED' });
    },
  },
  {
    file: 'ipvs-lnc.txt',
    format: 'ipvs',
    entries: 5,
    check: (j) => {
      expect(j[0]).toMatchObject({ client: '192.0.2.10:5060', service: '203.0.113.11:5060', target: '198.51.100.20:5060', timeout: 298, state: 'UDP', proto: 'udp' });
      expect(j[2]).toMatchObject({ proto: 'tcp', state: 'ESTABLISHED', timeout: 899 });
      expect(j[3]).toMatchObject({ family: 'ipv6', target: '[2001:db8:b::20]:5060', timeout: 118 });
      expect(j[4]).toMatchObject({ proto: 'ip', state: 'NONE', timeout: 10793, target: '198.51.100.20:0' });
    },
  },
  { file: 'ipvs-persistent.txt', format: 'ipvs', entries: 1, check: (j) => expect(j[0]).toMatchObject({ target: '198.51.100.20:5060', timeout: 300 }) },
  {
    file: 'ip_vs_conn.txt',
    format: 'ipvs-proc',
    entries: 3,
    check: (j) => {
      expect(j[0]).toMatchObject({ client: '192.0.2.10:5060', service: '203.0.113.11:5060', target: '198.51.100.20:5060', timeout: 298 });
      expect(j[1]).toMatchObject({ client: '192.0.2.12:40000', target: '198.51.100.21:5060', state: 'ESTABLISHED' });
      expect(j[2]).toMatchObject({ client: '[2001:db8:c::10]:40001', service: '[2001:db8:f::11]:5060' });
    },
  },
  { file: 'crlf.txt', format: 'default', entries: 2, check: (j) => expect(j[1]).toMatchObject({ use: 1, flags: ['unreplied'] }) },
  { file: 'empty-table.txt', format: null, entries: 0 },
  { file: 'some-bad-lines.txt', format: 'default', entries: 4, bad: 3, check: (j) => expect(j.map((x) => x.line)).toEqual([1, 5, 6, 7]) },
];

describe('hand-written edge cases', () => {
  it.each(edgeCases)('$file', ({ file, format, entries, bad, check }) => {
    const { json, summary } = load(edge, file);
    expect(summary.format).toBe(format);
    expect(json).toHaveLength(entries);
    expect(summary.badLines).toBe(bad ?? 0);
    check?.(json);
  });

  it('covers every edge fixture', () => {
    const files = readdirSync(edge).filter((f) => f !== 'mostly-garbage.txt' && f !== 'events-ktimestamp.txt');
    expect(files.sort()).toEqual(edgeCases.map((c) => c.file).sort());
  });

  it('ktimestamp [start=] and [stop=] are ctime text in local time, day padded', () => {
    const prev = process.env['TZ'];
    process.env['TZ'] = 'UTC';
    try {
      const { json } = load(edge, 'events-ktimestamp.txt');
      expect(json[0]).toMatchObject({ start: '2026-11-23T20:12:37Z', stop: '2026-11-03T20:12:39Z' });
    } finally {
      if (prev === undefined) delete process.env['TZ'];
      else process.env['TZ'] = prev;
    }
  });
});

describe('bad input', () => {
  it('unparseable lines are warnings with file:line and the line made visible', () => {
    const { summary } = load(edge, 'some-bad-lines.txt');
    expect(summary.warnings.map((w) => w.message.split(': ')[0])).toEqual(['some-bad-lines.txt:2', 'some-bad-lines.txt:3', 'some-bad-lines.txt:4']);
    expect(summary.warnings[0]!.message).toContain('\\e[2J');
    expect(summary.warnings[0]!.message).not.toContain('\x1b');
    expect(summary.warnings[2]!.message).toContain('bad sport');
  });

  const notConntrack: [string, string][] = [
    ['syslog lines', readFileSync(join(edge, 'mostly-garbage.txt'), 'utf8')],
    ['one garbage line', 'hello world\n'],
    ['binary', '\x00\x01\x02\x03 PK\x03\x04\n\x00\x00\n'],
    ['a JSON document', '{"entries": []}\n'],
    ['a broken XML flow', '<?xml version="1.0"?>\n<conntrack>\n<flow><meta direction="original">\n'],
  ];
  it.each(notConntrack)('a file that is mostly not conntrack is bad_input: %s', (_name, text) => {
    let err: unknown;
    try {
      parseConntrackText(text, 'x.txt');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StalepinError);
    expect((err as StalepinError).code).toBe('bad_input');
    expect((err as StalepinError).oneLine()).toMatch(/^x\.txt: line \d+: not conntrack output/);
  });

  it('gives up early on a long file that never parses (does not read it all)', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `garbage line ${i}`).join('\n');
    expect(() => parseConntrackText(lines, 'g.txt')).toThrow(/64 of 64 lines unparseable/);
  });

  it('an unreadable path is bad_input naming the file', async () => {
    await expect(parseConntrackFile(join(edge, 'no-such-file'), { file: 'no-such-file', onEntry: () => undefined })).rejects.toThrow(/cannot read: no such file/);
  });
});
