/**
 * pcapng writing, for fixtures and large benchmark corpora: section headers, interface
 * descriptions (link type, snap length, if_name, if_description, if_tsresol, if_tsoffset),
 * enhanced, simple and obsolete packet blocks, and raw blocks of any type, in either byte order.
 * Blocks are encoded into one reused scratch buffer and handed to a sink (memory or file).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { concatBytes } from './writer.js';

export interface PcapngInterfaceOptions {
  linkType: number;
  snapLen?: number;
  name?: string;
  description?: string;
  /** Raw if_tsresol byte: 6 = 10^-6 (the default when absent), 9 = 10^-9, 0x94 = 2^-20. */
  tsresol?: number;
  /** if_tsoffset in seconds, added by readers to every timestamp of this interface. */
  tsoffset?: number;
}

/** Timestamp units per second of a raw if_tsresol value. */
export function tsUnits(tsresol: number | undefined): bigint {
  const r = tsresol ?? 6;
  return r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
}

interface IfInfo {
  units: bigint;
  offset: number;
}

export class PcapngWriter {
  private scratch = new Uint8Array(1 << 16);
  private v = new DataView(this.scratch.buffer);
  private le = true;
  private ifs: IfInfo[] = [];

  constructor(private readonly sink: (bytes: Uint8Array) => void) {}

  /** Start a section (byte order per section); forgets the previous section's interfaces. */
  section(byteOrder: 'le' | 'be' = 'le', options: { hardware?: string; os?: string; userAppl?: string } = {}): void {
    this.le = byteOrder === 'le';
    this.ifs = [];
    const opts: [number, Uint8Array][] = [];
    if (options.hardware) opts.push([2, utf8(options.hardware)]);
    if (options.os) opts.push([3, utf8(options.os)]);
    if (options.userAppl) opts.push([4, utf8(options.userAppl)]);
    this.block(0x0a0d0d0a, 16, (o) => {
      this.u32(o, 0x1a2b3c4d);
      this.u16(o + 4, 1);
      this.u16(o + 6, 0);
      this.u32(o + 8, 0xffffffff); // section length unknown (-1)
      this.u32(o + 12, 0xffffffff);
    }, opts);
  }

  /** Declare an interface in the current section; returns its id. */
  interface(o: PcapngInterfaceOptions): number {
    const opts: [number, Uint8Array][] = [];
    if (o.name !== undefined) opts.push([2, utf8(o.name)]);
    if (o.description !== undefined) opts.push([3, utf8(o.description)]);
    if (o.tsresol !== undefined) opts.push([9, Uint8Array.of(o.tsresol)]);
    if (o.tsoffset !== undefined) {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigInt64(0, BigInt(o.tsoffset), this.le);
      opts.push([14, b]);
    }
    this.block(1, 8, (p) => {
      this.u16(p, o.linkType);
      this.u16(p + 2, 0);
      this.u32(p + 4, o.snapLen ?? 262144);
    }, opts);
    this.ifs.push({ units: tsUnits(o.tsresol), offset: o.tsoffset ?? 0 });
    return this.ifs.length - 1;
  }

  /** Timestamp in the interface's units from absolute sec + nsec (truncating). */
  units(ifId: number, sec: number, nsec: number): bigint {
    const i = this.ifs[ifId];
    if (!i) throw new Error(`pcapng writer: no interface ${ifId} in this section`);
    const t = BigInt(sec - i.offset) * i.units + (BigInt(nsec) * i.units) / 1_000_000_000n;
    if (t < 0n || t >= 1n << 64n) throw new Error(`pcapng writer: ${sec}.${nsec} does not fit 64 bits at this resolution; use tsoffset`);
    return t;
  }

  /** Enhanced Packet Block at absolute time sec + nsec. */
  epb(ifId: number, sec: number, nsec: number, data: Uint8Array, origLen = data.length): void {
    this.epbUnits(ifId, this.units(ifId, sec, nsec), data, origLen);
  }

  /** Enhanced Packet Block with a raw timestamp in interface units (no offset applied). */
  epbUnits(ifId: number, ts: bigint, data: Uint8Array, origLen = data.length, capLen = data.length): void {
    this.packet(6, ifId, ts, data, origLen, capLen);
  }

  /** Obsolete Packet Block (type 2): 16-bit interface id and drops count. */
  pb(ifId: number, sec: number, nsec: number, data: Uint8Array, origLen = data.length): void {
    this.packet(2, ifId, this.units(ifId, sec, nsec), data, origLen, data.length);
  }

  /** Simple Packet Block: no interface id (always 0), no timestamp. */
  spb(data: Uint8Array, origLen = data.length): void {
    this.block(3, 4 + pad4(data.length), (p) => {
      this.u32(p, origLen);
      this.scratch.set(data, p + 4);
    });
  }

  /** Any block, body given raw (padded to 4 here). */
  raw(type: number, body: Uint8Array): void {
    this.block(type, pad4(body.length), (p) => this.scratch.set(body, p));
  }

  private packet(type: number, ifId: number, ts: bigint, data: Uint8Array, origLen: number, capLen: number): void {
    this.block(type, 20 + pad4(data.length), (p) => {
      if (type === 2) {
        this.u16(p, ifId);
        this.u16(p + 2, 0);
      } else this.u32(p, ifId);
      this.u32(p + 4, Number((ts >> 32n) & 0xffffffffn));
      this.u32(p + 8, Number(ts & 0xffffffffn));
      this.u32(p + 12, capLen);
      this.u32(p + 16, origLen);
      this.scratch.set(data, p + 20);
    });
  }

  private u16(p: number, x: number): void {
    this.v.setUint16(p, x, this.le);
  }

  private u32(p: number, x: number): void {
    this.v.setUint32(p, x >>> 0, this.le);
  }

  /** Lay out type, length, fixed body, options (with opt_endofopt), trailing length. */
  private block(type: number, fixed: number, body: (p: number) => void, opts: [number, Uint8Array][] = []): void {
    let optLen = 0;
    for (const [, v] of opts) optLen += 4 + pad4(v.length);
    if (opts.length) optLen += 4;
    const len = 12 + fixed + optLen;
    if (len > this.scratch.length) {
      this.scratch = new Uint8Array(len * 2);
      this.v = new DataView(this.scratch.buffer);
    }
    this.scratch.fill(0, 0, len);
    this.u32(0, type);
    this.u32(4, len);
    body(8);
    let o = 8 + fixed;
    for (const [code, v] of opts) {
      this.u16(o, code);
      this.u16(o + 2, v.length);
      this.scratch.set(v, o + 4);
      o += 4 + pad4(v.length);
    }
    if (opts.length) o += 4; // opt_endofopt: code 0, length 0 (already zero)
    this.u32(o, len);
    this.sink(this.scratch.subarray(0, len));
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Build a pcapng file in memory (fixtures, tests). */
export function encodePcapng(build: (w: PcapngWriter) => void): Uint8Array {
  const parts: Uint8Array[] = [];
  build(new PcapngWriter((b) => parts.push(b.slice())));
  return concatBytes(parts);
}

/** pcapng writer to a file, gathering blocks in a 1 MiB buffer (one write call per megabyte). */
export class PcapngFileWriter extends PcapngWriter {
  private readonly fd: number;
  private readonly out = new Uint8Array(1 << 20);
  private used = 0;
  bytes = 0;

  constructor(path: string) {
    super((b) => this.append(b));
    this.fd = openSync(path, 'w');
  }

  private append(b: Uint8Array): void {
    this.bytes += b.length;
    if (this.used + b.length > this.out.length) this.flush();
    if (b.length > this.out.length) {
      let done = 0;
      while (done < b.length) done += writeSync(this.fd, b, done, b.length - done);
      return;
    }
    this.out.set(b, this.used);
    this.used += b.length;
  }

  flush(): void {
    let done = 0;
    while (done < this.used) done += writeSync(this.fd, this.out, done, this.used - done);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
