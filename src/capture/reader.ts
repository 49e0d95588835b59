/**
 * The pull interface every capture reader (and the merger) offers, and the buffer machinery the
 * pcap and pcapng readers share: one reused buffer, refilled in chunks; a record that straddles
 * a chunk boundary is moved to the front, a record bigger than the buffer grows it up to a bound.
 * next() is synchronous and allocation-free, so a driver loop only awaits when a chunk runs out.
 */
import type { Anomalies, Warning } from '../core/anomalies.js';
import type { CaptureInfo, CaptureInterface, Frame } from './types.js';
import type { ByteSource } from './source.js';

export const enum ReadStatus {
  /** The caller's Frame was filled. */
  Frame = 0,
  /** The buffer ran dry: await fill(), then call next() again. */
  NeedData = 1,
  /** No more frames (clean end, or a reported truncation or stop). */
  End = 2,
}

/** A stream of frames: one reader, or several merged. */
export interface FrameSource {
  /** Fill `frame` with the next frame. Its `buf` stays valid until this source advances again. */
  next(frame: Frame): ReadStatus;
  /** Read the next chunk of input (call after NeedData). */
  fill(): Promise<void>;
  close(): Promise<void>;
}

export interface CaptureReader extends FrameSource {
  readonly info: CaptureInfo;
  /** This input's interfaces, in the order they were found (also appended to ctx.interfaces). */
  readonly interfaces: CaptureInterface[];
  /** Bytes of the file on disk consumed so far (compressed bytes for gzip): progress against info.sizeHint. */
  readonly rawBytesRead: number;
}

export interface ReaderContext {
  anomalies: Anomalies;
  warnings: Warning[];
  /** Registry shared by every input of a run; readers append, Frame.ifIndex indexes it. */
  interfaces: CaptureInterface[];
  /** Stream to read for "-" (defaults to process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** Initial buffer size in bytes (default 1 MiB). */
  bufferSize?: number;
}

/** Largest captured length accepted for one packet (tcpdump's and Wireshark's default limit). */
export const MAX_RECORD = 256 * 1024;
/** Largest pcapng block accepted; anything longer is treated as a corrupt length. */
export const MAX_BLOCK = 16 * 1024 * 1024;
export const DEFAULT_BUFFER = 1 << 20;

export abstract class BufferedReader implements CaptureReader {
  buf: Uint8Array;
  /** Next unread byte in buf; end of valid data in buf. */
  pos = 0;
  end: number;
  /** Stream offset of buf[0]. */
  base = 0;
  eof = false;
  done = false;
  /** Bytes the current record needs in the buffer (set with NeedData). */
  need = 0;
  /** Byte order of the file (pcap) or of the current section (pcapng). */
  protected le = true;
  readonly interfaces: CaptureInterface[] = [];

  constructor(
    protected readonly src: ByteSource,
    readonly info: CaptureInfo,
    protected readonly ctx: ReaderContext,
    protected readonly source: number,
    buf: Uint8Array,
    end: number,
    eof: boolean,
    protected readonly maxBuffer: number,
  ) {
    this.buf = buf;
    this.end = end;
    this.eof = eof;
  }

  protected u16(b: Uint8Array, p: number): number {
    return this.le ? b[p]! | (b[p + 1]! << 8) : (b[p]! << 8) | b[p + 1]!;
  }

  protected u32(b: Uint8Array, p: number): number {
    return this.le
      ? (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0
      : ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  abstract next(frame: Frame): ReadStatus;

  get rawBytesRead(): number {
    return this.src.rawBytesRead;
  }

  async fill(): Promise<void> {
    if (this.eof || this.done) return;
    const pos = this.pos;
    if (pos > 0) {
      if (this.end > pos) this.buf.copyWithin(0, pos, this.end);
      this.base += pos;
      this.end -= pos;
      this.pos = 0;
    }
    if (this.need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.need) size *= 2;
      const grown = new Uint8Array(Math.min(size, this.maxBuffer));
      grown.set(this.buf.subarray(0, this.end));
      this.buf = grown;
    }
    const n = await this.src.read(this.buf, this.end, this.buf.length - this.end);
    if (n === 0) this.eof = true;
    else this.end += n;
    this.info.bytesRead = this.base + this.end;
  }

  /**
   * The current record needs `need` bytes but fewer are buffered: ask for data, or at the end
   * of input tell a clean end from a cut record.
   */
  protected short(need: number): ReadStatus {
    if (!this.eof) {
      this.need = need;
      return ReadStatus.NeedData;
    }
    const left = this.end - this.pos;
    if (left > 0) {
      const at = this.base + this.pos;
      this.anomaly('truncated_record', at, `truncated record: the file ends ${left} bytes into a ${this.info.format === 'pcap' ? 'record' : 'block'} that needs at least ${need}`);
    }
    const fail = this.src.failure;
    if (fail) this.anomaly(fail.code, this.base + this.end, `${fail.message}; kept the records decompressed before it`);
    return this.stop();
  }

  protected stop(): ReadStatus {
    this.done = true;
    this.pos = this.end;
    return ReadStatus.End;
  }

  /** Count an anomaly and raise a warning naming file and offset. */
  protected anomaly(name: string, offset: number, message: string): void {
    this.ctx.anomalies.add(name, `${this.info.file} at byte ${offset}`);
    this.ctx.warnings.push({ code: name, message, file: this.info.file, offset });
  }

  async close(): Promise<void> {
    this.done = true;
    await this.src.close();
  }
}
