/**
 * Address text from conntrack output into canonical form (src/core/address.ts).
 *
 * A table holds few distinct addresses and many entries, so raw address bytes go through a
 * direct-mapped intern cache: a hit costs one hash and one compare, returns the same canonical
 * string every time (so maps keyed by it hash once), and allocates nothing. IPv4 as the kernel
 * prints it is canonical already; IPv6 (full form in /proc/net/nf_conntrack, compressed
 * elsewhere) goes through normalizeIP once per distinct spelling. The cache is a fixed array:
 * a collision replaces the slot, so memory stays bounded whatever the input.
 */
import { normalizeIP } from '../core/address.js';

const SLOTS = 1 << 16;
const rawOf: (string | undefined)[] = new Array(SLOTS);
const canonOf: string[] = new Array(SLOTS);

/** Canonical text of an IPv4 or IPv6 address, or undefined when it is not one. */
export function canonical(text: string): string | undefined {
  let colon = false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 58) colon = true;
  if (!colon) {
    // Fast path for the kernel's own dotted quads; anything odd goes through the full parser.
    if (/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(text)) return text;
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return undefined;
    return normalizeIP(text.replace(/(^|\.)0+(\d)/g, '$1$2'));
  }
  return normalizeIP(text);
}

/** Canonical address for the bytes b[a, e), or undefined when they are not an IP address. */
export function addrFromBytes(b: Buffer, a: number, e: number): string | undefined {
  const len = e - a;
  if (len <= 0 || len > 45) return undefined;
  let h = len;
  for (let i = a; i < e; i++) h = (Math.imul(h, 31) + b[i]!) | 0;
  const slot = (h ^ (h >>> 16)) & (SLOTS - 1);
  const raw = rawOf[slot];
  if (raw !== undefined && raw.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (raw.charCodeAt(i) !== b[a + i]) {
        same = false;
        break;
      }
    }
    if (same) return canonOf[slot];
  }
  for (let i = a; i < e; i++) {
    const c = b[i]!;
    // digits . : a-f A-F only
    if (!((c >= 48 && c <= 58) || c === 46 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return undefined;
  }
  const text = b.toString('latin1', a, e);
  const canon = canonical(text);
  if (canon === undefined) return undefined;
  rawOf[slot] = text;
  canonOf[slot] = canon;
  return canon;
}
