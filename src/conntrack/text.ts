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
 * The parser works on the raw bytes of the line (no decoded string per line, no split, no
 * regex on the hot path): one pass, fields recognised by length and first byte, numbers read
 * in place, addresses interned (addr.ts). The entry record is the caller's and is reset here.
 */
import { addrFromBytes } from './addr.js';
import { protoName, type ConntrackEntry, type Tuple } from './entry.js';

/** What the last parsed line looked like, for format detection. */
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

export function newTextLineInfo(): TextLineInfo {
  return { l3: false, event: false, zone0: false, error: '' };
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/**
 * ctime(3) text ("Mon Nov 23 20:11:51 2026") in the local time zone of this process, which is
 * how conntrack printed it when both run on the same host (set TZ otherwise). Seconds since
 * the epoch, or -1.
 */
export function parseCtime(text: string): number {
  const m = /^\s*\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})\s*$/.exec(text);
  if (!m) return -1;
  const mon = MONTHS[m[1]!];
  if (mon === undefined) return -1;
  const t = new Date(Number(m[6]), mon, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])).getTime();
  return Number.isNaN(t) ? -1 : Math.floor(t / 1000);
}

/** Decimal integer in b[a, e), or -1 when it is not one. Exact up to 2^53. */
function num(b: Buffer, a: number, e: number): number {
  if (a >= e) return -1;
  let v = 0;
  for (let i = a; i < e; i++) {
    const c = b[i]! - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Where the last numTo/numOrHexTo value ended (the space after it), -1 before any. */
let scanEnd = -1;

/**
 * Decimal value starting at a and running to the next space (or n), read in the same pass that
 * finds its end; -1 when it is not a number. Sets scanEnd.
 */
function numTo(b: Buffer, a: number, n: number): number {
  let v = 0;
  let i = a;
  for (; i < n; i++) {
    const c = b[i]!;
    if (c === 32) break;
    const d = c - 48;
    if (d < 0 || d > 9) {
      scanEnd = tokenEnd(b, i, n);
      return -1;
    }
    v = v * 10 + d;
  }
  scanEnd = i;
  return i === a ? -1 : v;
}

/** Decimal, or 0x hex (GRE keys, marks in some dumps). Sets scanEnd. */
function numOrHexTo(b: Buffer, a: number, n: number): number {
  if (n - a > 2 && b[a] === 48 && (b[a + 1]! | 32) === 120) {
    scanEnd = tokenEnd(b, a, n);
    const v = parseInt(b.toString('latin1', a + 2, scanEnd), 16);
    return Number.isNaN(v) ? -1 : v;
  }
  return numTo(b, a, n);
}

function tokenEnd(b: Buffer, i: number, n: number): number {
  while (i < n && b[i] !== 32) i++;
  return i;
}

function skipSpace(b: Buffer, i: number, n: number): number {
  while (i < n) {
    const c = b[i];
    if (c !== 32 && c !== 9 && c !== 13) break;
    i++;
  }
  return i;
}

function indexOfByte(b: Buffer, c: number, i: number, n: number): number {
  while (i < n) {
    if (b[i] === c) return i;
    i++;
  }
  return -1;
}

/** Whether b[a, e) spells the ASCII word w. */
function is(b: Buffer, a: number, e: number, w: string): boolean {
  if (e - a !== w.length) return false;
  for (let i = 0; i < w.length; i++) if (b[a + i] !== w.charCodeAt(i)) return false;
  return true;
}

/**
 * Key test once the first byte and the length are known: the second and last bytes tell the
 * keys of this grammar apart, without comparing the whole word.
 */
function k2(b: Buffer, i: number, len: number, second: string, last: string): boolean {
  return b[i + 1] === second.charCodeAt(0) && b[i + len - 1] === last.charCodeAt(0);
}

/** Prefix test at a for a key (the caller already knows the length). */
function at(b: Buffer, a: number, w: string): boolean {
  for (let i = 0; i < w.length; i++) if (b[a + i] !== w.charCodeAt(i)) return false;
  return true;
}

const STATES = [
  'ESTABLISHED',
  'TIME_WAIT',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'CLOSE',
  'NONE',
  'CLOSED',
  'COOKIE_WAIT',
  'COOKIE_ECHOED',
  'SHUTDOWN_SENT',
  'SHUTDOWN_RECD',
  'SHUTDOWN_ACK_SENT',
  'HEARTBEAT_SENT',
  'HEARTBEAT_ACKED',
  'SYN_SENT2',
];

function isUpperWord(b: Buffer, a: number, e: number): boolean {
  if (a >= e) return false;
  for (let i = a; i < e; i++) {
    const c = b[i]!;
    if (!((c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57 && i > a))) return false;
  }
  return true;
}

function stateName(b: Buffer, a: number, e: number): string {
  for (const s of STATES) if (is(b, a, e, s)) return s;
  return b.toString('latin1', a, e);
}

function fail(info: TextLineInfo, why: string): false {
  info.error = why;
  return false;
}

/** String form, for callers holding text (tests, small inputs). */
export function parseTextLine(s: string, e: ConntrackEntry, info: TextLineInfo): boolean {
  const b = Buffer.from(s, 'utf8');
  return parseTextBytes(b, 0, b.length, e, info);
}

/**
 * Parse the line b[start, end) into `e`. Returns true for an entry; false with info.error set
 * for a line that is not one. The caller skips blank lines and the "have been shown" trailer.
 */
export function parseTextBytes(b: Buffer, start: number, end: number, e: ConntrackEntry, info: TextLineInfo): boolean {
  e.reset();
  info.l3 = false;
  info.event = false;
  info.zone0 = false;
  info.error = '';
  const n = end;
  let i = skipSpace(b, start, n);

  // "[1795464710.771362]\t" from -o timestamp.
  if (b[i] === 91 /* [ */ && i + 1 < n && b[i + 1]! >= 48 && b[i + 1]! <= 57) {
    const close = indexOfByte(b, 93, i, n);
    if (close < 0) return fail(info, 'unterminated [');
    let dot = indexOfByte(b, 46, i, close);
    if (dot < 0) dot = close;
    const sec = num(b, i + 1, dot);
    if (sec < 0) return fail(info, 'bad event timestamp');
    e.timeSec = sec;
    if (dot < close) {
      const digits = close - dot - 1;
      const f = num(b, dot + 1, close);
      if (f < 0 || digits > 9) return fail(info, 'bad event timestamp');
      e.timeNsec = f * 10 ** (9 - digits);
      e.timePrecision = digits;
    }
    i = skipSpace(b, close + 1, n);
  }
  // "[NEW]", " [UPDATE]", "[DESTROY]".
  if (b[i] === 91) {
    const close = indexOfByte(b, 93, i, n);
    if (close < 0) return fail(info, 'unterminated [');
    if (is(b, i + 1, close, 'NEW')) e.event = 'new';
    else if (is(b, i + 1, close, 'UPDATE')) e.event = 'update';
    else if (is(b, i + 1, close, 'DESTROY')) e.event = 'destroy';
    else return fail(info, 'unknown event type');
    info.event = true;
    i = skipSpace(b, close + 1, n);
  }

  // Protocol words: "ipv4 2 udp 17" or "udp 17".
  let a = i;
  let z = tokenEnd(b, a, n);
  let c = skipSpace(b, z, n);
  let d = tokenEnd(b, c, n);
  let pnum = num(b, c, d);
  if (pnum < 0) return fail(info, 'no protocol');
  if ((pnum === 2 && is(b, a, z, 'ipv4')) || (pnum === 10 && is(b, a, z, 'ipv6'))) {
    info.l3 = true;
    e.family = pnum === 2 ? 'ipv4' : 'ipv6';
    a = skipSpace(b, d, n);
    z = tokenEnd(b, a, n);
    c = skipSpace(b, z, n);
    d = tokenEnd(b, c, n);
    pnum = num(b, c, d);
    if (pnum < 0) return fail(info, 'no protocol number');
  }
  if (pnum > 255 || z === a) return fail(info, 'bad protocol');
  for (let k = a; k < z; k++) {
    const ch = b[k]!;
    if (!((ch >= 97 && ch <= 122) || (ch >= 48 && ch <= 57) || ch === 45 || ch === 95)) return fail(info, 'bad protocol name');
  }
  e.protoNum = pnum;
  // The printed name, as a shared constant when it is the usual one for the number.
  const usual = protoName(pnum);
  e.proto = is(b, a, z, usual) ? usual : b.toString('latin1', a, z);
  i = skipSpace(b, d, n);

  // Optional timeout and state.
  a = i;
  z = tokenEnd(b, a, n);
  const t = num(b, a, z);
  if (t >= 0) {
    e.timeout = t;
    i = skipSpace(b, z, n);
    a = i;
    z = tokenEnd(b, a, n);
  }
  if (isUpperWord(b, a, z)) {
    e.state = stateName(b, a, z);
    i = skipSpace(b, z, n);
  }

  // Fields.
  let tuple: Tuple | undefined; // the tuple being filled
  let tuples = 0;
  let afterCode = false; // tells the icmp id (after code=) from the conntrack id
  while (i < n) {
    const ch = b[i]!;
    if (ch === 91 /* [ */) {
      const close = indexOfByte(b, 93, i, n);
      if (close < 0) return fail(info, 'unterminated [');
      const in0 = i + 1;
      if (is(b, in0, close, 'UNREPLIED')) e.unreplied = true;
      else if (is(b, in0, close, 'ASSURED')) {
        e.assured = true;
        tuple = undefined;
      } else if (is(b, in0, close, 'OFFLOAD')) {
        e.offload = true;
        tuple = undefined;
      } else if (is(b, in0, close, 'HW_OFFLOAD')) {
        e.hwOffload = true;
        e.offload = true;
        tuple = undefined;
      } else if (is(b, in0, close, 'USERSPACE')) {
        tuple = undefined;
      } else if (close - in0 > 6 && (at(b, in0, 'start=') || at(b, in0, 'stop='))) {
        const isStart = b[in0 + 2] === 97; // st[a]rt
        const sec = parseCtime(b.toString('latin1', in0 + (isStart ? 6 : 5), close));
        if (sec < 0) return fail(info, 'bad [start=]/[stop=] time');
        if (isStart) e.startSec = sec;
        else e.stopSec = sec;
        tuple = undefined;
      }
      // Other bracketed words ([CONFIRMED], [FIXED_TIMEOUT] ...) carry nothing we model.
      i = skipSpace(b, close + 1, n);
      continue;
    }
    // The key runs to "="; a word without one is not part of this grammar.
    let eqAt = i;
    while (eqAt < n) {
      const k = b[eqAt];
      if (k === 61 || k === 32) break;
      eqAt++;
    }
    if (b[eqAt] !== 61) return fail(info, 'unexpected word');
    const vs = eqAt + 1;
    // Numeric values find their own end while being read (scanEnd); others set ve.
    let ve = -1;
    scanEnd = -1;
    const klen = eqAt - i;
    let code = false;
    switch (ch) {
      case 115: // s
        if (klen === 3 && b[i + 1] === 114 && b[i + 2] === 99) {
          // src
          tuples++;
          if (tuples > 2) return fail(info, 'more than two tuples');
          tuple = tuples === 1 ? e.orig : e.reply;
          ve = tokenEnd(b, vs, n);
          const v = addrFromBytes(b, vs, ve);
          if (v === undefined) return fail(info, 'bad src address');
          tuple.src = v;
        } else if (klen === 5 && k2(b, i, 5, 'p', 't')) {
          if (!tuple) return fail(info, 'sport outside a tuple');
          tuple.sport = numTo(b, vs, n);
          if (tuple.sport < 0 || tuple.sport > 65535) return fail(info, 'bad sport');
        } else if (klen === 7 && k2(b, i, 7, 'e', 'k')) {
          e.secmark = numTo(b, vs, n);
          tuple = undefined;
        } else if (klen === 6 && k2(b, i, 6, 'e', 'x')) {
          ve = tokenEnd(b, vs, n);
          e.secctx = b.toString('utf8', vs, ve);
          tuple = undefined;
        } else if (klen === 6 && k2(b, i, 6, 'r', 'y')) {
          if (!tuple) return fail(info, 'srckey outside a tuple');
          tuple.srcKey = numOrHexTo(b, vs, n);
        }
        break;
      case 100: // d
        if (klen === 3 && b[i + 1] === 115 && b[i + 2] === 116) {
          // dst
          if (!tuple) return fail(info, 'dst before src');
          ve = tokenEnd(b, vs, n);
          const v = addrFromBytes(b, vs, ve);
          if (v === undefined) return fail(info, 'bad dst address');
          tuple.dst = v;
        } else if (klen === 5 && k2(b, i, 5, 'p', 't')) {
          if (!tuple) return fail(info, 'dport outside a tuple');
          tuple.dport = numTo(b, vs, n);
          if (tuple.dport < 0 || tuple.dport > 65535) return fail(info, 'bad dport');
        } else if (klen === 10 && k2(b, i, 10, 'e', 'e')) {
          e.deltaSec = numTo(b, vs, n);
          tuple = undefined;
        } else if (klen === 6 && k2(b, i, 6, 's', 'y')) {
          if (!tuple) return fail(info, 'dstkey outside a tuple');
          tuple.dstKey = numOrHexTo(b, vs, n);
        }
        break;
      case 116: // type
        if (klen === 4 && tuple && k2(b, i, 4, 'y', 'e')) tuple.icmpType = numTo(b, vs, n);
        break;
      case 99: // code
        if (klen === 4 && tuple && k2(b, i, 4, 'o', 'e')) {
          tuple.icmpCode = numTo(b, vs, n);
          code = true;
        }
        break;
      case 105: // id
        if (klen === 2 && b[i + 1] === 100) {
          if (tuple && afterCode) tuple.icmpId = numTo(b, vs, n);
          else {
            e.id = numTo(b, vs, n);
            tuple = undefined;
          }
        }
        break;
      case 112: // packets, portid, progname
        if (klen === 7 && k2(b, i, 7, 'a', 's')) {
          if (tuple) tuple.packets = numTo(b, vs, n);
        } else if (klen === 6 && k2(b, i, 6, 'o', 'd')) {
          e.portid = numTo(b, vs, n);
        } else if (klen === 8 && k2(b, i, 8, 'r', 'e')) {
          // The program name is the rest of the line (it may hold spaces).
          ve = n;
          e.progname = b.toString('utf8', vs, n).trimEnd();
        }
        break;
      case 98: // bytes
        if (klen === 5 && tuple && k2(b, i, 5, 'y', 's')) tuple.bytes = numTo(b, vs, n);
        break;
      case 109: // mark
        if (klen === 4 && k2(b, i, 4, 'a', 'k')) {
          e.mark = numOrHexTo(b, vs, n);
          tuple = undefined;
        }
        break;
      case 122: // zone, zone-orig, zone-reply
        if (klen === 4 && k2(b, i, 4, 'o', 'e')) {
          e.zone = numTo(b, vs, n);
          if (e.zone === 0) info.zone0 = true;
          tuple = undefined;
        } else if (klen === 9 && k2(b, i, 9, 'o', 'g')) e.zoneOrig = numTo(b, vs, n);
        else if (klen === 10 && k2(b, i, 10, 'o', 'y')) e.zoneReply = numTo(b, vs, n);
        break;
      case 117: // use
        if (klen === 3 && k2(b, i, 3, 's', 'e')) {
          e.use = numTo(b, vs, n);
          tuple = undefined;
        }
        break;
      case 104: // helper
        if (klen === 6 && k2(b, i, 6, 'e', 'r')) {
          ve = tokenEnd(b, vs, n);
          e.helper = b.toString('utf8', vs, ve);
          tuple = undefined;
        }
        break;
      case 108: // labels
        if (klen === 6 && k2(b, i, 6, 'a', 's')) {
          ve = tokenEnd(b, vs, n);
          e.labels = b.toString('utf8', vs, ve);
          tuple = undefined;
        }
        break;
      default:
        break; // a field we do not model: skip it, do not fail the line
    }
    afterCode = code;
    if (ve < 0) ve = scanEnd >= 0 ? scanEnd : tokenEnd(b, vs, n);
    i = skipSpace(b, ve, n);
  }

  if (tuples < 2) return fail(info, tuples === 0 ? 'no tuple' : 'no reply tuple');
  if (!e.orig.dst || !e.reply.dst) return fail(info, 'tuple without dst');
  if (!e.family) e.family = e.orig.src.includes(':') ? 'ipv6' : 'ipv4';
  return true;
}
