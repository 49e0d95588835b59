/**
 * Plain lines, one backend each: `ADDRESS STATE [SINCE]`. ADDRESS is ip, ip:port or [v6]:port;
 * STATE one of active, draining, terminated, unresponsive, unknown; SINCE ISO 8601 (a space
 * instead of the T is fine) or epoch seconds. `#` starts a comment; blank lines are skipped.
 */
import { parseEndpoint } from '../core/address.js';
import { parseTime } from '../core/time.js';
import { visible } from '../report/visible.js';
import { parseState } from './json.js';
import { InventoryBuilder, TARGET_STATES, type Inventory, type InventoryNode } from './model.js';

/** The line without its comment, trimmed; '' for a blank or comment line. */
export function stripComment(line: string): string {
  const h = line.indexOf('#');
  return (h < 0 ? line : line.slice(0, h)).trim();
}

/** Whether a comment-free line reads as ADDRESS STATE (used by the detector too). */
export function looksLikeLine(t: string): boolean {
  const m = /^(\S+)\s+(\S+)/.exec(t);
  return !!m && parseEndpoint(m[1]!) !== undefined && parseState(m[2]) !== undefined;
}

export function parseLines(text: string, file: string): Inventory {
  const b = new InventoryBuilder(file);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const t = stripComment(lines[i]!.replace(/\r$/, ''));
    if (t === '') continue;
    const words = t.split(/\s+/);
    const ep = parseEndpoint(words[0]!);
    if (!ep) {
      b.warnIncomplete('inventory_bad_line', `not an address: ${visible(words[0]!.slice(0, 80))}`, lineNo);
      continue;
    }
    const state = parseState(words[1]);
    if (state === undefined) {
      b.warnIncomplete(
        'inventory_bad_line',
        words[1] === undefined ? 'missing state' : `state ${visible(words[1].slice(0, 40))} is not one of ${TARGET_STATES.join(', ')}`,
        lineNo,
      );
      continue;
    }
    const n: InventoryNode = { address: ep.ip, state };
    if (ep.port !== undefined) n.port = ep.port;
    if (words.length > 2) {
      const rest = words.slice(2).join(' ');
      const since = parseTime(rest);
      if (since) n.since = since;
      else b.warn('inventory_bad_line', `since ${visible(rest.slice(0, 60))} is neither ISO 8601 nor epoch seconds; ignored`, lineNo);
    }
    b.node(n);
  }
  if (b.nodes.length === 0) b.warn('inventory_no_backends', 'no backend lines');
  return b.finish('lines', 'text lines "ADDRESS STATE [SINCE]"');
}
