/**
 * Live capture through stalepin's own libpcap binding (native/pcap_live.c), built at install
 * when libpcap's headers and a compiler are there. Against the `cap` package it brings what
 * `watch` needs at high rates: packets in batches (one call into JavaScript per wake-up, not
 * one per packet), libpcap's own nanosecond timestamps, the snap length as asked, a kernel
 * ring packed by packet size (TPACKET_V3; cap's fixed 65535 snap length in immediate mode makes
 * every packet take a 128 KiB block, so 128 MiB held 1024 packets), and pcap_stats drop counters.
 */
import { createRequire } from 'node:module';
import { StalepinError } from '../core/errors.js';
import type { CaptureInterface } from './types.js';
import { newFrame } from './types.js';
import { classifyOpenError, linkTypeOfDlt, LiveClock, type LiveCapture, type LiveCaptureOptions } from './live.js';

interface NativeHandle {
  readonly dlt: number;
  readonly snaplen: number;
  /** Fractional digits of the timestamps: 9, or 6 where the device has no nanoseconds. */
  readonly precision: number;
}

/** The binding's API (native/pcap_live.c). */
export interface NativePcap {
  open(device: string, filter: string, snaplen: number, bufferBytes: number, timeoutMs: number, promisc: boolean): NativeHandle;
  /** onBatch gets (0, 0, message) once if the capture fails (the interface went away); it stops then. */
  start(h: NativeHandle, records: ArrayBuffer, onBatch: (count: number, bytes: number, error?: string) => void): void;
  stats(h: NativeHandle): { received: number; dropped: number; ifDropped: number };
  close(h: NativeHandle): void;
  devices(): string[];
  version(): string;
}

let loaded: NativePcap | null | undefined;

/** The binding, or undefined when it was not built (no libpcap headers or compiler at install). */
export function loadNativePcap(): NativePcap | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('../../native/build/Release/stalepin_pcap.node') as NativePcap;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/** Bytes of packet records handed over per batch (per interface). */
const BATCH_BYTES = 8 << 20;
/** Longest a packet waits in the kernel before a partly filled block is handed over. */
const READ_TIMEOUT_MS = 50;

export function openNativeCapture(pcap: NativePcap, opts: LiveCaptureOptions): LiveCapture {
  const snap = Math.max(64, Math.min(opts.snapLen ?? 262144, 262144));
  const bufBytes = opts.bufferBytes ?? 32 * 1024 * 1024;
  const clock = opts.clock ?? new LiveClock();
  const frame = newFrame();
  const handles: NativeHandle[] = [];
  const interfaces: CaptureInterface[] = [];
  let known: Set<string> | undefined;
  try {
    known = new Set(pcap.devices());
  } catch {
    known = undefined;
  }
  // Counters of handles already closed: the final report reads them after close().
  const closed = { received: 0, dropped: 0, ifDropped: 0 };
  const add = (to: typeof closed, h: NativeHandle): void => {
    try {
      const x = pcap.stats(h);
      to.received += x.received;
      to.dropped += x.dropped;
      to.ifDropped += x.ifDropped;
    } catch {
      // the interface went away: its counters are gone with it
    }
  };
  const live: LiveCapture = {
    backend: `stalepin-pcap (${pcap.version()})`,
    interfaces,
    frames: 0,
    truncated: 0,
    errors: [],
    stats() {
      const s = { ...closed };
      for (const h of handles) add(s, h);
      return s;
    },
    close(): void {
      for (const h of handles.splice(0)) {
        add(closed, h);
        pcap.close(h);
      }
    },
  };
  try {
    for (let i = 0; i < opts.interfaces.length; i++) {
      const name = opts.interfaces[i]!;
      if (known && known.size && !known.has(name)) throw classifyOpenError(name, 'No such device');
      let h: NativeHandle;
      try {
        h = pcap.open(name, opts.filter, snap, bufBytes, READ_TIMEOUT_MS, true);
      } catch (e) {
        throw classifyOpenError(name, (e as Error).message ?? String(e));
      }
      handles.push(h);
      const linkType = linkTypeOfDlt(h.dlt);
      const iface: CaptureInterface = { index: i, source: 0, section: 0, localId: i, linkType, snapLen: h.snaplen, precision: h.precision, name, packets: 0, bytes: 0 };
      interfaces.push(iface);
      const records = new ArrayBuffer(Math.max(BATCH_BYTES, 2 * (h.snaplen + 16)));
      const bytes = new Uint8Array(records);
      const words = new Uint32Array(records);
      const scale = h.precision === 9 ? 1 : 1000;
      // Records: [u32 sec][u32 nsec or usec][u32 caplen][u32 len][caplen bytes, padded to 4].
      pcap.start(h, records, (count: number, _bytes: number, error?: string): void => {
        if (error !== undefined) {
          live.errors.push(`capture on ${name} stopped: ${error}`);
          return;
        }
        let p = 0;
        for (let k = 0; k < count; k++) {
          const w = p >>> 2;
          const capLen = words[w + 2]!;
          const origLen = words[w + 3]!;
          frame.sec = words[w]!;
          frame.nsec = words[w + 1]! * scale;
          frame.precision = h.precision;
          frame.ifIndex = i;
          frame.linkType = linkType;
          frame.buf = bytes;
          frame.off = p + 16;
          frame.capLen = capLen;
          frame.origLen = origLen;
          frame.recordOffset = live.frames;
          clock.observe(frame);
          iface.packets++;
          iface.bytes += capLen;
          live.frames++;
          if (capLen < origLen) live.truncated++;
          opts.onFrame(frame);
          p += 16 + ((capLen + 3) & ~3);
        }
      });
    }
  } catch (e) {
    live.close();
    if (e instanceof StalepinError) throw e;
    throw new StalepinError('bad_input', `cannot start capturing: ${(e as Error).message}`);
  }
  return live;
}
