/**
 * Classic pcap writing, for fixtures and (later) `watch --write` rings. The pcapng writer
 * lives in pcapng-writer.ts. Records are encoded into one reusable header buffer.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export interface PcapWriteOptions {
  linkType: number;
  snapLen?: number;
  /** 'us' (magic a1b2c3d4) or 'ns' (magic a1b23c4d). */
  resolution?: 'us' | 'ns';
  byteOrder?: 'le' | 'be';
}

export function pcapFileHeader(o: PcapWriteOptions): Uint8Array {
  const h = new Uint8Array(24);
  const v = new DataView(h.buffer);
  const le = (o.byteOrder ?? 'le') === 'le';
  v.setUint32(0, o.resolution === 'ns' ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, o.snapLen ?? 262144, le);
  v.setUint32(20, o.linkType, le);
  return h;
}

export function pcapRecordHeader(o: PcapWriteOptions, sec: number, nsec: number, capLen: number, origLen: number, out = new Uint8Array(16)): Uint8Array {
  const v = new DataView(out.buffer, out.byteOffset, 16);
  const le = (o.byteOrder ?? 'le') === 'le';
  v.setUint32(0, sec >>> 0, le);
  v.setUint32(4, o.resolution === 'ns' ? nsec : Math.floor(nsec / 1000), le);
  v.setUint32(8, capLen, le);
  v.setUint32(12, origLen, le);
  return out;
}

export interface PcapPacket {
  sec: number;
  nsec: number;
  data: Uint8Array;
  /** Defaults to data.length. */
  origLen?: number;
}

/** Encode a whole classic pcap file in memory (fixtures and tests). */
export function encodePcap(o: PcapWriteOptions, packets: PcapPacket[]): Uint8Array {
  const parts: Uint8Array[] = [pcapFileHeader(o)];
  for (const p of packets) {
    parts.push(pcapRecordHeader(o, p.sec, p.nsec, p.data.length, p.origLen ?? p.data.length), p.data);
  }
  return concatBytes(parts);
}

/** The parts one after another in one new array (in-memory files: fixtures and tests). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let off = 0;
  for (const x of parts) {
    out.set(x, off);
    off += x.length;
  }
  return out;
}

/**
 * Streaming classic pcap writer to a file, for large outputs. Records are gathered in a 1 MiB
 * buffer so a large capture costs one write call per megabyte, not two per packet.
 */
export class PcapFileWriter {
  private readonly fd: number;
  private readonly buf = new Uint8Array(1 << 20);
  private used = 0;
  /** Bytes written so far, including what is still buffered. */
  bytes = 0;

  constructor(path: string, private readonly o: PcapWriteOptions) {
    this.fd = openSync(path, 'w');
    this.append(pcapFileHeader(o), 0, 24);
  }

  write(sec: number, nsec: number, data: Uint8Array, off = 0, len = data.length - off, origLen = len): void {
    if (this.used + 16 > this.buf.length) this.flush();
    pcapRecordHeader(this.o, sec, nsec, len, origLen, this.buf.subarray(this.used, this.used + 16));
    this.used += 16;
    this.bytes += 16;
    this.append(data, off, len);
  }

  private append(data: Uint8Array, off: number, len: number): void {
    if (this.used + len > this.buf.length) this.flush();
    if (len > this.buf.length) writeSync(this.fd, data, off, len);
    else {
      this.buf.set(data.subarray(off, off + len), this.used);
      this.used += len;
    }
    this.bytes += len;
  }

  flush(): void {
    let done = 0;
    while (done < this.used) done += writeSync(this.fd, this.buf, done, this.used - done);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
