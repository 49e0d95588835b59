/**
 * Differential tests against independent readers: pcap-parser (classic pcap only, used only as
 * an oracle here), capinfos (packet counts, every fixture and every shared real capture) and
 * tshark (exact timestamps of the pcapng fixtures). Tools that are missing skip with a reason.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { StalepinError } from '../../src/core/errors.js';
import { forEachFrame } from '../../src/capture/merge.js';
import { fixtureDir, fx, newCtx, readOne, sharedCaptures, type ReadResult } from './helpers.js';

const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const fixtures = readdirSync(fixtureDir).sort();

function listShared(): string[] {
  if (!existsSync(sharedCaptures)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(pcap|pcapng|cap)(\.gz)?$/.test(n)) out.push(p);
    }
  };
  walk(sharedCaptures);
  return out;
}
const shared = listShared();
if (shared.length === 0) console.log(`skipped: real captures: ${sharedCaptures} is absent`);

/** Frames delivered before the end or an error, and whether it failed. */
async function ours(path: string): Promise<{ count: number; failed: boolean; result?: ReadResult }> {
  try {
    const result = await readOne(path);
    return { count: result.frames.length, failed: false, result };
  } catch (e) {
    if (!(e instanceof StalepinError)) throw e;
    // Errors raised from next() come after frames that were already delivered; readOne does
    // not return those, so recount them by reading until the error with a counting callback.
    let count = 0;
    await forEachFrame([path], newCtx(), () => void count++).catch(() => undefined);
    return { count, failed: true };
  }
}

/** capinfos' packet count: the summary line, or the count it gives when it stops on an error. */
function capinfos(path: string): { count?: number; failed: boolean } {
  const r = spawnSync('capinfos', ['-c', '-M', path], { encoding: 'utf8' });
  const text = `${r.stdout}\n${r.stderr}`;
  const failed = r.status !== 0 || /error occurred|isn't a capture|cut short/.test(text);
  const m = /Number of packets:\s*(\d+)/.exec(text) ?? /after reading (\d+) packets/.exec(text);
  return m ? { count: Number(m[1]), failed } : { failed };
}

/**
 * Fixtures where stalepin deliberately differs from capinfos: [ours, capinfos, why]. Both
 * numbers are asserted, so a change on either side shows up.
 */
const DIFFERENT: Record<string, [number | 'error', number | 'error', string]> = {
  'bad-caplen-snaplen.pcap': [2, 4, 'a captured length above the snap length means lost framing; Wireshark ignores the snap length'],
  'bad-oversized-record.pcap': [2, 3, 'capinfos counts the oversized record it fails on'],
  'bad-truncated-shb.pcapng': ['error', 1, "Wireshark's format heuristics read the 20 bytes as some other format"],
  'bad-version.pcap': ['error', 4, 'Wireshark accepts any pcap version; only 2.x is a defined format'],
};

describe('differential: capinfos packet counts', () => {
  it.skipIf(!have('capinfos'))('on every format fixture', async () => {
    const seen: string[] = [];
    for (const name of fixtures) {
      const o = await ours(fx(name));
      const c = capinfos(fx(name));
      const diff = DIFFERENT[name];
      if (diff) {
        expect([o.failed && diff[0] === 'error' ? 'error' : o.count, c.count ?? 'error'], name).toEqual([diff[0], diff[1]]);
        continue;
      }
      if (c.count === undefined) {
        // capinfos could not count it at all: we must refuse it too.
        expect(o.failed, `${name}: capinfos refuses it, so must we`).toBe(true);
        expect(o.count, name).toBe(0);
      } else expect(o.count, name).toBe(c.count);
      seen.push(name);
    }
    expect(seen.length).toBeGreaterThan(30);
  });

  it.skipIf(!have('capinfos') || shared.length === 0)('on every real capture in ../shared/captures', () => {
    // One capinfos run for all files (they are all readable).
    const text = execFileSync('capinfos', ['-c', '-M', ...shared], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const counts = new Map<string, number>();
    for (const m of text.matchAll(/File name:\s*(.+)\n\s*Number of packets:\s*(\d+)/g)) counts.set(m[1]!.trim(), Number(m[2]));
    return (async () => {
      for (const p of shared) {
        const o = await ours(p);
        expect(o.failed, relative(sharedCaptures, p)).toBe(false);
        expect(o.count, relative(sharedCaptures, p)).toBe(counts.get(p));
        expect(o.result!.warnings, relative(sharedCaptures, p)).toEqual([]);
      }
    })();
  });
  if (!have('capinfos')) it('capinfos', () => console.log('skipped: capinfos not installed (Debian package tshark)'));
});

// ---- pcap-parser ----

interface OracleRecord {
  sec: number;
  frac: number;
  capLen: number;
  origLen: number;
}

const pcapParser = createRequire(import.meta.url)('pcap-parser') as { parse(s: Readable): NodeJS.EventEmitter };

/**
 * pcap-parser only knows the microsecond magic; for nanosecond files the magic is swapped to
 * the microsecond one so it hands back the raw fraction field unchanged.
 */
function oracle(bytes: Uint8Array): Promise<OracleRecord[]> {
  const b = Buffer.from(bytes);
  const m = b.readUInt32BE(0);
  if (m === 0xa1b23c4d) b.writeUInt32BE(0xa1b2c3d4, 0);
  if (m === 0x4d3cb2a1) b.writeUInt32BE(0xd4c3b2a1, 0);
  return new Promise((resolve, reject) => {
    const out: OracleRecord[] = [];
    const p = pcapParser.parse(Readable.from([b]));
    p.on('packet', (pk: { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number } }) =>
      out.push({ sec: pk.header.timestampSeconds, frac: pk.header.timestampMicroseconds, capLen: pk.header.capturedLength, origLen: pk.header.originalLength }),
    );
    p.on('error', reject);
    p.on('end', () => resolve(out));
  });
}

function isClassic(bytes: Uint8Array): boolean {
  const m = Buffer.from(bytes.subarray(0, 4)).toString('hex');
  return ['a1b2c3d4', 'd4c3b2a1', 'a1b23c4d', '4d3cb2a1'].includes(m);
}

const goodClassic = fixtures.filter((n) => !n.startsWith('bad-'));
const sharedClassic = shared.filter((p) => !p.endsWith('.gz') && isClassic(readFileSync(p)));

describe('differential: pcap-parser on classic pcap', () => {
  const files = [...goodClassic.map(fx), ...sharedClassic];
  it.each(files.map((f) => [relative(join(fixtureDir, '..', '..'), f), f]))('%s', async (_label, path) => {
    let bytes: Uint8Array = readFileSync(path);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    if (!isClassic(bytes)) return; // pcapng fixture: not pcap-parser's format
    const nano = bytes[0] === 0xa1 && bytes[2] === 0x3c ? true : bytes[0] === 0x4d;
    const want = await oracle(bytes);
    const got = (await readOne(path)).frames;
    expect(got.length).toBe(want.length);
    expect(got.map((f) => [f.sec, nano ? f.nsec : f.nsec / 1000, f.capLen, f.origLen])).toEqual(want.map((w) => [w.sec, w.frac, w.capLen, w.origLen]));
  });
  it('covers both resolutions and byte orders', () => {
    expect(goodClassic.filter((n) => /^pcap-(le|be)-(us|ns)\.pcap$/.test(n))).toHaveLength(4);
  });
});

// ---- tshark timestamps ----

const ngFixtures = fixtures.filter((n) => n.endsWith('.pcapng') && !n.startsWith('bad-'));
/** Where tshark's times are not a valid reference: [file, why]. */
const TSHARK_SKIP: Record<string, string> = {
  'pcapng-spb.pcapng': 'simple packet blocks have no timestamp; tshark shows none, stalepin carries the previous one',
  'pcapng-fine-ts.pcapng': 'tshark 4.x mis-converts if_tsresol 10^-12 (reads 0.012776324 for 0.123456789)',
};

describe('differential: tshark timestamps on pcapng', () => {
  it.skipIf(!have('tshark'))('every pcapng fixture and real pcapng capture', async () => {
    const files = [...ngFixtures.filter((n) => !TSHARK_SKIP[n]).map(fx), ...shared.filter((p) => !isClassic(readFileSync(p)))];
    expect(files.length).toBeGreaterThan(8);
    for (const path of files) {
      const want = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.time_epoch'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .trim()
        .split('\n')
        // tshark lists custom blocks (type 0xBAD) as records without a time; they are not packets.
        .filter((t) => t !== '');
      const got = (await readOne(path)).frames.map((f) => `${f.sec}.${String(f.nsec).padStart(9, '0')}`);
      expect(got, path).toEqual(want);
    }
  });
  if (!have('tshark')) it('tshark', () => console.log('skipped: tshark not installed'));
});
