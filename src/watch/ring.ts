/**
 * `watch --write`: the evidence as a ring of capture files, like tcpdump -w FILE -C SIZE -W
 * COUNT. Without a size limit everything goes to FILE. With one, files are FILE0, FILE1, ...
 * (zero-padded to the width of COUNT - 1, as tcpdump does), each closed at SIZE bytes, and the
 * oldest is overwritten after COUNT files. Classic pcap with microsecond timestamps when every
 * interface has the same link type; pcapng (one interface block per interface, with its name)
 * when they differ.
 */
import { StalepinError } from '../core/errors.js';
import type { CaptureInterface, Frame } from '../capture/types.js';
import { PcapFileWriter } from '../capture/writer.js';
import { PcapngFileWriter } from '../capture/pcapng-writer.js';

export interface RingOptions {
  path: string;
  interfaces: CaptureInterface[];
  /** Bytes per file before the next one is started (0: one file, no rotation). */
  rotateBytes: number;
  /** Files kept in the ring (with rotateBytes). */
  rotateCount: number;
}

interface Sink {
  bytes: number;
  write(f: Frame): void;
  flush(): void;
  close(): void;
}

export class PcapRing {
  private sink: Sink | undefined;
  private index = 0;
  /** Files started so far (including overwritten ones), and frames written. */
  filesStarted = 0;
  frames = 0;
  private readonly width: number;
  private readonly pcapng: boolean;

  constructor(private readonly o: RingOptions) {
    this.width = String(Math.max(0, o.rotateCount - 1)).length;
    this.pcapng = new Set(o.interfaces.map((i) => i.linkType)).size > 1;
    this.sink = this.open();
  }

  /** The name of ring file `i` (or the single file). */
  fileName(i: number): string {
    return this.o.rotateBytes > 0 ? this.o.path + String(i).padStart(this.width, '0') : this.o.path;
  }

  private open(): Sink {
    const path = this.fileName(this.index);
    this.filesStarted++;
    try {
      if (!this.pcapng) {
        const w = new PcapFileWriter(path, { linkType: this.o.interfaces[0]?.linkType ?? 1, snapLen: 262144, resolution: 'us' });
        return {
          get bytes() {
            return w.bytes;
          },
          write: (f) => w.write(f.sec, f.nsec, f.buf, f.off, f.capLen, f.origLen),
          flush: () => w.flush(),
          close: () => w.close(),
        };
      }
      const w = new PcapngFileWriter(path);
      w.section('le', { userAppl: 'stalepin watch' });
      for (const i of this.o.interfaces) w.interface({ linkType: i.linkType, snapLen: i.snapLen, ...(i.name !== undefined ? { name: i.name } : {}), tsresol: 6 });
      return {
        get bytes() {
          return w.bytes;
        },
        write: (f) => w.epb(f.ifIndex, f.sec, f.nsec, f.buf.subarray(f.off, f.off + f.capLen), f.origLen),
        flush: () => w.flush(),
        close: () => w.close(),
      };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new StalepinError('bad_usage', `--write: cannot create ${path}: ${err.code ?? err.message}`, { file: path });
    }
  }

  write(f: Frame): void {
    const s = this.sink;
    if (!s) return;
    s.write(f);
    this.frames++;
    if (this.o.rotateBytes > 0 && s.bytes >= this.o.rotateBytes) {
      s.close();
      this.index = (this.index + 1) % Math.max(1, this.o.rotateCount);
      this.sink = this.open();
    }
  }

  /** Push buffered records to the file (periodically, so a crash loses little). */
  flush(): void {
    this.sink?.flush();
  }

  close(): void {
    this.sink?.close();
    this.sink = undefined;
  }
}
