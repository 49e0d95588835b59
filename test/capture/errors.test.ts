/**
 * Inputs the readers must refuse: one StalepinError('bad_input') whose one-line message names
 * the file and the byte offset. Framing errors in pcapng surface from next() after the good
 * packets before them were delivered.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StalepinError } from '../../src/core/errors.js';
import { openCapture } from '../../src/capture/open.js';
import { openCaptures } from '../../src/capture/merge.js';
import { ReadStatus } from '../../src/capture/reader.js';
import { newFrame } from '../../src/capture/types.js';
import { fixtureDir, fx, newCtx } from './helpers.js';
import { repoRoot } from '../helpers/cli.js';

/** Open and read `path`; returns the frames delivered and the error raised, if any. */
async function attempt(path: string): Promise<{ frames: number; error?: StalepinError }> {
  let frames = 0;
  let r;
  try {
    r = await openCapture(path, 0, newCtx());
  } catch (e) {
    if (!(e instanceof StalepinError)) throw e;
    return { frames, error: e };
  }
  const f = newFrame();
  try {
    for (;;) {
      const st = r.next(f);
      if (st === ReadStatus.Frame) frames++;
      else if (st === ReadStatus.NeedData) await r.fill();
      else break;
    }
  } catch (e) {
    if (!(e instanceof StalepinError)) throw e;
    return { frames, error: e };
  } finally {
    await r.close();
  }
  return { frames };
}

const tmp = mkdtempSync(join(tmpdir(), 'stalepin-capture-err-'));
function tmpFile(name: string, bytes: number[] | Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, Uint8Array.from(bytes));
  return p;
}

interface Case {
  name: string;
  path: string;
  message: RegExp;
  offset: number | undefined;
  /** Frames delivered before the error. */
  frames?: number;
}

const shbAbsurd = [0x0a, 0x0d, 0x0d, 0x0a, 0xf0, 0xff, 0xff, 0x7f, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0];

const cases: Case[] = [
  { name: 'empty file', path: fx('bad-empty.pcap'), message: /^empty file: not a capture$/, offset: 0 },
  { name: 'text file', path: fx('bad-not-capture.txt'), message: /^not a pcap or pcapng capture \(first bytes: 48 65 6c 6c 6f 2c 20 49\)$/, offset: 0 },
  { name: 'truncated pcap header', path: fx('bad-truncated-header.pcap'), message: /^truncated pcap file header: 20 of 24 bytes$/, offset: 20 },
  { name: 'truncated pcapng header', path: fx('bad-truncated-shb.pcapng'), message: /^truncated pcapng section header: 20 of \d+ bytes$/, offset: 20 },
  { name: 'pcap version 3.4', path: fx('bad-version.pcap'), message: /^unsupported pcap version 3\.4/, offset: 4 },
  { name: 'absurd block length', path: fx('bad-absurd-block.pcapng'), message: /^absurd pcapng block length 1073741824 \(limit 16777216\)/, offset: 756, frames: 2 },
  { name: 'unaligned block length', path: fx('bad-block-length.pcapng'), message: /^bad pcapng block length 126 \(must be a multiple of 4/, offset: 756, frames: 2 },
  { name: 'trailing length differs', path: fx('bad-trailing-length.pcapng'), message: /^pcapng block trailing length 356 differs from its leading length 352$/, offset: 1100, frames: 2 },
  { name: 'undeclared interface', path: fx('bad-interface-id.pcapng'), message: /^packet refers to interface 3, but section 0 declares 1 interface/, offset: 760, frames: 2 },
  { name: 'SPB without interface', path: fx('bad-spb-no-interface.pcapng'), message: /refers to interface 0, but section 0 declares 0/, offset: 36 },
  { name: 'absurd section header length', path: tmpFile('absurd-shb.pcapng', shbAbsurd), message: /^absurd pcapng block length 2147483632/, offset: 4 },
  { name: 'bad byte-order magic', path: tmpFile('bad-bom.pcapng', [0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4, ...new Array(16).fill(0)]), message: /^bad pcapng byte-order magic 01 02 03 04/, offset: 8 },
  { name: 'two bytes only', path: tmpFile('two.pcap', [0xd4, 0xc3]), message: /^truncated file header: only 2 byte\(s\) \(d4 c3\)$/, offset: 2 },
  { name: 'Kuznetzov pcap', path: tmpFile('kuz.pcap', [0x34, 0xcd, 0xb2, 0xa1, ...new Array(20).fill(0)]), message: /Kuznetzov/, offset: 0 },
  { name: 'xz file', path: tmpFile('x.pcap.xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0, 0]), message: /xz-compressed; decompress it first$/, offset: 0 },
  { name: 'missing file', path: join(tmp, 'nope.pcap'), message: /^no such file$/, offset: undefined },
  { name: 'directory', path: fixtureDir, message: /^is a directory, not a capture file$/, offset: undefined },
];

describe('bad capture input', () => {
  it.each(cases)('$name', async (c) => {
    const { frames, error } = await attempt(c.path);
    expect(error, 'an error was expected').toBeDefined();
    expect(error!.code).toBe('bad_input');
    expect(error!.exitCode).toBe(2);
    expect(error!.message).toMatch(c.message);
    expect(error!.location.file).toBe(c.path);
    expect(error!.location.offset).toBe(c.offset);
    expect(frames).toBe(c.frames ?? 0);
    const line = error!.oneLine();
    expect(line).not.toMatch(/\n/);
    expect(line.startsWith(c.offset === undefined ? `${c.path}: ` : `${c.path}: at byte ${c.offset}: `)).toBe(true);
  });

  it('unreadable file names the permission problem', async () => {
    const p = tmpFile('secret.pcap', [0xd4, 0xc3, 0xb2, 0xa1]);
    chmodSync(p, 0);
    if (process.getuid?.() !== 0) {
      const { error } = await attempt(p);
      expect(error?.message).toMatch(/^permission denied/);
      return;
    }
    // Root reads anything: run the CLI as nobody, in a folder nobody may enter, on a file it may not read.
    chmodSync(dirname(p), 0o755);
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(repoRoot, 'bin', 'stalepin'), 'inspect', p], { encoding: 'utf8' });
    expect(r.error, 'setpriv (util-linux) is needed to drop root for this test').toBeUndefined();
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/secret\.pcap: .*permission denied/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('standard input can be named only once', async () => {
    await expect(openCaptures(['-', '-'], newCtx())).rejects.toMatchObject({ code: 'bad_usage' });
  });

  it('a failing input among several closes the ones already open and reports the bad one', async () => {
    await expect(openCaptures([fx('pcap-le-us.pcap'), fx('bad-empty.pcap')], newCtx())).rejects.toMatchObject({
      code: 'bad_input',
      location: { file: fx('bad-empty.pcap'), offset: 0 },
    });
  });
});
