/**
 * Benchmark plumbing: run whole commands side by side, interleaved round by round so a noisy
 * neighbour hurts every tool alike, and report medians of wall time and peak RSS (GNU time's
 * %M, the child's own maximum resident set).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

export interface Contender {
  tool: string;
  /** argv; run through /usr/bin/time, stdout discarded. */
  argv: string[];
  /** Skip (with this reason) when set. */
  skip?: string;
}

export interface BenchRow {
  task: string;
  tool: string;
  runs: number;
  medianSec: number;
  peakRssMB: number;
  /** Input size in bytes (for MB/s). */
  bytes?: number;
  packets?: number;
  note?: string;
  skipped?: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function timeOnce(argv: string[]): { sec: number; rssKB: number; status: number | null; stderr: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '@@%e %M', ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'utf8',
  });
  const m = /@@([\d.]+) (\d+)\s*$/.exec(r.stderr ?? '');
  if (!m) return { sec: NaN, rssKB: NaN, status: r.status, stderr: r.stderr ?? '' };
  return { sec: Number(m[1]), rssKB: Number(m[2]), status: r.status, stderr: r.stderr ?? '' };
}

/** Run every contender `runs` times, interleaved; a warm-up run first puts the input in the page cache. */
export function compare(task: string, contenders: Contender[], runs: number, bytes?: number, packets?: number): BenchRow[] {
  const live = contenders.filter((c) => !c.skip);
  const times = new Map<string, number[]>();
  const rss = new Map<string, number[]>();
  for (const c of live) {
    const w = timeOnce(c.argv);
    if (Number.isNaN(w.sec)) throw new Error(`${c.tool} failed: ${c.argv.join(' ')}\n${w.stderr.slice(-2000)}`);
    times.set(c.tool, []);
    rss.set(c.tool, []);
  }
  for (let r = 0; r < runs; r++) {
    for (const c of live) {
      const t = timeOnce(c.argv);
      times.get(c.tool)!.push(t.sec);
      rss.get(c.tool)!.push(t.rssKB / 1024);
    }
  }
  return contenders.map((c) =>
    c.skip
      ? { task, tool: c.tool, runs: 0, medianSec: NaN, peakRssMB: NaN, skipped: c.skip }
      : { task, tool: c.tool, runs, medianSec: median(times.get(c.tool)!), peakRssMB: Math.max(...rss.get(c.tool)!), bytes, packets },
  );
}

export function fileSize(p: string): number {
  return existsSync(p) ? statSync(p).size : 0;
}

/** A Markdown table of rows; ratio is each tool's median time over the first row's of the task. */
export function markdownTable(rows: BenchRow[]): string {
  const out = ['| task | tool | runs | median s | MB/s | ratio to stalepin | peak RSS MB | note |', '|---|---|---:|---:|---:|---:|---:|---|'];
  const base = new Map<string, number>();
  for (const r of rows) if (r.tool.startsWith('stalepin') && !base.has(r.task) && !r.skipped) base.set(r.task, r.medianSec);
  for (const r of rows) {
    if (r.skipped) {
      out.push(`| ${r.task} | ${r.tool} | 0 | – | – | – | – | skipped: ${r.skipped} |`);
      continue;
    }
    const mbs = r.bytes ? (r.bytes / 1e6 / r.medianSec).toFixed(0) : '–';
    const b = base.get(r.task);
    const ratio = b ? (r.medianSec / b).toFixed(2) : '–';
    out.push(`| ${r.task} | ${r.tool} | ${r.runs} | ${r.medianSec.toFixed(3)} | ${mbs} | ${ratio} | ${r.peakRssMB.toFixed(0)} | ${r.note ?? ''} |`);
  }
  return out.join('\n');
}
