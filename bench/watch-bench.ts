/**
 * `stalepin watch` under load on loopback: a small C blaster (bench/watch-blaster.c, compiled
 * here) sends SIP calls as sipp makes them (INVITE, 100, 180, 200, ACK, BYE, 200) between sockets on 127.0.0.1 at a fixed packet
 * rate for 10 s, while watch captures lo. Reported per rate: packets sent and captured (sent -
 * captured is the loss, whichever binding captures), the largest capture backlog
 * seen (sent minus captured, sampled each second), CPU time per packet and the rate one core
 * would sustain at that cost. Needs root, a libpcap binding (stalepin's, or cap) and a C
 * compiler; skipped otherwise.
 *
 *   npx tsx bench/watch-bench.ts [rate ...]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './lib.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = 10;

function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'Linux only';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (capture on lo)';
  if (spawnSync('sh', ['-c', 'command -v cc'], { stdio: 'ignore' }).status !== 0) return 'no C compiler (cc) for the blaster';
  if (!existsSync(path.join(ROOT, 'native', 'build', 'Release', 'stalepin_pcap.node')) && !existsSync(path.join(ROOT, 'node_modules', 'cap', 'build', 'Release', 'cap.node')))
    return 'no libpcap binding is built (apt-get install libpcap-dev g++ make; npm rebuild)';
  return undefined;
}

function cpuSeconds(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (100 Hz)
  } catch {
    return undefined;
  }
}

function peakRssMB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function once(blaster: string, rate: number, tmp: string): Promise<BenchRow> {
  const total = rate * SECONDS;
  const report = path.join(tmp, `report-${rate}.json`);
  const watch = spawn(process.execPath, ['bin/stalepin', 'watch', '-i', 'lo', '--sip-port', '5060', '--format', 'ndjson', '--duration', `${SECONDS + 5}s`, '--stats-interval', '1s', '--report-format', 'json', '-o', report], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const captured: number[] = [];
  watch.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const m of d.toString().matchAll(/so far: (\d+) packets/g)) captured.push(Number(m[1]));
  });
  const exited = new Promise<void>((r) => watch.on('close', () => r()));
  for (let i = 0; i < 100 && !stderr.includes('watching'); i++) await sleep(50);
  const cpu0 = cpuSeconds(watch.pid!) ?? 0;
  const sent: number[] = [];
  let cpu1 = cpu0;
  let rss = 0;
  const sampler = setInterval(() => {
    cpu1 = cpuSeconds(watch.pid!) ?? cpu1;
    rss = Math.max(rss, peakRssMB(watch.pid!) ?? 0);
  }, 250);
  const bl = spawn(blaster, [String(rate), String(total), String(SECONDS + 5)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let blOut = '';
  bl.stdout.on('data', (d: Buffer) => {
    blOut += d.toString();
    for (const m of d.toString().matchAll(/^sent (\d+)$/gm)) sent.push(Number(m[1]));
  });
  await new Promise<void>((r) => bl.on('close', () => r()));
  await exited;
  clearInterval(sampler);
  const sentTotal = Number(/sent (\d+) in/.exec(blOut)?.[1] ?? total);
  const r = JSON.parse(readFileSync(report, 'utf8')) as { summary: { packets: number; sipMessages: number } };
  const got = r.summary.packets;
  // Backlog: what was sent by each second and not yet captured (both sampled about once a second).
  let backlog = 0;
  for (let i = 0; i < Math.min(sent.length, captured.length); i++) backlog = Math.max(backlog, sent[i]! - captured[i]!);
  const cpu = cpu1 - cpu0;
  const usPer = got ? (cpu / got) * 1e6 : NaN;
  return {
    task: `watch -i lo at ${rate} packets/s for ${SECONDS} s`,
    tool: 'stalepin watch',
    runs: 1,
    medianSec: SECONDS,
    peakRssMB: rss,
    packets: got,
    note: `sent ${sentTotal}, captured ${got} (${(((sentTotal - got) / sentTotal) * 100).toFixed(2)}% lost), max backlog ~${Math.max(0, backlog)}, CPU ${usPer.toFixed(2)} µs/packet (~${Math.round(1e6 / usPer)} packets/s on one free core), load ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores${rate >= 100_000 ? `; target 100000 packets/s with no loss: ${got >= sentTotal ? 'met' : 'MISSED'}` : ''}`,
  };
}

export async function runWatchBench(rates: number[] = [50_000, 100_000, 200_000]): Promise<BenchRow[]> {
  const skip = skipReason();
  if (skip) return [{ task: 'watch -i lo at 100000 packets/s', tool: 'stalepin watch', runs: 0, medianSec: NaN, peakRssMB: NaN, skipped: skip }];
  if (!existsSync(path.join(ROOT, 'dist', 'watch', 'session.js'))) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'stalepin-watch-bench-'));
  try {
    const blaster = path.join(tmp, 'watch-blaster');
    execFileSync('cc', ['-O2', '-o', blaster, path.join(ROOT, 'bench', 'watch-blaster.c')]);
    const rows: BenchRow[] = [];
    for (const rate of rates) rows.push(await once(blaster, rate, tmp));
    return rows;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rates = process.argv.slice(2).map(Number).filter((n) => n > 0);
  runWatchBench(rates.length ? rates : undefined).then((rows) => {
    for (const r of rows) console.log(`${r.task}: ${r.skipped ? `skipped: ${r.skipped}` : `${r.note}; peak RSS ${r.peakRssMB.toFixed(0)} MB`}`);
  });
}
