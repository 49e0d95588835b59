/**
 * The committed lab cases (fixtures/lab/<variant>/): every file in every form, captures that
 * read and decode with no anomaly, and a truth.json that agrees with the evidence.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCapture, checkFiles, checkTruth, readCaptureHeader, readTruth } from './check.js';
import { parseConntrackText, parseConntrackXml, parseSippMessages } from './parse.js';
import { listFiles } from './run.js';
import { VARIANT_SPECS, VARIANTS } from './topology.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const labDir = path.join(root, 'fixtures', 'lab');
const cases = existsSync(labDir) ? readdirSync(labDir).filter((d) => existsSync(path.join(labDir, d, 'truth.json'))) : [];

describe('committed lab cases', () => {
  it('there is one case per variant, and a README', () => {
    expect(cases.sort()).toEqual([...VARIANTS].sort());
    expect(existsSync(path.join(labDir, 'README.md'))).toBe(true);
  });

  describe.each(cases)('%s', (variant) => {
    const dir = path.join(labDir, variant);
    it('has every file, in every form', () => {
      expect(checkFiles(dir)).toEqual([]);
    });
    it('is well under 1 MB', () => {
      const total = listFiles(dir).reduce((n, f) => n + f.bytes, 0);
      expect(total).toBeLessThan(600 * 1024);
    });
    it('truth.json names the variant it was recorded as', () => {
      const t = readTruth(dir);
      expect(t.variant).toBe(variant);
      expect(t.termination).toBe(VARIANT_SPECS[variant as keyof typeof VARIANT_SPECS].termination);
      expect(t.family).toBe(VARIANT_SPECS[variant as keyof typeof VARIANT_SPECS].family === 4 ? 'ipv4' : 'ipv6');
    });
    it('capture: right format and link types, reads and decodes with no anomaly', async () => {
      expect(await checkCapture(dir)).toEqual([]);
    });
    it('truth.json agrees with conntrack (every form), events, inventory, ruleset and sipp logs', () => {
      expect(checkTruth(dir)).toEqual([]);
    });
  });

  it('the fragmented case really carries IP fragments, the ipv6 case IPv6', () => {
    if (!cases.includes('fragmented') || !cases.includes('ipv6')) return;
    const frag = readFileSync(path.join(labDir, 'fragmented', 'lb-any.pcap'));
    // SLL2 header is 20 bytes; IPv4 flags/fragment offset at IP+6. Count MF-flagged datagrams.
    let mf = 0;
    for (let off = 24; off + 16 + 20 + 8 <= frag.length; ) {
      const capLen = frag.readUInt32LE(off + 8);
      const ip = off + 16 + 20;
      if (frag.readUInt16BE(off + 16) === 0x0800 && (frag[ip]! >> 4) === 4 && (frag.readUInt16BE(ip + 6) & 0x2000) !== 0) mf++;
      off += 16 + capLen;
    }
    expect(mf).toBeGreaterThan(10);
    expect(readTruth(path.join(labDir, 'ipv6')).deadBackend).toMatch(/^\[2001:db8:/);
    expect(readCaptureHeader(path.join(labDir, 'ipv6', 'lb-interfaces.pcapng')).interfaceNames).toEqual(['lb-ext', 'lb-a', 'lb-b']);
  });
});

describe('the checks catch a wrong case', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'stalepin-lab-struct-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const source = cases.includes('killed') ? path.join(labDir, 'killed') : undefined;

  const mutations: [string, (dir: string) => void, RegExp][] = [
    [
      'pinned entry rewritten to the live backend in the default form',
      (d) => {
        const t = readTruth(d);
        const dead = t.deadBackend.replace(/:\d+$/, '');
        const live = t.liveBackend.replace(/:\d+$/, '');
        const f = path.join(d, 'conntrack-after.txt');
        const lines = readFileSync(f, 'utf8').split('\n');
        writeFileSync(f, lines.map((l) => (l.includes(`sport=${t.fixedPort} `) ? l.replace(`src=${dead} `, `src=${live} `) : l)).join('\n'));
      },
      /conntrack-after\.txt: pinned tuple maps to/,
    ],
    [
      'a lost Call-ID dropped from truth.json',
      (d) => {
        const t = readTruth(d);
        t.lostCallIds = t.lostCallIds.slice(1);
        writeFileSync(path.join(d, 'truth.json'), JSON.stringify(t));
      },
      /lost Call-IDs differ/,
    ],
    [
      'the xml form missing',
      (d) => rmSync(path.join(d, 'conntrack-before.xml')),
      /missing conntrack-before\.xml/,
    ],
    [
      'inventory says the dead backend is active',
      (d) => {
        const f = path.join(d, 'inventory.json');
        writeFileSync(f, readFileSync(f, 'utf8').replace('"terminated"', '"active"'));
      },
      /inventory\.json: dead backend/,
    ],
  ];
  it.each(mutations)('%s', (_name, mutate, expected) => {
    if (!source) return;
    const dir = path.join(tmp, String(Math.random()).slice(2));
    cpSync(source, dir, { recursive: true });
    mutate(dir);
    const files = checkFiles(dir);
    const problems = files.length ? files : checkTruth(dir);
    expect(problems.join('\n')).toMatch(expected);
  });
});

describe('lab readers', () => {
  const lines: [string, string, { proto: string; state: string; client: string; target: string; id: number | undefined }][] = [
    [
      'default form',
      'udp      17 29 src=203.0.113.2 dst=203.0.113.10 sport=5080 dport=5060 src=198.51.100.11 dst=203.0.113.2 sport=5060 dport=5080 [ASSURED] mark=0 delta-time=3 use=1',
      { proto: 'udp', state: '', client: '203.0.113.2:5080', target: '198.51.100.11:5060', id: undefined },
    ],
    [
      'extended,id form, TCP',
      'ipv4     2 tcp      6 102 TIME_WAIT src=203.0.113.2 dst=203.0.113.10 sport=5092 dport=5060 src=198.51.100.21 dst=203.0.113.2 sport=5060 dport=5092 [ASSURED] mark=0 delta-time=18 use=1 id=4249418338',
      { proto: 'tcp', state: 'TIME_WAIT', client: '203.0.113.2:5092', target: '198.51.100.21:5060', id: 4249418338 },
    ],
    [
      'ktimestamp form (a bracketed date with spaces)',
      'udp      17 10 src=203.0.113.2 dst=203.0.113.10 sport=56714 dport=5060 src=198.51.100.11 dst=203.0.113.2 sport=5060 dport=56714 mark=0 delta-time=19 [start=Mon Nov 23 20:12:04 2026] use=1',
      { proto: 'udp', state: '', client: '203.0.113.2:56714', target: '198.51.100.11:5060', id: undefined },
    ],
    [
      'accounting counters between the tuples',
      'udp      17 12 src=2001:db8:c::2 dst=2001:db8:c::10 sport=37110 dport=5060 packets=3 bytes=1709 src=2001:db8:b::21 dst=2001:db8:c::2 sport=5060 dport=37110 packets=3 bytes=1354 mark=0 use=1',
      { proto: 'udp', state: '', client: '2001:db8:c::2:37110', target: '2001:db8:b::21:5060', id: undefined },
    ],
    [
      'an event line: [UNREPLIED] between the tuples, timestamp prefix',
      '[1795464724.058268]	    [NEW] udp      17 30 src=203.0.113.2 dst=203.0.113.10 sport=5080 dport=5060 [UNREPLIED] src=198.51.100.11 dst=203.0.113.2 sport=5060 dport=5080 id=2248769770',
      { proto: 'udp', state: '', client: '203.0.113.2:5080', target: '198.51.100.11:5060', id: undefined },
    ],
  ];
  it.each(lines)('conntrack %s', (_n, line, want) => {
    const e = parseConntrackText(line);
    if (line.startsWith('[')) {
      // Event lines are not a dump form: the reader must not invent an entry from them.
      expect(e).toEqual([]);
      return;
    }
    expect(e).toHaveLength(1);
    const got = e[0]!;
    expect({
      proto: got.proto,
      state: got.state,
      client: `${got.orig.src}:${got.orig.sport}`,
      target: `${got.reply.src}:${got.reply.sport}`,
      id: got.id,
    }).toEqual(want);
  });

  it('conntrack xml: tuples, id, assured', () => {
    const xml =
      '<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>203.0.113.2</src><dst>203.0.113.10</dst></layer3><layer4 protonum="17" protoname="udp"><sport>5080</sport><dport>5060</dport></layer4></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>198.51.100.11</src><dst>203.0.113.2</dst></layer3><layer4 protonum="17" protoname="udp"><sport>5060</sport><dport>5080</dport></layer4></meta><meta direction="independent"><timeout>111</timeout><mark>0</mark><use>1</use><id>2248769770</id><assured/><deltatime>19</deltatime></meta></flow>\n</conntrack>\n';
    const [e] = parseConntrackXml(xml);
    expect(e).toMatchObject({ proto: 'udp', orig: { src: '203.0.113.2', sport: 5080 }, reply: { src: '198.51.100.11', sport: 5060 }, id: 2248769770, flags: ['ASSURED'] });
  });

  it('sipp message log: time, direction, Call-ID, Via port, response method', () => {
    const log = [
      '----------------------------------------------- 2026-11-23 20:12:06.610017',
      'UDP message sent (738 bytes):',
      '',
      'INVITE sip:service@203.0.113.10:5060 SIP/2.0',
      'Via: SIP/2.0/UDP [2001:db8:c::2]:5080;branch=z9hG4bK-1',
      'Call-ID: fixed-after-1-1@203.0.113.2',
      'CSeq: 1 INVITE',
      '',
      'v=0',
      '----------------------------------------------- 2026-11-23 20:12:06.710017',
      'TCP message received [300] bytes :',
      '',
      'SIP/2.0 180 Ringing',
      'Via: SIP/2.0/TCP 203.0.113.2:5092;branch=z9hG4bK-1',
      'Call-ID: x',
      'CSeq: 1 INVITE',
      '',
    ].join('\n');
    const m = parseSippMessages(log);
    expect(m.map((x) => [x.dir, x.transport, x.method, x.status, x.callId, x.viaHost, x.viaPort])).toEqual([
      ['sent', 'UDP', 'INVITE', undefined, 'fixed-after-1-1@203.0.113.2', '2001:db8:c::2', 5080],
      ['received', 'TCP', 'INVITE', 180, 'x', '203.0.113.2', 5092],
    ]);
    expect(m[0]!.timeNs).toBe(BigInt(Date.parse('2026-11-23T20:12:06Z')) * 1_000_000n + 610_017_000n);
  });
});
