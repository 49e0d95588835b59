/**
 * Live capture through libpcap. Two backends fill the same Frame record the file readers fill
 * (one reused record, DESIGN principle 1), so the Decoder, TCP reassembly and analyzers
 * downstream cannot tell a live frame from a file's:
 *
 * - stalepin's own binding (live-native.ts, native/pcap_live.c), used whenever it was built at
 *   install: batches, libpcap's nanosecond timestamps, the snap length as asked, pcap_stats;
 * - the `cap` package otherwise (or with STALEPIN_CAPTURE=cap). What cap (0.2.x) does not
 *   expose, and what that means:
 *   - the pcap header's timestamp: a frame is stamped with the realtime clock when its callback
 *     runs (microsecond digits; late by the time it waited in the kernel buffer);
 *   - the snap length (fixed at 65535 in cap, in immediate mode): `snapLen` is applied by the
 *     size of the copy buffer, and each packet takes a 128 KiB block of the kernel ring;
 *   - pcap_stats: kernel drops come from /proc/net/dev instead (see interfaceCounters).
 */
import { readFileSync } from 'node:fs';
import { StalepinError } from '../core/errors.js';
import type { CaptureInterface, Frame } from './types.js';
import { newFrame } from './types.js';

/** The parts of cap's API used here. */
interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
  emit(event: string, nbytes: number, truncated: boolean): boolean;
}
interface CapModule {
  Cap: (new () => CapHandle) & { deviceList(): { name: string }[] };
}

export const INSTALL_CAP =
  'live capture needs libpcap: apt-get install libpcap-dev g++ make, then npm rebuild (it builds stalepin\'s own binding in native/; the cap package, npm rebuild cap, is the fallback)';
export const NEED_CAP_NET_RAW =
  'needs CAP_NET_RAW (and CAP_NET_ADMIN for the kernel buffer): run as root, or grant them, e.g. sudo setcap cap_net_raw,cap_net_admin=eip "$(readlink -f "$(command -v node)")"';

let loaded: CapModule | undefined;

/** Load cap once; a missing package or an unbuilt binding is a missing_dependency error. */
export async function loadCap(): Promise<CapModule> {
  if (loaded) return loaded;
  try {
    // A variable specifier keeps TypeScript from resolving an optional dependency's types.
    const name = 'cap';
    const mod = (await import(name)) as { default?: CapModule } & CapModule;
    const m = (mod.default ?? mod) as CapModule;
    if (typeof m.Cap !== 'function') throw new Error('no Cap export');
    loaded = m;
    return m;
  } catch (e) {
    throw new StalepinError('missing_dependency', INSTALL_CAP, {}, { cause: e });
  }
}

/** LINKTYPE_* of a libpcap DLT_* value: they agree except for a few historical ones (DLT_RAW 12/14 -> 101). */
export function linkTypeOfDlt(dlt: number): number {
  return dlt === 12 || dlt === 14 ? 101 : dlt;
}

/** LINKTYPE_* of the names cap reports (it names a few DLTs and prints the number of the rest). */
export function linkTypeOf(name: string): number | undefined {
  switch (name) {
    case 'ETHERNET':
      return 1;
    case 'NULL':
      return 0;
    case 'RAW':
      return 101;
    case 'LINKTYPE_LINUX_SLL':
      return 113;
    case 'IEEE802_11_RADIO':
      return 127;
  }
  const m = /^Unknown linktype (\d+)$/.exec(name);
  if (!m) return undefined;
  return linkTypeOfDlt(Number(m[1]));
}

/**
 * The default filter: SIP on the given ports over UDP and TCP, ICMP and ICMPv6 errors (they
 * quote the packet a dead backend refused), and IP fragments that carry no port (IPv4
 * non-first fragments; every IPv6 fragment, since BPF's `port` does not look past the
 * fragment header).
 */
export function defaultFilter(ports: readonly number[]): string {
  const p = [...new Set(ports)].map((x) => `port ${x}`).join(' or ');
  return [
    `((udp or tcp) and (${p}))`,
    '(icmp and (icmp[0] == 3 or icmp[0] == 4 or icmp[0] == 11 or icmp[0] == 12))',
    '(icmp6 and (ip6[40] >= 1 and ip6[40] <= 4))',
    '(ip and (ip[6:2] & 0x1fff) != 0)',
    '(ip6 and ip6[6] == 44)',
  ].join(' or ');
}

export interface LiveCaptureOptions {
  interfaces: string[];
  /** BPF program text ('' captures everything). */
  filter: string;
  /** Bytes kept of each packet (default 262144 with stalepin's binding; cap keeps at most 65535). */
  snapLen?: number;
  /** Kernel buffer per interface in bytes (default 32 MiB with stalepin's binding, 128 MiB with cap). */
  bufferBytes?: number;
  /** Shared with the caller's timers, so packet and timer times never run backwards. */
  clock?: LiveClock;
  /** Every captured frame, in the record reused for the next one. */
  onFrame: (frame: Frame) => void;
}

/** libpcap's counters (pcap_stats) summed over the interfaces, since the capture started. */
export interface LiveCaptureStats {
  /** Packets that passed the filter (on Linux loopback both directions, like tcpdump's "received by filter"). */
  received: number;
  /** Dropped by the kernel: the capture ring was full (tcpdump's "dropped by kernel"). */
  dropped: number;
  /** Dropped by the interface or its driver (tcpdump's "dropped by interface"). */
  ifDropped: number;
}

export interface LiveCapture {
  /** Which binding captures, for the report. */
  backend: string;
  interfaces: CaptureInterface[];
  /** Frames delivered, and frames cut at the snap length. */
  frames: number;
  truncated: number;
  /** Interfaces whose capture failed and stopped (it went away), one message each, oldest first. */
  errors: string[];
  /** libpcap's counters; undefined with cap, which does not expose them. */
  stats(): LiveCaptureStats | undefined;
  /** Stop capturing (idempotent). */
  close(): void;
}

/** The realtime clock as seconds and microseconds (in nanoseconds), monotonic between calls. */
export class LiveClock {
  private readonly originMs = performance.timeOrigin;
  private lastSec = 0;
  private lastNsec = 0;
  now(f: { sec: number; nsec: number }): void {
    const ms = this.originMs + performance.now();
    let sec = Math.floor(ms / 1000);
    let nsec = Math.floor((ms - sec * 1000) * 1000) * 1000;
    if (nsec >= 1e9) {
      sec++;
      nsec -= 1e9;
    }
    if (sec < this.lastSec || (sec === this.lastSec && nsec < this.lastNsec)) {
      sec = this.lastSec;
      nsec = this.lastNsec;
    }
    this.lastSec = sec;
    this.lastNsec = nsec;
    f.sec = sec;
    f.nsec = nsec;
  }

  /** A packet stamped by libpcap: the clock never hands out a time before it. */
  observe(f: { sec: number; nsec: number }): void {
    if (f.sec > this.lastSec || (f.sec === this.lastSec && f.nsec > this.lastNsec)) {
      this.lastSec = f.sec;
      this.lastNsec = f.nsec;
    }
  }

  /** The current time as a new record (for timers, not per packet). */
  stamp(): { sec: number; nsec: number; precision: number } {
    const s = { sec: 0, nsec: 0, precision: 6 };
    this.now(s);
    return s;
  }
}

/** Turn cap's (libpcap's) error text into the error a user can act on. */
export function classifyOpenError(iface: string, message: string): StalepinError {
  const m = message.replace(/\s+/g, ' ').trim();
  if (/permission|not permitted|EPERM|EACCES/i.test(m)) return new StalepinError('permission', `capturing on ${iface} ${NEED_CAP_NET_RAW} (${m})`);
  if (/No such device|doesn't exist|no such interface|not found|SIOCGIFHWADDR|ENODEV/i.test(m))
    return new StalepinError('bad_usage', `-i ${iface}: no such interface here (see ip link; inside a namespace run stalepin under ip netns exec)`);
  if (/syntax error|parse error|illegal|unknown|expression rejects/i.test(m) && !/device/i.test(m)) return new StalepinError('bad_usage', `--filter: libpcap rejects it: ${m}`);
  return new StalepinError('bad_input', `cannot capture on ${iface}: ${m}`);
}

/** Open every interface; on any failure the ones already open are closed again. */
export async function openLiveCapture(opts: LiveCaptureOptions): Promise<LiveCapture> {
  if (opts.interfaces.length === 0) throw new StalepinError('bad_usage', 'no interface given: name one or more with -i (any captures on all of them)');
  if (process.env['STALEPIN_CAPTURE'] !== 'cap') {
    const { loadNativePcap, openNativeCapture } = await import('./live-native.js');
    const pcap = loadNativePcap();
    if (pcap) return openNativeCapture(pcap, opts);
  }
  return openCapCapture(opts);
}

async function openCapCapture(opts: LiveCaptureOptions): Promise<LiveCapture> {
  const cap = await loadCap();
  // cap calls the instance's `emit` for every packet; taking it over skips EventEmitter's
  // dispatch on the hottest path there is.
  class Direct extends cap.Cap {
    handler: (nbytes: number, truncated: boolean) => void = () => undefined;
    override emit(_event: string, nbytes: number, truncated: boolean): boolean {
      this.handler(nbytes, truncated);
      return true;
    }
  }
  const snap = Math.max(64, Math.min(opts.snapLen ?? 65535, 262144));
  const bufBytes = opts.bufferBytes ?? 128 * 1024 * 1024;
  const clock = opts.clock ?? new LiveClock();
  const frame = newFrame();
  frame.precision = 6;
  const handles: CapHandle[] = [];
  const interfaces: CaptureInterface[] = [];
  const live: LiveCapture = {
    backend: 'cap',
    interfaces,
    frames: 0,
    truncated: 0,
    errors: [],
    stats: () => undefined,
    close(): void {
      for (const h of handles.splice(0)) {
        try {
          h.close();
        } catch {
          // already closed by libpcap (the interface went away)
        }
      }
    },
  };
  // Asked first, so an unknown name is one clear line (libpcap would also print a warning).
  let known: Set<string> | undefined;
  try {
    known = new Set(cap.Cap.deviceList().map((d) => d.name));
  } catch {
    known = undefined;
  }
  try {
    for (let i = 0; i < opts.interfaces.length; i++) {
      const name = opts.interfaces[i]!;
      if (known && known.size && !known.has(name)) throw classifyOpenError(name, 'No such device');
      const h = new Direct();
      const buffer = Buffer.alloc(snap);
      let lt: string;
      try {
        lt = h.open(name, opts.filter, bufBytes, buffer);
      } catch (e) {
        throw classifyOpenError(name, (e as Error).message ?? String(e));
      }
      handles.push(h);
      const linkType = linkTypeOf(lt);
      if (linkType === undefined) throw new StalepinError('bad_input', `cannot capture on ${name}: link type ${lt} is not known`);
      const iface: CaptureInterface = { index: i, source: 0, section: 0, localId: i, linkType, snapLen: snap, precision: 6, name, packets: 0, bytes: 0 };
      interfaces.push(iface);
      h.handler = (nbytes: number, truncated: boolean): void => {
        clock.now(frame);
        frame.ifIndex = i;
        frame.linkType = linkType;
        frame.buf = buffer;
        frame.off = 0;
        frame.capLen = nbytes;
        frame.origLen = nbytes;
        frame.recordOffset = live.frames;
        iface.packets++;
        iface.bytes += nbytes;
        live.frames++;
        if (truncated) live.truncated++;
        opts.onFrame(frame);
      };
    }
  } catch (e) {
    live.close();
    throw e;
  }
  return live;
}

/** Kernel counters of one interface (this network namespace's /proc/net/dev). */
export interface InterfaceCounters {
  rxPackets: number;
  rxDropped: number;
  rxFifo: number;
}

/**
 * Receive counters per interface from /proc/net/dev ("any" sums them all). These count what
 * the driver and the kernel's input queue dropped before any capture socket saw it, the only
 * drop counter reachable without pcap_stats; undefined for an interface not listed.
 */
export function interfaceCounters(names: string[], procNetDev = '/proc/net/dev'): Map<string, InterfaceCounters> {
  const out = new Map<string, InterfaceCounters>();
  let text: string;
  try {
    text = readFileSync(procNetDev, 'latin1');
  } catch {
    return out;
  }
  const all: InterfaceCounters = { rxPackets: 0, rxDropped: 0, rxFifo: 0 };
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    // receive: bytes packets errs drop fifo frame compressed multicast
    const c: InterfaceCounters = { rxPackets: f[1] ?? 0, rxDropped: f[3] ?? 0, rxFifo: f[4] ?? 0 };
    all.rxPackets += c.rxPackets;
    all.rxDropped += c.rxDropped;
    all.rxFifo += c.rxFifo;
    if (names.includes(name)) out.set(name, c);
  }
  if (names.includes('any')) out.set('any', all);
  return out;
}
