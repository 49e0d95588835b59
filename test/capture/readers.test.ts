/**
 * Every format fixture read end to end: counts, exact timestamps, interfaces, anomalies and
 * warnings. Expected values are written out, not recomputed with the generator's code.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePcap } from '../../src/capture/writer.js';
import { encodePcapng } from '../../src/capture/pcapng-writer.js';
import { T0 } from '../gen/formats.js';
import { udp4Frame } from '../gen/packets.js';
import { fx, readOne } from './helpers.js';

const US = ['2023-11-14T22:13:20.123456Z', '2023-11-14T22:13:20.623456Z', '2023-11-14T22:13:21.000005Z', '2023-11-14T22:13:22.999999Z'];
const NS = ['2023-11-14T22:13:20.123456789Z', '2023-11-14T22:13:20.623456000Z', '2023-11-14T22:13:21.000005000Z', '2023-11-14T22:13:22.999999999Z'];
// 2^-20 s units, truncated to whole nanoseconds, printed with the 7 digits that resolution carries.
const POW2 = ['2023-11-14T22:13:20.1234560Z', '2023-11-14T22:13:20.6234550Z', '2023-11-14T22:13:21.0000047Z', '2023-11-14T22:13:22.9999990Z'];
const POW2_NSEC = [123456001, 623455047, 4768, 999999046];
const LENS = [318, 318, 318, 318];

interface Case {
  file: string;
  format: 'pcap' | 'pcapng';
  byteOrder: 'le' | 'be';
  gzip?: boolean;
  times: string[];
  capLens?: number[];
  origLens?: number[];
  ifIndex?: number[];
  linkTypes?: number[];
  /** Interfaces as [linkType, precision, name?, section?]. */
  ifaces: [number, number, string?, number?][];
  anomalies?: Record<string, number>;
  /** Warning codes with the byte offset each names. */
  warnings?: [string, number][];
  sections?: number;
  nsec?: number[];
}

const cases: Case[] = [
  { file: 'pcap-le-us.pcap', format: 'pcap', byteOrder: 'le', times: US, capLens: LENS, ifaces: [[1, 6]] },
  { file: 'pcap-be-us.pcap', format: 'pcap', byteOrder: 'be', times: US, capLens: LENS, ifaces: [[1, 6]] },
  { file: 'pcap-le-ns.pcap', format: 'pcap', byteOrder: 'le', times: NS, ifaces: [[1, 9]] },
  { file: 'pcap-be-ns.pcap', format: 'pcap', byteOrder: 'be', times: NS, ifaces: [[1, 9]] },
  { file: 'pcap-snaplen.pcap', format: 'pcap', byteOrder: 'le', times: US, capLens: [96, 96, 96, 96], origLens: LENS, ifaces: [[1, 6]] },
  { file: 'pcap-le-us.pcap.gz', format: 'pcap', byteOrder: 'le', gzip: true, times: US, ifaces: [[1, 6]] },
  { file: 'gzip-no-suffix.pcap', format: 'pcap', byteOrder: 'be', gzip: true, times: NS, ifaces: [[1, 9]] },
  { file: 'pcapng-le-us.pcapng', format: 'pcapng', byteOrder: 'le', times: US, capLens: LENS, ifaces: [[1, 6, 'eth0']] },
  { file: 'pcapng-be-us.pcapng', format: 'pcapng', byteOrder: 'be', times: US, ifaces: [[1, 6, 'eth0']] },
  { file: 'pcapng-le-ns.pcapng', format: 'pcapng', byteOrder: 'le', times: NS, ifaces: [[1, 9, 'eth0']] },
  { file: 'pcapng-be-ns.pcapng', format: 'pcapng', byteOrder: 'be', times: NS, ifaces: [[1, 9, 'eth0']] },
  { file: 'pcapng-be-ns.pcapng.gz', format: 'pcapng', byteOrder: 'be', gzip: true, times: NS, ifaces: [[1, 9, 'eth0']] },
  { file: 'pcapng-le-pow2.pcapng', format: 'pcapng', byteOrder: 'le', times: POW2, nsec: POW2_NSEC, ifaces: [[1, 7, 'eth0']] },
  { file: 'pcapng-be-pow2.pcapng', format: 'pcapng', byteOrder: 'be', times: POW2, nsec: POW2_NSEC, ifaces: [[1, 7, 'eth0']] },
  {
    file: 'pcapng-fine-ts.pcapng',
    format: 'pcapng',
    byteOrder: 'le',
    times: ['2023-11-14T22:13:20.123456789Z', '2023-11-14T22:13:21.500000000Z'],
    ifIndex: [0, 1],
    ifaces: [
      [1, 9, 'ps'],
      [1, 9, 'p30'],
    ],
  },
  { file: 'pcapng-tsoffset.pcapng', format: 'pcapng', byteOrder: 'le', times: NS, ifaces: [[1, 9, 'bond0.100']] },
  {
    file: 'pcapng-two-sections.pcapng',
    format: 'pcapng',
    byteOrder: 'le',
    sections: 2,
    times: [NS[0]!, NS[1]!, US[2]!, US[3]!],
    capLens: [318, 318, 304, 304],
    ifIndex: [0, 0, 2, 2],
    linkTypes: [1, 1, 101, 101],
    ifaces: [
      [1, 9, 'eth0', 0],
      [1, 6, 'eth1', 1],
      [101, 6, 'tun0', 1],
    ],
  },
  {
    file: 'pcapng-multi-if.pcapng',
    format: 'pcapng',
    byteOrder: 'le',
    // File order, not time order: the reader does not sort.
    times: ['2023-11-14T22:13:21.000000Z', '2023-11-14T22:13:20.500000000Z', '2023-11-14T22:13:22.000000Z', '2023-11-14T22:13:21.500000000Z'],
    ifIndex: [0, 1, 0, 1],
    ifaces: [
      [1, 6, 'eth0'],
      [1, 9, 'eth1'],
    ],
  },
  {
    file: 'pcapng-spb.pcapng',
    format: 'pcapng',
    byteOrder: 'le',
    // Simple packet blocks carry no time: they inherit the previous packet's.
    times: ['2023-11-14T22:13:20.250000Z', '2023-11-14T22:13:20.250000Z', '2023-11-14T22:13:20.250000Z'],
    capLens: [64, 64, 42],
    origLens: [318, 318, 42],
    ifaces: [[1, 6]],
  },
  { file: 'pcapng-obsolete-pb.pcapng', format: 'pcapng', byteOrder: 'be', times: US.slice(0, 2), ifaces: [[1, 6]] },
  { file: 'pcapng-unknown-blocks.pcapng', format: 'pcapng', byteOrder: 'le', times: US.slice(0, 2), ifaces: [[1, 6]] },
  {
    file: 'bad-truncated-record.pcap',
    format: 'pcap',
    byteOrder: 'le',
    times: US.slice(0, 3),
    ifaces: [[1, 6]],
    anomalies: { truncated_record: 1 },
    warnings: [['truncated_record', 24 + 3 * 334]],
  },
  {
    file: 'bad-truncated-block.pcapng',
    format: 'pcapng',
    byteOrder: 'le',
    times: US.slice(0, 3),
    ifaces: [[1, 6, 'eth0']],
    anomalies: { truncated_record: 1 },
    warnings: [['truncated_record', 1144]],
  },
  {
    file: 'bad-oversized-record.pcap',
    format: 'pcap',
    byteOrder: 'le',
    times: US.slice(0, 2),
    ifaces: [[1, 6]],
    anomalies: { oversized_record: 1 },
    warnings: [['oversized_record', 24 + 2 * 334]],
  },
  {
    file: 'bad-caplen-snaplen.pcap',
    format: 'pcap',
    byteOrder: 'le',
    times: US.slice(0, 2),
    capLens: [100, 100],
    origLens: [318, 318],
    ifaces: [[1, 6]],
    anomalies: { oversized_record: 1 },
    warnings: [['oversized_record', 24 + 2 * 116]],
  },
  {
    file: 'bad-truncated.pcap.gz',
    format: 'pcap',
    byteOrder: 'le',
    gzip: true,
    times: US.slice(0, 2),
    ifaces: [[1, 6]],
    anomalies: { truncated_gzip: 1, truncated_record: 1 },
    warnings: [
      ['truncated_record', 24 + 2 * 334],
      ['truncated_gzip', 880],
    ],
  },
  {
    file: 'bad-crc.pcap.gz',
    format: 'pcap',
    byteOrder: 'le',
    gzip: true,
    times: US,
    ifaces: [[1, 6]],
    anomalies: { corrupt_gzip: 1 },
    warnings: [['corrupt_gzip', 1360]],
  },
];

describe('capture readers on format fixtures', () => {
  it.each(cases)('$file', async (c) => {
    const r = await readOne(fx(c.file));
    expect(r.info!.format).toBe(c.format);
    expect(r.info!.byteOrder).toBe(c.byteOrder);
    expect(r.info!.gzip).toBe(c.gzip ?? false);
    expect(r.info!.sections).toBe(c.sections ?? 1);
    expect(r.frames.map((f) => f.time)).toEqual(c.times);
    if (c.nsec) expect(r.frames.map((f) => f.nsec)).toEqual(c.nsec);
    if (c.capLens) expect(r.frames.map((f) => f.capLen)).toEqual(c.capLens);
    expect(r.frames.map((f) => f.origLen)).toEqual(c.origLens ?? r.frames.map((f) => f.capLen));
    expect(r.frames.map((f) => f.ifIndex)).toEqual(c.ifIndex ?? c.times.map(() => 0));
    expect(r.frames.map((f) => f.linkType)).toEqual(c.linkTypes ?? c.times.map(() => 1));
    // Every frame hands out the right bytes: Ethernet frames start with the builder's MAC, raw IP with 0x45.
    for (const f of r.frames) expect(f.head).toBe(f.linkType === 101 ? '4500' + f.head.slice(4) : '02000000');
    expect(r.interfaces.map((i) => [i.linkType, i.precision, i.name, i.section])).toEqual(
      c.ifaces.map(([lt, p, name, section]) => [lt, p, name, c.format === 'pcap' ? 0 : (section ?? 0)]),
    );
    expect(r.interfaces.reduce((n, i) => n + i.packets, 0)).toBe(c.times.length);
    expect(Object.fromEntries(r.anomalies.list().map((a) => [a.name, a.count]))).toEqual(c.anomalies ?? {});
    expect(r.warnings.map((w) => [w.code, w.offset])).toEqual(c.warnings ?? []);
    for (const w of r.warnings) expect(w.file).toBe(fx(c.file));
  });

  it('keeps the same payload bytes in every container variant', async () => {
    const variants = ['pcap-le-us.pcap', 'pcap-be-ns.pcap', 'pcapng-le-ns.pcapng', 'pcapng-be-pow2.pcapng', 'pcap-le-us.pcap.gz'];
    const sums = await Promise.all(variants.map(async (v) => (await readOne(fx(v))).frames.map((f) => f.hash)));
    for (const s of sums) expect(s).toEqual(sums[0]);
    expect(new Set(sums[0]).size).toBeGreaterThan(1);
  });

  it('records the byte offset of each record header', async () => {
    const r = await readOne(fx('pcap-le-us.pcap'));
    expect(r.frames.map((f) => f.recordOffset)).toEqual([24, 358, 692, 1026]);
    const n = await readOne(fx('pcapng-two-sections.pcapng'));
    expect(n.frames[0]!.recordOffset).toBeGreaterThan(0);
    expect(new Set(n.frames.map((f) => f.recordOffset)).size).toBe(4);
  });
});

describe('per-record oddities that are counted, not fatal', () => {
  const put = (name: string, b: Uint8Array): string => {
    const p = join(mkdtempSync(join(tmpdir(), 'stalepin-odd-')), name);
    writeFileSync(p, b);
    return p;
  };
  const frame = udp4Frame('192.0.2.1', 1, '192.0.2.2', 2, 'hello');

  it('pcap: a microsecond fraction of 1e6 or more carries into the seconds', async () => {
    const b = encodePcap({ linkType: 1 }, [{ sec: T0, nsec: 0, data: frame }]);
    new DataView(b.buffer).setUint32(24 + 4, 2_500_000, true);
    const r = await readOne(put('frac.pcap', b));
    expect(r.frames.map((f) => f.time)).toEqual(['2023-11-14T22:13:22.500000Z']);
    expect(r.anomalies.count('timestamp_fraction_overflow')).toBe(1);
  });

  it('pcapng: caplen above the snap length is counted and kept; above 256 KiB counted and skipped', async () => {
    const big = new Uint8Array(300_000);
    const b = encodePcapng((w) => {
      w.section('le');
      const id = w.interface({ linkType: 1, snapLen: 32 });
      w.epb(id, T0, 0, frame);
      w.epb(id, T0, 1000, big);
      w.epb(id, T0, 2000, frame);
      w.epb(id, T0, 3000, big);
    });
    const r = await readOne(put('caps.pcapng', b));
    expect(r.frames.map((f) => f.capLen)).toEqual([frame.length, frame.length]);
    expect(r.anomalies.count('caplen_exceeds_snaplen')).toBe(2);
    expect(r.anomalies.count('oversized_record')).toBe(2);
    // One warning for the oversized packets, not one per packet.
    expect(r.warnings.map((w) => w.code)).toEqual(['oversized_record']);
  });

  it('pcapng: interfaces and snap length reset per section; SPB uses the new interface 0', async () => {
    const b = encodePcapng((w) => {
      w.section('le');
      w.interface({ linkType: 1, snapLen: 0 });
      w.spb(frame);
      w.section('be');
      w.interface({ linkType: 101, snapLen: 20 });
      w.spb(frame.subarray(14));
    });
    const r = await readOne(put('spb2.pcapng', b));
    expect(r.frames.map((f) => [f.ifIndex, f.linkType, f.capLen])).toEqual([
      [0, 1, frame.length],
      [1, 101, 20],
    ]);
    expect(r.info!.sections).toBe(2);
  });
});
