import { StalepinError } from './errors.js';
import { writeDecimal } from './strings.js';

/**
 * Address formatting per the contract: IPv4 "ip:port", IPv6 "[ip]:port" in RFC 5952 form.
 * Decoders keep raw bytes; strings are made only when something is reported or keyed.
 */

export function formatIPv4(b: Uint8Array, off = 0): string {
  return b[off] + '.' + b[off + 1] + '.' + b[off + 2] + '.' + b[off + 3];
}

/**
 * "a.b.c.d" and "a.b.c.d:port" for an IPv4 address and port, as formatIPv4 and formatEndpoint
 * make them, each a flat string made in one step. Building them by `+` takes a dozen strings
 * on the way (every byte's digits, then each join); a capture with many client ports formats
 * hundreds of thousands of these (the SIP dissector's endpoint cache, on every miss).
 */
export class Ipv4EndpointText {
  ip = '';
  endpoint = '';
  private readonly text = Buffer.allocUnsafe(24);

  format(a: Uint8Array, off: number, port: number): void {
    const t = this.text;
    let p = writeDecimal(t, 0, a[off]!);
    t[p++] = 0x2e;
    p = writeDecimal(t, p, a[off + 1]!);
    t[p++] = 0x2e;
    p = writeDecimal(t, p, a[off + 2]!);
    t[p++] = 0x2e;
    p = writeDecimal(t, p, a[off + 3]!);
    const ipEnd = p;
    t[p++] = 0x3a;
    p = writeDecimal(t, p, port);
    this.ip = t.toString('latin1', 0, ipEnd);
    this.endpoint = t.toString('latin1', 0, p);
  }
}


/** RFC 5952: lower case, leading zeros dropped, the longest run (>= 2) of zero groups as "::". */
export function formatIPv6(b: Uint8Array, off = 0): string {
  const g: number[] = new Array(8);
  for (let i = 0; i < 8; i++) g[i] = (b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // IPv4-mapped addresses keep the dotted quad (::ffff:192.0.2.1), as tools print them.
  if (bestStart === 0 && bestLen === 5 && g[5] === 0xffff) return '::ffff:' + formatIPv4(b, off + 12);
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += g[i]!.toString(16);
  }
  return out;
}

/** Format raw address bytes (4 or 16 long starting at off). */
export function formatIP(b: Uint8Array, off: number, len: 4 | 16 | number): string {
  return len === 4 ? formatIPv4(b, off) : formatIPv6(b, off);
}

/** "ip:port" or "[ip]:port" from an address string that may be IPv6. */
export function formatEndpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The address of an endpoint as formatEndpoint writes it ("ip:port" or "[v6]:port"). */
export function ipOfEndpoint(e: string): string {
  return e.startsWith('[') ? e.slice(1, e.indexOf(']')) : e.slice(0, e.lastIndexOf(':'));
}

/** Split "ip:port", "[v6]:port", or a bare address (port undefined). */
export function parseEndpoint(text: string): { ip: string; port: number | undefined } | undefined {
  const t = text.trim();
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(t);
  if (v6) return { ip: normalizeIP(v6[1]!) ?? v6[1]!, port: v6[2] === undefined ? undefined : Number(v6[2]) };
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(t);
  if (v4) return { ip: v4[1]!, port: v4[2] === undefined ? undefined : Number(v4[2]) };
  if (/^[0-9a-fA-F:.]+$/.test(t) && t.includes(':')) {
    const n = normalizeIP(t);
    if (n) return { ip: n, port: undefined };
  }
  return undefined;
}

/** Canonical text of an IPv4 or IPv6 address, or undefined when it is not one. */
export function normalizeIP(text: string): string | undefined {
  const bytes = parseIP(text);
  if (!bytes) return undefined;
  return formatIP(bytes, 0, bytes.length);
}

/** Parse an IPv4 or IPv6 address into 4 or 16 bytes. */
export function parseIP(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(t)) {
    const parts = t.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return Uint8Array.from(parts);
  }
  if (!/^[0-9a-fA-F:.]+$/.test(t) || !t.includes(':')) return undefined;
  let head = t;
  let tail4: Uint8Array | undefined;
  const lastColon = t.lastIndexOf(':');
  if (t.slice(lastColon + 1).includes('.')) {
    tail4 = parseIP(t.slice(lastColon + 1));
    if (!tail4 || tail4.length !== 4) return undefined;
    head = t.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.split('::');
  if (dbl.length > 2) return undefined;
  const left = dbl[0] ? dbl[0].split(':') : [];
  const right = dbl.length === 2 && dbl[1] ? dbl[1].split(':') : [];
  const missing = 8 - left.length - right.length;
  if ((dbl.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...left, ...new Array(dbl.length === 2 ? missing : 0).fill('0'), ...right];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}

/**
 * A service address as given by a user (--vip): "ip", "ip:port" or "[v6]:port", in canonical form.
 * Throws a usage error naming the option otherwise.
 */
export function normalizeVip(text: string, option = '--vip'): string {
  const ep = parseEndpoint(text);
  if (!ep) {
    const ip = normalizeIP(text);
    if (!ip) throw new StalepinError('bad_usage', `${option}: not an address: ${text} (use ip, ip:port or [v6]:port)`);
    return ip;
  }
  return ep.port === undefined ? ep.ip : formatEndpoint(ep.ip, ep.port);
}

/** The IPv4 address at b[off, off + 4) as a 32-bit word (signed, as bit operations leave it; ipv4EndpointKey takes it so). */
export function ipv4Word(b: Uint8Array, off = 0): number {
  return (b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
}

/**
 * An IPv4 endpoint as one number (address * 65536 + port, below 2^48: exact in a double), for
 * tables keyed by endpoint that should not keep a string per key. -1 for anything else.
 */
export function ipv4EndpointKey(addr32: number, port: number): number {
  return (addr32 >>> 0) * 65536 + port;
}

/** The key of an endpoint as formatEndpoint writes an IPv4 one ("a.b.c.d:port"); -1 otherwise. */
export function ipv4EndpointKeyOf(text: string): number {
  const colon = text.lastIndexOf(':');
  if (colon < 7 || text.indexOf(':') !== colon) return -1;
  const b = parseIP(text.slice(0, colon));
  const port = Number(text.slice(colon + 1));
  if (b === undefined || b.length !== 4 || !Number.isInteger(port) || port < 0 || port > 65535) return -1;
  const key = ipv4EndpointKey(ipv4Word(b), port);
  // Only the text formatEndpoint makes for this key names it ("01.2.3.4:5060" names nothing).
  return formatEndpoint(formatIPv4(b), port) === text ? key : -1;
}
