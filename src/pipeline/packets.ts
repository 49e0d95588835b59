/**
 * The one driver from inputs to decoded packets that every command shares (analyze, inspect,
 * messages, calls, flow, and later watch): capture readers (merged in time order) -> Decoder
 * -> the caller's packet callback, with optional TCP reassembly into a StreamSink. It owns the
 * run's anomaly table, warnings and interface registry, and reports progress after each chunk.
 */
import { Anomalies, type Warning } from '../core/anomalies.js';
import { StalepinError } from '../core/errors.js';
import { newFrame, openCaptures, ReadStatus, type CaptureInfo, type CaptureInterface, type CaptureReader } from '../capture/index.js';
import { Decoder, newPacket, type UnsupportedLink } from '../decode/decoder.js';
import { TcpReassembler, type TcpReassemblyOptions } from '../decode/tcp-reassembly.js';
import { DecodeStatus, type Packet, type StreamSink } from '../decode/types.js';
import type { Frame } from '../capture/types.js';

export interface PacketRunOptions {
  files: string[];
  stdin?: NodeJS.ReadableStream;
  /** Stops the run early (SIGINT): what was read so far is still returned. */
  signal?: AbortSignal;
  /** Called after each input chunk with bytes consumed and the total when known. */
  onProgress?: (done: number, total: number | undefined) => void;
  /** When given, TCP segments are reassembled and delivered here. */
  tcp?: StreamSink;
  tcpOptions?: Omit<TcpReassemblyOptions, 'anomalies'>;
  anomalies?: Anomalies;
}

export interface PacketRunResult {
  anomalies: Anomalies;
  warnings: Warning[];
  interfaces: CaptureInterface[];
  inputs: CaptureInfo[];
  unsupportedLinks: UnsupportedLink[];
  frames: number;
  /** True when the run was interrupted by the signal. */
  interrupted: boolean;
  /**
   * A read error after the inputs were opened (a corrupt block mid-file). Everything before it
   * was delivered; the command reports that, then this error, and exits 2.
   */
  error?: StalepinError;
}

/**
 * The per-frame stage every source shares (files here, live interfaces in capture/live.ts):
 * decode into one reused Packet, hand TCP segments to the reassembler, then to the consumer.
 */
export class FrameStage {
  readonly decoder: Decoder;
  readonly tcp: TcpReassembler | undefined;
  readonly pkt: Packet = newPacket();

  constructor(
    anomalies: Anomalies,
    where: (f: Frame) => string,
    private readonly onPacket: (pkt: Packet) => void,
    tcp?: StreamSink,
    tcpOptions?: Omit<TcpReassemblyOptions, 'anomalies'>,
  ) {
    this.decoder = new Decoder({ anomalies, where });
    this.tcp = tcp ? new TcpReassembler(tcp, { anomalies, ...tcpOptions }) : undefined;
  }

  push(frame: Frame): void {
    const pkt = this.pkt;
    this.decoder.decode(frame, pkt);
    if (this.tcp !== undefined && pkt.status === DecodeStatus.Ok && pkt.proto === 6) this.tcp.push(pkt);
    this.onPacket(pkt);
  }

  /** End of input: held fragments and open TCP streams are flushed. */
  finish(): void {
    this.decoder.finish();
    this.tcp?.flush('eof');
  }
}

/**
 * `onPacket` sees every frame's decode result (pkt.status tells what was decoded; fragments
 * being held have status FragmentHeld and no transport). The Packet and its frame are reused.
 */
export async function runPackets(opts: PacketRunOptions, onPacket: (pkt: Packet) => void): Promise<PacketRunResult> {
  if (opts.files.length === 0) throw new StalepinError('bad_usage', 'no capture given: name one or more files, or - for standard input');
  const anomalies = opts.anomalies ?? new Anomalies();
  const warnings: Warning[] = [];
  const interfaces: CaptureInterface[] = [];
  const ctx = opts.stdin ? { anomalies, warnings, interfaces, stdin: opts.stdin } : { anomalies, warnings, interfaces };
  const { source, readers } = await openCaptures(opts.files, ctx);
  const where = (f: Frame): string => `${opts.files[f.source] ?? 'input'} at byte ${f.recordOffset}`;
  const stage = new FrameStage(anomalies, where, onPacket, opts.tcp, opts.tcpOptions);
  const decoder = stage.decoder;
  const frame = newFrame();
  const total = totalSize(readers);
  let frames = 0;
  let interrupted = false;
  let error: StalepinError | undefined;
  let lastYield = performance.now();
  try {
    for (;;) {
      const st = source.next(frame);
      if (st === ReadStatus.Frame) {
        frames++;
        stage.push(frame);
      } else if (st === ReadStatus.NeedData) {
        // Files are read synchronously (capture/source.ts): without a turn of the event loop
        // now and then, a SIGINT handler would run only once the whole input was read.
        if (opts.signal !== undefined && performance.now() - lastYield > YIELD_MS) {
          await turnEventLoop();
          lastYield = performance.now();
        }
        if (opts.signal?.aborted) {
          interrupted = true;
          break;
        }
        await source.fill();
        opts.onProgress?.(consumed(readers), total);
      } else break;
    }
  } catch (e) {
    if (!(e instanceof StalepinError)) throw e;
    error = e;
  } finally {
    await source.close();
  }
  stage.finish();
  opts.onProgress?.(consumed(readers), total);
  warnings.push(...decoder.warnings());
  // Said where it is seen: results cut short by SIGINT must not pass for the whole input's.
  if (interrupted) warnings.push({ code: 'interrupted', message: `interrupted: stopped reading after ${consumed(readers)} bytes; what was read before is reported, the rest of the input is not` });
  return {
    anomalies,
    warnings,
    interfaces,
    inputs: readers.map((r) => r.info),
    unsupportedLinks: decoder.unsupportedLinks(),
    frames,
    interrupted,
    ...(error ? { error } : {}),
  };
}

/** How often a run with a stop signal lets the event loop turn. */
const YIELD_MS = 100;

/**
 * Let the event loop go once through its poll phase, where a pending signal's handler runs.
 * One setImmediate may fire in the current turn's check phase, before any poll; the second,
 * set from there, fires in the next turn's, after its poll.
 */
export async function turnEventLoop(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}

function totalSize(readers: CaptureReader[]): number | undefined {
  let t = 0;
  for (const r of readers) {
    if (r.info.sizeHint === undefined) return undefined;
    t += r.info.sizeHint;
  }
  return t;
}

function consumed(readers: CaptureReader[]): number {
  let n = 0;
  for (const r of readers) n += r.rawBytesRead;
  return n;
}
