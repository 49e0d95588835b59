/**
 * Deterministic capture-format fixtures: every container variant the readers accept (classic
 * pcap in both byte orders and both resolutions; pcapng in both byte orders with 10^-6, 10^-9,
 * 2^-20 and finer resolutions, if_tsoffset, several sections, several interfaces, simple and
 * obsolete packet blocks, blocks to skip), gzip copies, and the corrupt files the readers must
 * reject or report. No clock, no randomness, no zlib: gzip files use stored deflate blocks so
 * the bytes do not depend on the zlib version.
 *
 *   npx tsx test/gen/formats.ts fixtures/capture
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePcap, type PcapPacket, type PcapWriteOptions } from '../../src/capture/writer.js';
import { encodePcapng, type PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { sipInvite, udp4Frame } from './packets.js';

/** 2023-11-14T22:13:20Z. */
export const T0 = 1700000000;

function invite(n: number, sport = 5060): Uint8Array {
  return udp4Frame('192.0.2.10', sport, '198.51.100.1', 5060, sipInvite(`call-${n}@192.0.2.10`, n, `b${n}`, `alice@192.0.2.10`, `bob@198.51.100.1`, `192.0.2.10:${sport}`), n);
}

/** The four packets most fixtures carry; the fractions show what each resolution keeps. */
export const BASE: PcapPacket[] = [
  { sec: T0, nsec: 123456789, data: invite(1) },
  { sec: T0, nsec: 623456000, data: invite(2) },
  { sec: T0 + 1, nsec: 5000, data: invite(3) },
  { sec: T0 + 2, nsec: 999999999, data: invite(4) },
];

function pcap(o: Partial<PcapWriteOptions>, packets = BASE): Uint8Array {
  return encodePcap({ linkType: 1, ...o }, packets);
}

function ng(build: (w: PcapngWriter) => void): Uint8Array {
  return encodePcapng(build);
}

function basicNg(byteOrder: 'le' | 'be', tsresol: number | undefined): Uint8Array {
  return ng((w) => {
    w.section(byteOrder, { userAppl: 'stalepin fixtures' });
    const id = w.interface({ linkType: 1, name: 'eth0', ...(tsresol === undefined ? {} : { tsresol }) });
    for (const p of BASE) w.epb(id, p.sec, p.nsec, p.data);
  });
}

// ---- gzip with stored blocks (RFC 1951 §3.2.4, RFC 1952) ----

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A gzip member of stored (uncompressed) deflate blocks of at most `block` bytes each. */
export function gzipStored(data: Uint8Array, block = 4096): Uint8Array {
  const parts: number[] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
  for (let o = 0; o < data.length || o === 0; o += block) {
    const n = Math.min(block, data.length - o);
    const last = o + block >= data.length ? 1 : 0;
    parts.push(last, n & 0xff, n >> 8, ~n & 0xff, (~n >> 8) & 0xff);
    for (let i = 0; i < n; i++) parts.push(data[o + i]!);
    if (data.length === 0) break;
  }
  const crc = crc32(data);
  const size = data.length >>> 0;
  parts.push(crc & 0xff, (crc >>> 8) & 0xff, (crc >>> 16) & 0xff, crc >>> 24, size & 0xff, (size >>> 8) & 0xff, (size >>> 16) & 0xff, size >>> 24);
  return Uint8Array.from(parts);
}

function setU32(b: Uint8Array, off: number, v: number, le: boolean): Uint8Array {
  const out = b.slice();
  new DataView(out.buffer).setUint32(off, v, le);
  return out;
}

/** Offset of the n-th (0-based) record header in a classic pcap built from `packets`. */
function pcapRecordOffset(packets: PcapPacket[], n: number): number {
  let o = 24;
  for (let i = 0; i < n; i++) o += 16 + packets[i]!.data.length;
  return o;
}

/** Build every fixture as name -> bytes. */
export function formatFixtures(): Map<string, Uint8Array> {
  const f = new Map<string, Uint8Array>();

  // Classic pcap: byte order x resolution.
  f.set('pcap-le-us.pcap', pcap({ byteOrder: 'le', resolution: 'us' }));
  f.set('pcap-be-us.pcap', pcap({ byteOrder: 'be', resolution: 'us' }));
  f.set('pcap-le-ns.pcap', pcap({ byteOrder: 'le', resolution: 'ns' }));
  f.set('pcap-be-ns.pcap', pcap({ byteOrder: 'be', resolution: 'ns' }));
  // Snap length 96: records cut short on capture (caplen < origlen), which is normal.
  f.set(
    'pcap-snaplen.pcap',
    pcap({ snapLen: 96 }, BASE.map((p) => ({ sec: p.sec, nsec: p.nsec, data: p.data.subarray(0, 96), origLen: p.data.length }))),
  );
  // Rotated-file pair with interleaved times, for merging.
  f.set('merge-a.pcap', pcap({ resolution: 'us' }, [0, 2, 4].map((s, i) => ({ sec: T0 + s, nsec: 0, data: invite(10 + i) }))));
  f.set('merge-b.pcap', pcap({ resolution: 'ns', byteOrder: 'be' }, [1, 3, 5].map((s, i) => ({ sec: T0 + s, nsec: 1, data: invite(20 + i) }))));

  // pcapng: byte order x resolution (absent option = 10^-6).
  f.set('pcapng-le-us.pcapng', basicNg('le', undefined));
  f.set('pcapng-be-us.pcapng', basicNg('be', 6));
  f.set('pcapng-le-ns.pcapng', basicNg('le', 9));
  f.set('pcapng-be-ns.pcapng', basicNg('be', 9));
  f.set('pcapng-le-pow2.pcapng', basicNg('le', 0x94));
  f.set('pcapng-be-pow2.pcapng', basicNg('be', 0x94));
  // Finer than the fast paths: 10^-12 and 2^-30 take the bigint conversion.
  f.set(
    'pcapng-fine-ts.pcapng',
    ng((w) => {
      w.section('le');
      // 2^64 picoseconds is 213 days: such a resolution needs if_tsoffset to reach 2023.
      const ps = w.interface({ linkType: 1, name: 'ps', tsresol: 12, tsoffset: T0 });
      const p30 = w.interface({ linkType: 1, name: 'p30', tsresol: 0x80 | 30 });
      w.epb(ps, T0, 123456789, BASE[0]!.data);
      w.epb(p30, T0 + 1, 500000000, BASE[1]!.data);
    }),
  );
  // if_tsoffset: stored timestamps are relative to T0; names and descriptions.
  f.set(
    'pcapng-tsoffset.pcapng',
    ng((w) => {
      w.section('le');
      const id = w.interface({ linkType: 1, name: 'bond0.100', description: 'LB uplink', tsresol: 9, tsoffset: T0 });
      for (const p of BASE) w.epb(id, p.sec, p.nsec, p.data);
    }),
  );
  // Two sections: LE with one Ethernet interface, then BE with two (the second raw IP).
  f.set(
    'pcapng-two-sections.pcapng',
    ng((w) => {
      w.section('le');
      const a = w.interface({ linkType: 1, name: 'eth0', tsresol: 9 });
      w.epb(a, BASE[0]!.sec, BASE[0]!.nsec, BASE[0]!.data);
      w.epb(a, BASE[1]!.sec, BASE[1]!.nsec, BASE[1]!.data);
      w.section('be');
      w.interface({ linkType: 1, name: 'eth1' });
      const raw = w.interface({ linkType: 101, name: 'tun0' });
      w.epb(raw, BASE[2]!.sec, BASE[2]!.nsec, BASE[2]!.data.subarray(14));
      w.epb(raw, BASE[3]!.sec, BASE[3]!.nsec, BASE[3]!.data.subarray(14));
    }),
  );
  // Two interfaces whose packets interleave out of time order, as a multi-interface capture does.
  f.set(
    'pcapng-multi-if.pcapng',
    ng((w) => {
      w.section('le');
      const a = w.interface({ linkType: 1, name: 'eth0' });
      const b = w.interface({ linkType: 1, name: 'eth1', tsresol: 9 });
      w.epb(a, T0 + 1, 0, invite(31));
      w.epb(b, T0, 500000000, invite(32));
      w.epb(a, T0 + 2, 0, invite(33));
      w.epb(b, T0 + 1, 500000000, invite(34));
    }),
  );
  // Simple packet blocks: caplen implied by interface 0's snap length (64) and the block.
  f.set(
    'pcapng-spb.pcapng',
    ng((w) => {
      w.section('le');
      const id = w.interface({ linkType: 1, snapLen: 64 });
      w.epb(id, T0, 250000000, BASE[0]!.data.subarray(0, 64), BASE[0]!.data.length);
      w.spb(BASE[1]!.data.subarray(0, 64), BASE[1]!.data.length);
      w.spb(BASE[2]!.data.subarray(0, 42));
    }),
  );
  // Obsolete Packet Blocks (type 2).
  f.set(
    'pcapng-obsolete-pb.pcapng',
    ng((w) => {
      w.section('be');
      const id = w.interface({ linkType: 1 });
      for (const p of BASE.slice(0, 2)) w.pb(id, p.sec, p.nsec, p.data);
    }),
  );
  // Blocks to skip: name resolution, interface statistics, decryption secrets, custom, unknown.
  f.set(
    'pcapng-unknown-blocks.pcapng',
    ng((w) => {
      w.section('le');
      const id = w.interface({ linkType: 1 });
      w.raw(4, Uint8Array.of(1, 0, 8, 0, 192, 0, 2, 10, 0x6c, 0x62, 0x31, 0, 0, 0, 0, 0));
      w.epb(id, BASE[0]!.sec, BASE[0]!.nsec, BASE[0]!.data);
      w.raw(5, new Uint8Array(12));
      w.raw(10, Uint8Array.of(0x4b, 0x53, 0x4c, 0x54, 0, 0, 0, 0));
      w.raw(0x00000bad, Uint8Array.of(0, 0, 0x7f, 0xff, 1, 2, 3));
      w.raw(0x12345678, new Uint8Array(0));
      w.epb(id, BASE[1]!.sec, BASE[1]!.nsec, BASE[1]!.data);
    }),
  );

  // gzip, detected by magic: suffixed and not.
  f.set('pcap-le-us.pcap.gz', gzipStored(f.get('pcap-le-us.pcap')!, 700));
  f.set('pcapng-be-ns.pcapng.gz', gzipStored(f.get('pcapng-be-ns.pcapng')!));
  f.set('gzip-no-suffix.pcap', gzipStored(f.get('pcap-be-ns.pcap')!));

  // ---- corrupt and unusable inputs ----
  const le = f.get('pcap-le-us.pcap')!;
  f.set('bad-empty.pcap', new Uint8Array(0));
  f.set('bad-not-capture.txt', new TextEncoder().encode('Hello, I am a text file.\n'));
  f.set('bad-truncated-header.pcap', le.subarray(0, 20));
  f.set('bad-truncated-shb.pcapng', f.get('pcapng-le-us.pcapng')!.subarray(0, 20));
  f.set('bad-version.pcap', setU32(le, 4, 0x00040003, true)); // version 3.4
  // The last record loses its final 10 bytes.
  f.set('bad-truncated-record.pcap', le.subarray(0, le.length - 10));
  const ngle = f.get('pcapng-le-us.pcapng')!;
  f.set('bad-truncated-block.pcapng', ngle.subarray(0, ngle.length - 6));
  // Third record claims 300000 captured bytes.
  f.set('bad-oversized-record.pcap', setU32(le, pcapRecordOffset(BASE, 2) + 8, 300000, true));
  // Snap length 100, third record 200 bytes captured: beyond the declared snap length.
  f.set(
    'bad-caplen-snaplen.pcap',
    pcap({ snapLen: 100 }, BASE.map((p, i) => ({ sec: p.sec, nsec: p.nsec, data: p.data.subarray(0, i === 2 ? 200 : 100), origLen: p.data.length }))),
  );
  f.set('bad-truncated.pcap.gz', gzipStored(le, 700).subarray(0, 900));
  {
    const g = gzipStored(le, 700);
    g[g.length - 8] ^= 0xff; // damage the CRC
    f.set('bad-crc.pcap.gz', g);
  }
  // pcapng framing errors after two good packets: each replaces the third EPB's length fields.
  const blocks = ng((w) => {
    w.section('le');
    const id = w.interface({ linkType: 1 });
    for (const p of BASE) w.epb(id, p.sec, p.nsec, p.data);
  });
  const third = ngBlockOffset(blocks, 4); // SHB, IDB, EPB, EPB, [EPB]
  f.set('bad-absurd-block.pcapng', setU32(blocks, third + 4, 0x40000000, true));
  f.set('bad-block-length.pcapng', setU32(blocks, third + 4, 0x7e, true));
  {
    const len = new DataView(blocks.buffer, blocks.byteOffset).getUint32(third + 4, true);
    f.set('bad-trailing-length.pcapng', setU32(blocks, third + len - 4, len + 4, true));
  }
  f.set('bad-interface-id.pcapng', setU32(blocks, third + 8, 3, true));
  f.set('bad-spb-no-interface.pcapng', ng((w) => {
    w.section('le');
    w.spb(BASE[0]!.data);
  }));
  return f;
}

/** Byte offset of the n-th block (0-based) of a little-endian pcapng file. */
export function ngBlockOffset(b: Uint8Array, n: number): number {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  let o = 0;
  for (let i = 0; i < n; i++) o += v.getUint32(o + 4, true);
  return o;
}

/** Write every fixture into outDir; returns the file names written, sorted. */
export function writeFormatFixtures(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const f = formatFixtures();
  const names = [...f.keys()].sort();
  for (const n of names) writeFileSync(join(outDir, n), f.get(n)!);
  return names;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? 'fixtures/capture';
  const names = writeFormatFixtures(out);
  console.log(`wrote ${names.length} fixtures to ${out}`);
}
