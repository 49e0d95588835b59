/**
 * SIP over TCP framing (RFC 3261 section 18.3): messages are cut from the reassembled byte
 * stream by their Content-Length. Bytes that complete a message inside one delivery are handed
 * on without a copy; only a message split across segments is buffered, per direction, up to a
 * bound. After a gap (capture loss, a capture that starts mid-stream) the framer discards bytes
 * until the next line that looks like a SIP start line.
 */
import type { Anomalies } from '../core/anomalies.js';
import type { Packet, StreamSink, TcpStream } from '../decode/types.js';
import { SIP_LIMITS } from './message.js';
import { findHeaderEnd, looksLikeSip, scanContentLength } from './parser.js';

/** A complete message buf[off, off + len); `pkt` is the segment that completed it. Valid during the call. */
export type SipFrameHandler = (stream: TcpStream, buf: Uint8Array, off: number, len: number, pkt: Packet) => void;

export interface StreamFramerOptions {
  anomalies: Anomalies;
  /**
   * Decides on the first bytes of a direction whether it carries SIP (port list or heuristic).
   * Directions refused are ignored until they end. Default: every direction is SIP.
   */
  accept?: (stream: TcpStream, buf: Uint8Array, off: number, len: number) => boolean;
  /** Bytes buffered per direction for a message still incomplete (default: SIP_LIMITS.maxMessageSize). */
  maxBuffered?: number;
  /**
   * Bytes of hold buffers across all directions (default 16 MiB). Past it, the direction that
   * needs more drops its unfinished message and resynchronises (`sip_tcp_buffer_budget`): without
   * it, 16,384 directions each holding a partial 64 KiB message would pin 1 GiB.
   */
  maxBufferedTotal?: number;
}

/** Anomalies this module counts. */
export const SIP_FRAMER_ANOMALIES = [
  'sip_tcp_resync',
  'sip_tcp_missing_content_length',
  'sip_tcp_bad_content_length',
  'sip_message_too_large',
  'sip_tcp_truncated_message',
  'sip_tcp_buffer_budget',
] as const;

/** Hold buffers up to this size stay with an idle direction; larger ones are given back. */
const KEEP_IDLE = 4096;

const LF = 10;
const CR = 13;

/** Per-direction state, kept in TcpStream.user. */
class FramerState {
  /** Bytes held of a message not yet complete: hold[0, held). */
  hold: Uint8Array = EMPTY;
  held = 0;
  /** Discard bytes until a start line (after a gap, or at a stream's unknown start). */
  resync = false;
  /** Bytes still to be skipped (the body of an oversized message). */
  skip = 0;
  /** Not SIP: ignore until the end. */
  ignored = false;
  decided = false;
}

const EMPTY = new Uint8Array(0);

export class SipStreamFramer implements StreamSink {
  private readonly anomalies: Anomalies;
  private readonly accept: StreamFramerOptions['accept'];
  private readonly maxBuffered: number;
  private readonly maxTotal: number;
  /** Directions with framer state (for tests and memory accounting). */
  active = 0;
  /** Bytes of hold buffers allocated across all directions. */
  buffered = 0;

  constructor(
    private readonly onMessage: SipFrameHandler,
    opts: StreamFramerOptions,
  ) {
    this.anomalies = opts.anomalies;
    this.accept = opts.accept;
    this.maxBuffered = opts.maxBuffered ?? SIP_LIMITS.maxMessageSize;
    this.maxTotal = opts.maxBufferedTotal ?? 16 * 1024 * 1024;
  }

  /** Give a direction's hold buffer back to the budget. */
  private release(s: FramerState): void {
    this.buffered -= s.hold.length;
    s.hold = EMPTY;
    s.held = 0;
  }

  private state(stream: TcpStream): FramerState {
    let s = stream.user as FramerState | undefined;
    if (!(s instanceof FramerState)) {
      s = new FramerState();
      stream.user = s;
      this.active++;
    }
    return s;
  }

  data(stream: TcpStream, buf: Uint8Array, off: number, len: number, pkt: Packet): void {
    const s = this.state(stream);
    if (s.ignored || len <= 0) return;
    if (s.skip > 0) {
      const n = Math.min(s.skip, len);
      s.skip -= n;
      off += n;
      len -= n;
      if (len === 0) return;
    }
    if (!s.decided) {
      // Decide on the first bytes that carry something other than keep-alive CRLFs.
      let p = off;
      while (p < off + len && (buf[p] === CR || buf[p] === LF)) p++;
      if (p === off + len) return;
      s.decided = true;
      if (this.accept && !this.accept(stream, buf, p, off + len - p)) {
        s.ignored = true;
        return;
      }
    }
    if (s.held === 0) {
      // Common case: frame straight from the segment, keep only the incomplete tail.
      const used = this.frame(s, stream, buf, off, off + len, pkt);
      if (used < off + len) this.keep(s, buf, used, off + len - used);
      return;
    }
    this.append(s, buf, off, len);
    if (s.held === 0) return;
    const used = this.frame(s, stream, s.hold, 0, s.held, pkt);
    if (used > 0) {
      s.hold.copyWithin(0, used, s.held);
      s.held -= used;
    }
    if (s.held === 0 && s.hold.length > KEEP_IDLE) this.release(s);
  }

  gap(stream: TcpStream, missing: number): void {
    const s = this.state(stream);
    if (s.ignored) return;
    if (s.skip > 0 && missing > 0 && missing <= s.skip) {
      // The hole fell inside a body we were skipping anyway.
      s.skip -= missing;
      return;
    }
    if (s.held > 0 && hasContent(s.hold, 0, s.held)) this.anomalies.add('sip_tcp_truncated_message');
    s.held = 0;
    if (s.hold.length > KEEP_IDLE) this.release(s);
    s.skip = 0;
    s.resync = true;
  }

  end(stream: TcpStream, _reason: 'fin' | 'rst' | 'timeout' | 'evicted' | 'eof'): void {
    const s = stream.user;
    if (!(s instanceof FramerState)) return;
    if (!s.ignored && s.held > 0 && hasContent(s.hold, 0, s.held)) this.anomalies.add('sip_tcp_truncated_message');
    this.release(s);
    stream.user = undefined;
    this.active--;
  }

  /** Append to the hold buffer, growing it up to the bound; past it, drop and resynchronise. */
  private append(s: FramerState, buf: Uint8Array, off: number, len: number): void {
    const need = s.held + len;
    if (need > this.maxBuffered) {
      // The held prefix is no message we can frame within the bound.
      this.anomalies.add('sip_message_too_large');
      s.held = 0;
      s.resync = true;
      if (len > this.maxBuffered) {
        off += len - this.maxBuffered;
        len = this.maxBuffered;
      }
    }
    if (s.hold.length < s.held + len) {
      let cap = Math.max(4096, s.hold.length * 2);
      while (cap < s.held + len) cap *= 2;
      const size = Math.min(cap, Math.max(this.maxBuffered, s.held + len));
      if (this.buffered + size - s.hold.length > this.maxTotal) {
        // Over the budget across directions: this partial message is given up, not buffered.
        this.anomalies.add('sip_tcp_buffer_budget');
        this.release(s);
        s.resync = true;
        return;
      }
      const n = new Uint8Array(size);
      n.set(s.hold.subarray(0, s.held));
      this.buffered += size - s.hold.length;
      s.hold = n;
    }
    s.hold.set(buf.subarray(off, off + len), s.held);
    s.held += len;
  }

  private keep(s: FramerState, buf: Uint8Array, off: number, len: number): void {
    s.held = 0;
    this.append(s, buf, off, len);
  }

  /**
   * Deliver every complete message in b[p, e); returns the offset of the first byte not
   * consumed (the start of an incomplete message, or e).
   */
  private frame(s: FramerState, stream: TcpStream, b: Uint8Array, p: number, e: number, pkt: Packet): number {
    while (p < e) {
      if (s.skip > 0) {
        const n = Math.min(s.skip, e - p);
        s.skip -= n;
        p += n;
        continue;
      }
      // Keep-alive CRLFs (RFC 5626) between messages.
      while (p < e && (b[p] === CR || b[p] === LF)) p++;
      if (p >= e) return e;
      if (!s.resync && hasLine(b, p, e) && !looksLikeSip(b, p, e - p)) {
        this.anomalies.add('sip_tcp_resync');
        s.resync = true;
      }
      if (s.resync) {
        const q = findStartLine(b, p, e);
        if (q < 0) return lastLineStart(b, p, e);
        s.resync = false;
        p = q;
      }
      const limit = Math.min(e, p + SIP_LIMITS.maxMessageSize);
      const he = findHeaderEnd(b, p, limit);
      if (he < 0) {
        if (limit - p >= SIP_LIMITS.maxMessageSize) {
          this.anomalies.add('sip_message_too_large');
          s.resync = true;
          p++;
          continue;
        }
        return p;
      }
      let cl = scanContentLength(b, p, he);
      if (cl === -1) {
        // Required over TCP (RFC 3261 20.14); assume no body and let resync catch a wrong guess.
        this.anomalies.add('sip_tcp_missing_content_length');
        cl = 0;
      } else if (cl === -2) {
        this.anomalies.add('sip_tcp_bad_content_length');
        this.onMessage(stream, b, p, he - p, pkt);
        s.resync = true;
        p = he;
        continue;
      }
      const total = he - p + cl;
      if (total > SIP_LIMITS.maxMessageSize) {
        this.anomalies.add('sip_message_too_large');
        const have = Math.min(e - p, total);
        s.skip = total - have;
        p += have;
        continue;
      }
      if (e - p < total) return p;
      this.onMessage(stream, b, p, total, pkt);
      p += total;
    }
    return p;
  }
}

function hasContent(b: Uint8Array, p: number, e: number): boolean {
  for (let i = p; i < e; i++) if (b[i] !== CR && b[i] !== LF) return true;
  return false;
}

/** Is the first line of b[p, e) complete (or long enough to judge)? */
function hasLine(b: Uint8Array, p: number, e: number): boolean {
  const lim = Math.min(e, p + 512);
  for (let i = p; i < lim; i++) if (b[i] === LF) return true;
  return e - p >= 512;
}

/** First line start in b[p, e) that looks like a SIP start line, or -1. */
function findStartLine(b: Uint8Array, p: number, e: number): number {
  let i = p;
  while (i < e) {
    if (b[i] !== CR && b[i] !== LF) {
      if (!hasLine(b, i, e)) return -1;
      if (looksLikeSip(b, i, e - i)) return i;
    }
    while (i < e && b[i] !== LF) i++;
    i++;
  }
  return -1;
}

/** Start of the last (incomplete) line in b[p, e): what is worth keeping while resynchronising. */
function lastLineStart(b: Uint8Array, p: number, e: number): number {
  for (let i = e - 1; i >= p; i--) if (b[i] === LF) return i + 1;
  // One long line with no end: keep at most a start line's worth of it.
  return e - p > 512 ? e - 512 : p;
}
