/**
 * The incident fixed end to end on a real kernel (root; the lab's tools): the lab reproduces the
 * failover, and its after-hook runs `stalepin audit --netns LB --from-nft` (flags the pinned
 * entry, critical), then `--fix apply` (deletes exactly the flagged entries: `conntrack -L` in
 * the LB namespace before and after), then places a call from the same fixed source port and
 * shows it is answered and mapped to backend B. Skips with the reason when the lab cannot run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { placeFixedPortCall, type CallResult } from '../lab/call.js';
import { type LabEnv, labUnavailable, runLab } from '../lab/run.js';
import { VARIANT_SPECS, type Variant } from '../lab/topology.js';
import { repoRoot } from '../helpers/cli.js';

const variant = (process.env.STALEPIN_LAB_VARIANT ?? 'killed') as Variant;
const built = existsSync(path.join(repoRoot, 'dist', 'cli', 'commands', 'audit.js'));
const why = !built ? 'dist/ is not built (npx tsc -p tsconfig.json)' : VARIANT_SPECS[variant] ? labUnavailable([VARIANT_SPECS[variant].capture]) : `unknown variant ${variant}`;
if (why) console.log(`audit lab test skipped: ${why}`);

function stalepin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [path.join(repoRoot, 'bin', 'stalepin'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** "proto sport reply-src timeout" per entry of the LB's table. */
function lbTable(env: LabEnv): { key: string; timeout: number }[] {
  const fam = env.STALEPIN_LAB_FAMILY === '6' ? ['-f', 'ipv6'] : [];
  const out = execFileSync('ip', ['netns', 'exec', env.STALEPIN_LAB_NS_LB!, 'conntrack', '-L', ...fam], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .split('\n')
    .filter((l) => /^(udp|tcp)\s/.test(l))
    .map((l) => {
      const w = l.split(/\s+/);
      const srcs = [...l.matchAll(/src=(\S+)/g)].map((m) => m[1]);
      const sport = /sport=(\d+)/.exec(l)![1];
      return { key: `${w[0]} ${sport} ${srcs[1]}`, timeout: Number(w[2]) };
    });
}

interface F {
  transport: string;
  client: string;
  target: string;
  kind: string;
  severity: string;
}

describe.skipIf(why !== undefined)(`audit fixes the lab incident end to end (${variant})`, () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'stalepin-audit-lab-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('audit flags the pinned entry, --fix apply deletes exactly the flagged ones, the next call from the fixed port reaches B', async () => {
    const seen: {
      env?: LabEnv;
      audit?: { code: number | null; stdout: string; stderr: string };
      fix?: { code: number | null; stdout: string; stderr: string };
      before?: { key: string; timeout: number }[];
      after?: { key: string; timeout: number }[];
      call?: CallResult;
      fixedAfterCall?: { key: string; timeout: number }[];
    } = {};
    const res = await runLab({
      variant,
      out: path.join(tmp, variant),
      prefix: `sp-${process.pid}-au`,
      after: async (env) => {
        seen.env = env;
        const ns = env.STALEPIN_LAB_NS_LB!;
        seen.audit = await stalepin(['audit', '--netns', ns, '--from-nft', '--format', 'json']);
        seen.before = lbTable(env);
        seen.fix = await stalepin(['audit', '--netns', ns, '--from-nft', '--format', 'json', '--recheck', '0', '--fix', 'apply']);
        seen.after = lbTable(env);
        seen.call = await placeFixedPortCall(env, { name: 'after-fix' });
        seen.fixedAfterCall = lbTable(env).filter((e) => e.key.startsWith(`udp ${env.STALEPIN_LAB_FIXED_PORT} `));
      },
    });
    expect(res.hookFailures).toEqual([]);
    expect(res.truth.problems).toEqual([]);
    const env = seen.env!;
    const pinned = res.truth.pinned[0]!;
    const dead = env.STALEPIN_LAB_BACKEND_A!;
    const live = env.STALEPIN_LAB_BACKEND_B!;

    // 1. The audit flags the pinned entry, critical, and nothing that maps to B.
    expect(seen.audit!.code, seen.audit!.stderr).toBe(1);
    const rep = JSON.parse(seen.audit!.stdout);
    const crit = rep.findings.filter((f: F) => f.severity === 'critical');
    expect(crit.map((f: F) => `${f.kind} ${f.transport} ${f.client} ${f.target}`)).toEqual([`pinned-flow udp ${pinned.client} ${pinned.target}`]);
    for (const f of rep.findings as F[]) expect(f.target).toBe(pinned.target);
    const mustNot = new Set(res.truth.mustNotFlag.map((f) => `${f.transport} ${f.client}`));
    for (const f of rep.findings as F[]) expect(mustNot.has(`${f.transport} ${f.client}`)).toBe(false);

    // 2. --fix apply deletes exactly what it flags: the pinned entry among them.
    const fix = JSON.parse(seen.fix!.stdout);
    const results = fix.audit.fix.results as { result: string; client: string; command: string }[];
    expect(results.find((r) => r.client === pinned.client)?.result).toBe('deleted');
    for (const r of results) expect(['deleted', 'not-found']).toContain(r.result);
    const port = (c: string): string => /:(\d+)$/.exec(c)![1]!;
    const flagged = new Set(results.map((r) => `udp ${port(r.client)} ${dead}`));
    const gone = seen.before!.filter((e) => !seen.after!.some((a) => a.key === e.key));
    // Everything that disappeared was flagged, or was about to expire on its own.
    for (const e of gone) expect(flagged.has(e.key) || e.timeout <= 5, e.key).toBe(true);
    expect(seen.after!.some((e) => e.key.startsWith('udp ') && e.key.endsWith(` ${dead}`))).toBe(false);
    expect(seen.after!.some((e) => e.key === `udp ${env.STALEPIN_LAB_FIXED_PORT} ${dead}`)).toBe(false);
    // The TCP connections (TIME_WAIT, 100 s) and the flows to B are untouched.
    for (const e of seen.before!.filter((x) => x.key.startsWith('tcp '))) expect(seen.after!.map((a) => a.key)).toContain(e.key);

    // 3. The carrier's next call, from the same fixed port, is answered and mapped to B.
    expect(seen.call!.code, seen.call!.log.slice(-2000)).toBe(0);
    expect(seen.call!.log).toMatch(/SIP\/2\.0 200 OK/);
    expect(seen.fixedAfterCall!.map((e) => e.key)).toEqual([`udp ${env.STALEPIN_LAB_FIXED_PORT} ${live}`]);
  }, 180_000);
});
