/**
 * SIP message parser (RFC 3261 section 7 and 25) over (bytes, offset, length) into a reused
 * SipMessage. Lenient where real stacks are (whitespace, folding, leading CRLFs, bare LF line
 * ends, leading zeros), strict where a wrong guess would corrupt transaction matching (Via,
 * CSeq, Call-ID). A malformed message is counted under a named anomaly, never thrown.
 */
import type { Anomalies } from '../core/anomalies.js';
import { asciiText, decodeText, Fold, internText, SIP_LIMITS, Span, newVia, SipMessage } from './message.js';
import { CODE_HIT, NATIVE_OK, nativeSipParser, Out } from './native-parser.js';

export const enum SipParseStatus {
  /** Parsed; the record is filled (anomalies may still have been counted). */
  Ok = 0,
  /** The first line is not a SIP start line: not SIP, or too broken to say what it is. */
  NotSip = 1,
  /** A SIP start line, but the message breaks a bound or its start line is unusable. */
  Invalid = 2,
}

/** Every anomaly name this module counts, for docs and tests. */
export const SIP_PARSE_ANOMALIES = [
  'sip_bad_start_line',
  'sip_bad_version',
  'sip_bad_request_uri',
  'sip_start_line_whitespace',
  'sip_message_too_large',
  'sip_too_many_headers',
  'sip_header_too_long',
  'sip_bad_header_line',
  'sip_truncated_headers',
  'sip_missing_call_id',
  'sip_missing_cseq',
  'sip_bad_cseq',
  'sip_cseq_method_mismatch',
  'sip_missing_via',
  'sip_bad_via',
  'sip_too_many_via',
  'sip_missing_from',
  'sip_missing_to',
  'sip_bad_from',
  'sip_bad_to',
  'sip_bad_content_length',
  'sip_content_length_mismatch',
  'sip_extra_bytes',
  'sip_bad_max_forwards',
  'sip_duplicate_header',
] as const;

// RFC 3261 token characters: alphanum and - . ! % * _ + ` ' ~
const TOKEN = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9\-.!%*_+`'~]/.test(ch)) TOKEN[c] = 1;
}

const SP = 32;
const HT = 9;
const CR = 13;
const LF = 10;

const isWs = (c: number): boolean => c === SP || c === HT || c === CR || c === LF;

/** Methods interned so that the common ones cost no string per message. */
const KNOWN_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE'];

function internMethod(b: Uint8Array, s: number, e: number): string {
  const n = e - s;
  for (const m of KNOWN_METHODS) {
    if (m.length !== n) continue;
    let i = 0;
    while (i < n && b[s + i] === m.charCodeAt(i)) i++;
    if (i === n) return m;
  }
  return decodeText(b, s, e);
}

const enum H {
  Other = 0,
  Via,
  CallId,
  CSeq,
  From,
  To,
  Contact,
  MaxForwards,
  ContentLength,
  ContentType,
  UserAgent,
  Server,
}

/** Lower-cased byte compare against an ASCII lower-case constant. */
function eqName(b: Uint8Array, s: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = b[s + i]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function headerId(b: Uint8Array, s: number, e: number): H {
  const n = e - s;
  let c0 = b[s]!;
  if (c0 >= 65 && c0 <= 90) c0 += 32;
  switch (n) {
    case 1:
      switch (c0) {
        case 0x76 /* v */:
          return H.Via;
        case 0x69 /* i */:
          return H.CallId;
        case 0x66 /* f */:
          return H.From;
        case 0x74 /* t */:
          return H.To;
        case 0x6d /* m */:
          return H.Contact;
        case 0x6c /* l */:
          return H.ContentLength;
        case 0x63 /* c */:
          return H.ContentType;
      }
      return H.Other;
    case 2:
      return eqName(b, s, 'to') ? H.To : H.Other;
    case 3:
      return eqName(b, s, 'via') ? H.Via : H.Other;
    case 4:
      return c0 === 0x66 ? (eqName(b, s, 'from') ? H.From : H.Other) : eqName(b, s, 'cseq') ? H.CSeq : H.Other;
    case 6:
      return eqName(b, s, 'server') ? H.Server : H.Other;
    case 7:
      return c0 === 0x63 ? (eqName(b, s, 'call-id') ? H.CallId : eqName(b, s, 'contact') ? H.Contact : H.Other) : H.Other;
    case 10:
      return eqName(b, s, 'user-agent') ? H.UserAgent : H.Other;
    case 12:
      return c0 === 0x6d ? (eqName(b, s, 'max-forwards') ? H.MaxForwards : H.Other) : eqName(b, s, 'content-type') ? H.ContentType : H.Other;
    case 14:
      return eqName(b, s, 'content-length') ? H.ContentLength : H.Other;
  }
  return H.Other;
}

function skipWs(b: Uint8Array, p: number, e: number): number {
  while (p < e && isWs(b[p]!)) p++;
  return p;
}

function skipToken(b: Uint8Array, p: number, e: number): number {
  while (p < e && TOKEN[b[p]!] === 1) p++;
  return p;
}

/** Parse unsigned decimal digits; returns -1 when none, -2 when above `max`. Sets numEnd. */
let numEnd = 0;
function parseDigits(b: Uint8Array, p: number, e: number, max: number): number {
  let v = 0;
  const s = p;
  while (p < e) {
    const c = b[p]!;
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    if (v > max) {
      while (p < e && b[p]! >= 48 && b[p]! <= 57) p++;
      numEnd = p;
      return -2;
    }
    p++;
  }
  numEnd = p;
  return p === s ? -1 : v;
}

/** "SIP/x.y" starting at p? Returns the end offset, or -1. Case-insensitive "SIP". */
function matchVersion(b: Uint8Array, p: number, e: number): number {
  if (e - p < 7) return -1;
  if ((b[p]! | 0x20) !== 0x73 || (b[p + 1]! | 0x20) !== 0x69 || (b[p + 2]! | 0x20) !== 0x70 || b[p + 3] !== 0x2f) return -1;
  let q = p + 4;
  const d1 = q;
  while (q < e && b[q]! >= 48 && b[q]! <= 57) q++;
  if (q === d1 || q >= e || b[q] !== 0x2e) return -1;
  q++;
  const d2 = q;
  while (q < e && b[q]! >= 48 && b[q]! <= 57) q++;
  return q === d2 ? -1 : q;
}

function isVersion20(b: Uint8Array, s: number, e: number): boolean {
  return e - s === 7 && b[s + 4] === 0x32 && b[s + 5] === 0x2e && b[s + 6] === 0x30;
}

/** Start line; returns the status so far. */
function parseStartLine(b: Uint8Array, p: number, le: number, out: SipMessage, an: Anomalies): SipParseStatus {
  const sp = out.sp;
  const ve = matchVersion(b, p, le);
  if (ve >= 0) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    sp[Span.Version * 2] = p;
    sp[Span.Version * 2 + 1] = ve;
    let q = ve;
    if (q >= le || b[q] !== SP) {
      an.add('sip_bad_start_line');
      return SipParseStatus.NotSip;
    }
    while (q < le && (b[q] === SP || b[q] === HT)) q++;
    if (q - ve > 1) an.add('sip_start_line_whitespace');
    const cs = q;
    while (q < le && b[q]! >= 48 && b[q]! <= 57) q++;
    if (q - cs !== 3 || (q < le && b[q] !== SP && b[q] !== HT)) {
      an.add('sip_bad_start_line');
      return SipParseStatus.NotSip;
    }
    const code = (b[cs]! - 48) * 100 + (b[cs + 1]! - 48) * 10 + (b[cs + 2]! - 48);
    if (code < 100 || code > 699) {
      an.add('sip_bad_start_line');
      return SipParseStatus.NotSip;
    }
    out.isRequest = false;
    out.statusCode = code;
    const rs = q < le ? q + 1 : le;
    sp[Span.Reason * 2] = rs;
    sp[Span.Reason * 2 + 1] = le;
    if (!isVersion20(b, p, ve)) {
      an.add('sip_bad_version');
      return SipParseStatus.Invalid;
    }
    return SipParseStatus.Ok;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version
  const me = skipToken(b, p, le);
  if (me === p || me >= le || (b[me] !== SP && b[me] !== HT)) {
    an.add('sip_bad_start_line');
    return SipParseStatus.NotSip;
  }
  let irregular = b[me] !== SP;
  let q = me;
  while (q < le && (b[q] === SP || b[q] === HT)) q++;
  if (q - me > 1) irregular = true;
  const us = q;
  while (q < le && b[q] !== SP && b[q] !== HT) q++;
  const ue = q;
  const w = q;
  while (q < le && (b[q] === SP || b[q] === HT)) q++;
  if (q - w !== 1 || b[w] !== SP) irregular = true;
  const vs = q;
  while (q < le && b[q] !== SP && b[q] !== HT) q++;
  const vEnd = q;
  while (q < le && (b[q] === SP || b[q] === HT)) q++;
  if (q > vEnd) irregular = true;
  if (q !== le || us === ue || vs === vEnd || matchVersion(b, vs, vEnd) !== vEnd) {
    // Four words (an URI with embedded whitespace) or no version: not a request line.
    an.add('sip_bad_start_line');
    return SipParseStatus.NotSip;
  }
  out.isRequest = true;
  out.method = internMethod(b, p, me);
  sp[Span.RequestUri * 2] = us;
  sp[Span.RequestUri * 2 + 1] = ue;
  sp[Span.Version * 2] = vs;
  sp[Span.Version * 2 + 1] = vEnd;
  if (irregular) an.add('sip_start_line_whitespace');
  if (!isVersion20(b, vs, vEnd)) {
    an.add('sip_bad_version');
    return SipParseStatus.Invalid;
  }
  // absoluteURI scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
  let k = us;
  const c0 = b[k]! | 0x20;
  if (c0 < 0x61 || c0 > 0x7a) {
    an.add('sip_bad_request_uri');
    return SipParseStatus.Invalid;
  }
  while (k < ue) {
    const c = b[k]!;
    const l = c | 0x20;
    if ((l >= 0x61 && l <= 0x7a) || (c >= 48 && c <= 57) || c === 0x2b || c === 0x2d || c === 0x2e) k++;
    else break;
  }
  if (k >= ue || b[k] !== 0x3a) {
    an.add('sip_bad_request_uri');
    return SipParseStatus.Invalid;
  }
  return SipParseStatus.Ok;
}

/** Skip a quoted string starting at the opening quote; returns the offset after it, or -1. */
function skipQuoted(b: Uint8Array, p: number, e: number): number {
  p++;
  while (p < e) {
    const c = b[p]!;
    if (c === 0x5c) p += 2;
    else if (c === 0x22) return p + 1;
    else p++;
  }
  return -1;
}

/** A Via transport, upper-cased: the common ones without a table lookup. */
function transportName(b: Uint8Array, s: number, e: number): string {
  if (e - s === 3) {
    const c0 = b[s]! & 0xdf;
    const c1 = b[s + 1]! & 0xdf;
    const c2 = b[s + 2]! & 0xdf;
    if (c1 === 0x43 && c2 === 0x50) {
      if (c0 === 0x55) return 'UDP';
      if (c0 === 0x54) return 'TCP';
    } else if (c0 === 0x54 && c1 === 0x4c && c2 === 0x53) return 'TLS';
  }
  return internText(b, s, e, Fold.Upper);
}

/** Via value with one or more hops; appends to out.via. Returns false when something was malformed. */
function parseVia(b: Uint8Array, s: number, e: number, out: SipMessage, an: Anomalies): boolean {
  let ok = true;
  let p = s;
  while (p < e) {
    p = skipWs(b, p, e);
    if (p >= e) break;
    let hopOk = true;
    // sent-protocol: name SLASH version SLASH transport, with optional whitespace around slashes
    const n0 = p;
    p = skipToken(b, p, e);
    if (p === n0) hopOk = false;
    p = skipWs(b, p, e);
    if (hopOk && b[p] === 0x2f) p = skipWs(b, p + 1, e);
    else hopOk = false;
    const v0 = p;
    p = skipToken(b, p, e);
    if (p === v0) hopOk = false;
    p = skipWs(b, p, e);
    if (hopOk && b[p] === 0x2f) p = skipWs(b, p + 1, e);
    else hopOk = false;
    const t0 = p;
    p = skipToken(b, p, e);
    const t1 = p;
    if (t1 === t0) hopOk = false;
    p = skipWs(b, p, e);
    // sent-by host
    const h0 = p;
    if (hopOk) {
      if (b[p] === 0x5b) {
        while (p < e && b[p] !== 0x5d) p++;
        if (p < e) p++;
        else hopOk = false;
      } else {
        while (p < e) {
          const c = b[p]!;
          if (isWs(c) || c === 0x3a || c === 0x3b || c === 0x2c) break;
          p++;
        }
      }
    }
    const h1 = p;
    if (h1 === h0) hopOk = false;
    let port = 0;
    if (hopOk) {
      p = skipWs(b, p, e);
      if (b[p] === 0x3a) {
        p = skipWs(b, p + 1, e);
        const v = parseDigits(b, p, e, 65535);
        if (v < 0) hopOk = false;
        else port = v;
        p = numEnd;
      }
    }
    let hop = undefined as ReturnType<typeof newVia> | undefined;
    if (hopOk) {
      if (out.viaCount >= SIP_LIMITS.maxViaHops) {
        if (out.viaDropped++ === 0) an.add('sip_too_many_via');
      } else {
        hop = out.via[out.viaCount];
        if (hop === undefined) {
          hop = newVia();
          out.via.push(hop);
        }
        out.viaCount++;
        hop.transport = transportName(b, t0, t1);
        hop.host = internText(b, h0, h1, Fold.Lower);
        hop.port = port;
        hop.branch = '';
        hop.rport = -1;
        hop.received = '';
      }
      // via-params
      for (;;) {
        p = skipWs(b, p, e);
        if (p >= e || b[p] === 0x2c) break;
        if (b[p] !== 0x3b) {
          hopOk = false;
          break;
        }
        p = skipWs(b, p + 1, e);
        const pn0 = p;
        p = skipToken(b, p, e);
        const pn1 = p;
        if (pn1 === pn0) {
          hopOk = false;
          break;
        }
        p = skipWs(b, p, e);
        let pv0 = -1;
        let pv1 = -1;
        if (b[p] === 0x3d) {
          p = skipWs(b, p + 1, e);
          pv0 = p;
          if (b[p] === 0x22) {
            const q = skipQuoted(b, p, e);
            if (q < 0) {
              hopOk = false;
              p = e;
              break;
            }
            p = q;
          } else if (b[p] === 0x5b) {
            while (p < e && b[p] !== 0x5d) p++;
            if (p < e) p++;
          } else {
            while (p < e && (TOKEN[b[p]!] === 1 || b[p] === 0x3a)) p++;
          }
          pv1 = p;
        }
        if (hop === undefined) continue;
        const pl = pn1 - pn0;
        if (pl === 6 && eqName(b, pn0, 'branch')) hop.branch = pv0 < 0 ? '' : internText(b, pv0, pv1, Fold.None);
        else if (pl === 5 && eqName(b, pn0, 'rport')) {
          const v = pv0 < 0 ? 0 : parseDigits(b, pv0, pv1, 65535);
          hop.rport = v < 0 ? 0 : v;
        } else if (pl === 8 && eqName(b, pn0, 'received')) hop.received = pv0 < 0 ? '' : internText(b, pv0, pv1, Fold.None);
      }
    }
    if (!hopOk) {
      ok = false;
      // Resynchronise at the next comma outside quotes.
      while (p < e && b[p] !== 0x2c) {
        if (b[p] === 0x22) {
          const q = skipQuoted(b, p, e);
          p = q < 0 ? e : q;
        } else p++;
      }
    }
    if (p < e && b[p] === 0x2c) {
      p++;
      // An empty hop (",,") or a trailing comma is malformed too.
      const q = skipWs(b, p, e);
      if (q >= e || b[q] === 0x2c) ok = false;
    }
  }
  return ok;
}

/**
 * From/To: name-addr ([display-name] "<" URI ">") or addr-spec, then ;params. Sets the URI and
 * display-name spans and returns the tag ('' when none), or undefined when malformed.
 */
function parseNameAddr(b: Uint8Array, s: number, e: number, out: SipMessage, uriSpan: Span, nameSpan: Span): string | undefined {
  const sp = out.sp;
  let p = skipWs(b, s, e);
  if (p >= e) return undefined;
  let u0: number;
  let u1: number;
  // Is there a "<" outside a quoted string?
  let lt = -1;
  for (let q = p; q < e; q++) {
    const c = b[q]!;
    if (c === 0x22) {
      const r = skipQuoted(b, q, e);
      if (r < 0) return undefined;
      q = r - 1;
    } else if (c === 0x3c) {
      lt = q;
      break;
    } else if (c === 0x3b && lt < 0) break;
  }
  if (lt >= 0) {
    let ne = lt;
    while (ne > p && isWs(b[ne - 1]!)) ne--;
    if (ne > p) {
      sp[nameSpan * 2] = p;
      sp[nameSpan * 2 + 1] = ne;
    }
    u0 = skipWs(b, lt + 1, e);
    let q = u0;
    while (q < e && b[q] !== 0x3e) q++;
    if (q >= e) return undefined;
    u1 = q;
    while (u1 > u0 && isWs(b[u1 - 1]!)) u1--;
    p = q + 1;
  } else {
    u0 = p;
    while (p < e && b[p] !== 0x3b && !isWs(b[p]!)) p++;
    u1 = p;
  }
  if (u1 === u0) return undefined;
  sp[uriSpan * 2] = u0;
  sp[uriSpan * 2 + 1] = u1;
  let tag = '';
  for (;;) {
    p = skipWs(b, p, e);
    if (p >= e) break;
    if (b[p] !== 0x3b) break; // tolerate trailing junk: the URI and tag are what matter
    p = skipWs(b, p + 1, e);
    const n0 = p;
    p = skipToken(b, p, e);
    const n1 = p;
    p = skipWs(b, p, e);
    let v0 = -1;
    let v1 = -1;
    if (b[p] === 0x3d) {
      p = skipWs(b, p + 1, e);
      v0 = p;
      if (b[p] === 0x22) {
        const q = skipQuoted(b, p, e);
        p = q < 0 ? e : q;
      } else p = skipToken(b, p, e);
      v1 = p;
    }
    if (n1 - n0 === 3 && eqName(b, n0, 'tag') && v0 >= 0 && tag === '') tag = internText(b, v0, v1, Fold.None);
  }
  return tag;
}

const DUP_CALLID = 1;
const DUP_CSEQ = 2;
const DUP_FROM = 4;
const DUP_TO = 8;
const DUP_CLEN = 16;
const DUP_MAXF = 32;

const native = nativeSipParser();

/**
 * Parse one SIP message from buf[off, off + len) into `out` (reset first). For UDP `len` is the
 * datagram payload; for TCP the framed message. Never throws on malformed input.
 *
 * A message goes to the C parser first when it is built (native-parser.ts); what that one
 * declines, anything the JavaScript parser would count as an anomaly, is parsed here in
 * JavaScript. Both fill `out` alike.
 */
export function parseSipMessage(buf: Uint8Array, off: number, len: number, out: SipMessage, anomalies: Anomalies): SipParseStatus {
  return parseSipMessageNative(buf, off, len, out) ? SipParseStatus.Ok : parseSipMessageJs(buf, off, len, out, anomalies);
}

/**
 * The C parser alone: true when it parsed the message into `out`, false when it declined or is
 * not built (then `out` is untouched). Also what the tests hold to the JavaScript parser.
 */
export function parseSipMessageNative(buf: Uint8Array, off: number, len: number, out: SipMessage): boolean {
  if (native === undefined || native.parse(buf, off, len) !== NATIVE_OK) return false;
  fillFromNative(buf, off, len, out, native.out);
  return true;
}

/**
 * A record for a dissect() slot whose span tables are views of the slot's output array `o`
 * (slotOutput): C's parse writes the spans where the record reads them, and fillSlotRecord
 * copies none. The JavaScript parser writes the same tables when C declines.
 */
export function slotRecord(o: Int32Array): SipMessage {
  const m = new SipMessage();
  m.sp = o.subarray(Out.Spans, Out.Spans + m.sp.length);
  m.contactSpans = o.subarray(Out.Contacts, Out.Contacts + m.contactSpans.length);
  m.hSpans = o.subarray(Out.HSpans, Out.HSpans + m.hSpans.length);
  return m;
}

/**
 * A slotRecord from its slot's parse results (a dissect() that said Parsed): the message's bytes
 * are b[at, at + len) (the slot's, at 0; or a split run's handoff record's, see sip/handoff.ts).
 * The Via hops are read from vo[viaAt...] when given (a handoff record, where dissect() packed
 * them), else from the slot's results.
 */
export function fillSlotRecord(b: Uint8Array, at: number, len: number, out: SipMessage, o: Int32Array, vo: Int32Array = o, viaAt: number = Out.Via): void {
  fillFromNative(b, at, len, out, o, true, vo, viaAt, at);
}

/**
 * A span's string through the C side's intern table: `code` is what sip_parse.c's intern()
 * said of the span. A hit reuses the slot's string without reading a byte; a miss decodes the
 * span and stores the string in the slot, as the C side expects; -1 (long, non-ASCII or
 * empty) takes internText. Strings equal what internText returns for the span.
 */
function nativeText(b: Uint8Array, s: number, e: number, fold: Fold, code: number): string {
  if (code < 0) return internText(b, s, e, fold);
  const strings = native!.strings;
  if ((code & CODE_HIT) !== 0) return strings[code & 0xffff]!;
  // intern() takes only non-empty spans of bytes below 0x80: no need to look at them again.
  let t = asciiText(b, s, e);
  if (fold === Fold.Lower) t = t.toLowerCase();
  strings[code] = t;
  return t;
}

/**
 * The record as parseSipMessageJs leaves it, from the C parser's offsets (plus `base`, where
 * they are relative to a message that is not at its buffer's start): strings made the same way.
 */
function fillFromNative(b: Uint8Array, off: number, len: number, out: SipMessage, o: Int32Array, inPlace = false, vo: Int32Array = o, viaAt: number = Out.Via, base = 0): void {
  out.reset(b, off, len, inPlace, base);
  if (o[Out.IsRequest] === 1) {
    out.isRequest = true;
    out.method = internMethod(b, base + o[Out.MethodS]!, base + o[Out.MethodE]!);
  } else out.statusCode = o[Out.StatusCode]!;
  out.callId = nativeText(b, base + o[Out.CallIdS]!, base + o[Out.CallIdE]!, Fold.None, o[Out.CallIdCode]!);
  out.cseqNum = o[Out.CSeqNum]!;
  out.cseqMethod = internMethod(b, base + o[Out.CSeqMs]!, base + o[Out.CSeqMe]!);
  out.fromTag = nativeText(b, base + o[Out.FromTagS]!, base + o[Out.FromTagE]!, Fold.None, o[Out.FromTagCode]!);
  out.toTag = nativeText(b, base + o[Out.ToTagS]!, base + o[Out.ToTagE]!, Fold.None, o[Out.ToTagCode]!);
  out.maxForwards = o[Out.MaxForwards]!;
  out.contentLength = o[Out.ContentLength]!;
  out.bodyOff = base + o[Out.BodyOff]!;
  out.bodyLen = o[Out.BodyLen]!;
  out.complete = true;
  const nc = o[Out.ContactLines]!;
  const nh = o[Out.HeaderCount]!;
  if (!inPlace) {
    const sp = out.sp;
    for (let i = 0; i < sp.length; i++) sp[i] = o[Out.Spans + i]!;
    const cs = out.contactSpans;
    for (let i = 0; i < nc * 2; i++) cs[i] = o[Out.Contacts + i]!;
    const hs = out.hSpans;
    for (let i = 0; i < nh * 4; i++) hs[i] = o[Out.HSpans + i]!;
  }
  out.contactLines = nc;
  out.headerCount = nh;
  const nv = o[Out.ViaCount]!;
  const via = out.via;
  for (let i = 0; i < nv; i++) {
    let hop = via[i];
    if (hop === undefined) {
      hop = newVia();
      via.push(hop);
    }
    const k = viaAt + i * Out.ViaInts;
    hop.transport = transportName(b, base + vo[k]!, base + vo[k + 1]!);
    hop.host = nativeText(b, base + vo[k + 2]!, base + vo[k + 3]!, Fold.Lower, vo[k + 10]!);
    hop.port = vo[k + 4]!;
    const bs = vo[k + 5]!;
    hop.branch = bs < 0 ? '' : nativeText(b, base + bs, base + vo[k + 6]!, Fold.None, vo[k + 11]!);
    hop.rport = vo[k + 7]!;
    const rs = vo[k + 8]!;
    hop.received = rs < 0 ? '' : nativeText(b, base + rs, base + vo[k + 9]!, Fold.None, vo[k + 12]!);
  }
  out.viaCount = nv;
}

/** parseSipMessage in JavaScript alone: the whole parser, anomalies and all. */
export function parseSipMessageJs(buf: Uint8Array, off: number, len: number, out: SipMessage, anomalies: Anomalies): SipParseStatus {
  out.reset(buf, off, len);
  if (len > SIP_LIMITS.maxMessageSize) {
    anomalies.add('sip_message_too_large');
    return SipParseStatus.Invalid;
  }
  const end = off + len;
  let p = off;
  // RFC 3261 7.5: empty lines before the start line are ignored (TCP keep-alives leave them).
  while (p < end && (buf[p] === CR || buf[p] === LF)) p++;
  let le = p;
  while (le < end && buf[le] !== LF) le++;
  const next = le < end ? le + 1 : end;
  if (le > p && buf[le - 1] === CR) le--;
  if (le - p > SIP_LIMITS.maxLineLength) {
    anomalies.add('sip_bad_start_line');
    return SipParseStatus.NotSip;
  }
  let status = parseStartLine(buf, p, le, out, anomalies);
  if (status === SipParseStatus.NotSip) return status;

  const sp = out.sp;
  let seen = 0;
  let dup = false;
  let badVia = false;
  let badCseq = false;
  let hasCseq = false;
  let hasFrom = false;
  let hasTo = false;
  let ended = false;
  p = next;
  while (p < end) {
    // Empty line: end of the header block.
    if (buf[p] === LF) {
      p++;
      ended = true;
      break;
    }
    if (buf[p] === CR && p + 1 < end && buf[p + 1] === LF) {
      p += 2;
      ended = true;
      break;
    }
    if (buf[p] === CR && p + 1 >= end) {
      p++;
      break;
    }
    const ls = p;
    // The name: token characters, optional blanks, then the colon. Scanned once here, so the line
    // itself is then searched for its end with one comparison per byte.
    let q = p;
    while (q < end && TOKEN[buf[q]!] === 1) q++;
    const ne = q;
    while (q < end && (buf[q] === SP || buf[q] === HT)) q++;
    const colon = q < end && buf[q] === 0x3a ? q : -1;
    while (q < end && buf[q] !== LF) q++;
    // Folded continuation lines start with whitespace.
    while (q < end && q + 1 < end && (buf[q + 1] === SP || buf[q + 1] === HT)) {
      q++;
      while (q < end && buf[q] !== LF) q++;
    }
    let ve = q;
    p = q < end ? q + 1 : end;
    while (ve > ls && isWs(buf[ve - 1]!)) ve--;
    if (buf[ls] === SP || buf[ls] === HT) {
      // A continuation with nothing to continue (only possible right after the start line).
      anomalies.add('sip_bad_header_line');
      continue;
    }
    if (ve - ls > SIP_LIMITS.maxLineLength) {
      anomalies.add('sip_header_too_long');
      continue;
    }
    // No colon right after a token name (none at all, or a character no name may hold).
    if (colon < 0 || ne === ls) {
      anomalies.add('sip_bad_header_line');
      continue;
    }
    if (out.headerCount >= SIP_LIMITS.maxHeaders) {
      anomalies.add('sip_too_many_headers');
      return SipParseStatus.Invalid;
    }
    const vs = skipWs(buf, colon + 1, ve > colon ? ve : colon + 1);
    const vEnd = ve > vs ? ve : vs;
    const hi = out.headerCount++;
    const hs = out.hSpans;
    hs[hi * 4] = ls;
    hs[hi * 4 + 1] = ne;
    hs[hi * 4 + 2] = vs;
    hs[hi * 4 + 3] = vEnd;
    switch (headerId(buf, ls, ne)) {
      case H.Via:
        if (!parseVia(buf, vs, vEnd, out, anomalies)) badVia = true;
        break;
      case H.CallId:
        if (seen & DUP_CALLID) dup = true;
        else {
          seen |= DUP_CALLID;
          out.callId = internText(buf, vs, vEnd, Fold.None);
          if (out.callId.indexOf('\n') >= 0) out.callId = out.callId.replace(/\s*\r?\n\s*/g, ' ');
        }
        break;
      case H.CSeq: {
        if (seen & DUP_CSEQ) {
          dup = true;
          break;
        }
        seen |= DUP_CSEQ;
        hasCseq = true;
        sp[Span.CSeq * 2] = vs;
        sp[Span.CSeq * 2 + 1] = vEnd;
        const n = parseDigits(buf, vs, vEnd, 0x7fffffff);
        const afterNum = numEnd;
        const ms = skipWs(buf, afterNum, vEnd);
        const me = skipToken(buf, ms, vEnd);
        if (n < 0 || ms === afterNum || me === ms || skipWs(buf, me, vEnd) !== vEnd) badCseq = true;
        else {
          out.cseqNum = n;
          out.cseqMethod = internMethod(buf, ms, me);
        }
        break;
      }
      case H.From:
        if (seen & DUP_FROM) dup = true;
        else {
          seen |= DUP_FROM;
          hasFrom = true;
          const t = parseNameAddr(buf, vs, vEnd, out, Span.FromUri, Span.FromName);
          if (t === undefined) anomalies.add('sip_bad_from');
          else out.fromTag = t;
        }
        break;
      case H.To:
        if (seen & DUP_TO) dup = true;
        else {
          seen |= DUP_TO;
          hasTo = true;
          const t = parseNameAddr(buf, vs, vEnd, out, Span.ToUri, Span.ToName);
          if (t === undefined) anomalies.add('sip_bad_to');
          else out.toTag = t;
        }
        break;
      case H.Contact:
        if (out.contactLines < SIP_LIMITS.maxContactLines) {
          out.contactSpans[out.contactLines * 2] = vs;
          out.contactSpans[out.contactLines * 2 + 1] = vEnd;
          out.contactLines++;
        }
        break;
      case H.MaxForwards: {
        if (seen & DUP_MAXF) {
          dup = true;
          break;
        }
        seen |= DUP_MAXF;
        const v = parseDigits(buf, vs, vEnd, 255);
        if (v < 0 || numEnd !== vEnd) anomalies.add('sip_bad_max_forwards');
        else out.maxForwards = v;
        break;
      }
      case H.ContentLength: {
        const v = parseDigits(buf, vs, vEnd, 0x7fffffff);
        if (seen & DUP_CLEN) {
          dup = true;
          if (v !== out.contentLength) anomalies.add('sip_bad_content_length');
          break;
        }
        seen |= DUP_CLEN;
        if (v < 0 || numEnd !== vEnd) anomalies.add('sip_bad_content_length');
        else out.contentLength = v;
        break;
      }
      case H.ContentType:
        sp[Span.ContentType * 2] = vs;
        sp[Span.ContentType * 2 + 1] = vEnd;
        break;
      case H.UserAgent:
        sp[Span.UserAgent * 2] = vs;
        sp[Span.UserAgent * 2 + 1] = vEnd;
        break;
      case H.Server:
        sp[Span.Server * 2] = vs;
        sp[Span.Server * 2 + 1] = vEnd;
        break;
    }
  }

  out.complete = ended;
  if (ended) {
    out.bodyOff = p;
    const avail = end - p;
    if (out.contentLength < 0) out.bodyLen = avail;
    else if (avail < out.contentLength) {
      anomalies.add('sip_content_length_mismatch');
      out.bodyLen = avail;
    } else {
      out.bodyLen = out.contentLength;
      // RFC 3261 18.3: bytes past Content-Length in a datagram are discarded. Padding is not news.
      for (let i = p + out.contentLength; i < end; i++) {
        const c = buf[i]!;
        if (c !== CR && c !== LF && c !== 0 && c !== SP) {
          anomalies.add('sip_extra_bytes');
          break;
        }
      }
    }
  } else {
    anomalies.add('sip_truncated_headers');
    out.bodyOff = end;
    out.bodyLen = 0;
  }

  if (dup) anomalies.add('sip_duplicate_header');
  if (badVia) anomalies.add('sip_bad_via');
  if (out.viaCount === 0 && !badVia) anomalies.add('sip_missing_via');
  if (out.callId === '') anomalies.add('sip_missing_call_id');
  if (!hasCseq) anomalies.add('sip_missing_cseq');
  else if (badCseq) anomalies.add('sip_bad_cseq');
  else if (out.isRequest && out.cseqMethod !== out.method) anomalies.add('sip_cseq_method_mismatch');
  if (!hasFrom) anomalies.add('sip_missing_from');
  if (!hasTo) anomalies.add('sip_missing_to');
  return status;
}

/**
 * Cheap test for SIP on a port not configured as SIP: does the payload start with a SIP start
 * line? Looks at the first line only (at most 512 bytes), allocates nothing.
 */
export function looksLikeSip(buf: Uint8Array, off: number, len: number): boolean {
  const end = off + (len < 512 ? len : 512);
  let p = off;
  while (p < end && (buf[p] === CR || buf[p] === LF)) p++;
  if (end - p < 12) return false;
  // Most payloads on a busy link are RTP (first byte 0x80) or binary: a start line begins with
  // a printable token character, so reject before scanning for the end of the line.
  const c0 = buf[p]!;
  if (c0 < 0x21 || c0 > 0x7e) return false;
  let le = p;
  while (le < end && buf[le] !== LF) le++;
  if (le >= end && len > 512) return false;
  if (le > p && buf[le - 1] === CR) le--;
  // Status line: "SIP/2.0 NNN"
  if (buf[p] === 0x53 && buf[p + 1] === 0x49 && buf[p + 2] === 0x50 && buf[p + 3] === 0x2f) {
    const ve = matchVersion(buf, p, le);
    if (ve < 0 || ve + 4 > le || buf[ve] !== SP) return false;
    for (let i = 1; i <= 3; i++) if (buf[ve + i]! < 48 || buf[ve + i]! > 57) return false;
    return ve + 4 === le || buf[ve + 4] === SP;
  }
  // Request line: token SP uri SP "SIP/2.0"
  const me = skipToken(buf, p, le);
  if (me === p || me - p > 32 || buf[me] !== SP) return false;
  let q = le;
  while (q > me && buf[q - 1] !== SP) q--;
  if (q <= me + 1) return false;
  if (matchVersion(buf, q, le) !== le) return false;
  // The URI must have a scheme.
  for (let i = me + 1; i < q - 1; i++) if (buf[i] === 0x3a) return true;
  return false;
}

/** Offset just past the empty line ending the header block of buf[off, end), or -1. */
export function findHeaderEnd(buf: Uint8Array, off: number, end: number): number {
  for (let i = off; i < end; i++) {
    if (buf[i] !== LF) continue;
    if (i + 1 < end && buf[i + 1] === LF) return i + 2;
    if (i + 2 < end && buf[i + 1] === CR && buf[i + 2] === LF) return i + 3;
  }
  return -1;
}

/**
 * Content-Length of the header block buf[off, headerEnd): the value, -1 when absent, -2 when
 * malformed. For TCP framing, before the full parse.
 */
export function scanContentLength(buf: Uint8Array, off: number, headerEnd: number): number {
  let p = off;
  let result = -1;
  while (p < headerEnd) {
    let le = p;
    while (le < headerEnd && buf[le] !== LF) le++;
    // Header name at line start: "content-length" or compact "l", then optional ws and ':'.
    let ne = -1;
    if (le - p >= 2) {
      const c = buf[p]! | 0x20;
      if (c === 0x6c && (buf[p + 1] === 0x3a || buf[p + 1] === SP || buf[p + 1] === HT)) ne = p + 1;
      else if (c === 0x63 && le - p > 15 && eqName(buf, p, 'content-length')) ne = p + 14;
    }
    if (ne > 0) {
      let q = ne;
      while (q < le && (buf[q] === SP || buf[q] === HT)) q++;
      if (q < le && buf[q] === 0x3a) {
        q++;
        while (q < le && (buf[q] === SP || buf[q] === HT)) q++;
        const v = parseDigits(buf, q, le, 0x7fffffff);
        let r = numEnd;
        while (r < le && isWs(buf[r]!)) r++;
        if (v < 0 || r !== le) return -2;
        if (result >= 0 && result !== v) return -2;
        result = v;
      }
    }
    p = le + 1;
  }
  return result;
}
