/**
 * The public captures in ../shared/captures (absent in a user's clone: skipped): every frame
 * decodes without an exception, the TCP reassembler digests every stream, and the transports
 * counted are at least what SUMMARY.txt says tshark saw carrying SIP.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forEachFrame } from '../../src/capture/merge.js';
import type { CaptureInterface } from '../../src/capture/types.js';
import { Anomalies, type Warning } from '../../src/core/anomalies.js';
import { Decoder, newPacket } from '../../src/decode/decoder.js';
import { TcpReassembler } from '../../src/decode/tcp-reassembly.js';
import { DecodeStatus } from '../../src/decode/types.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const dir = resolve(repoRoot, '..', 'shared', 'captures');
const summaryPath = join(dir, 'SUMMARY.txt');
const present = existsSync(summaryPath);
if (!present) console.log(`skipping real-capture decode tests: ${dir} not present`);

interface Row {
  path: string;
  pkts: number;
  transport: Record<string, number>;
}

function rows(): Row[] {
  return readFileSync(summaryPath, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('./'))
    .map((l) => {
      const f = l.split('|');
      const transport: Record<string, number> = {};
      const t = f.find((x) => x.startsWith('transport:')) ?? '';
      for (const m of t.matchAll(/(\w+)=(\d+)/g)) transport[m[1]!] = Number(m[2]);
      return { path: f[0]!.slice(2), pkts: Number(/pkts=(\d+)/.exec(l)?.[1] ?? 0), transport };
    });
}

describe.skipIf(!present)('decoding the shared real captures', () => {
  const list = present ? rows() : [];
  it.each(list.map((r) => [r.path, r] as const))('%s', async (_p, r) => {
    const anomalies = new Anomalies();
    const ctx = { anomalies, warnings: [] as Warning[], interfaces: [] as CaptureInterface[] };
    const decoder = new Decoder({ anomalies });
    let delivered = 0;
    const tcp = new TcpReassembler({ data: (_s, _b, _o, len) => void (delivered += len), gap: () => {}, end: () => {} }, { anomalies });
    const pkt = newPacket();
    const count = { udp: 0, tcp: 0, tcpPayload: 0, frames: 0, gtp: 0 };
    await forEachFrame([join(dir, r.path)], ctx, (f) => {
      count.frames++;
      decoder.decode(f, pkt);
      tcp.push(pkt);
      if (pkt.status !== DecodeStatus.Ok) return;
      if (pkt.proto === 17) count.udp++;
      // tshark also counts the UDP datagram an ICMP error quotes.
      if ((pkt.proto === 1 || pkt.proto === 58) && pkt.quotedProto === 17) count.udp++;
      if (pkt.proto === 17 && (pkt.srcPort === 2152 || pkt.dstPort === 2152)) count.gtp++;
      if (pkt.proto === 6) {
        count.tcp++;
        count.tcpPayload += pkt.payloadLen;
      }
    });
    decoder.finish();
    tcp.flush('eof');
    expect(count.frames).toBe(r.pkts);
    // SIP inside tunnels (IP-in-IP, GRE, GTP-U) is counted by tshark but deliberately not decoded here.
    const tunnelled = anomalies.count('unsupported_ip_in_ip') + anomalies.count('unsupported_gre') + count.gtp > 0;
    if (!tunnelled) {
      expect(count.udp).toBeGreaterThanOrEqual(r.transport.udp ?? 0);
      expect(count.tcp).toBeGreaterThanOrEqual((r.transport.tcp ?? 0) + (r.transport.ws ?? 0));
    }
    expect(anomalies.count('unsupported_sctp')).toBeGreaterThanOrEqual(r.transport.sctp ?? 0);
    // Reassembly never invents bytes.
    expect(delivered).toBeLessThanOrEqual(count.tcpPayload);
    if (!tunnelled && (r.transport.tcp ?? 0) > 0) expect(delivered).toBeGreaterThan(0);
  });
});
