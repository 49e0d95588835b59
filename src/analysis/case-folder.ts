/**
 * A case folder, read by content: every regular file is looked at (never trusting its name)
 * and taken as a capture, a conntrack dump or event stream, or a backend inventory; the rest
 * is listed as ignored with the reason, so the report says what was picked and why.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { detectFormat } from '../conntrack/detect.js';
import { StalepinError } from '../core/errors.js';
import { detectInventory } from '../inventory/detect.js';
import type { ReportInput } from '../report/analyze.js';

const PCAP_MAGICS = new Set(['d4c3b2a1', 'a1b2c3d4', '4d3cb2a1', 'a1b23c4d', '0a0d0d0a']);
/** Enough of a file to recognise it (an inventory's JSON may need more; see below). */
const HEAD = 64 * 1024;

async function head(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function captureMagic(b: Buffer): string | undefined {
  if (b.length < 4) return undefined;
  const hex = b.subarray(0, 4).toString('hex');
  return PCAP_MAGICS.has(hex) ? hex : undefined;
}

export async function classifyFile(path: string): Promise<ReportInput> {
  let b = await head(path, HEAD);
  let gz = false;
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
    gz = true;
    try {
      b = gunzipSync(b, { finishFlush: 2 /* Z_SYNC_FLUSH: a partial stream is fine */ }).subarray(0, HEAD);
    } catch {
      return { file: path, kind: 'ignored', format: 'gzip', why: 'gzip data that does not decompress' };
    }
  }
  const magic = captureMagic(b);
  if (magic) {
    const format = magic === '0a0d0d0a' ? 'pcapng' : 'pcap';
    return { file: path, kind: 'capture', format: gz ? `${format}.gz` : format, why: `starts with the ${format} magic ${magic}${gz ? ' (inside gzip)' : ''}` };
  }
  if (b.includes(0)) return { file: path, kind: 'ignored', format: 'binary', why: 'binary data, not a capture' };
  const text = b.toString('utf8');
  const ct = detectFormat(text);
  if (ct) {
    const events = ct === 'events' || ct === 'xml-events';
    return { file: path, kind: events ? 'conntrack-events' : 'conntrack', format: ct, why: `lines in the conntrack ${ct} format` };
  }
  // A JSON inventory or ruleset can be larger than the head: read it whole (bounded by loadInventory later).
  const st = await stat(path);
  const full = st.size > HEAD && st.size < 64 * 1024 * 1024 && /^\s*[{[]/.test(text) ? (await head(path, st.size)).toString('utf8') : text;
  const inv = detectInventory(full);
  if (inv) return { file: path, kind: 'inventory', format: inv, why: `content in the ${inv} inventory format` };
  return { file: path, kind: 'ignored', format: 'unknown', why: 'not a capture, conntrack output or inventory' };
}

/** Rule-derived inventories only list the active set; a node list with states says more. */
const STATEFUL = new Set(['stalepin-json', 'lines', 'k8s-endpointslices']);

export interface CaseFolder {
  inputs: ReportInput[];
  captures: string[];
  conntrack: string[];
  inventory: string | undefined;
}

export async function scanCaseFolder(dir: string): Promise<CaseFolder> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    throw new StalepinError('bad_input', `cannot read the case folder: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file: dir });
  }
  const inputs: ReportInput[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const st = await stat(path).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) {
      inputs.push({ file: path, kind: 'ignored', format: 'directory', why: 'sub-folders are not read; name files in them explicitly' });
      continue;
    }
    if (!st.isFile()) continue;
    inputs.push(await classifyFile(path));
  }
  // One inventory: a stateful node list wins over rulesets; among equals, the last modified.
  const invs = inputs.filter((i) => i.kind === 'inventory');
  let chosen: ReportInput | undefined;
  if (invs.length) {
    const withTimes = await Promise.all(invs.map(async (i) => ({ i, m: (await stat(i.file)).mtimeMs })));
    withTimes.sort((a, b) => Number(STATEFUL.has(b.i.format)) - Number(STATEFUL.has(a.i.format)) || b.m - a.m || (a.i.file < b.i.file ? 1 : -1));
    chosen = withTimes[0]!.i;
    for (const { i } of withTimes.slice(1)) {
      i.kind = 'ignored';
      i.why += `; not used: ${chosen.file} (${chosen.format}) ${STATEFUL.has(chosen.format) && !STATEFUL.has(i.format) ? 'lists backend states' : 'was chosen'}`;
    }
  }
  return {
    inputs,
    captures: inputs.filter((i) => i.kind === 'capture').map((i) => i.file),
    conntrack: inputs.filter((i) => i.kind === 'conntrack' || i.kind === 'conntrack-events').map((i) => i.file),
    inventory: chosen?.file,
  };
}
