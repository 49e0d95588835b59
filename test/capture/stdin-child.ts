/** Child for the stdin test: reads "-" (or the given paths) and prints count, first and last time. */
import { forEachFrame } from '../../src/capture/merge.js';
import { StalepinError } from '../../src/core/errors.js';
import { formatIso } from '../../src/core/time.js';
import { newCtx } from './helpers.js';

const times: string[] = [];
const ctx = newCtx();
forEachFrame(process.argv.slice(2), ctx, (f) => void times.push(formatIso(f.sec, f.nsec, f.precision))).then(
  (n) => console.log(JSON.stringify({ n, first: times[0], last: times[times.length - 1], warnings: ctx.warnings.map((w) => w.code) })),
  (e: unknown) => {
    console.log(JSON.stringify({ error: e instanceof StalepinError ? e.oneLine() : String(e) }));
  },
);
