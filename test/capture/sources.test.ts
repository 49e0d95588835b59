/**
 * Byte sources and stream mechanics: stdin, gzip (real zlib output, multi-member, cut), records
 * straddling chunk boundaries and growing the buffer, the k-way merge, exact timestamp
 * conversion for every if_tsresol form, and the determinism of the fixture generator.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { openCapture } from '../../src/capture/open.js';
import { encodePcap } from '../../src/capture/writer.js';
import { encodePcapng } from '../../src/capture/pcapng-writer.js';
import { writeFormatFixtures, T0 } from '../gen/formats.js';
import { udp4Frame } from '../gen/packets.js';
import { fixtureDir, fx, newCtx, readMany, readOne, repoRoot } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'stalepin-capture-src-'));
const put = (name: string, b: Uint8Array): string => {
  const p = join(tmp, name);
  writeFileSync(p, b);
  return p;
};

/** Deterministic sizes from 42 bytes to a 200 000-byte record, so small buffers must grow. */
function mixedPackets(): { sec: number; nsec: number; data: Uint8Array }[] {
  const out = [];
  let x = 7;
  for (let i = 0; i < 300; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const size = i === 150 ? 200000 : i === 77 ? 9000 : 42 + (x % 1460);
    const payload = new Uint8Array(size - 42).map((_, j) => (j * 31 + i) & 0xff);
    out.push({ sec: T0 + i, nsec: (x % 1000000) * 1000, data: udp4Frame('192.0.2.1', 1000 + i, '198.51.100.2', 5060, payload, i) });
  }
  return out;
}
const mixed = mixedPackets();
const mixedPcap = encodePcap({ linkType: 1, byteOrder: 'be' }, mixed);
const mixedNg = encodePcapng((w) => {
  w.section('le');
  const id = w.interface({ linkType: 1, tsresol: 9 });
  for (const p of mixed) w.epb(id, p.sec, p.nsec, p.data);
});

/** A readable that hands out `b` in pieces of `n` bytes, as a slow pipe does. */
function trickle(b: Uint8Array, n: number): Readable {
  const parts: Buffer[] = [];
  for (let o = 0; o < b.length; o += n) parts.push(Buffer.from(b.subarray(o, o + n)));
  return Readable.from(parts, { objectMode: false });
}

describe('chunk boundaries and buffer growth', () => {
  const reference = mixed.map((p) => p.data.length);
  it.each([
    ['pcap', mixedPcap],
    ['pcapng', mixedNg],
  ] as const)('%s: every buffer size and source yields the same frames', async (kind, bytes) => {
    const path = put(`mixed.${kind}`, bytes);
    const gz = put(`mixed-${kind}.gz`, gzipSync(bytes, { level: 9 }));
    const base = await readOne(path);
    expect(base.frames.map((f) => f.capLen)).toEqual(reference);
    expect(base.frames.map((f) => f.sec)).toEqual(mixed.map((p) => p.sec));
    expect(base.frames.map((f) => f.nsec)).toEqual(mixed.map((p) => p.nsec));
    const variants = [
      await readOne(path, { bufferSize: 4096 }),
      await readOne(path, { bufferSize: 5000 }),
      await readOne(gz, { bufferSize: 4096 }),
      await readOne('-', { stdin: trickle(bytes, 7), bufferSize: 4096 }),
      await readOne('-', { stdin: trickle(gzipSync(bytes), 1000) }),
    ];
    for (const v of variants) {
      expect(v.frames.map((f) => f.hash)).toEqual(base.frames.map((f) => f.hash));
      expect(v.frames.map((f) => f.recordOffset)).toEqual(base.frames.map((f) => f.recordOffset));
      expect(v.warnings).toEqual([]);
    }
  });
});

describe('gzip', () => {
  it('reads concatenated gzip members as one stream', async () => {
    const b = readFileSync(fx('pcap-le-us.pcap'));
    const p = put('multi.pcap.gz', Buffer.concat([gzipSync(b.subarray(0, 500)), gzipSync(b.subarray(500))]));
    const r = await readOne(p);
    expect(r.info!.gzip).toBe(true);
    expect(r.frames).toHaveLength(4);
  });

  it('reports a cut stream after the records before the cut', async () => {
    const z = gzipSync(mixedPcap, { level: 1 });
    const r = await readOne(put('cut.pcap.gz', z.subarray(0, z.length >> 1)));
    expect(r.frames.length).toBeGreaterThan(10);
    expect(r.frames.length).toBeLessThan(mixed.length);
    expect(r.warnings.map((w) => w.code)).toContain('truncated_gzip');
    expect(r.frames.map((f) => f.hash)).toEqual((await readOne(put('whole.pcap', mixedPcap))).frames.slice(0, r.frames.length).map((f) => f.hash));
  });

  it('progress counts compressed bytes against the compressed size', async () => {
    const z = gzipSync(mixedPcap);
    const r = await openCapture(put('progress.pcap.gz', z), 0, newCtx());
    expect(r.info.sizeHint).toBe(z.length);
    expect(r.info.gzip).toBe(true);
    await r.close();
    expect(r.rawBytesRead).toBe(z.length);
  });
});

describe('standard input', () => {
  it('reads a pcapng piped into a child process', () => {
    const tsx = resolve(repoRoot, 'node_modules', '.bin', 'tsx');
    const run = (input: Buffer): Record<string, unknown> =>
      JSON.parse(spawnSync(tsx, [resolve(repoRoot, 'test/capture/stdin-child.ts'), '-'], { input, encoding: 'utf8', cwd: repoRoot }).stdout.trim()) as Record<string, unknown>;
    expect(run(readFileSync(fx('pcapng-be-ns.pcapng')))).toEqual({
      n: 4,
      first: '2023-11-14T22:13:20.123456789Z',
      last: '2023-11-14T22:13:22.999999999Z',
      warnings: [],
    });
    expect(run(readFileSync(fx('pcap-le-us.pcap.gz')))).toMatchObject({ n: 4 });
    expect(run(Buffer.alloc(0))).toEqual({ error: '-: at byte 0: empty file: not a capture' });
  });
});

describe('merge', () => {
  it('interleaves rotated files in time order', async () => {
    const r = await readMany([fx('merge-a.pcap'), fx('merge-b.pcap')], { bufferSize: 4096 });
    expect(r.frames.map((f) => f.time)).toEqual([
      '2023-11-14T22:13:20.000000Z',
      '2023-11-14T22:13:21.000000001Z',
      '2023-11-14T22:13:22.000000Z',
      '2023-11-14T22:13:23.000000001Z',
      '2023-11-14T22:13:24.000000Z',
      '2023-11-14T22:13:25.000000001Z',
    ]);
    expect(r.frames.map((f) => [f.source, f.ifIndex])).toEqual([
      [0, 0],
      [1, 1],
      [0, 0],
      [1, 1],
      [0, 0],
      [1, 1],
    ]);
    expect(r.interfaces.map((i) => [i.index, i.source, i.packets])).toEqual([
      [0, 0, 3],
      [1, 1, 3],
    ]);
    // The bytes handed out belong to the frame (checked before the merger advances).
    for (const f of r.frames) expect(f.head).toBe('02000000');
  });

  it('merges heads only: a file out of order inside stays as it is', async () => {
    const r = await readMany([fx('merge-a.pcap'), fx('pcapng-multi-if.pcapng')]);
    expect(r.frames.map((f) => `${f.source}@${f.sec - T0}.${f.nsec}`)).toEqual(['0@0.0', '1@1.0', '1@0.500000000', '0@2.0', '1@2.0', '1@1.500000000', '0@4.0']);
  });

  it('a single input comes back through the same interface', async () => {
    const r = await readMany([fx('pcap-le-ns.pcap')]);
    expect(r.frames).toHaveLength(4);
  });

  it('large inputs with small buffers merge completely and in order', async () => {
    const a = put('ma.pcap', mixedPcap);
    const b = put('mb.pcapng', mixedNg);
    const r = await readMany([a, b], { bufferSize: 4096 });
    expect(r.frames).toHaveLength(2 * mixed.length);
    for (let i = 1; i < r.frames.length; i++) {
      const p = r.frames[i - 1]!;
      const q = r.frames[i]!;
      expect(p.sec < q.sec || (p.sec === q.sec && p.nsec <= q.nsec)).toBe(true);
    }
  });
});

describe('pcapng timestamp conversion is exact', () => {
  // Resolutions: every 10^-k up to ns, picoseconds, and 2^-k on both sides of the fast path.
  const resolutions = [0, 1, 3, 6, 7, 9, 12, 0x80, 0x80 | 10, 0x80 | 20, 0x80 | 23, 0x80 | 24, 0x80 | 30, 0x80 | 40];
  const values: bigint[] = [0n, 1n, (1n << 32n) - 1n, 1n << 32n, (1n << 53n) - 1n, 1n << 53n, 0x1fffffn << 32n, (0x1fffffn << 32n) - 1n, (1n << 64n) - 1n, 1700000000123456789n, 999999999n, 1000000000n];
  let x = 12345n;
  for (let i = 0; i < 200; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    values.push(x >> BigInt(i % 40));
  }
  it('matches bigint arithmetic for every resolution and value', async () => {
    const data = udp4Frame('192.0.2.1', 1, '192.0.2.2', 2, 'x');
    const bytes = encodePcapng((w) => {
      w.section('be');
      for (const r of resolutions) w.interface({ linkType: 1, tsresol: r });
      resolutions.forEach((_, id) => {
        for (const v of values) w.epbUnits(id, v, data);
      });
    });
    const got = (await readOne(put('ts.pcapng', bytes))).frames;
    let checked = 0;
    let i = 0;
    for (const r of resolutions) {
      const pow2 = (r & 0x80) !== 0;
      const k = BigInt(r & 0x7f);
      const units = pow2 ? 1n << k : 10n ** k;
      for (const v of values) {
        const f = got[i++]!;
        const sec = v / units;
        const nsec = ((v % units) * 1_000_000_000n) / units;
        if (sec > BigInt(Number.MAX_SAFE_INTEGER)) continue; // not representable as a number at all
        expect([f.sec, f.nsec], `tsresol ${r.toString(16)} value ${v}`).toEqual([Number(sec), Number(nsec)]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(resolutions.length * 150);
  });
});

describe('fixture generator', () => {
  it('regenerates fixtures/capture byte for byte', () => {
    const out = mkdtempSync(join(tmpdir(), 'stalepin-fixtures-'));
    const names = writeFormatFixtures(out);
    expect(names).toEqual(readdirSync(fixtureDir).sort());
    for (const n of names) expect(Buffer.compare(readFileSync(join(out, n)), readFileSync(join(fixtureDir, n))), n).toBe(0);
  });
});
