/**
 * The fuzz loop. Input i is rebuilt from (seed, i) alone (see mutate.ts); inputs below the
 * corpus size are the seeds themselves. Each input must end in a result or a clean
 * StalepinError within the time budget and without a memory blow-up; anything else is a crash,
 * saved as <target>-<hash>.bin. Crashes with the same signature (error and top source frame) are
 * saved once.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StalepinError } from '../../src/core/errors.js';
import { Rng, mix, mutate } from './mutate.js';
import type { FuzzTarget } from './targets.js';

export interface Corpus {
  target: FuzzTarget;
  seeds: Uint8Array[];
  fields: number[][];
}

export async function loadCorpus(target: FuzzTarget): Promise<Corpus> {
  const seeds = await target.seeds();
  if (seeds.length === 0) seeds.push(new Uint8Array(0));
  return { target, seeds, fields: seeds.map((s) => target.fields?.(s) ?? []) };
}

/** Input number i of the run with this seed. */
export function inputFor(c: Corpus, seed: number, i: number): Uint8Array {
  if (i < c.seeds.length) return c.seeds[i]!;
  const rng = new Rng(mix(seed, i), i);
  const k = rng.below(c.seeds.length);
  return mutate(c.seeds[k]!, rng, c.seeds, { fields: c.fields[k]!, text: c.target.text, maxLen: c.target.maxLen });
}

export type CrashKind = 'exception' | 'internal-error' | 'slow' | 'memory' | 'hang' | 'died';

export interface Crash {
  target: string;
  kind: CrashKind;
  index: number;
  seed: number;
  signature: string;
  message: string;
  file?: string;
  input: Uint8Array;
}

export interface Limits {
  /** Wall time one input may take (default 2000 ms). */
  perInputMs: number;
  /** Peak RSS growth one input may cause (default 256 MiB). */
  perInputRssMb: number;
}

export const defaultLimits: Limits = { perInputMs: 2000, perInputRssMb: 256 };

export function inputHash(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex').slice(0, 16);
}

/** Save a crashing input (and a note beside it); returns the path. */
export function saveCrash(dir: string, c: Crash): string {
  mkdirSync(dir, { recursive: true });
  const base = `${c.target}-${inputHash(c.input)}`;
  const file = join(dir, `${base}.bin`);
  writeFileSync(file, c.input);
  writeFileSync(join(dir, `${base}.txt`), `target ${c.target}\nkind ${c.kind}\nseed ${c.seed} input ${c.index}\n${c.message}\n`);
  return file;
}

function topFrame(e: Error): string {
  const lines = (e.stack ?? '').split('\n').slice(1);
  const src = lines.find((l) => l.includes('/src/')) ?? lines[0] ?? '';
  return src.trim().replace(/^at /, '').replace(/\(.*\/(src|test)\//, '($1/');
}

/**
 * Run one input. Resolves to undefined when it ended cleanly, else to the crash (without the
 * saving, which the caller decides on).
 */
export async function runOne(t: FuzzTarget, input: Uint8Array, limits: Limits = defaultLimits): Promise<{ kind: CrashKind; signature: string; message: string } | undefined> {
  const rss0 = process.resourceUsage().maxRSS;
  const t0 = performance.now();
  try {
    await t.run(input);
  } catch (e) {
    if (e instanceof StalepinError && e.code !== 'internal') {
      // Clean refusal; its message must stay one line (the CLI prints it as such).
      if (/[\r\n]/.test(e.oneLine())) return { kind: 'exception', signature: 'multi-line error message', message: e.oneLine() };
    } else {
      const err = e instanceof Error ? e : new Error(String(e));
      const kind: CrashKind = e instanceof StalepinError ? 'internal-error' : 'exception';
      return { kind, signature: `${err.name}: ${err.message.slice(0, 100).replace(/\d+/g, 'N')} @ ${topFrame(err)}`, message: err.stack ?? String(err) };
    }
  }
  const ms = performance.now() - t0;
  if (ms > limits.perInputMs) return { kind: 'slow', signature: `slow (${t.name})`, message: `took ${ms.toFixed(0)} ms (budget ${limits.perInputMs} ms) for ${input.length} bytes` };
  const grewMb = (process.resourceUsage().maxRSS - rss0) / 1024;
  if (grewMb > limits.perInputRssMb) return { kind: 'memory', signature: `memory (${t.name})`, message: `peak RSS grew ${grewMb.toFixed(0)} MiB (budget ${limits.perInputRssMb} MiB) for ${input.length} bytes` };
  return undefined;
}

export interface LoopOptions {
  seed: number;
  /** Stop after this many seconds (wall clock) ... */
  seconds: number;
  /** ... or this many inputs. */
  maxInputs?: number;
  /** First input index (a restarted child continues after the input that killed its predecessor). */
  start?: number;
  limits?: Limits;
  /** Called before each input (the child records the index for its supervisor). */
  onInput?: (i: number) => void;
  onCrash: (c: Crash) => void;
}

export interface LoopResult {
  inputs: number;
  next: number;
  crashes: number;
  /** Heap and array-buffer bytes retained after gc at the end minus at the start (MiB), when gc is exposed. */
  retainedMb: number | undefined;
}

function retained(): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return undefined;
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / (1 << 20);
}

export async function fuzzLoop(c: Corpus, o: LoopOptions): Promise<LoopResult> {
  const limits = o.limits ?? defaultLimits;
  const deadline = performance.now() + o.seconds * 1000;
  const seen = new Set<string>();
  const base = retained();
  let i = o.start ?? 0;
  let n = 0;
  let crashes = 0;
  while (performance.now() < deadline && (o.maxInputs === undefined || n < o.maxInputs)) {
    o.onInput?.(i);
    const input = inputFor(c, o.seed, i);
    const r = await runOne(c.target, input, limits);
    if (r && !seen.has(r.signature)) {
      seen.add(r.signature);
      crashes++;
      o.onCrash({ target: c.target.name, index: i, seed: o.seed, input, ...r });
    } else if (r) crashes++;
    i++;
    n++;
  }
  const end = retained();
  return { inputs: n, next: i, crashes, retainedMb: base === undefined || end === undefined ? undefined : end - base };
}
