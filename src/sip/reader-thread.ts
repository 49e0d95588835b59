/**
 * The Worker of a split run's reading thread (sip/dissect-worker.ts, see sip/threaded.ts).
 *
 * A Worker takes about 100 ms to be ready: a new V8 isolate and Node environment, then its
 * modules and the C parser. Started by the run, that is 100 ms in which the tracking thread,
 * its own modules long loaded, waits for its first record. So the CLI starts it first thing
 * (startReaderEarly), and the two threads load at once, on two cores; the run then hands it its
 * input (readerThread). This module imports nothing of stalepin's, so that starting the thread
 * waits for nothing else.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export const READER_URL = new URL('./dissect-worker.js', import.meta.url);

/** Is the reading thread's module there to start (the built JavaScript is run, not the sources)? */
export function readerBuilt(): boolean {
  return READER_URL.protocol === 'file:' && existsSync(fileURLToPath(READER_URL));
}

/** What an early thread is given: it waits for its input in a message. */
export const EARLY = 'stalepin: input follows';

let early: Worker | undefined;

/**
 * Start the reading thread now, before a run asks for it. Unused (the command could not split
 * its run after all, or failed first), it does not keep the process alive; if it cannot start
 * or dies, a run starts its own, which reports why.
 */
export function startReaderEarly(): void {
  if (early !== undefined || !readerBuilt()) return;
  const w = new Worker(READER_URL, { workerData: EARLY });
  w.unref();
  const forget = (): void => {
    if (early === w) early = undefined;
  };
  w.once('error', forget);
  w.once('exit', forget);
  early = w;
}

/** The reading thread for a run with this input: the early one if it was started, else a new one. */
export function readerThread(input: unknown): Worker {
  const w = early;
  if (w === undefined) return new Worker(READER_URL, { workerData: input });
  early = undefined;
  w.ref();
  w.postMessage(input);
  return w;
}

/** Is an early thread waiting? (for the tests) */
export function readerWaiting(): boolean {
  return early !== undefined;
}
