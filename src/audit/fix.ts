/**
 * Remediation: print or run one `conntrack -D` per stale entry, each naming the full original
 * tuple and the stale reply source (and zone), so it can only remove that entry; never a flush.
 *
 * Apply refuses, before deleting anything, when the backend set is empty or may be incomplete
 * (an empty pool must never flush a table), when the table is an IPVS connection table (its
 * entries cannot be deleted one by one), and without CAP_NET_ADMIN. It stops at `maxDeletes`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { StalepinError } from '../core/errors.js';
import type { FixPlan } from './findings.js';
import type { AuditResult, FixReport, FixResult } from './run.js';

export const DEFAULT_MAX_DELETES = 1000;
const CAP_NET_ADMIN = 12;

/** Whether this process holds CAP_NET_ADMIN in its effective set (Linux; root normally does). */
export function hasNetAdmin(statusText?: string): boolean {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return typeof process.getuid === 'function' && process.getuid() === 0;
    }
  }
  const m = /^CapEff:\s*([0-9a-fA-F]+)/m.exec(text);
  if (!m) return typeof process.getuid === 'function' && process.getuid() === 0;
  return (BigInt('0x' + m[1]) & (1n << BigInt(CAP_NET_ADMIN))) !== 0n;
}

export const NO_CAPABILITY =
  '--fix apply deletes conntrack entries and needs CAP_NET_ADMIN: run as root (sudo) or grant the capability (systemd: AmbientCapabilities=CAP_NET_ADMIN; Kubernetes: securityContext.capabilities.add [NET_ADMIN])';

/** The commands `--fix print` shows, one per stale entry (IPVS entries: the advice as a comment). */
export function fixCommands(plans: FixPlan[]): string[] {
  return plans.map((p) => (p.argv ? p.argv.join(' ') : `# ${p.finding.transport} ${p.finding.client} -> ${p.finding.service} on ${p.finding.target}: ${p.finding.remedy}`));
}

/** Why apply must not run on this result, or undefined when it may. */
export function refusal(res: AuditResult): string | undefined {
  const inv = res.inventory;
  if (res.report.audit.table.ipvs)
    return 'the table is an IPVS connection table: its entries cannot be deleted one by one (see the remedy: ipvsadm -d with expire_nodest_conn=1)';
  if (inv.incomplete !== undefined) return `the backend set may be incomplete (${inv.incomplete}): nothing is deleted on its word`;
  if (!inv.nodes.some((n) => n.state === 'active')) return `the backend set (${inv.source.file}) has no active backend: an empty pool must never flush a table`;
  return undefined;
}

export interface ApplyOptions {
  maxDeletes: number;
  signal?: AbortSignal;
  /** Tests: how to run one command. */
  exec?: (argv: string[]) => Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: NodeJS.ErrnoException }>;
  /** Tests: skip the capability check. */
  assumeCapable?: boolean;
}

function run(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8');
    c.stderr.setEncoding('utf8');
    c.stdout.on('data', (d: string) => stdout.length < 8192 && (stdout += d));
    c.stderr.on('data', (d: string) => stderr.length < 8192 && (stderr += d));
    c.once('error', (e) => resolve({ code: null, stdout, stderr, spawnError: e as NodeJS.ErrnoException }));
    c.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function lastLine(s: string): string {
  return (
    s
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? ''
  ).slice(0, 300);
}

/** Delete the stale entries, critical first, at most maxDeletes; every result recorded. */
export async function applyFixes(res: AuditResult, opts: ApplyOptions): Promise<FixReport> {
  const why = refusal(res);
  if (why !== undefined) throw new StalepinError('bad_usage', `refusing --fix apply: ${why}`);
  if (!opts.assumeCapable && !hasNetAdmin()) throw new StalepinError('permission', NO_CAPABILITY);
  const exec = opts.exec ?? run;
  const results: FixResult[] = [];
  let done = 0;
  for (const p of res.plans) {
    const f = p.finding;
    const base = { client: f.client, service: f.service ?? '', target: f.target ?? '', transport: f.transport };
    const command = p.argv ? p.argv.join(' ') : '';
    if (!p.argv) {
      results.push({ ...base, command, result: 'skipped', message: 'no single-entry delete for this table' });
      continue;
    }
    if (opts.signal?.aborted) {
      results.push({ ...base, command, result: 'skipped', message: 'interrupted' });
      continue;
    }
    if (done >= opts.maxDeletes) {
      results.push({ ...base, command, result: 'skipped', message: `--max-deletes ${opts.maxDeletes} reached` });
      continue;
    }
    done++;
    const r = await exec(p.argv);
    if (r.spawnError) {
      const missing = r.spawnError.code === 'ENOENT';
      throw new StalepinError(
        'missing_dependency',
        missing
          ? `${p.argv[0]} not found: --fix apply runs ${p.argv[0] === 'ip' ? 'ip netns exec (iproute2) and ' : ''}conntrack (apt-get install conntrack)`
          : `cannot run ${p.argv[0]}: ${r.spawnError.code ?? r.spawnError.message}`,
      );
    }
    const msg = lastLine(r.stderr) || lastLine(r.stdout);
    if (r.code === 0) results.push({ ...base, command, result: 'deleted', message: msg });
    else if (/\b0 flow entries have been deleted/.test(r.stderr)) results.push({ ...base, command, result: 'not-found', message: 'already gone (expired or deleted meanwhile)' });
    else if (/Operation not permitted|Permission denied|must be root/i.test(r.stderr)) throw new StalepinError('permission', NO_CAPABILITY);
    else if (/exec of "?[^"]*conntrack"? failed: No such file/i.test(r.stderr)) throw new StalepinError('missing_dependency', 'conntrack not found in the namespace: apt-get install conntrack');
    else if (/Cannot open network namespace/i.test(r.stderr)) throw new StalepinError('bad_usage', `--netns: ${msg}`);
    else results.push({ ...base, command, result: 'failed', message: msg || `exit ${r.code}` });
  }
  return { mode: 'apply', results };
}
