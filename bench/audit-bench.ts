/**
 * Audit benchmark: `stalepin audit` end to end (process start, table read and rule, findings,
 * JSON report and Prometheus textfile written) on the generated 1,000,000-entry `conntrack -L -o
 * extended` dump of conntrack-bench.ts, against a node list of its 24 backends with the one whose
 * entries are unreplied marked terminated. The target is at most 3 s. Beside it, for scale:
 * `stalepin conntrack --summary` on the same file (the read alone) and an awk that pulls the
 * service and reply source of every line.
 *
 *   npx tsc -p tsconfig.json && npx tsx bench/audit-bench.ts
 * CT_ENTRIES (default 1000000) sets the size, BENCH_RUNS (default 5) the runs per tool.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import os from 'node:os';
import { compare, type BenchRow } from './lib.js';
import { generateDump } from './conntrack-bench.js';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');

/** The backend set of generateDump's table: 198.51.100.20-43, .43 terminated. */
function nodesFile(path: string): void {
  const lines = Array.from({ length: 24 }, (_, i) => `198.51.100.${20 + i}:5060 ${20 + i === 43 ? 'terminated' : 'active'}`);
  writeFileSync(path, lines.join('\n') + '\n');
}

export async function runAuditBench(runs: number): Promise<BenchRow[]> {
  const entries = Number(process.env['CT_ENTRIES'] ?? 1_000_000);
  const file = join(os.tmpdir(), `stalepin-conntrack-${entries}.txt`);
  if (!existsSync(file) || statSync(file).size === 0) {
    process.stderr.write(`audit-bench: generating ${file} (${entries} entries)...\n`);
    await generateDump(file, entries);
  }
  const nodes = join(os.tmpdir(), 'stalepin-audit-bench-nodes.txt');
  nodesFile(nodes);
  const out = join(os.tmpdir(), 'stalepin-audit-bench-report.json');
  const prom = join(os.tmpdir(), 'stalepin-audit-bench.prom');
  const bytes = statSync(file).size;
  const vips = ['203.0.113.10', '203.0.113.11', '203.0.113.12', '203.0.113.13'].flatMap((v) => ['--vip', v]);
  const task = `audit, ${entries} entries (${(bytes / 1e6).toFixed(0)} MB)`;
  const stalepin = ['node', join(root, 'bin', 'stalepin')];
  const awkProg = '{n=0; for(i=1;i<=NF && n<4;i++){p=substr($i,1,4); if(p=="src="||p=="dst=") a[++n]=substr($i,5)} if(a[3]=="198.51.100.43") s++} END{print s}';
  const rows = compare(
    task,
    [
      {
        tool: 'stalepin audit (json + textfile)',
        argv: [...stalepin, 'audit', '--conntrack', file, '--nodes', nodes, ...vips, '--format', 'json', '-o', out, '--prom-textfile', prom, '--fail-on', 'never', '--quiet'],
      },
      { tool: 'stalepin conntrack --summary (read only)', argv: [...stalepin, 'conntrack', '--summary', '--quiet', file] },
      { tool: 'awk (reply sources of one backend)', argv: ['awk', awkProg, file] },
    ],
    runs,
    bytes,
  );
  const audit = rows[0]!;
  audit.note = audit.medianSec <= 3 ? 'target <= 3 s: met' : `target <= 3 s: MISSED (${audit.medianSec.toFixed(2)} s)`;
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('audit-bench.ts')) {
  const rows = await runAuditBench(Number(process.env['BENCH_RUNS'] ?? 5));
  for (const r of rows) process.stdout.write(JSON.stringify({ task: r.task, tool: r.tool, medianSec: r.medianSec, peakRssMB: Math.round(r.peakRssMB * 10) / 10, note: r.note }) + '\n');
}
