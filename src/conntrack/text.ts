/**
 * The key=value line forms: `conntrack -L` (default, -o extended, id, ktimestamp, labels),
 * /proc/net/nf_conntrack, and `conntrack -E` events (with -o timestamp, id, extended and the
 * [USERSPACE] suffix). They share one grammar (libnetfilter_conntrack's default printer and the
 * kernel's ct_seq_show print the same fields in the same order):
 *
 *   [<epoch.usec>]\t  [NEW|UPDATE|DESTROY]  [l3name l3num]  l4name l4num  [timeout]  [STATE]
 *   src= dst= (sport= dport= | type= code= id= | srckey= dstkey=) [zone-orig=] [packets= bytes=]
 *   [UNREPLIED]  src= dst= ... [zone-reply=] [packets= bytes=]  [ASSURED|OFFLOAD|HW_OFFLOAD]
 *   mark= secmark= secctx= zone= delta-time= [start=..] [stop=..] helper= use= id= labels=
 *   [USERSPACE] portid= progname=
 *
 * One scan over the line's characters, no split, no regex on the hot path; the entry record is
 * the caller's and is reset here.
 */
import { canonicalAddr } from './addr.js';
import type { ConntrackEntry, Tuple } from './entry.js';

/** What the last parsed line looked like, for format detection and the snapshot time. */
export interface TextLineInfo {
  /** Had the "ipv4 2" layer-3 prefix. */
  l3: boolean;
  /** Was an event ([NEW] ...). */
  event: boolean;
  /** Printed zone=0 (only the kernel's /proc printer does). */
  zone0: boolean;
  /** Why the line failed, when it did. */
  error: string;
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/**
 * ctime(3) text ("Mon Nov 23 20:11:51 2026") in the local time zone of the process, which is
 * how conntrack printed it when both run on the same host (set TZ otherwise). Seconds since
 * the epoch, or -1.
 */
export function parseCtime(text: string): number {
  const m = /^\s*\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})\s*$/.exec(text);
  if (!m) return -1;
  const mon = MONTHS[m[1]!];
  if (mon === undefined) return -1;
  const d = new Date(Number(m[6]), mon, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  const t = d.getTime();
  return Number.isNaN(t) ? -1 : Math.floor(t / 1000);
}

/** Decimal integer in s[a, b), or -1 when it is not one. Exact up to 2^53. */
function num(s: string, a: number, b: number): number {
  if (a >= b) return -1;
  let v = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Integer in decimal or 0x hex (GRE keys, marks in some dumps). */
function numOrHex(s: string, a: number, b: number): number {
  if (b - a > 2 && s.charCodeAt(a) === 48 && (s.charCodeAt(a + 1) | 32) === 120) {
    const v = parseInt(s.slice(a + 2, b), 16);
    return Number.isNaN(v) ? -1 : v;
  }
  return num(s, a, b);
}

function isUpperWord(s: string, a: number, b: number): boolean {
  if (a >= b) return false;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57 && i > a))) return false;
  }
  return true;
}

function tokenEnd(s: string, i: number, n: number): number {
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9) break;
    i++;
  }
  return i;
}

function skipSpace(s: string, i: number, n: number): number {
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) break;
    i++;
  }
  return i;
}

function eq(s: string, a: number, b: number, word: string): boolean {
  return b - a === word.length && s.startsWith(word, a);
}

/**
 * Parse one line into `e`. Returns true for an entry; false with info.error set for a line that
 * is not one. The caller skips blank lines and the "flow entries have been shown" trailer.
 */
export function parseTextLine(s: string, e: ConntrackEntry, info: TextLineInfo): boolean {
  e.reset();
  info.l3 = false;
  info.event = false;
  info.zone0 = false;
  info.error = '';
  const n = s.length;
  let i = skipSpace(s, 0, n);

  // "[1795464710.771362]\t" from -o timestamp.
  if (s.charCodeAt(i) === 91 /* [ */) {
    const close = s.indexOf(']', i);
    if (close > i + 1) {
      const c1 = s.charCodeAt(i + 1);
      if (c1 >= 48 && c1 <= 57) {
        const dot = s.indexOf('.', i);
        const secEnd = dot > i && dot < close ? dot : close;
        const sec = num(s, i + 1, secEnd);
        if (sec < 0) return fail(info, 'bad event timestamp');
        e.timeSec = sec;
        if (secEnd < close) {
          const frac = s.slice(secEnd + 1, close);
          const f = num(frac, 0, frac.length);
          if (f < 0 || frac.length > 9) return fail(info, 'bad event timestamp');
          e.timeNsec = f * 10 ** (9 - frac.length);
          e.timePrecision = frac.length;
        }
        i = skipSpace(s, close + 1, n);
      }
    }
  }
  // "[NEW]", " [UPDATE]", "[DESTROY]".
  if (s.charCodeAt(i) === 91) {
    const close = s.indexOf(']', i);
    if (close < 0) return fail(info, 'unterminated [');
    if (eq(s, i + 1, close, 'NEW')) e.event = 'new';
    else if (eq(s, i + 1, close, 'UPDATE')) e.event = 'update';
    else if (eq(s, i + 1, close, 'DESTROY')) e.event = 'destroy';
    else return fail(info, 'unknown event type');
    info.event = true;
    i = skipSpace(s, close + 1, n);
  }

  // Protocol words: "ipv4 2 udp 17" or "udp 17".
  let a = i;
  let b = tokenEnd(s, a, n);
  let c = skipSpace(s, b, n);
  let d = tokenEnd(s, c, n);
  let pnum = num(s, c, d);
  if (pnum < 0) return fail(info, 'no protocol');
  if ((eq(s, a, b, 'ipv4') && pnum === 2) || (eq(s, a, b, 'ipv6') && pnum === 10)) {
    info.l3 = true;
    e.family = pnum === 2 ? 'ipv4' : 'ipv6';
    a = skipSpace(s, d, n);
    b = tokenEnd(s, a, n);
    c = skipSpace(s, b, n);
    d = tokenEnd(s, c, n);
    pnum = num(s, c, d);
    if (pnum < 0) return fail(info, 'no protocol number');
  }
  if (pnum > 255 || b === a) return fail(info, 'bad protocol');
  e.protoNum = pnum;
  e.proto = s.slice(a, b);
  i = skipSpace(s, d, n);

  // Optional timeout and state.
  a = i;
  b = tokenEnd(s, a, n);
  const t = num(s, a, b);
  if (t >= 0) {
    e.timeout = t;
    i = skipSpace(s, b, n);
    a = i;
    b = tokenEnd(s, a, n);
  }
  if (isUpperWord(s, a, b) && s.charCodeAt(a) !== 91) {
    e.state = s.slice(a, b);
    i = skipSpace(s, b, n);
  }

  // Fields.
  let tuple: Tuple | undefined; // the tuple being filled
  let tuples = 0;
  let lastKey = ''; // to tell the icmp id (after code=) from the conntrack id
  while (i < n) {
    const ch = s.charCodeAt(i);
    if (ch === 91 /* [ */) {
      const close = s.indexOf(']', i);
      if (close < 0) return fail(info, 'unterminated [');
      const inner0 = i + 1;
      if (eq(s, inner0, close, 'UNREPLIED')) e.unreplied = true;
      else if (eq(s, inner0, close, 'ASSURED')) {
        e.assured = true;
        tuple = undefined;
      } else if (eq(s, inner0, close, 'OFFLOAD')) {
        e.offload = true;
        tuple = undefined;
      } else if (eq(s, inner0, close, 'HW_OFFLOAD')) {
        e.hwOffload = true;
        e.offload = true;
        tuple = undefined;
      } else if (eq(s, inner0, close, 'USERSPACE')) {
        tuple = undefined;
      } else if (s.startsWith('start=', inner0) || s.startsWith('stop=', inner0)) {
        const isStart = s.charCodeAt(inner0 + 2) === 97; // st[a]rt
        const sec = parseCtime(s.slice(inner0 + (isStart ? 6 : 5), close));
        if (sec < 0) return fail(info, 'bad [start=]/[stop=] time');
        if (isStart) {
          e.startSec = sec;
          e.startNsec = 0;
          e.startPrecision = 0;
        } else {
          e.stopSec = sec;
          e.stopNsec = 0;
          e.stopPrecision = 0;
        }
        tuple = undefined;
      }
      // Other bracketed words ([CONFIRMED], [FIXED_TIMEOUT] ...) carry nothing we model.
      i = skipSpace(s, close + 1, n);
      continue;
    }
    const end = tokenEnd(s, i, n);
    const eqAt = s.indexOf('=', i);
    if (eqAt < 0 || eqAt >= end) {
      return fail(info, 'unexpected word');
    }
    const vs = eqAt + 1;
    let ve = end;
    const klen = eqAt - i;
    switch (ch) {
      case 115: // s
        if (klen === 3 && s.startsWith('src', i)) {
          tuples++;
          if (tuples > 2) return fail(info, 'more than two tuples');
          tuple = tuples === 1 ? e.orig : e.reply;
          const v = canonicalAddr(s, vs, ve);
          if (v === undefined) return fail(info, 'bad src address');
          tuple.src = v;
        } else if (klen === 5 && s.startsWith('sport', i)) {
          if (!tuple) return fail(info, 'sport outside a tuple');
          tuple.sport = num(s, vs, ve);
          if (tuple.sport < 0 || tuple.sport > 65535) return fail(info, 'bad sport');
        } else if (klen === 7 && s.startsWith('secmark', i)) {
          e.secmark = num(s, vs, ve);
          tuple = undefined;
        } else if (klen === 6 && s.startsWith('secctx', i)) {
          e.secctx = s.slice(vs, ve);
          tuple = undefined;
        } else if (klen === 6 && s.startsWith('srckey', i)) {
          if (!tuple) return fail(info, 'srckey outside a tuple');
          tuple.srcKey = numOrHex(s, vs, ve);
        }
        break;
      case 100: // d
        if (klen === 3 && s.startsWith('dst', i)) {
          if (!tuple) return fail(info, 'dst before src');
          const v = canonicalAddr(s, vs, ve);
          if (v === undefined) return fail(info, 'bad dst address');
          tuple.dst = v;
        } else if (klen === 5 && s.startsWith('dport', i)) {
          if (!tuple) return fail(info, 'dport outside a tuple');
          tuple.dport = num(s, vs, ve);
          if (tuple.dport < 0 || tuple.dport > 65535) return fail(info, 'bad dport');
        } else if (klen === 10 && s.startsWith('delta-time', i)) {
          e.deltaSec = num(s, vs, ve);
          tuple = undefined;
        } else if (klen === 6 && s.startsWith('dstkey', i)) {
          if (!tuple) return fail(info, 'dstkey outside a tuple');
          tuple.dstKey = numOrHex(s, vs, ve);
        }
        break;
      case 116: // type
        if (klen === 4 && s.startsWith('type', i) && tuple) tuple.icmpType = num(s, vs, ve);
        break;
      case 99: // code
        if (klen === 4 && s.startsWith('code', i) && tuple) tuple.icmpCode = num(s, vs, ve);
        break;
      case 105: // id
        if (klen === 2 && s.charCodeAt(i + 1) === 100) {
          if (tuple && lastKey === 'code') tuple.icmpId = num(s, vs, ve);
          else {
            e.id = num(s, vs, ve);
            tuple = undefined;
          }
        }
        break;
      case 112: // packets, portid, progname
        if (klen === 7 && s.startsWith('packets', i)) {
          if (tuple) tuple.packets = num(s, vs, ve);
        } else if (klen === 6 && s.startsWith('portid', i)) {
          e.portid = num(s, vs, ve);
        } else if (klen === 8 && s.startsWith('progname', i)) {
          // The program name is the rest of the line (it may hold spaces).
          ve = n;
          e.progname = s.slice(vs, n).trimEnd();
        }
        break;
      case 98: // bytes
        if (klen === 5 && s.startsWith('bytes', i) && tuple) tuple.bytes = num(s, vs, ve);
        break;
      case 109: // mark
        if (klen === 4 && s.startsWith('mark', i)) {
          e.mark = numOrHex(s, vs, ve);
          tuple = undefined;
        }
        break;
      case 122: // zone, zone-orig, zone-reply
        if (klen === 4 && s.startsWith('zone', i)) {
          e.zone = num(s, vs, ve);
          if (e.zone === 0) info.zone0 = true;
          tuple = undefined;
        } else if (klen === 9 && s.startsWith('zone-orig', i)) e.zoneOrig = num(s, vs, ve);
        else if (klen === 10 && s.startsWith('zone-reply', i)) e.zoneReply = num(s, vs, ve);
        break;
      case 117: // use
        if (klen === 3 && s.startsWith('use', i)) {
          e.use = num(s, vs, ve);
          tuple = undefined;
        }
        break;
      case 104: // helper
        if (klen === 6 && s.startsWith('helper', i)) {
          e.helper = s.slice(vs, ve);
          tuple = undefined;
        }
        break;
      case 108: // labels
        if (klen === 6 && s.startsWith('labels', i)) {
          e.labels = s.slice(vs, ve);
          tuple = undefined;
        }
        break;
      default:
        break; // a field we do not model: skip it, do not fail the line
    }
    lastKey = klen === 4 && s.startsWith('code', i) ? 'code' : '';
    i = skipSpace(s, ve, n);
  }

  if (tuples < 2) return fail(info, tuples === 0 ? 'no tuple' : 'no reply tuple');
  if (!e.orig.dst || !e.reply.dst) return fail(info, 'tuple without dst');
  if (!e.family) e.family = e.orig.src.includes(':') ? 'ipv6' : 'ipv4';
  return true;
}

function fail(info: TextLineInfo, why: string): false {
  info.error = why;
  return false;
}

export function newTextLineInfo(): TextLineInfo {
  return { l3: false, event: false, zone0: false, error: '' };
}
