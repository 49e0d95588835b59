/**
 * The parsed SIP message record. One instance is filled by parseSipMessage and reused for every
 * message (DESIGN principle 1). Fields the transaction layer needs on every message (method,
 * status, Call-ID, CSeq, Via hops, tags) are decoded while parsing; everything else is kept as
 * byte spans into the message and decoded only when asked for, so a message nobody prints
 * costs no strings beyond those. The spans point into the caller's buffer: the accessors are
 * valid only until the buffer is reused (for the pipeline: during the message callback).
 */

/** One Via hop (RFC 3261 section 20.42). */
export interface SipVia {
  /** "UDP", "TCP", "TLS", "SCTP", "WS", ... as written, upper-cased. */
  transport: string;
  /** sent-by host as written (IPv6 references keep their brackets), lower-cased. */
  host: string;
  /** sent-by port, 0 when absent. */
  port: number;
  /** branch parameter, '' when absent. */
  branch: string;
  /** rport: -1 absent, 0 present without a value, else the value. */
  rport: number;
  /** received parameter, '' when absent. */
  received: string;
}

export function newVia(): SipVia {
  return { transport: '', host: '', port: 0, branch: '', rport: -1, received: '' };
}

/** RFC 3261 magic cookie: a branch starting with it was built by an RFC 3261 element. */
export const MAGIC_COOKIE = 'z9hG4bK';

/** Bounds on what one message may contain; documented in docs/sip.md. */
export const SIP_LIMITS = {
  /** Largest message (start line, headers and body) parsed; UDP cannot carry more. */
  maxMessageSize: 65535,
  /** Header lines (a folded header counts once) per message. */
  maxHeaders: 256,
  /** Bytes of one header (name, value and its folded continuation lines). */
  maxLineLength: 16384,
  /** Via hops kept per message; the rest are counted and ignored. */
  maxViaHops: 32,
  /** Contact header lines kept per message. */
  maxContactLines: 16,
} as const;

/** Compact header forms (RFC 3261 7.3.3 and the extensions that registered one). */
export const COMPACT_FORMS: Readonly<Record<string, string>> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};

const LONG_TO_COMPACT: Record<string, string> = Object.fromEntries(Object.entries(COMPACT_FORMS).map(([k, v]) => [v, k]));

// ignoreBOM: a byte order mark inside a header value is content, not a marker to drop.
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

// Node's Buffer latin1Slice works on any Uint8Array and returns a flat string in one call; a
// char-by-char concatenation builds a rope that costs memory and GC time until flattened.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: (this: Uint8Array, s: number, e: number) => string }).latin1Slice;

/** Bytes to a string: ASCII fast, UTF-8 otherwise (invalid sequences become U+FFFD). */
export function decodeText(b: Uint8Array, s: number, e: number): string {
  if (e <= s) return '';
  for (let i = s; i < e; i++) if (b[i]! >= 0x80) return textDecoder.decode(b.subarray(s, e));
  return asciiText(b, s, e);
}

/** decodeText of a non-empty span known to hold only bytes below 0x80 (no check made). */
export function asciiText(b: Uint8Array, s: number, e: number): string {
  if (latin1Slice !== undefined) return latin1Slice.call(b, s, e);
  return String.fromCharCode.apply(null, b.subarray(s, e) as unknown as number[]);
}

/** Case folding for internText. */
export const enum Fold {
  None = 0,
  Lower = 1,
  Upper = 2,
}

// Strings decoded from message bytes, by a hash of the bytes: Call-IDs, branches, tags and
// hosts repeat across the messages of a call and the copies at each hop, so most lookups
// return a string already made (no allocation, and equal values are the same string, which
// makes Map lookups and comparisons by the tracker cheap). Direct-mapped and fixed in size.
const INTERN_SLOTS = 8192;
const INTERN_MAX = 128;
const interned: string[] = new Array<string>(INTERN_SLOTS).fill('');
// Full hash and length per slot, compact: a miss is decided without touching the string.
const internHash = new Int32Array(INTERN_SLOTS);
const internLen = new Int32Array(INTERN_SLOTS);

/**
 * decodeText for short ASCII spans, case-folded as asked (ASCII letters only, as toLowerCase
 * and toUpperCase do on ASCII), returning a shared string when the same bytes were seen lately.
 * Spans with bytes >= 0x80 or line breaks take the ordinary decode (and fold).
 */
export function internText(b: Uint8Array, s: number, e: number, fold: Fold): string {
  const n = e - s;
  if (n <= 0) return '';
  if (n > INTERN_MAX) return slowText(b, s, e, fold);
  let h = 0x811c9dc5 ^ fold;
  let changed = false;
  if (fold === Fold.None) {
    for (let i = s; i < e; i++) {
      const c = b[i]!;
      if (c >= 0x80 || c === 10 || c === 13) return slowText(b, s, e, fold);
      h = Math.imul(h ^ c, 0x01000193);
    }
  } else {
    const lo = fold === Fold.Lower ? 65 : 97;
    for (let i = s; i < e; i++) {
      let c = b[i]!;
      if (c >= 0x80 || c === 10 || c === 13) return slowText(b, s, e, fold);
      if (c >= lo && c <= lo + 25) {
        c ^= 32;
        changed = true;
      }
      h = Math.imul(h ^ c, 0x01000193);
    }
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  const slot = h >>> 19;
  if (internHash[slot] === h && internLen[slot] === n) {
    const v = interned[slot]!;
    let i = 0;
    if (fold === Fold.None) while (i < n && v.charCodeAt(i) === b[s + i]) i++;
    else {
      const lo = fold === Fold.Lower ? 65 : 97;
      while (i < n) {
        let c = b[s + i]!;
        if (c >= lo && c <= lo + 25) c ^= 32;
        if (v.charCodeAt(i) !== c) break;
        i++;
      }
    }
    if (i === n) return v;
  }
  let t = decodeText(b, s, e);
  if (changed) t = fold === Fold.Lower ? t.toLowerCase() : t.toUpperCase();
  interned[slot] = t;
  internHash[slot] = h;
  internLen[slot] = n;
  return t;
}

function slowText(b: Uint8Array, s: number, e: number, fold: Fold): string {
  const t = decodeText(b, s, e);
  return fold === Fold.Lower ? t.toLowerCase() : fold === Fold.Upper ? t.toUpperCase() : t;
}

/** Decode a header value span, replacing folded line breaks (CRLF + whitespace) with one space. */
function decodeValue(b: Uint8Array, s: number, e: number): string {
  const t = decodeText(b, s, e);
  return t.indexOf('\n') >= 0 || t.indexOf('\r') >= 0 ? t.replace(/[ \t]*\r?\n[ \t]*/g, ' ').replace(/\r/g, ' ') : t;
}

export class SipMessage {
  /** Message bytes are buf[off, off + len). */
  buf: Uint8Array = new Uint8Array(0);
  off = 0;
  len = 0;

  isRequest = false;
  /** Request method (case-sensitive, as RFC 3261 says), '' for responses. */
  method = '';
  /** Response status code, 0 for requests. */
  statusCode = 0;
  /** Call-ID, '' when missing. */
  callId = '';
  /** CSeq number (-1 when missing or malformed) and method. */
  cseqNum = -1;
  cseqMethod = '';
  /** Via hops, top first: via[0 .. viaCount). Entries are reused between messages. */
  via: SipVia[] = [];
  viaCount = 0;
  /** Via hops beyond SIP_LIMITS.maxViaHops (counted, not kept). */
  viaDropped = 0;
  fromTag = '';
  toTag = '';
  /** -1 when absent or malformed. */
  maxForwards = -1;
  /** Content-Length header value, -1 when absent or malformed. */
  contentLength = -1;
  /** Header lines seen (a folded header counts once). */
  headerCount = 0;
  /** Body is buf[bodyOff, bodyOff + bodyLen). */
  bodyOff = 0;
  bodyLen = 0;
  /** True when the header block ended with an empty line (false: cut short). */
  complete = false;

  // Spans of the lazily decoded fields: [start, end) into buf, start -1 when absent.
  /** @internal */ sp: Int32Array = new Int32Array(SPAN_COUNT * 2);
  // Every header line: name start, end, value start, end, for header() lookups without a map.
  /** @internal */ hSpans: Int32Array = new Int32Array(SIP_LIMITS.maxHeaders * 4);
  /** @internal */ contactSpans: Int32Array = new Int32Array(SIP_LIMITS.maxContactLines * 2);
  /** @internal */ contactLines = 0;
  private cache: (string | undefined)[] = new Array(SPAN_COUNT).fill(undefined);
  /**
   * Added to every position in the span tables: a C parse's results, relative to the message's
   * start, for bytes that sit at buf[base...] (a split run's handoff record, sip/handoff.ts).
   */
  /** @internal */ base = 0;

  /**
   * Empty the record for a message at buf[off, off + len). `spansSet`: the span tables were
   * written already (a record whose tables are a C parse's output, see slotRecord in parser.ts),
   * their positions relative to `base`.
   */
  reset(buf: Uint8Array, off: number, len: number, spansSet = false, base = 0): void {
    this.buf = buf;
    this.off = off;
    this.base = base;
    this.len = len;
    this.isRequest = false;
    this.method = '';
    this.statusCode = 0;
    this.callId = '';
    this.cseqNum = -1;
    this.cseqMethod = '';
    this.viaCount = 0;
    this.viaDropped = 0;
    this.fromTag = '';
    this.toTag = '';
    this.maxForwards = -1;
    this.contentLength = -1;
    this.headerCount = 0;
    this.bodyOff = off + len;
    this.bodyLen = 0;
    this.complete = false;
    // Loops, not fill(): for a few dozen slots per message the builtin call costs more.
    if (!spansSet) {
      const sp = this.sp;
      for (let i = 0; i < sp.length; i++) sp[i] = -1;
    }
    this.contactLines = 0;
    const cache = this.cache;
    for (let i = 0; i < cache.length; i++) cache[i] = undefined;
  }

  private span(i: number, decode: (b: Uint8Array, s: number, e: number) => string = decodeValue): string {
    const c = this.cache[i];
    if (c !== undefined) return c;
    const s = this.sp[i * 2]!;
    const v = s < 0 ? '' : decode(this.buf, this.base + s, this.base + this.sp[i * 2 + 1]!);
    this.cache[i] = v;
    return v;
  }

  /** Has a span been set (the header was present)? */
  has(field: SpanField): boolean {
    return this.sp[field * 2]! >= 0;
  }

  get requestUri(): string {
    return this.span(Span.RequestUri);
  }
  /** "SIP/2.0" as written. */
  get version(): string {
    return this.span(Span.Version);
  }
  get reason(): string {
    return this.span(Span.Reason);
  }
  get fromUri(): string {
    return this.span(Span.FromUri);
  }
  get toUri(): string {
    return this.span(Span.ToUri);
  }
  /** Display names, unquoted ('' when none). */
  get fromName(): string {
    return this.span(Span.FromName, decodeDisplayName);
  }
  get toName(): string {
    return this.span(Span.ToName, decodeDisplayName);
  }
  get contentType(): string {
    return this.span(Span.ContentType);
  }
  get userAgent(): string {
    return this.span(Span.UserAgent);
  }
  get server(): string {
    return this.span(Span.Server);
  }
  /** Call-ID and CSeq header values as written (for display). */
  get cseqText(): string {
    return this.cseqNum < 0 ? this.span(Span.CSeq) : `${this.cseqNum} ${this.cseqMethod}`;
  }

  /** Contact URIs ("*" for a wildcard), from every Contact header line and every value in each. */
  get contacts(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.contactLines; i++) {
      const v = decodeValue(this.buf, this.base + this.contactSpans[i * 2]!, this.base + this.contactSpans[i * 2 + 1]!);
      for (const part of splitValues(v)) {
        const p = part.trim();
        if (p === '') continue;
        if (p === '*') {
          out.push('*');
          continue;
        }
        const lt = indexOutsideQuotes(p, '<');
        if (lt >= 0) {
          const gt = p.indexOf('>', lt);
          out.push(p.slice(lt + 1, gt < 0 ? p.length : gt).trim());
        } else {
          const semi = p.indexOf(';');
          out.push((semi < 0 ? p : p.slice(0, semi)).trim());
        }
      }
    }
    return out;
  }

  /** Top Via (undefined when the message has none). */
  get topVia(): SipVia | undefined {
    return this.viaCount > 0 ? this.via[0] : undefined;
  }

  /**
   * The first value of a header by name (case-insensitive, compact forms understood), decoded
   * on demand by scanning the header spans. undefined when absent.
   */
  header(name: string): string | undefined {
    const all = this.headerValues(name, true);
    return all.length ? all[0] : undefined;
  }

  /** Every header line of that name, in order (values as written, folding undone). */
  headerValues(name: string, firstOnly = false): string[] {
    const lower = name.toLowerCase();
    const long = COMPACT_FORMS[lower] ?? lower;
    const compact = LONG_TO_COMPACT[long];
    const out: string[] = [];
    for (let i = 0; i < this.headerCount && i < SIP_LIMITS.maxHeaders; i++) {
      const h = this.hSpans;
      const b = this.base;
      const s = b + h[i * 4]!;
      const e = b + h[i * 4 + 1]!;
      if (nameIs(this.buf, s, e, long) || (compact !== undefined && nameIs(this.buf, s, e, compact))) {
        out.push(decodeValue(this.buf, b + h[i * 4 + 2]!, b + h[i * 4 + 3]!));
        if (firstOnly) break;
      }
    }
    return out;
  }

  /** Header names in order, lower-cased, compact forms expanded (for debugging and tests). */
  headerNames(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.headerCount && i < SIP_LIMITS.maxHeaders; i++) {
      const n = decodeText(this.buf, this.base + this.hSpans[i * 4]!, this.base + this.hSpans[i * 4 + 1]!).toLowerCase();
      out.push(COMPACT_FORMS[n] ?? n);
    }
    return out;
  }

  /** The message's bytes were copied to buf[at, at + len): read them there from now on. */
  rebase(buf: Uint8Array, at: number): void {
    const d = at - this.off;
    this.buf = buf;
    this.off = at;
    this.base += d;
    this.bodyOff += d;
  }

  /** Body bytes (a view into the caller's buffer). */
  body(): Uint8Array {
    return this.buf.subarray(this.bodyOff, this.bodyOff + this.bodyLen);
  }
}

/** Span slots of SipMessage. */
export const enum Span {
  RequestUri = 0,
  Version = 1,
  Reason = 2,
  FromUri = 3,
  ToUri = 4,
  FromName = 5,
  ToName = 6,
  ContentType = 7,
  UserAgent = 8,
  Server = 9,
  CSeq = 10,
}
export type SpanField = Span;
const SPAN_COUNT = 11;

function nameIs(b: Uint8Array, s: number, e: number, lower: string): boolean {
  if (e - s !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = b[s + i]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function decodeDisplayName(b: Uint8Array, s: number, e: number): string {
  const t = decodeValue(b, s, e).trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return t;
}

function indexOutsideQuotes(s: string, ch: string): number {
  let q = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === '\\') i++;
      else if (c === '"') q = false;
    } else if (c === '"') q = true;
    else if (c === ch) return i;
  }
  return -1;
}

/** Split a header value at commas that are outside quotes and angle brackets. */
export function splitValues(v: string): string[] {
  const out: string[] = [];
  let q = false;
  let angle = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (q) {
      if (c === '\\') i++;
      else if (c === '"') q = false;
    } else if (c === '"') q = true;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (c === ',' && !angle) {
      out.push(v.slice(start, i));
      start = i + 1;
    }
  }
  out.push(v.slice(start));
  return out;
}
