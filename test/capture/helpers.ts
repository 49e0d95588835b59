/** Shared test plumbing: read a capture (or several) completely into plain objects. */
import { resolve } from 'node:path';
import { Anomalies, type Warning } from '../../src/core/anomalies.js';
import { formatIso } from '../../src/core/time.js';
import { openCapture } from '../../src/capture/open.js';
import { openCaptures } from '../../src/capture/merge.js';
import { ReadStatus, type FrameSource, type ReaderContext } from '../../src/capture/reader.js';
import { newFrame, type CaptureInfo, type CaptureInterface } from '../../src/capture/types.js';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const fixtureDir = resolve(repoRoot, 'fixtures', 'capture');
export const fx = (name: string): string => resolve(fixtureDir, name);
export const sharedCaptures = resolve(repoRoot, '..', 'shared', 'captures');

export interface ReadFrame {
  time: string;
  sec: number;
  nsec: number;
  precision: number;
  ifIndex: number;
  linkType: number;
  capLen: number;
  origLen: number;
  source: number;
  recordOffset: number;
  /** First bytes of the frame, hex, to check the right bytes were handed out. */
  head: string;
  /** FNV-1a hash of the frame's bytes, a whole-payload check. */
  hash: number;
}

export interface ReadResult {
  frames: ReadFrame[];
  anomalies: Anomalies;
  warnings: Warning[];
  interfaces: CaptureInterface[];
  info?: CaptureInfo;
}

export function newCtx(extra: Partial<ReaderContext> = {}): ReaderContext {
  return { anomalies: new Anomalies(), warnings: [], interfaces: [], ...extra };
}

async function drain(src: FrameSource, out: ReadFrame[]): Promise<void> {
  const f = newFrame();
  for (;;) {
    const st = src.next(f);
    if (st === ReadStatus.NeedData) await src.fill();
    else if (st === ReadStatus.End) break;
    else {
      let hash = 0x811c9dc5;
      for (let i = f.off; i < f.off + f.capLen; i++) hash = Math.imul(hash ^ f.buf[i]!, 0x01000193) >>> 0;
      out.push({
        time: formatIso(f.sec, f.nsec, f.precision),
        sec: f.sec,
        nsec: f.nsec,
        precision: f.precision,
        ifIndex: f.ifIndex,
        linkType: f.linkType,
        capLen: f.capLen,
        origLen: f.origLen,
        source: f.source,
        recordOffset: f.recordOffset,
        head: Buffer.from(f.buf.subarray(f.off, f.off + Math.min(4, f.capLen))).toString('hex'),
        hash,
      });
    }
  }
}

/** Read one input completely. */
export async function readOne(path: string, extra: Partial<ReaderContext> = {}): Promise<ReadResult> {
  const ctx = newCtx(extra);
  const r = await openCapture(path, 0, ctx);
  const frames: ReadFrame[] = [];
  try {
    await drain(r, frames);
  } finally {
    await r.close();
  }
  return { frames, anomalies: ctx.anomalies, warnings: ctx.warnings, interfaces: ctx.interfaces, info: r.info };
}

/** Read several inputs merged. */
export async function readMany(paths: string[], extra: Partial<ReaderContext> = {}): Promise<ReadResult> {
  const ctx = newCtx(extra);
  const { source } = await openCaptures(paths, ctx);
  const frames: ReadFrame[] = [];
  try {
    await drain(source, frames);
  } finally {
    await source.close();
  }
  return { frames, anomalies: ctx.anomalies, warnings: ctx.warnings, interfaces: ctx.interfaces };
}
