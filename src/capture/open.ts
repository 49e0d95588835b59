/**
 * Opening one capture input: pick the byte source (file, stdin, gzip), recognise the format by
 * its magic bytes, validate the file header, and hand back a reader positioned at the first
 * record. Everything that makes an input unusable as a whole fails here, as one StalepinError
 * naming the file and byte offset, before any frame is read.
 */
import { StalepinError } from '../core/errors.js';
import { PcapReader, pcapMagic, PCAP_HEADER } from './pcap.js';
import { PcapngReader, BT_SHB, hex } from './pcapng.js';
import { DEFAULT_BUFFER, type CaptureReader, type ReaderContext } from './reader.js';
import { openByteSource } from './source.js';
import type { CaptureInfo } from './types.js';

/** Formats people hand over by mistake, named so the error says what the file is. */
const OTHER_MAGICS: [number[], string][] = [
  [[0xa1, 0xb2, 0xcd, 0x34], 'a Kuznetzov-patched pcap, not supported'],
  [[0x34, 0xcd, 0xb2, 0xa1], 'a Kuznetzov-patched pcap, not supported'],
  [[0x73, 0x6e, 0x6f, 0x6f, 0x70], 'a Solaris snoop capture, not supported'],
  [[0x47, 0x4d, 0x42, 0x55], 'a Microsoft Network Monitor capture, not supported'],
  [[0x42, 0x5a, 0x68], 'bzip2-compressed; decompress it first'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a], 'xz-compressed; decompress it first'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'zstd-compressed; decompress it first'],
  [[0x50, 0x4b, 0x03, 0x04], 'a zip archive; extract it first'],
];

function identify(b: Uint8Array, n: number): string {
  for (const [m, what] of OTHER_MAGICS) {
    if (n >= m.length && m.every((x, i) => b[i] === x)) return `: looks like ${what}`;
  }
  return '';
}

export async function openCapture(path: string, source: number, ctx: ReaderContext): Promise<CaptureReader> {
  const src = await openByteSource(path, ctx.stdin ? { stdin: ctx.stdin } : {});
  try {
    const buf = new Uint8Array(Math.max(ctx.bufferSize ?? DEFAULT_BUFFER, 4096));
    let end = 0;
    let eof = false;
    while (end < PCAP_HEADER && !eof) {
      const n = await src.read(buf, end, buf.length - end);
      if (n === 0) eof = true;
      else end += n;
    }
    const file = path;
    const unzipped = src.gzip ? ' after gzip decompression' : '';
    if (end === 0) {
      if (src.failure) throw new StalepinError('bad_input', `${src.failure.message}; nothing decompressed`, { file, offset: 0 });
      throw new StalepinError('bad_input', `empty file${unzipped}: not a capture`, { file, offset: 0 });
    }
    if (end < 4) {
      throw new StalepinError('bad_input', `truncated file header${unzipped}: only ${end} byte(s) (${hex(buf, 0, end)})`, { file, offset: end });
    }
    const info: CaptureInfo = {
      file,
      format: 'pcap',
      byteOrder: 'le',
      gzip: src.gzip,
      version: '',
      sections: 0,
      bytesRead: end,
      sizeHint: src.sizeHint,
    };
    if (pcapMagic(buf)) return new PcapReader(src, info, ctx, source, buf, end, eof);
    const m = ((buf[0]! << 24) | (buf[1]! << 16) | (buf[2]! << 8) | buf[3]!) >>> 0;
    if (m === BT_SHB) {
      info.format = 'pcapng';
      const r = new PcapngReader(src, info, ctx, source, buf, end, eof);
      for (let need = r.readHeader(); need > 0; need = r.readHeader()) {
        r.need = need;
        await r.fill();
      }
      return r;
    }
    throw new StalepinError('bad_input', `not a pcap or pcapng capture${unzipped} (first bytes: ${hex(buf, 0, Math.min(end, 8))})${identify(buf, end)}`, {
      file,
      offset: 0,
    });
  } catch (e) {
    await src.close();
    throw e;
  }
}
