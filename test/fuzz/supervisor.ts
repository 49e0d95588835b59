/**
 * Runs a target's fuzz loop in a child process and watches it: an input that does not finish
 * within its budget (plus slack) is a hang, the child is killed and restarted after it; a child
 * that dies (out of memory, a native abort) is a crash of the input it was on. Either way the
 * input is rebuilt here from (seed, index) and saved.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { defaultLimits, inputFor, loadCorpus, saveCrash, type Corpus, type CrashKind } from './engine.js';
import { fuzzDir, type FuzzTarget } from './targets.js';

export interface SuperviseOptions {
  target: FuzzTarget;
  seed: number;
  seconds: number;
  crashesDir: string;
  perInputMs?: number;
  /** Heap limit of the child (MiB): a blow-up past it kills the child and is reported. */
  heapMb?: number;
  /** A module exporting `targets` (tests plant bugs this way); default targets.ts. */
  module?: string;
  log?: (line: string) => void;
}

export interface CrashNote {
  kind: CrashKind;
  index: number;
  signature: string;
  file: string;
  message: string;
}

export interface SuperviseResult {
  target: string;
  inputs: number;
  seconds: number;
  crashes: CrashNote[];
  restarts: number;
  retainedMb: number | undefined;
}

function readProgress(path: string): number {
  if (!existsSync(path)) return -1;
  const fd = openSync(path, 'r');
  try {
    const b = new Uint8Array(8);
    if (readSync(fd, b, 0, 8, 0) < 8) return -1;
    return new Float64Array(b.buffer)[0]!;
  } finally {
    closeSync(fd);
  }
}

interface ChildOutcome {
  done?: { inputs: number; next: number; retainedMb?: number };
  crashes: CrashNote[];
  hung: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  last: number;
}

function runChild(o: SuperviseOptions, start: number, seconds: number, progress: string): Promise<ChildOutcome> {
  const perInputMs = o.perInputMs ?? defaultLimits.perInputMs;
  const args = [
    '--import',
    'tsx',
    '--expose-gc',
    `--max-old-space-size=${o.heapMb ?? 1024}`,
    join(fuzzDir, 'child.ts'),
    '--target',
    o.target.name,
    '--seed',
    String(o.seed),
    '--seconds',
    String(seconds),
    '--start',
    String(start),
    '--progress',
    progress,
    '--crashes',
    o.crashesDir,
    '--per-input-ms',
    String(perInputMs),
    ...(o.module ? ['--module', o.module] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: ChildOutcome = { crashes: [], hung: false, code: null, signal: null, stderr: '', last: -1 };
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const m = JSON.parse(line) as { crash?: CrashNote; done?: ChildOutcome['done'] };
      if (m.crash) {
        out.crashes.push(m.crash);
        o.log?.(`  crash ${m.crash.kind} at input ${m.crash.index}: ${m.crash.signature}\n    saved ${m.crash.file}`);
      }
      if (m.done) out.done = m.done;
    } catch {
      o.log?.(line);
    }
  });
  child.stderr.on('data', (d: Buffer) => {
    if (out.stderr.length < 8192) out.stderr += d.toString();
  });
  // Watchdog: the index must move within the per-input budget plus slack (corpus loading: 120 s).
  let seen = -3;
  let since = Date.now();
  const timer = setInterval(() => {
    const v = readProgress(progress);
    if (v !== seen) {
      seen = v;
      since = Date.now();
      return;
    }
    const allowed = v === -1 || v === -3 ? 120_000 : perInputMs * 2 + 3000;
    if (v !== -2 && Date.now() - since > allowed) {
      out.hung = true;
      child.kill('SIGKILL');
    }
  }, 100);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearInterval(timer);
      out.code = code;
      out.signal = signal;
      out.last = readProgress(progress);
      resolve(out);
    });
  });
}

export async function supervise(o: SuperviseOptions): Promise<SuperviseResult> {
  const dir = mkdtempSync(join(tmpdir(), 'stalepin-fuzz-'));
  const progress = join(dir, 'progress');
  const t0 = Date.now();
  const res: SuperviseResult = { target: o.target.name, inputs: 0, seconds: 0, crashes: [], restarts: 0, retainedMb: undefined };
  let corpus: Corpus | undefined;
  let start = 0;
  try {
    for (;;) {
      const left = o.seconds - (Date.now() - t0) / 1000;
      if (left <= 0.2) break;
      const r = await runChild(o, start, left, progress);
      res.crashes.push(...r.crashes);
      if (r.done) {
        res.inputs += r.done.inputs;
        res.retainedMb = r.done.retainedMb;
        break;
      }
      if (r.last < 0) throw new Error(`fuzz child for ${o.target.name} failed before its first input (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
      // It hung or died on input r.last: rebuild that input, save it, continue after it.
      corpus ??= await loadCorpus(o.target);
      const input = inputFor(corpus, o.seed, r.last);
      const kind: CrashKind = r.hung ? 'hang' : 'died';
      const why = r.hung ? `no result within ${(o.perInputMs ?? defaultLimits.perInputMs) * 2 + 3000} ms` : `child exited (${r.code ?? r.signal}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
      const file = saveCrash(o.crashesDir, { target: o.target.name, kind, index: r.last, seed: o.seed, signature: kind, message: why, input });
      res.crashes.push({ kind, index: r.last, signature: kind, file, message: why });
      o.log?.(`  crash ${kind} at input ${r.last}: ${why}\n    saved ${file}`);
      res.inputs += r.last - start + 1;
      res.restarts++;
      start = r.last + 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}
