/**
 * npm run fuzz -- [--seconds N] [--seed S] [--target a,b] [--per-input-ms M] [--heap-mb H]
 *
 * Fuzzes every target (or the ones named) for N seconds in all (default 60, split evenly), each
 * in a watched child process. Deterministic for a given seed (default: from the clock, printed).
 * Exits 1 when anything crashed; the inputs are in test/fuzz/crashes/<target>-<hash>.bin with a
 * .txt note. Once fixed, move the .bin to test/fuzz/regressions/ (regressions.test.ts replays it).
 */
import { crashesDir, targets } from './targets.js';
import { supervise } from './supervisor.js';

function usage(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\nusage: npm run fuzz -- [--seconds N] [--seed S] [--target ${targets.map((t) => t.name).join(',')}] [--per-input-ms M] [--heap-mb H]\n`);
  process.exit(2);
}

function parse(argv: string[]): { seconds: number; seed: number; names: string[]; perInputMs: number; heapMb: number } {
  const o = { seconds: 60, seed: Date.now() % 0x7fffffff, names: targets.map((t) => t.name), perInputMs: 2000, heapMb: 1024 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    const num = (): number => {
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < 0) usage(`${a} needs a number`);
      i++;
      return n;
    };
    if (a === '--seconds') o.seconds = num();
    else if (a === '--seed') o.seed = Math.floor(num()) >>> 0;
    else if (a === '--per-input-ms') o.perInputMs = num();
    else if (a === '--heap-mb') o.heapMb = num();
    else if (a === '--target') {
      if (v === undefined) usage('--target needs a name');
      o.names = v.split(',');
      i++;
      for (const n of o.names) if (!targets.some((t) => t.name === n)) usage(`no target ${n}`);
    } else if (a === '--help' || a === '-h') usage('help');
    else usage(`unknown argument ${a}`);
  }
  return o;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const each = o.seconds / o.names.length;
  process.stdout.write(`fuzz: seed ${o.seed}, ${o.seconds} s over ${o.names.length} target(s); reproduce with --seed ${o.seed}\n`);
  let crashed = 0;
  for (const name of o.names) {
    const target = targets.find((t) => t.name === name)!;
    const r = await supervise({ target, seed: o.seed, seconds: each, crashesDir, perInputMs: o.perInputMs, heapMb: o.heapMb, log: (l) => process.stdout.write(l + '\n') });
    crashed += r.crashes.length;
    const rate = r.seconds > 0 ? Math.round(r.inputs / r.seconds) : 0;
    const mem = r.retainedMb === undefined ? '' : `, retained ${r.retainedMb.toFixed(1)} MiB`;
    process.stdout.write(`${name}: ${r.inputs} inputs in ${r.seconds.toFixed(1)} s (${rate}/s), ${r.crashes.length} crash(es)${r.restarts ? `, ${r.restarts} restart(s)` : ''}${mem}\n`);
  }
  if (crashed) {
    process.stdout.write(`fuzz: ${crashed} crash(es); inputs saved in ${crashesDir}\n`);
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`fuzz: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(3);
});
