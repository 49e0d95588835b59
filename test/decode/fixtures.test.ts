/**
 * Every generated fixture, packet by packet: decoded from memory, decoded from the committed
 * file through the capture reader, and (when tshark is installed) cross-checked against
 * tshark's view of the same file. Regenerating must give the committed bytes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forEachFrame } from '../../src/capture/merge.js';
import type { Warning } from '../../src/core/anomalies.js';
import { Anomalies } from '../../src/core/anomalies.js';
import { formatIP } from '../../src/core/address.js';
import type { CaptureInterface } from '../../src/capture/types.js';
import { Decoder, newPacket } from '../../src/decode/decoder.js';
import { TcpReassembler } from '../../src/decode/tcp-reassembly.js';
import { trafficFixtures, writeTrafficFixtures, type TrafficFixture } from '../gen/traffic.js';
import { frameOf, LogSink, observed } from './helpers.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const fixtureDir = join(repoRoot, 'fixtures', 'decode');
const fixtures = trafficFixtures();

function decodeAll(f: TrafficFixture): { got: ReturnType<typeof observed>[]; anomalies: Anomalies; sink: LogSink; decoder: Decoder } {
  const anomalies = new Anomalies();
  const decoder = new Decoder({ anomalies });
  const sink = new LogSink();
  const tcp = new TcpReassembler(sink, { anomalies });
  const pkt = newPacket();
  const got = f.packets.map((p, i) => {
    decoder.decode(frameOf(p.data, f.linkType, p.sec, p.nsec, p.origLen ?? p.data.length), pkt);
    tcp.push(pkt);
    return observed(pkt, f.expect[i]!);
  });
  decoder.finish();
  tcp.flush('eof');
  return { got, anomalies, sink, decoder };
}

describe('decoder on generated fixtures', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))('%s: every packet decodes as expected', (_name, f) => {
    const { got, anomalies, sink } = decodeAll(f);
    expect(got).toEqual(f.expect);
    for (const [name, n] of Object.entries(f.anomalies ?? {})) expect([name, anomalies.count(name)]).toEqual([name, n]);
    if (f.streams) expect(sink.record()).toEqual(f.streams);
  });

  it('lists an unsupported link type once per interface, with its frame count', () => {
    const f = fixtures.find((x) => x.name === 'link-unsupported-80211')!;
    const { decoder } = decodeAll(f);
    expect(decoder.unsupportedLinks()).toEqual([{ ifIndex: 0, linkType: 105, frames: 2 }]);
    expect(decoder.warnings().map((w) => w.code)).toEqual(['unsupported_linktype']);
    expect(decoder.warnings()[0]!.message).toContain('IEEE802_11');
  });

  it('regenerating the fixtures gives the committed bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stalepin-traffic-'));
    try {
      const paths = writeTrafficFixtures(dir);
      expect(paths.length).toBe(fixtures.length);
      for (const p of paths) {
        const name = p.slice(dir.length + 1);
        const committed = join(fixtureDir, name);
        expect(existsSync(committed), `${name} is committed`).toBe(true);
        expect(Buffer.compare(readFileSync(p), readFileSync(committed)), name).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('decoder on the committed fixture files (through the capture reader)', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))('%s', async (_name, f) => {
    const anomalies = new Anomalies();
    const ctx = { anomalies, warnings: [] as Warning[], interfaces: [] as CaptureInterface[] };
    const decoder = new Decoder({ anomalies });
    const pkt = newPacket();
    const got: ReturnType<typeof observed>[] = [];
    await forEachFrame([join(fixtureDir, `${f.name}.pcap`)], ctx, (frame) => {
      decoder.decode(frame, pkt);
      got.push(observed(pkt, f.expect[got.length]!));
    });
    expect(got).toEqual(f.expect);
  });
});

const haveTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;
if (!haveTshark) console.log('skipping tshark cross-check: tshark not installed');

describe.skipIf(!haveTshark)('tshark cross-check', () => {
  // Tunnels are decoded by tshark and deliberately not by us; ICMP quotes are checked below.
  const plain = fixtures.filter((f) => !['tunnels', 'icmp-unreachable', 'link-unsupported-80211'].includes(f.name));
  it.each(plain.map((f) => [f.name, f] as const))('%s: addresses and ports equal tshark', (_name, f) => {
    const r = spawnSync(
      'tshark',
      ['-r', join(fixtureDir, `${f.name}.pcap`), '-T', 'fields', '-E', 'separator=|', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'udp.srcport', '-e', 'tcp.srcport', '-e', 'udp.dstport', '-e', 'tcp.dstport'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows.length).toBe(f.packets.length);
    const anomalies = new Anomalies();
    const decoder = new Decoder({ anomalies });
    const pkt = newPacket();
    let compared = 0;
    f.packets.forEach((p, i) => {
      decoder.decode(frameOf(p.data, f.linkType, p.sec, p.nsec, p.origLen ?? p.data.length), pkt);
      if (pkt.status !== 0 || (pkt.proto !== 6 && pkt.proto !== 17)) return;
      const [s4, s6, d4, d6, us, ts, ud, td] = rows[i]!.split('|');
      const n = pkt.ipVersion === 6 ? 16 : 4;
      const mine = [formatIP(pkt.src, 0, n), formatIP(pkt.dst, 0, n), String(pkt.srcPort), String(pkt.dstPort)];
      const theirs = pkt.ipVersion === 6 ? [s6, d6] : [s4, d4];
      theirs.push(pkt.proto === 17 ? us : ts, pkt.proto === 17 ? ud : td);
      expect(mine, `${f.name} frame ${i + 1}`).toEqual(theirs);
      compared++;
    });
    expect(compared).toBeGreaterThan(0);
  });

  it('icmp-unreachable: quoted addresses and ports equal tshark', () => {
    const f = fixtures.find((x) => x.name === 'icmp-unreachable')!;
    const r = spawnSync(
      'tshark',
      ['-r', join(fixtureDir, `${f.name}.pcap`), '-T', 'fields', '-E', 'separator=|', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'udp.srcport', '-e', 'udp.dstport'],
      { encoding: 'utf8' },
    );
    const rows = r.stdout.trimEnd().split('\n');
    const decoder = new Decoder({ anomalies: new Anomalies() });
    const pkt = newPacket();
    for (const i of [0, 1]) {
      const p = f.packets[i]!;
      decoder.decode(frameOf(p.data, f.linkType), pkt);
      const [s4, s6, us, ud] = rows[i]!.split('|');
      // tshark lists outer then quoted source addresses, comma-separated.
      const quotedSrc = (pkt.quotedIpVersion === 4 ? s4 : s6)!.split(',').pop();
      const n = pkt.quotedIpVersion === 6 ? 16 : 4;
      expect([formatIP(pkt.quotedSrc, 0, n), String(pkt.quotedSrcPort), String(pkt.quotedDstPort)]).toEqual([quotedSrc, us, ud]);
    }
  });
});
