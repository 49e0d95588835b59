/**
 * pcapng (draft-ietf-opsawg-pcapng): a sequence of blocks, each "type, total length, body,
 * total length". A Section Header Block fixes the byte order for its section and resets the
 * interface list; Interface Description Blocks declare link type, snap length and timestamp
 * resolution; packets come in Enhanced (6), Simple (3) and the obsolete Packet (2) blocks.
 * Every other block type is skipped by its length.
 *
 * Framing errors (a block length that is not a multiple of 4, below 12, above 16 MiB, or whose
 * trailing copy differs) and references to an undeclared interface are errors naming the byte
 * offset: past such a point nothing in the file can be trusted.
 */
import { StalepinError } from '../core/errors.js';
import type { CaptureInfo, CaptureInterface, Frame } from './types.js';
import { BufferedReader, MAX_BLOCK, MAX_RECORD, ReadStatus, type ReaderContext } from './reader.js';
import type { ByteSource } from './source.js';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 1;
export const BT_PB = 2;
export const BT_SPB = 3;
export const BT_EPB = 6;
const BOM = 0x1a2b3c4d;

const TS_POW10 = 0;
const TS_POW2 = 1;
const TS_BIG = 2;

/**
 * Per-interface timestamp conversion, decided once when the IDB is read so the per-packet
 * path is integer arithmetic on the two 32-bit halves (a nanosecond count since 1970 exceeds
 * 2^53, so it is never formed as one number).
 */
class IfState {
  /** TS_POW10: units per second (10^k, k <= 9) and the factor to nanoseconds. */
  units = 1e6;
  nsMul = 1000;
  /** TS_POW2: the exponent k (k <= 23 keeps frac * 1e9 below 2^53). */
  shift = 0;
  mode = TS_POW10;
  /** TS_BIG: the resolution for the bigint path (rare: finer than ns, or 2^-k with k > 23). */
  bigUnits = 0n;
  bigPow2 = false;
  offsetSec = 0;
  precision = 6;
  constructor(
    readonly global: CaptureInterface,
    readonly linkType: number,
    readonly snapLen: number,
  ) {}
}

/** Smallest p with 10^p >= 2^k: the decimal digits a 2^-k resolution really carries (max 9). */
function pow2Precision(k: number): number {
  let p = 0;
  const target = 1n << BigInt(k);
  let ten = 1n;
  while (ten < target && p < 9) {
    ten *= 10n;
    p++;
  }
  return p;
}

export class PcapngReader extends BufferedReader {
  private section = -1;
  private ifs: IfState[] = [];
  private lastSec = 0;
  private lastNsec = 0;
  private oversizedWarned = false;

  constructor(src: ByteSource, info: CaptureInfo, ctx: ReaderContext, source: number, buf: Uint8Array, end: number, eof: boolean) {
    super(src, info, ctx, source, buf, end, eof, MAX_BLOCK + (1 << 20));
    info.sections = 0;
  }

  /**
   * Validate and consume the first Section Header Block, so that a file that is not pcapng
   * after all, or is cut inside its header, fails at open time. Needs the whole SHB buffered;
   * returns the bytes it needs when it has fewer.
   */
  readHeader(): number {
    const b = this.buf;
    const file = this.info.file;
    if (this.end < 12) {
      if (this.eof) throw new StalepinError('bad_input', `truncated pcapng section header: ${this.end} of at least 28 bytes`, { file, offset: this.end });
      return 12;
    }
    const len = this.shbLength(b, 0);
    if (this.end < len) {
      if (this.eof) throw new StalepinError('bad_input', `truncated pcapng section header: ${this.end} of ${len} bytes`, { file, offset: this.end });
      return len;
    }
    this.trailer(b, 0, len);
    this.block(b, 0, len);
    this.pos = len;
    return 0;
  }

  private fail(offset: number, message: string): never {
    throw new StalepinError('bad_input', message, { file: this.info.file, offset });
  }

  /** Set the byte order from an SHB's byte-order magic and return its validated length. */
  private shbLength(b: Uint8Array, p: number): number {
    const at = this.base + p;
    const bomLe = (b[p + 8]! | (b[p + 9]! << 8) | (b[p + 10]! << 16) | (b[p + 11]! << 24)) >>> 0;
    if (bomLe === BOM) this.le = true;
    else if (bomLe === 0x4d3c2b1a) this.le = false;
    else this.fail(at + 8, `bad pcapng byte-order magic ${hex(b, p + 8, 4)} (expected 1a2b3c4d in either order)`);
    const len = this.u32(b, p + 4);
    this.checkLength(p, len);
    if (len < 28) this.fail(at + 4, `pcapng section header block length ${len} is below the minimum of 28`);
    return len;
  }

  private checkLength(p: number, len: number): void {
    const at = this.base + p;
    if (len < 12 || (len & 3) !== 0) this.fail(at + 4, `bad pcapng block length ${len} (must be a multiple of 4 and at least 12)`);
    if (len > MAX_BLOCK) this.fail(at + 4, `absurd pcapng block length ${len} (limit ${MAX_BLOCK}); the file is corrupt`);
  }

  next(f: Frame): ReadStatus {
    for (;;) {
      const b = this.buf;
      const p = this.pos;
      const avail = this.end - p;
      if (avail < 12) return this.done ? ReadStatus.End : this.short(12);
      const type = this.u32(b, p);
      let len: number;
      if (type === BT_SHB) len = this.shbLength(b, p);
      else {
        len = this.u32(b, p + 4);
        this.checkLength(p, len);
      }
      if (avail < len) return this.short(len);
      this.trailer(b, p, len);
      this.pos = p + len;
      if (type === BT_EPB || type === BT_PB) {
        if (len < 32) this.fail(this.base + p + 4, `pcapng packet block length ${len} is below the minimum of 32`);
        const id = type === BT_EPB ? this.u32(b, p + 8) : this.u16(b, p + 8);
        const ifs = this.ifs[id];
        if (ifs === undefined) this.badInterface(p, id);
        const cap = this.u32(b, p + 20);
        if (cap > len - 32) this.fail(this.base + p + 20, `captured length ${cap} exceeds its block (room for ${len - 32})`);
        if (cap > MAX_RECORD || (cap > ifs.snapLen && ifs.snapLen !== 0)) {
          if (!this.capOk(p, cap, ifs)) continue;
        }
        this.timestamp(f, ifs, this.u32(b, p + 12), this.u32(b, p + 16));
        return this.emit(f, ifs, b, p, p + 28, cap, this.u32(b, p + 24));
      }
      if (type === BT_SPB) {
        if (len < 16) this.fail(this.base + p + 4, `pcapng simple packet block length ${len} is below the minimum of 16`);
        const ifs = this.ifs[0];
        if (ifs === undefined) this.badInterface(p, 0);
        const orig = this.u32(b, p + 8);
        // The captured length is implied: the original length, cut by the room in the block
        // and by interface 0's snap length.
        let cap = len - 16;
        if (orig < cap) cap = orig;
        if (ifs.snapLen !== 0 && ifs.snapLen < cap) cap = ifs.snapLen;
        if (cap > MAX_RECORD && !this.capOk(p, cap, ifs)) continue;
        // A simple packet block has no timestamp: it inherits the previous packet's.
        f.sec = this.lastSec;
        f.nsec = this.lastNsec;
        return this.emit(f, ifs, b, p, p + 12, cap, orig);
      }
      this.block(b, p, len);
    }
  }

  private trailer(b: Uint8Array, p: number, len: number): void {
    const t = this.u32(b, p + len - 4);
    if (t !== len) this.fail(this.base + p + len - 4, `pcapng block trailing length ${t} differs from its leading length ${len}`);
  }

  private emit(f: Frame, ifs: IfState, b: Uint8Array, p: number, data: number, cap: number, orig: number): ReadStatus {
    f.precision = ifs.precision;
    f.ifIndex = ifs.global.index;
    f.linkType = ifs.linkType;
    f.buf = b;
    f.off = data;
    f.capLen = cap;
    f.origLen = orig;
    f.source = this.source;
    f.recordOffset = this.base + p;
    ifs.global.packets++;
    ifs.global.bytes += cap;
    return ReadStatus.Frame;
  }

  private badInterface(p: number, id: number): never {
    this.fail(this.base + p + 8, `packet refers to interface ${id}, but section ${this.section} declares ${this.ifs.length} interface(s)`);
  }

  /** Captured length beyond the bounds: a packet above 256 KiB is dropped, one above the snap length kept. */
  private capOk(p: number, cap: number, ifs: IfState): boolean {
    const at = this.base + p;
    if (cap > MAX_RECORD) {
      this.ctx.anomalies.add('oversized_record', `${this.info.file} at byte ${at}`);
      if (!this.oversizedWarned) {
        this.oversizedWarned = true;
        this.ctx.warnings.push({
          code: 'oversized_record',
          message: `packet captured length ${cap} exceeds the ${MAX_RECORD}-byte limit; skipped (further ones only counted)`,
          file: this.info.file,
          offset: at,
        });
      }
      return false;
    }
    this.ctx.anomalies.add('caplen_exceeds_snaplen', `${this.info.file} at byte ${at} (${cap} > ${ifs.snapLen})`);
    return true;
  }

  private timestamp(f: Frame, ifs: IfState, hi: number, lo: number): void {
    let sec: number;
    let nsec: number;
    if (ifs.mode === TS_POW10) {
      const u = ifs.units;
      if (hi < 0x1fffff) {
        // Below 2^53 - 2^32: one exact division, corrected if the float quotient rounded up.
        const t = hi * 4294967296 + lo;
        sec = Math.floor(t / u);
        let r = t - sec * u;
        if (r < 0) {
          sec--;
          r += u;
        } else if (r >= u) {
          sec++;
          r -= u;
        }
        nsec = r * ifs.nsMul;
      } else {
        // Long division in base 2^16: every partial value stays below 2^46, so exact.
        let q1 = Math.floor(hi / u);
        let r = hi - q1 * u;
        if (r < 0) {
          q1--;
          r += u;
        } else if (r >= u) {
          q1++;
          r -= u;
        }
        let x = r * 65536 + (lo >>> 16);
        let q2 = Math.floor(x / u);
        r = x - q2 * u;
        if (r < 0) {
          q2--;
          r += u;
        } else if (r >= u) {
          q2++;
          r -= u;
        }
        x = r * 65536 + (lo & 0xffff);
        let q3 = Math.floor(x / u);
        r = x - q3 * u;
        if (r < 0) {
          q3--;
          r += u;
        } else if (r >= u) {
          q3++;
          r -= u;
        }
        sec = q1 * 4294967296 + q2 * 65536 + q3;
        nsec = r * ifs.nsMul;
      }
    } else if (ifs.mode === TS_POW2) {
      const k = ifs.shift;
      const mask = (1 << k) - 1;
      sec = hi * 2 ** (32 - k) + (k === 0 ? lo : lo >>> k);
      nsec = Math.floor(((lo & mask) * 1e9) / (1 << k));
    } else {
      const t = (BigInt(hi) << 32n) | BigInt(lo);
      if (ifs.bigPow2) {
        sec = Number(t >> ifs.bigUnits);
        nsec = Number(((t & ((1n << ifs.bigUnits) - 1n)) * 1_000_000_000n) >> ifs.bigUnits);
      } else {
        sec = Number(t / ifs.bigUnits);
        nsec = Number(((t % ifs.bigUnits) * 1_000_000_000n) / ifs.bigUnits);
      }
    }
    sec += ifs.offsetSec;
    f.sec = sec;
    f.nsec = nsec;
    this.lastSec = sec;
    this.lastNsec = nsec;
  }

  /** Non-packet blocks: section and interface headers are parsed, the rest skipped. */
  private block(b: Uint8Array, p: number, len: number): void {
    const type = this.u32(b, p);
    if (type === BT_SHB) {
      const major = this.u16(b, p + 12);
      const minor = this.u16(b, p + 14);
      if (major !== 1) this.fail(this.base + p + 12, `unsupported pcapng version ${major}.${minor} (expected 1.x)`);
      this.section++;
      this.ifs = [];
      this.info.sections++;
      if (this.section === 0) {
        this.info.version = `${major}.${minor}`;
        this.info.byteOrder = this.le ? 'le' : 'be';
      }
    } else if (type === BT_IDB) {
      this.interfaceBlock(b, p, len);
    }
  }

  private interfaceBlock(b: Uint8Array, p: number, len: number): void {
    if (len < 20) this.fail(this.base + p + 4, `pcapng interface description block length ${len} is below the minimum of 20`);
    const linkType = this.u16(b, p + 8);
    const snapLen = this.u32(b, p + 12);
    const global: CaptureInterface = {
      index: this.ctx.interfaces.length,
      source: this.source,
      section: this.section,
      localId: this.ifs.length,
      linkType,
      snapLen,
      precision: 6,
      packets: 0,
      bytes: 0,
    };
    const s = new IfState(global, linkType, snapLen);
    // Options: code, length, value padded to 4; they end at opt_endofopt or the block's end.
    const stop = p + len - 4;
    let o = p + 16;
    while (o + 4 <= stop) {
      const code = this.u16(b, o);
      const olen = this.u16(b, o + 2);
      const v = o + 4;
      if (code === 0) break;
      if (v + olen > stop) {
        this.ctx.anomalies.add('pcapng_bad_option', `${this.info.file} at byte ${this.base + o}`);
        break;
      }
      if (code === 2) global.name = utf8(b, v, olen);
      else if (code === 3) global.description = utf8(b, v, olen);
      else if (code === 9 && olen >= 1) this.resolution(s, b[v]!);
      else if (code === 14 && olen >= 8) {
        // A 64-bit option value is in the section's byte order (unlike the EPB timestamp,
        // which is stored as two 32-bit words, high word first).
        const hi = this.u32(b, this.le ? v + 4 : v);
        const lo = this.u32(b, this.le ? v : v + 4);
        s.offsetSec = (hi | 0) * 4294967296 + lo;
      }
      o = v + ((olen + 3) & ~3);
    }
    global.precision = s.precision;
    this.ifs.push(s);
    this.ctx.interfaces.push(global);
    this.interfaces.push(global);
  }

  private resolution(s: IfState, r: number): void {
    const k = r & 0x7f;
    if (r & 0x80) {
      s.precision = pow2Precision(k);
      if (k <= 23) {
        s.mode = TS_POW2;
        s.shift = k;
      } else {
        s.mode = TS_BIG;
        s.bigPow2 = true;
        s.bigUnits = BigInt(k);
      }
    } else {
      s.precision = k > 9 ? 9 : k;
      if (k <= 9) {
        s.mode = TS_POW10;
        s.units = 10 ** k;
        s.nsMul = 10 ** (9 - k);
      } else {
        s.mode = TS_BIG;
        s.bigPow2 = false;
        s.bigUnits = 10n ** BigInt(k);
      }
    }
  }
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function utf8(b: Uint8Array, p: number, len: number): string {
  let n = len;
  while (n > 0 && b[p + n - 1] === 0) n--; // some writers include the NUL terminator
  return decoder.decode(b.subarray(p, p + n));
}

export function hex(b: Uint8Array, p: number, n: number): string {
  const out: string[] = [];
  for (let i = p; i < p + n && i < b.length; i++) out.push(b[i]!.toString(16).padStart(2, '0'));
  return out.join(' ');
}
