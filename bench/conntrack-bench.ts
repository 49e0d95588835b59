/**
 * Conntrack benchmark: a generated 1,000,000-entry `conntrack -L -o extended` dump (in /tmp,
 * never committed), `stalepin conntrack FILE --summary` against an awk that pulls the same four
 * addresses out of every line and counts service/target pairs. Medians of interleaved runs and
 * peak RSS (GNU time), printed as JSON rows {task, tool, medianSec, peakRssMB}.
 *
 *   npx tsc -p tsconfig.json && npx tsx bench/conntrack-bench.ts
 * CT_ENTRIES (default 1000000) sets the size, BENCH_RUNS (default 5) the runs per tool.
 * bench/run.ts can import runConntrackBench() to put the rows in BENCHMARKS.md.
 */
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import os from 'node:os';
import { compare, have, median, type BenchRow } from './lib.js';
import { xorshift32 } from '../test/gen/rng.js';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');

/** Deterministic, so the same size gives the same file. */
const rng = xorshift32;

/**
 * An LB's table: 4 service addresses (udp+tcp 5060, udp 5080), 24 backends, clients from the
 * documentation ranges with fixed and random source ports; ~80% udp, 15% tcp, 5% icmp; one
 * backend terminated (its entries unreplied), a few SNATed.
 */
export async function generateDump(path: string, entries: number): Promise<void> {
  const r = rng(0x5eed);
  const out = createWriteStream(path);
  const vips = ['203.0.113.10', '203.0.113.11', '203.0.113.12', '203.0.113.13'];
  const backends = Array.from({ length: 24 }, (_, i) => `198.51.100.${20 + i}`);
  const tcpStates = ['ESTABLISHED', 'TIME_WAIT', 'SYN_SENT', 'CLOSE'];
  let buf = '';
  for (let i = 0; i < entries; i++) {
    const a = r();
    const client = (a & 1 ? '192.0.2.' : '198.51.100.') + (1 + ((a >>> 1) % 250));
    const cport = a & 0x40000 ? 5060 : 1024 + ((a >>> 3) % 64000);
    const vip = vips[(a >>> 20) % vips.length]!;
    const b = r();
    const be = backends[b % backends.length]!;
    const dead = be === '198.51.100.43';
    const snat = b % 97 === 0;
    const rdst = snat ? '198.51.100.1' : client;
    const kind = (b >>> 8) % 100;
    const pk = 1 + ((b >>> 12) % 40);
    const by = pk * (200 + ((b >>> 16) % 900));
    const delta = (b >>> 5) % 3600;
    const id = (a ^ b) >>> 0;
    let line: string;
    if (kind < 80) {
      const dport = (a >>> 9) & 1 ? 5060 : 5080;
      const un = dead || (b >>> 20) % 50 === 0;
      line =
        `ipv4     2 udp      17 ${(b >>> 3) % 180} src=${client} dst=${vip} sport=${cport} dport=${dport} packets=${pk} bytes=${by} ` +
        (un ? '[UNREPLIED] ' : '') +
        `src=${be} dst=${rdst} sport=5060 dport=${cport} packets=${un ? 0 : pk} bytes=${un ? 0 : by} ` +
        (!un && pk > 2 ? '[ASSURED] ' : '') +
        `mark=0 delta-time=${delta} use=1 id=${id}`;
    } else if (kind < 95) {
      const st = tcpStates[(b >>> 14) % tcpStates.length]!;
      line =
        `ipv4     2 tcp      6 ${(b >>> 3) % 432000} ${st} src=${client} dst=${vip} sport=${1024 + (a % 60000)} dport=5060 packets=${pk} bytes=${by} ` +
        `src=${be} dst=${rdst} sport=5060 dport=${1024 + (a % 60000)} packets=${pk} bytes=${by} [ASSURED] mark=0 delta-time=${delta} use=1 id=${id}`;
    } else {
      const icmpId = a & 0xffff;
      line =
        `ipv4     2 icmp     1 ${(b >>> 3) % 30} src=${client} dst=${vip} type=8 code=0 id=${icmpId} packets=1 bytes=84 ` +
        `src=${vip} dst=${client} type=0 code=0 id=${icmpId} packets=1 bytes=84 mark=0 delta-time=${delta} use=1 id=${id}`;
    }
    buf += line + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((res) => out.once('drain', () => res()));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
}

/**
 * Without GNU time: wall time from hrtime, peak RSS from the child's own VmHWM in
 * /proc/PID/status, polled while it runs (Linux; NaN elsewhere).
 */
async function timeOnceNoGnuTime(argv: string[]): Promise<{ sec: number; rssMB: number }> {
  const t0 = process.hrtime.bigint();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
  let hwm = Number.NaN;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) hwm = Math.max(Number.isNaN(hwm) ? 0 : hwm, Number(m[1]) / 1024);
    } catch {
      // the child has exited between polls
    }
  }, 10);
  const code = await new Promise<number | null>((res) => child.once('close', res));
  clearInterval(poll);
  if (code !== 0) throw new Error(`${argv.join(' ')} failed`);
  return { sec: Number(process.hrtime.bigint() - t0) / 1e9, rssMB: hwm };
}

async function compareNoGnuTime(task: string, contenders: { tool: string; argv: string[] }[], runs: number, bytes: number): Promise<BenchRow[]> {
  const secs = new Map<string, number[]>(contenders.map((c) => [c.tool, []]));
  const rss = new Map<string, number[]>(contenders.map((c) => [c.tool, []]));
  for (const c of contenders) await timeOnceNoGnuTime(c.argv); // warm-up
  for (let r = 0; r < runs; r++)
    for (const c of contenders) {
      const t = await timeOnceNoGnuTime(c.argv);
      secs.get(c.tool)!.push(t.sec);
      rss.get(c.tool)!.push(t.rssMB);
    }
  return contenders.map((c) => ({ task, tool: c.tool, runs, bytes, medianSec: median(secs.get(c.tool)!), peakRssMB: Math.max(...rss.get(c.tool)!) }));
}

export async function runConntrackBench(runs = Number(process.env['BENCH_RUNS'] ?? 5)): Promise<BenchRow[]> {
  const entries = Number(process.env['CT_ENTRIES'] ?? 1_000_000);
  const file = join(os.tmpdir(), `stalepin-conntrack-${entries}.txt`);
  if (!existsSync(file) || statSync(file).size === 0) {
    process.stderr.write(`conntrack-bench: generating ${file} (${entries} entries)...\n`);
    await generateDump(file, entries);
  }
  const bytes = statSync(file).size;
  const task = `conntrack --summary, ${entries} entries (${(bytes / 1e6).toFixed(0)} MB)`;
  const awkProg =
    '{n=0; for(i=1;i<=NF && n<4;i++){p=substr($i,1,4); if(p=="src="||p=="dst=") a[++n]=substr($i,5)} c[a[2] " " a[3]]++; s[a[1] " " a[4]]++} END{for(k in c) print k, c[k]}';
  const contenders = [
    { tool: 'stalepin conntrack --summary', argv: ['node', join(root, 'bin', 'stalepin'), 'conntrack', '--summary', '--quiet', file] },
    { tool: 'awk (four addresses)', argv: ['awk', awkProg, file] },
  ];
  if (have('mawk')) contenders.push({ tool: 'mawk (four addresses)', argv: ['mawk', awkProg, file] });
  if (existsSync('/usr/bin/time')) return compare(task, contenders, runs, bytes);
  return compareNoGnuTime(task, contenders, runs, bytes);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('conntrack-bench.ts')) {
  const rows = await runConntrackBench();
  for (const r of rows) process.stdout.write(JSON.stringify({ task: r.task, tool: r.tool, medianSec: r.medianSec, peakRssMB: Math.round(r.peakRssMB * 10) / 10 }) + '\n');
}
