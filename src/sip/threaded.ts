/**
 * A SIP run on two threads: a worker reads, decodes, reassembles and has the C side dissect
 * (sip/dissect-worker.ts), this thread replays its records into the dissector and tracker that
 * would have seen them in one thread (sip/handoff.ts), tracks and writes. `calls`, `messages`,
 * `flow` and `analyze` use it (for `analyze` the worker also passes ICMP errors and the packet
 * count, see dissect-worker.ts). Reading, decoding and the C parse are about a quarter of their
 * time on one thread, and the second core is otherwise busy only with the garbage collector.
 * The output is byte for byte that of one thread; the tests hold the two to it.
 *
 * Taken when it can be: captures named as files (standard input belongs to this thread), the C
 * parser built, this module running as built JavaScript (a worker needs a file it can load),
 * and STALEPIN_THREADS not 1.
 */
import type { Anomalies, AnomalyRecord } from '../core/anomalies.js';
import { StalepinError, type ErrorCode, type ErrorLocation } from '../core/errors.js';
import type { TcpReassemblyOptions } from '../decode/tcp-reassembly.js';
import { turnEventLoop, type PacketRunOptions, type PacketRunResult } from '../pipeline/packets.js';
import type { HeardFields } from '../observe/heard.js';
import type { PacketSpanFields } from '../observe/packet-span.js';
import { HandoffReader, type HandoffTarget } from './handoff.js';
import { nativeSipParser } from './native-parser.js';
import { READER_URL as WORKER, readerBuilt, readerThread } from './reader-thread.js';

/** What the worker is given. */
export interface SplitInput {
  buffer: SharedArrayBuffer;
  files: string[];
  sipPorts?: readonly number[];
  heuristic?: boolean;
  tcpOptions?: Omit<TcpReassemblyOptions, 'anomalies'>;
  /**
   * Relay for LbAnalyzer: ICMP records, ticks every ADVANCE_EVERY packets, Ignored records, the
   * packet span and the heard-from table (of at most maxHeard addresses), see HandoffWriter.
   */
  analyze?: { maxHeard: number };
}

/** What the worker posts at its end: its run (anomalies as a list), or why it has none. */
export interface SplitOutcome {
  run?: Omit<PacketRunResult, 'anomalies' | 'error'> & { anomalies: AnomalyRecord[]; error?: ErrorFields };
  error?: ErrorFields;
  crash?: string;
  /** The packets it read and the addresses it heard from (analyze). */
  span?: PacketSpanFields;
  heard?: HeardFields;
}

/** What a split run returns: the run, and for `analyze` what the reading thread counted and heard. */
export interface SplitRunResult extends PacketRunResult {
  span?: PacketSpanFields;
  heard?: HeardFields;
}

interface ErrorFields {
  code: ErrorCode;
  message: string;
  location: ErrorLocation;
}

/**
 * Can this run be split (see the top of this file)? STALEPIN_THREADS=1 says no; =2 says it must
 * be, and is an error when it cannot (for the tests, and to check a deployment).
 */
export function canSplit(opts: Pick<PacketRunOptions, 'files'>, env: NodeJS.ProcessEnv = process.env): boolean {
  const want = env.STALEPIN_THREADS;
  // No file at all is a usage error, which the one-thread run reports.
  if (want === '1' || opts.files.length === 0) return false;
  const why = opts.files.includes('-')
    ? 'standard input is read by the main thread'
    : nativeSipParser() === undefined
      ? 'the C SIP parser is not built (or STALEPIN_SIP_PARSER=js)'
      : !readerBuilt()
        ? `${WORKER.href} is not there (run the built JavaScript, npm run build)`
        : undefined;
  if (why !== undefined && want === '2') throw new StalepinError('missing_dependency', `STALEPIN_THREADS=2, but this run cannot take two threads: ${why}`);
  return why === undefined;
}

/** This thread gives up the CPU this often, so that a signal is handled while records keep coming. */
const YIELD_MS = 100;

/**
 * Run the worker and replay its records into `to.dissector` (made with handoffSlots(buffer, 1)),
 * `to.tick` (the tracker's advance) and `to.icmp`. Returns what runPackets would have.
 */
export async function runSplit(
  buffer: SharedArrayBuffer,
  input: Omit<SplitInput, 'buffer'>,
  opts: Pick<PacketRunOptions, 'signal' | 'onProgress'> & { anomalies: Anomalies },
  to: Omit<HandoffTarget, 'progress'>,
): Promise<SplitRunResult> {
  const worker = readerThread({ ...input, buffer } satisfies SplitInput);
  let outcome: SplitOutcome | undefined;
  let failure: Error | undefined;
  const settled = new Promise<void>((resolve) => {
    worker.once('message', (m: SplitOutcome) => {
      outcome = m;
      resolve();
    });
    worker.once('error', (e) => {
      failure = e;
      resolve();
    });
    worker.once('exit', (code) => {
      failure ??= outcome === undefined ? new Error(`the reading thread exited with code ${code} before it was done`) : undefined;
      resolve();
    });
  });
  const reader = new HandoffReader(buffer, { ...to, progress: (d, t) => opts.onProgress?.(d, t) });
  const stop = (): void => reader.ring.stop();
  opts.signal?.addEventListener('abort', stop, { once: true });
  if (opts.signal?.aborted) stop();
  try {
    let lastYield = performance.now();
    while (!reader.ended && failure === undefined) {
      reader.drain();
      if (reader.ended) break;
      if (performance.now() - lastYield > YIELD_MS) {
        await turnEventLoop();
        lastYield = performance.now();
      }
      await Promise.race([reader.ring.wait(), settled]);
    }
    await settled;
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    // Left early (this thread threw: a write that failed, say): the worker may be waiting for
    // room in the ring, which no one will make, and would keep the process alive.
    if (!reader.ended) void worker.terminate();
  }
  if (failure !== undefined) throw failure;
  const o = outcome!;
  if (o.crash !== undefined) throw new Error(`in the reading thread: ${o.crash}`);
  if (o.error !== undefined) throw toError(o.error);
  const { anomalies: found, error, ...rest } = o.run!;
  for (const a of found) opts.anomalies.add(a.name, a.first, a.count);
  return { ...rest, anomalies: opts.anomalies, ...(error ? { error: toError(error) } : {}), ...(o.span ? { span: o.span } : {}), ...(o.heard ? { heard: o.heard } : {}) };
}

function toError(e: ErrorFields): StalepinError {
  return new StalepinError(e.code, e.message, e.location);
}
