/**
 * Reading conntrack output of any form: a file, a stream (stdin, a spawned `conntrack`), or a
 * string. Lines are split from decoded chunks with only the unfinished tail carried over (never
 * the file), each line fills one reused ConntrackEntry that is handed to `onEntry`, and the
 * format is detected per source from its content. An unparseable line is a warning naming
 * file:line and is skipped; a source that is mostly not conntrack output is a bad_input error.
 */
import { promises as fs } from 'node:fs';
import { Anomalies, type Warning } from '../core/anomalies.js';
import { StalepinError } from '../core/errors.js';
import { formatIso, type Timestamp } from '../core/time.js';
import { visible } from '../report/visible.js';
import { detectFamily, isIgnorable, refineText, type FormatFamily } from './detect.js';
import { ConntrackEntry, type ConntrackFormat } from './entry.js';
import { isIpvsHeader, parseIpvsadmLine, parseIpvsProcLine } from './ipvs.js';
import { parseSaveLine } from './save.js';
import { newTextLineInfo, parseTextBytes } from './text.js';
import { parseXmlFlow, XmlFlowCollector } from './xml.js';

/** Longest line we accept; conntrack lines are a few hundred characters. */
export const MAX_LINE_CHARS = 1024 * 1024;
/** Warnings kept per source; later ones are only counted. */
export const MAX_WARNINGS = 100;
/** Give up early when this many lines in a row from the start are not conntrack output. */
const EARLY_GIVE_UP = 64;

export type TimeSource = 'file' | 'at' | 'mtime' | 'now' | 'none';

export interface SnapshotTime {
  /** ISO 8601 UTC, or null when nothing gives a time. */
  time: string | null;
  sec: number;
  nsec: number;
  precision: number;
  /** Where the time came from: the file's own timestamps, --at, the file's mtime, now (live). */
  source: TimeSource;
}

export interface ParseSummary {
  file: string;
  format: ConntrackFormat | null;
  lines: number;
  entries: number;
  badLines: number;
  warnings: Warning[];
  /** Warnings beyond MAX_WARNINGS, counted only. */
  warningsDropped: number;
  anomalies: Anomalies;
  snapshot: SnapshotTime;
}

export interface ParseOptions {
  /** The name to report (what the user typed). */
  file: string;
  /** Called with the reused record for every entry; clone() it to keep it. */
  onEntry: (e: ConntrackEntry) => void;
  /** Awaited after every chunk: lets the consumer apply output backpressure. */
  onChunk?: () => Promise<void> | void;
  /** The snapshot time to use when the file has none of its own. */
  at?: Timestamp;
  signal?: AbortSignal;
  /** Live tables: do not fail a source for being mostly unparseable until the end. */
  chunkSize?: number;
}

function clip(s: string, n = 200): string {
  return s.length > n ? s.slice(0, n) + '...' : s;
}

/** Line-by-line state machine for one source. */
export class ConntrackParser {
  readonly entry = new ConntrackEntry();
  readonly anomalies = new Anomalies();
  readonly warnings: Warning[] = [];
  warningsDropped = 0;
  family: FormatFamily | undefined;
  format: ConntrackFormat | undefined;
  lines = 0;
  good = 0;
  bad = 0;
  private readonly info = newTextLineInfo();
  private readonly xml = new XmlFlowCollector();
  private firstBad: { line: number; why: string } | undefined;
  // Latest time the source itself shows (event time, stop, start + age).
  private tSec = -1;
  private tNsec = 0;
  private tPrec = 0;

  constructor(
    readonly file: string,
    private readonly onEntry: (e: ConntrackEntry) => void,
  ) {}

  /** One line as bytes b[a, z) (without the newline). */
  lineBytes(b: Buffer, a: number, z: number, lineNo: number): void {
    if (this.family === 'text') {
      this.lines = lineNo;
      // Blank, comment and "... have been shown." lines, decided on the first byte.
      let k = a;
      while (k < z && (b[k] === 32 || b[k] === 9)) k++;
      if (k === z || b[k] === 35 /* # */) return;
      if (b[k] === 99 /* c */ && isIgnorable(b.toString('utf8', a, z))) return;
      const e = this.entry;
      if (!parseTextBytes(b, a, z, e, this.info)) {
        this.reject(b.toString('utf8', a, z), lineNo, this.info.error);
        return;
      }
      if (this.format === undefined) this.format = refineText(this.info);
      // Only the kernel's printer shows zone=0: one such line anywhere makes it /proc.
      else if (this.format === 'extended' && this.info.zone0) this.format = 'proc';
      this.accept(e, lineNo);
      return;
    }
    this.line(b.toString('utf8', a, z), lineNo);
  }

  /** One line as text; the structural formats (XML, save, IPVS) and detection work here. */
  line(text: string, lineNo: number): void {
    this.lines = lineNo;
    if (this.family === undefined) {
      if (isIgnorable(text)) return;
      const fam = detectFamily(text);
      if (fam === undefined) {
        this.reject(text, lineNo, 'not conntrack output');
        return;
      }
      this.family = fam;
    }
    const e = this.entry;
    let why = '';
    switch (this.family) {
      case 'text': {
        const b = Buffer.from(text, 'utf8');
        this.lineBytes(b, 0, b.length, lineNo);
        return;
      }
      case 'xml': {
        const flow = this.xml.push(text, lineNo);
        if (flow === '') return;
        if (flow === undefined) {
          if (isIgnorable(text)) return;
          if (this.xml.overflow) this.anomalies.add('conntrack_xml_flow_too_long', `${this.file}:${lineNo}`);
          this.reject(text, lineNo, this.xml.overflow ? 'XML flow too long' : 'not an XML flow');
          return;
        }
        why = parseXmlFlow(flow, e);
        lineNo = this.xml.startLine;
        if (!why && this.format === undefined) this.format = e.event ? 'xml-events' : 'xml';
        if (why) text = flow;
        break;
      }
      case 'save':
        if (isIgnorable(text)) return;
        why = parseSaveLine(text, e);
        if (!why) this.format = 'save';
        break;
      case 'ipvs':
      case 'ipvs-proc':
        if (isIgnorable(text) || isIpvsHeader(text)) return;
        why = this.family === 'ipvs' ? parseIpvsadmLine(text, e) : parseIpvsProcLine(text, e);
        if (!why) this.format = this.family;
        break;
    }
    if (why) {
      this.reject(text, lineNo, why);
      return;
    }
    this.accept(e, lineNo);
  }

  private accept(e: ConntrackEntry, lineNo: number): void {
    e.line = lineNo;
    this.good++;
    this.noteTime(e);
    this.onEntry(e);
  }

  private noteTime(e: ConntrackEntry): void {
    if (e.timeSec >= 0) this.later(e.timeSec, e.timeNsec, e.timePrecision);
    if (e.stopSec >= 0) this.later(e.stopSec, e.stopNsec, e.stopPrecision);
    else if (e.startSec >= 0 && e.deltaSec >= 0) this.later(e.startSec + e.deltaSec, e.startNsec, e.startPrecision);
  }

  private later(sec: number, nsec: number, prec: number): void {
    if (sec > this.tSec || (sec === this.tSec && nsec > this.tNsec)) {
      this.tSec = sec;
      this.tNsec = nsec;
    }
    if (prec > this.tPrec) this.tPrec = prec;
  }

  /** The latest time the source itself shows, or undefined. */
  get ownTime(): { sec: number; nsec: number; precision: number } | undefined {
    return this.tSec >= 0 ? { sec: this.tSec, nsec: this.tNsec, precision: this.tPrec } : undefined;
  }

  private reject(text: string, lineNo: number, why: string): void {
    this.bad++;
    this.anomalies.add('conntrack_bad_line', `${this.file}:${lineNo}`);
    if (!this.firstBad) this.firstBad = { line: lineNo, why };
    if (this.warnings.length < MAX_WARNINGS) {
      this.warnings.push({
        code: 'conntrack_bad_line',
        message: `${this.file}:${lineNo}: ${why}: ${visible(clip(text))}`,
        file: this.file,
      });
    } else this.warningsDropped++;
    if (this.good === 0 && this.bad >= EARLY_GIVE_UP) this.giveUp();
  }

  lineTooLong(lineNo: number): void {
    this.anomalies.add('conntrack_line_too_long', `${this.file}:${lineNo}`);
    this.reject(`(a line longer than ${MAX_LINE_CHARS} characters)`, lineNo, 'line too long');
  }

  private giveUp(): never {
    const f = this.firstBad;
    throw new StalepinError(
      'bad_input',
      `not conntrack output: ${this.bad} of ${this.bad + this.good} lines unparseable` + (f ? ` (first at line ${f.line}: ${f.why})` : ''),
      f ? { file: this.file, line: f.line } : { file: this.file },
    );
  }

  /** End of input: the verdict on the whole source. */
  finish(): void {
    if (this.xml.pending) {
      this.anomalies.add('conntrack_xml_unterminated', `${this.file}:${this.xml.startLine}`);
      this.reject('<flow> ...', this.xml.startLine, 'XML flow not closed before end of input');
    }
    if (this.bad > this.good) this.giveUp();
  }

  summary(snapshot: SnapshotTime): ParseSummary {
    return {
      file: this.file,
      format: this.format ?? null,
      lines: this.lines,
      entries: this.good,
      badLines: this.bad,
      warnings: this.warnings,
      warningsDropped: this.warningsDropped,
      anomalies: this.anomalies,
      snapshot,
    };
  }
}

/**
 * Splits byte chunks into lines. Complete lines are parsed in place in the chunk; only an
 * unfinished last line is copied to a carry buffer (bounded by MAX_LINE_CHARS), so memory does
 * not grow with the input and multi-byte characters split across chunks stay whole.
 */
export class LineSplitter {
  private carry = Buffer.allocUnsafe(4096);
  private carryLen = 0;
  private tooLong = false;
  lineNo = 0;

  constructor(private readonly parser: ConntrackParser) {}

  private append(b: Buffer, a: number, z: number): boolean {
    const need = this.carryLen + (z - a);
    if (need > MAX_LINE_CHARS) return false;
    if (need > this.carry.length) {
      const bigger = Buffer.allocUnsafe(Math.min(MAX_LINE_CHARS, Math.max(need, this.carry.length * 2)));
      this.carry.copy(bigger, 0, 0, this.carryLen);
      this.carry = bigger;
    }
    b.copy(this.carry, this.carryLen, a, z);
    this.carryLen = need;
    return true;
  }

  private emit(b: Buffer, a: number, z: number): void {
    if (z > a && b[z - 1] === 13) z--;
    this.parser.lineBytes(b, a, z, this.lineNo);
  }

  push(chunk: Buffer): void {
    let start = 0;
    const n = chunk.length;
    while (start < n) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        if (!this.tooLong && !this.append(chunk, start, n)) {
          this.tooLong = true;
          this.carryLen = 0;
        }
        return;
      }
      this.lineNo++;
      if (this.tooLong) {
        this.tooLong = false;
        this.parser.lineTooLong(this.lineNo);
      } else if (this.carryLen > 0) {
        if (this.append(chunk, start, nl)) this.emit(this.carry, 0, this.carryLen);
        else this.parser.lineTooLong(this.lineNo);
        this.carryLen = 0;
      } else this.emit(chunk, start, nl);
      start = nl + 1;
    }
  }

  end(): void {
    if (this.tooLong) {
      this.lineNo++;
      this.tooLong = false;
      this.parser.lineTooLong(this.lineNo);
    } else if (this.carryLen > 0) {
      this.lineNo++;
      const len = this.carryLen;
      this.carryLen = 0;
      this.emit(this.carry, 0, len);
    }
  }
}

function snapshotOf(parser: ConntrackParser, at: Timestamp | undefined, fallback: { sec: number; nsec: number; source: TimeSource } | undefined): SnapshotTime {
  const own = parser.ownTime;
  if (own) return { time: formatIso(own.sec, own.nsec, own.precision), sec: own.sec, nsec: own.nsec, precision: own.precision, source: 'file' };
  if (at) return { time: formatIso(at.sec, at.nsec, at.nsec ? 9 : 0), sec: at.sec, nsec: at.nsec, precision: at.nsec ? 9 : 0, source: 'at' };
  if (fallback) {
    const p = fallback.source === 'mtime' ? (fallback.nsec ? 9 : 0) : 3;
    return { time: formatIso(fallback.sec, fallback.nsec, p), sec: fallback.sec, nsec: fallback.nsec, precision: p, source: fallback.source };
  }
  return { time: null, sec: -1, nsec: 0, precision: 0, source: 'none' };
}

function ioError(file: string, err: NodeJS.ErrnoException): StalepinError {
  const what =
    err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : (err.code ?? err.message);
  return new StalepinError('bad_input', `cannot read: ${what}`, { file });
}

/** Parse a file by path, streaming. The snapshot time falls back to --at, then the mtime. */
export async function parseConntrackFile(path: string, opts: ParseOptions): Promise<ParseSummary> {
  let fh: fs.FileHandle;
  let st: import('node:fs').BigIntStats;
  try {
    fh = await fs.open(path, 'r');
    st = await fh.stat({ bigint: true });
  } catch (e) {
    throw ioError(opts.file, e as NodeJS.ErrnoException);
  }
  try {
    if (st.isDirectory()) throw new StalepinError('bad_input', 'cannot read: is a directory', { file: opts.file });
    const parser = new ConntrackParser(opts.file, opts.onEntry);
    const splitter = new LineSplitter(parser);
    // Two buffers: the next read runs while the current chunk is parsed.
    const size = opts.chunkSize ?? 1 << 20;
    const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
    let cur = 0;
    let pending = fh.read(bufs[0]!, 0, size, null);
    try {
      for (;;) {
        let n: number;
        try {
          ({ bytesRead: n } = await pending);
        } catch (e) {
          throw ioError(opts.file, e as NodeJS.ErrnoException);
        }
        if (n === 0 || opts.signal?.aborted) break;
        const chunk = bufs[cur]!.subarray(0, n);
        cur ^= 1;
        pending = fh.read(bufs[cur]!, 0, size, null);
        splitter.push(chunk);
        if (opts.onChunk) await opts.onChunk();
      }
    } finally {
      // Never leave a read in flight on a handle about to close (or on an error path).
      await pending.catch(() => undefined);
    }
    splitter.end();
    parser.finish();
    const mtimeNs = st.mtimeNs;
    const mtime = { sec: Number(mtimeNs / 1_000_000_000n), nsec: Number(mtimeNs % 1_000_000_000n), source: 'mtime' as const };
    return parser.summary(snapshotOf(parser, opts.at, mtime));
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * Parse a byte or text stream (stdin, a child's stdout). `now` is the time to report when the
 * stream has no timestamps of its own and no --at is given (live reads pass the read time).
 */
export async function parseConntrackStream(
  stream: NodeJS.ReadableStream,
  opts: ParseOptions & { now?: { sec: number; nsec: number } },
): Promise<ParseSummary> {
  const parser = new ConntrackParser(opts.file, opts.onEntry);
  const splitter = new LineSplitter(parser);
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    splitter.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    if (opts.onChunk) await opts.onChunk();
    if (opts.signal?.aborted) break;
  }
  splitter.end();
  parser.finish();
  return parser.summary(snapshotOf(parser, opts.at, opts.now ? { ...opts.now, source: 'now' } : undefined));
}

/** Parse text held in memory; returns copies of the entries (tests, small inputs). */
export function parseConntrackText(text: string, file = '<text>', at?: Timestamp): { entries: ConntrackEntry[]; summary: ParseSummary } {
  const entries: ConntrackEntry[] = [];
  const parser = new ConntrackParser(file, (e) => entries.push(e.clone()));
  const splitter = new LineSplitter(parser);
  splitter.push(Buffer.from(text, 'utf8'));
  splitter.end();
  parser.finish();
  return { entries, summary: parser.summary(snapshotOf(parser, at, undefined)) };
}
