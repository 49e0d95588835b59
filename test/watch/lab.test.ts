/**
 * `stalepin watch` through a real-kernel failover: started in the balancer's namespace before
 * the failover (on its three interfaces, with the live nft ruleset and conntrack events), it
 * must print the pinned tuple's finding within two INVITE retransmissions of the first lost
 * INVITE, and never a finding for a fresh-port or TCP flow. Skips, saying why, when the lab
 * cannot run here (root and the lab's tools; CI has them).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCap } from '../../src/capture/live.js';
import { labUnavailable, runLab } from '../lab/run.js';
import { VARIANT_SPECS } from '../lab/topology.js';

const ROOT = path.resolve(__dirname, '..', '..');
const variant = 'killed';

async function unavailable(): Promise<string | undefined> {
  const lab = labUnavailable([VARIANT_SPECS[variant].capture]);
  if (lab) return lab;
  try {
    await loadCap();
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}
const why = await unavailable();
if (why) console.log(`watch lab test skipped: ${why}`);

interface Line {
  /** When the line reached us (realtime clock, seconds). */
  arrived: number;
  obj: { event: string; at?: string; finding?: { kind: string; client: string; transport: string; target: string | null; callIds: string[] }; report?: { findings: { kind: string; client: string }[] } };
}

describe.skipIf(why !== undefined)('watch through a live lab failover', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'stalepin-watch-lab-'));
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  }, 180_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it(
    `${variant}: the pinned tuple is flagged within two retransmissions; fresh-port and TCP flows never`,
    async () => {
      let child: ChildProcess | undefined;
      const lines: Line[] = [];
      let stderr = '';
      let exit: Promise<number | null> | undefined;
      const res = await runLab({
        variant,
        out: path.join(tmp, variant),
        prefix: `sp-${process.pid}-w`,
        before: async (env) => {
          const ifs = env['STALEPIN_LAB_LB_IFACES']!.split(',').flatMap((i) => ['-i', i]);
          child = spawn(
            'ip',
            ['netns', 'exec', env['STALEPIN_LAB_NS_LB']!, process.execPath, path.join(ROOT, 'bin', 'stalepin'), 'watch', ...ifs, '--format', 'ndjson', '--from-nft', '--conntrack-events', '--stats-interval', '2s'],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          );
          let buf = '';
          child.stdout!.on('data', (d: Buffer) => {
            buf += d.toString();
            let i: number;
            while ((i = buf.indexOf('\n')) >= 0) {
              lines.push({ arrived: Date.now() / 1000, obj: JSON.parse(buf.slice(0, i)) as Line['obj'] });
              buf = buf.slice(i + 1);
            }
          });
          child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
          exit = new Promise((r) => child!.on('close', r));
          for (let i = 0; i < 200 && !stderr.includes('watching'); i++) await new Promise((r) => setTimeout(r, 50));
          if (!stderr.includes('watching')) throw new Error(`watch did not start: ${stderr}`);
        },
        after: async () => {
          await new Promise((r) => setTimeout(r, 1000));
          child?.kill('SIGINT');
          await exit;
        },
      });
      if (child && child.exitCode === null) child.kill('SIGKILL');
      const code = await exit;
      expect(res.hookFailures, stderr).toEqual([]);
      const truth = res.truth;
      expect(truth.problems).toEqual([]);
      const pinned = truth.pinned[0]!;
      const firstLost = Math.min(...truth.calls.filter((c) => truth.lostCallIds.includes(c.callId)).map((c) => Date.parse(c.firstSentAt) / 1000));
      const hit = lines.find((l) => l.obj.event === 'new' && l.obj.finding?.kind === 'pinned-flow' && l.obj.finding.client === pinned.client);
      expect(hit, `${stderr}\n${lines.map((l) => JSON.stringify(l.obj).slice(0, 200)).join('\n')}`).toBeDefined();
      expect(hit!.obj.finding!.target).toBe(pinned.target);
      const latency = hit!.arrived - firstLost;
      console.log(`watch lab: pinned flow ${pinned.client} flagged ${latency.toFixed(3)} s after its first lost INVITE (line time ${(Date.parse(hit!.obj.at!) / 1000 - firstLost).toFixed(3)} s)`);
      expect(latency).toBeLessThan(1.6);
      // Every lost call ends up on it.
      const lastPinned = [...lines].reverse().find((l) => l.obj.finding?.kind === 'pinned-flow' && l.obj.finding.client === pinned.client)!;
      expect([...lastPinned.obj.finding!.callIds].sort()).toEqual([...pinned.lostCallIds].sort());
      for (const l of lines) {
        const f = l.obj.finding;
        if (!f) continue;
        expect(truth.mustNotFlag.some((m) => m.client === f.client && m.transport === f.transport), `${l.obj.event} ${f.kind} ${f.client}`).toBe(false);
      }
      const report = lines[lines.length - 1]!.obj;
      expect(report.event).toBe('report');
      expect(report.report!.findings.some((f) => f.kind === 'pinned-flow' && f.client === pinned.client)).toBe(true);
      expect(code).toBe(1);
      expect(stderr).toMatch(/kernel drops 0\b/);
    },
    180_000,
  );
});
