/**
 * Classic libpcap files: 24-byte file header, then 16-byte record headers each followed by the
 * captured bytes. Four magics: a1b2c3d4 (microseconds) and a1b23c4d (nanoseconds), each in
 * either byte order. A record whose captured length is impossible means the framing is lost,
 * so the reader reports it and stops, keeping what it read before (there is no way to resync).
 */
import { StalepinError } from '../core/errors.js';
import type { Frame, CaptureInfo, CaptureInterface } from './types.js';
import { BufferedReader, MAX_RECORD, ReadStatus, type ReaderContext } from './reader.js';
import type { ByteSource } from './source.js';

export const PCAP_HEADER = 24;
const RECORD_HEADER = 16;

/** Magic as read big-endian from the first four bytes, to resolution and byte order. */
export function pcapMagic(b: Uint8Array): { le: boolean; nano: boolean } | undefined {
  const m = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  switch (m) {
    case 0xa1b2c3d4:
      return { le: false, nano: false };
    case 0xd4c3b2a1:
      return { le: true, nano: false };
    case 0xa1b23c4d:
      return { le: false, nano: true };
    case 0x4d3cb2a1:
      return { le: true, nano: true };
    default:
      return undefined;
  }
}

export class PcapReader extends BufferedReader {
  private readonly nano: boolean;
  /** Captured lengths above this stop the file: min(snap length, 256 KiB). */
  private readonly maxCap: number;
  private readonly snapLen: number;
  private readonly linkType: number;
  private readonly precision: number;
  private readonly ifIndex: number;
  private readonly fracUnits: number;
  private readonly fracMul: number;
  private readonly iface: CaptureInterface;

  constructor(src: ByteSource, info: CaptureInfo, ctx: ReaderContext, source: number, buf: Uint8Array, end: number, eof: boolean) {
    super(src, info, ctx, source, buf, end, eof, MAX_RECORD + RECORD_HEADER + (1 << 20));
    const file = info.file;
    if (end < PCAP_HEADER) {
      throw new StalepinError('bad_input', `truncated pcap file header: ${end} of ${PCAP_HEADER} bytes`, { file, offset: end });
    }
    const magic = pcapMagic(buf)!;
    this.le = magic.le;
    this.nano = magic.nano;
    const major = this.u16(buf, 4);
    const minor = this.u16(buf, 6);
    if (major !== 2) {
      throw new StalepinError('bad_input', `unsupported pcap version ${major}.${minor} (expected 2.x)`, { file, offset: 4 });
    }
    const snap = this.u32(buf, 16);
    // Bits 16..31 of the link type field carry FCS information, not the type.
    const linkType = this.u32(buf, 20) & 0xffff;
    this.snapLen = snap;
    // A zero or huge snap length means "no limit" to the writer; the 256 KiB bound still holds.
    this.maxCap = snap === 0 || snap > MAX_RECORD ? MAX_RECORD : snap;
    this.linkType = linkType;
    this.precision = magic.nano ? 9 : 6;
    this.fracUnits = magic.nano ? 1e9 : 1e6;
    this.fracMul = magic.nano ? 1 : 1000;
    info.byteOrder = magic.le ? 'le' : 'be';
    info.version = `${major}.${minor}`;
    info.sections = 1;
    this.ifIndex = ctx.interfaces.length;
    const iface: CaptureInterface = {
      index: this.ifIndex,
      source,
      section: 0,
      localId: 0,
      linkType,
      snapLen: snap,
      precision: this.precision,
      packets: 0,
      bytes: 0,
    };
    ctx.interfaces.push(iface);
    this.interfaces.push(iface);
    this.iface = iface;
    this.pos = PCAP_HEADER;
  }

  next(f: Frame): ReadStatus {
    const b = this.buf;
    const p = this.pos;
    const avail = this.end - p;
    if (avail < RECORD_HEADER) return this.done ? ReadStatus.End : this.short(RECORD_HEADER);
    let sec: number, frac: number, cap: number, orig: number;
    if (this.le) {
      sec = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
      frac = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
      cap = (b[p + 8]! | (b[p + 9]! << 8) | (b[p + 10]! << 16) | (b[p + 11]! << 24)) >>> 0;
      orig = (b[p + 12]! | (b[p + 13]! << 8) | (b[p + 14]! << 16) | (b[p + 15]! << 24)) >>> 0;
    } else {
      sec = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
      frac = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
      cap = ((b[p + 8]! << 24) | (b[p + 9]! << 16) | (b[p + 10]! << 8) | b[p + 11]!) >>> 0;
      orig = ((b[p + 12]! << 24) | (b[p + 13]! << 16) | (b[p + 14]! << 8) | b[p + 15]!) >>> 0;
    }
    if (cap > this.maxCap) return this.oversized(cap);
    const total = RECORD_HEADER + cap;
    if (avail < total) return this.short(total);
    if (frac >= this.fracUnits) {
      // Some writers overflow the fraction instead of carrying into the seconds.
      this.ctx.anomalies.add('timestamp_fraction_overflow', `${this.info.file} at byte ${this.base + p}`);
      sec += Math.floor(frac / this.fracUnits);
      frac %= this.fracUnits;
    }
    f.sec = sec;
    f.nsec = frac * this.fracMul;
    f.precision = this.precision;
    f.ifIndex = this.ifIndex;
    f.linkType = this.linkType;
    f.buf = b;
    f.off = p + RECORD_HEADER;
    f.capLen = cap;
    f.origLen = orig;
    f.source = this.source;
    f.recordOffset = this.base + p;
    this.pos = p + total;
    this.iface.packets++;
    this.iface.bytes += cap;
    return ReadStatus.Frame;
  }

  private oversized(cap: number): ReadStatus {
    const at = this.base + this.pos;
    const why = cap > MAX_RECORD ? `the ${MAX_RECORD}-byte limit` : `the snap length ${this.snapLen}`;
    this.anomaly('oversized_record', at, `record captured length ${cap} exceeds ${why}; the file is corrupt from here, stopped reading it after ${this.iface.packets} records`);
    return this.stop();
  }
}
