/**
 * A progress line on stderr for long reads: bytes read, rate, time left. Only on a terminal and
 * never with --quiet, redrawn at most 5 times a second, erased when done.
 */
export interface Progress {
  update(done: number, total: number | undefined): void;
  done(): void;
}

const noop: Progress = { update() {}, done() {} };

const mb = (n: number): string => (n / 1e6).toFixed(n < 1e8 ? 1 : 0) + ' MB';

export function progressBar(stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }, enabled: boolean, minTotal = 32e6): Progress {
  if (!enabled || !stderr.isTTY) return noop;
  const start = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 200 || (total !== undefined && total < minTotal)) return;
      last = now;
      const secs = (now - start) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      let line = `reading ${mb(done)}`;
      if (total) {
        const frac = Math.min(1, done / total);
        const width = 24;
        const fill = Math.round(frac * width);
        const left = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
        line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0)}% ${mb(done)} of ${mb(total)}, ${mb(rate)}/s, ${left.toFixed(0)} s left`;
      } else line += `, ${mb(rate)}/s`;
      stderr.write('\r\x1b[2K' + line.slice(0, (stderr.columns ?? 80) - 1));
      shown = true;
    },
    done() {
      if (shown) stderr.write('\r\x1b[2K');
    },
  };
}
