/**
 * Address text from conntrack output into canonical form (src/core/address.ts). IPv4 as the
 * kernel prints it is already canonical and only validated; IPv6 (full form in
 * /proc/net/nf_conntrack, compressed elsewhere) goes through normalizeIP behind a bounded
 * cache, because a table holds few distinct addresses and many entries.
 */
import { normalizeIP } from '../core/address.js';

const V6_CACHE_MAX = 4096;
const v6cache = new Map<string, string>();

/** Canonical address for s[a, b), or undefined when it is not an IP address. */
export function canonicalAddr(s: string, a: number, b: number): string | undefined {
  let dots = 0;
  let colon = false;
  let digits = 0;
  let octet = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (!colon) {
        octet = octet * 10 + (c - 48);
        digits++;
        if (digits > 3 || octet > 255) {
          if (!colon) colon = hasColon(s, i, b);
          if (!colon) return undefined;
        }
      }
    } else if (c === 46) {
      if (!colon) {
        if (digits === 0) return undefined;
        dots++;
        digits = 0;
        octet = 0;
      }
    } else if (c === 58) {
      colon = true;
    } else if (!((c >= 97 && c <= 102) || (c >= 65 && c <= 70))) {
      return undefined;
    } else if (!colon) {
      colon = hasColon(s, i, b);
      if (!colon) return undefined;
    }
  }
  if (!colon) {
    if (dots !== 3 || digits === 0) return undefined;
    // Leading zeros ("010.0.0.1") are not canonical; normalise them (rare).
    const text = s.slice(a, b);
    return /(^|\.)0\d/.test(text) ? normalizeIP(text.replace(/(^|\.)0+(\d)/g, '$1$2')) : text;
  }
  const text = s.slice(a, b);
  const hit = v6cache.get(text);
  if (hit !== undefined) return hit;
  const n = normalizeIP(text);
  if (n === undefined) return undefined;
  if (v6cache.size >= V6_CACHE_MAX) v6cache.clear();
  v6cache.set(text, n);
  return n;
}

function hasColon(s: string, from: number, to: number): boolean {
  const k = s.indexOf(':', from);
  return k >= 0 && k < to;
}

export function canonical(text: string): string | undefined {
  return canonicalAddr(text, 0, text.length);
}
