/**
 * Backend inventories: read a file in any supported format (recognised by content) into one
 * Inventory. `analyze --nodes`, `audit --nodes/--from-*` and the case-folder scanner use this.
 */
import { readFile } from 'node:fs/promises';
import { StalepinError } from '../core/errors.js';
import { visible } from '../report/visible.js';
import { detectInventory, looksBinary } from './detect.js';
import { parseEndpointSlices } from './endpointslice.js';
import { parseIptablesSave } from './iptables.js';
import { parseIpvsList, parseIpvsSave } from './ipvs.js';
import { parseStalepinJson } from './json.js';
import { parseLines } from './lines.js';
import { FORMAT_NAMES, type Inventory, type InventoryFormat } from './model.js';
import { parseNftJson } from './nft.js';

export * from './model.js';
export { detectInventory } from './detect.js';
export { readLiveRules, type LiveKind, type LiveOptions } from './live.js';

/** Inventories are lists of backends and rulesets; anything this large is not one. */
export const MAX_INVENTORY_BYTES = 256 * 1024 * 1024;

function triedList(): string {
  return Object.values(FORMAT_NAMES).join(', ');
}

function firstBytes(text: string): string {
  const t = text.replace(/^\uFEFF/, '');
  return visible(t.slice(0, 48)) + (t.length > 48 ? '...' : '');
}

/** Line (1-based) of a character offset, for JSON syntax errors. */
function lineAt(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function parseAs(format: InventoryFormat, text: string, file: string): Inventory {
  switch (format) {
    case 'stalepin-json':
      return parseStalepinJson(text, file);
    case 'k8s-endpointslices':
      return parseEndpointSlices(text, file);
    case 'nft-json':
      return parseNftJson(text, file);
    case 'iptables-save':
      return parseIptablesSave(text, file);
    case 'ipvsadm-list':
      return parseIpvsList(text, file);
    case 'ipvsadm-save':
      return parseIpvsSave(text, file);
    case 'lines':
      return parseLines(text, file);
    case 'merged':
      break;
  }
  throw new StalepinError('internal', `no parser for inventory format ${format}`);
}

/**
 * Parse inventory text, recognising its format by content. `file` names it in warnings and
 * errors. Throws StalepinError 'bad_input' when the text is no inventory or is broken JSON.
 */
export function parseInventoryText(text: string, file: string, format?: InventoryFormat): Inventory {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const f = format ?? detectInventory(body);
  if (f === undefined) {
    const what = body.trim() === '' ? 'an empty file' : looksBinary(body) ? 'binary data' : `"${firstBytes(body)}"`;
    throw new StalepinError('bad_input', `not a backend inventory: tried ${triedList()}; found ${what}`, { file });
  }
  try {
    return parseAs(f, body, file);
  } catch (e) {
    if (e instanceof StalepinError) throw e;
    if (e instanceof SyntaxError) {
      const m = /position (\d+)/.exec(e.message);
      const loc: { file: string; line?: number } = { file };
      if (m) loc.line = lineAt(body, Number(m[1]));
      throw new StalepinError('bad_input', `looks like ${FORMAT_NAMES[f as keyof typeof FORMAT_NAMES]} but is not valid JSON: ${visible(e.message)}`, loc, {
        cause: e,
      });
    }
    if (e instanceof TypeError)
      throw new StalepinError('bad_input', `looks like ${FORMAT_NAMES[f as keyof typeof FORMAT_NAMES]} but ${visible(e.message)}`, { file }, { cause: e });
    throw e;
  }
}

export interface InventoryIo {
  stdin?: NodeJS.ReadableStream;
}

async function readAll(stream: NodeJS.ReadableStream, file: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    const b = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
    size += b.length;
    if (size > MAX_INVENTORY_BYTES) throw new StalepinError('bad_input', `larger than ${MAX_INVENTORY_BYTES} bytes: not an inventory`, { file });
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Read and parse an inventory file, or standard input for '-'. */
export async function loadInventory(path: string, io: InventoryIo = {}): Promise<Inventory> {
  const file = path === '-' ? '<stdin>' : path;
  let bytes: Buffer;
  try {
    bytes = path === '-' ? await readAll(io.stdin ?? process.stdin, file) : await readFile(path);
  } catch (e) {
    if (e instanceof StalepinError) throw e;
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new StalepinError('bad_input', `cannot read inventory: ${why}`, { file }, { cause: e });
  }
  if (bytes.length > MAX_INVENTORY_BYTES) throw new StalepinError('bad_input', `larger than ${MAX_INVENTORY_BYTES} bytes: not an inventory`, { file });
  if (looksBinary(bytes.subarray(0, 4096).toString('latin1'))) {
    const hex = [...bytes.subarray(0, 8)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    throw new StalepinError('bad_input', `not a backend inventory: tried ${triedList()}; found binary data (first bytes ${hex})`, { file });
  }
  return parseInventoryText(bytes.toString('utf8'), file);
}
