/**
 * Repeating audits for a DaemonSet or a long-running service: run, then wait the interval minus
 * the run's own time, plus or minus a random jitter so a fleet of hosts does not read its tables
 * (and hit the API server or the kernel) in lockstep. The abort signal (SIGTERM, SIGINT) ends the
 * wait at once; a run in progress is left to finish or to stop at its own abort checks.
 */
export interface LoopOptions {
  intervalMs: number;
  jitterMs: number;
  signal: AbortSignal;
  /** Tests: a seeded random source and a fake clock. */
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The wait before the next run: interval minus the time the run took, jittered, never negative. */
export function nextDelay(intervalMs: number, jitterMs: number, tookMs: number, random: () => number): number {
  const j = (random() * 2 - 1) * jitterMs;
  return Math.max(0, Math.round(intervalMs - tookMs + j));
}

/** Run `fn` until the signal is raised; resolves with the number of runs. */
export async function runEvery(opts: LoopOptions, fn: (run: number) => Promise<void>): Promise<number> {
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? abortableSleep;
  const now = opts.now ?? Date.now;
  let runs = 0;
  while (!opts.signal.aborted) {
    const t0 = now();
    await fn(++runs);
    if (opts.signal.aborted) break;
    await sleep(nextDelay(opts.intervalMs, opts.jitterMs, now() - t0, random), opts.signal);
  }
  return runs;
}
