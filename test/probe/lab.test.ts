/**
 * The probe in the real-kernel lab (network namespaces, nftables DNAT, conntrack, sipp). The
 * probe runs from the client namespace against the service address for the whole lab run:
 * before the failover every round is ok and its fixed port gets a conntrack entry to A; after
 * the failover that entry still points at the dead A, so rounds are pinned (the fresh port
 * reaches B) within two intervals; `stalepin audit --netns LB --from-nft --fix apply` deletes
 * the stale entries and rounds are ok again. Skips with the reason when the lab cannot run.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProbeEvent } from '../../src/probe/probe.js';
import { repoRoot } from '../helpers/cli.js';
import { type LabEnv, labUnavailable, runLab } from '../lab/run.js';

const bin = path.join(repoRoot, 'bin', 'stalepin');
const built = existsSync(path.join(repoRoot, 'dist', 'cli', 'index.js'));
const why = labUnavailable(['any']) ?? (built ? undefined : 'dist/ not built (npm run build)');
if (why) console.log(`probe lab test skipped: ${why}`);

const INTERVAL_MS = 1000;
const FIXED_PORT = 5071; // the lab's own carrier uses 5080
const TIMEOUT = '500ms';

interface Seen {
  event: ProbeEvent;
  /** Round start in ms since the epoch. */
  at: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function conntrackFor(env: LabEnv, port: number): string {
  return execFileSync('ip', ['netns', 'exec', env.STALEPIN_LAB_NS_LB!, 'conntrack', '-L', '-p', 'udp', '--orig-port-src', String(port)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

describe.skipIf(why !== undefined)('probe in the live lab (killed)', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'stalepin-probe-lab-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it(
    'ok before the failover, pinned within two intervals after it, ok again after audit --fix apply',
    async () => {
      const seen: Seen[] = [];
      let stderr = '';
      let child: ChildProcess | undefined;
      let exit: Promise<number | null> | undefined;
      const record: Record<string, unknown> = {};

      const waitRounds = async (pred: (s: Seen[]) => boolean, ms: number, what: string): Promise<void> => {
        const deadline = Date.now() + ms;
        while (!pred(seen)) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; rounds: ${seen.map((s) => s.event.outcome).join(',')}; stderr: ${stderr}`);
          await sleep(50);
        }
      };

      const before = async (env: LabEnv): Promise<void> => {
        child = spawn(
          'ip',
          ['netns', 'exec', env.STALEPIN_LAB_NS_CLIENT!, process.execPath, bin, 'probe', env.STALEPIN_LAB_SERVICE!, '--fixed-port', String(FIXED_PORT), '--interval', `${INTERVAL_MS}ms`, '--timeout', TIMEOUT, '--format', 'ndjson'],
          { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        exit = new Promise((resolve) => child!.on('exit', (c) => resolve(c)));
        let buf = '';
        child.stdout!.on('data', (d: Buffer) => {
          buf += d.toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const e = JSON.parse(buf.slice(0, nl)) as ProbeEvent;
            buf = buf.slice(nl + 1);
            seen.push({ event: e, at: Date.parse(e.at) });
          }
        });
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        await waitRounds((s) => s.length >= 3, 10_000, 'three rounds before the failover');
        record.beforeRounds = seen.length;
        record.beforeEntry = conntrackFor(env, FIXED_PORT);
      };

      const after = async (env: LabEnv): Promise<void> => {
        const failoverAt = Date.parse(env.STALEPIN_LAB_FAILOVER_AT!);
        record.failoverAt = failoverAt;
        // The probe kept running through the lab's after-failover calls: at least two more
        // rounds after the failover must be pinned by now (or soon).
        await waitRounds((s) => s.filter((x) => x.at > failoverAt && x.event.outcome === 'pinned').length >= 2, 10_000, 'pinned rounds');
        record.afterEntry = conntrackFor(env, FIXED_PORT);
        const audit = spawnSync(process.execPath, [bin, 'audit', '--netns', env.STALEPIN_LAB_NS_LB!, '--from-nft', '--fix', 'apply', '--recheck', '0'], {
          cwd: repoRoot,
          encoding: 'utf8',
        });
        record.fixedAt = Date.now();
        record.audit = { code: audit.status, stdout: audit.stdout, stderr: audit.stderr };
        record.afterFixEntry = conntrackFor(env, FIXED_PORT);
        await waitRounds((s) => s.filter((x) => x.at > (record.fixedAt as number)).length >= 3, 10_000, 'three rounds after the fix');
        child!.kill('SIGTERM');
        record.exitCode = await exit;
      };

      try {
        const res = await runLab({ variant: 'killed', out: path.join(tmp, 'case'), prefix: `sp-${process.pid}-p`, before, after });
        expect(res.hookFailures, JSON.stringify({ stderr, record, rounds: seen.map((x) => [x.event.round, x.event.outcome, x.at]) })).toEqual([]);
      } finally {
        if (child && child.exitCode === null) child.kill('SIGKILL');
      }

      const A = '198.51.100.11';
      const B = '198.51.100.21';
      const failoverAt = record.failoverAt as number;
      const fixedAt = record.fixedAt as number;
      const phase = (s: Seen): string => (s.at < failoverAt ? 'before' : s.at < fixedAt ? 'after' : 'fixed');
      const outcomes = (p: string): string[] => seen.filter((s) => phase(s) === p).map((s) => s.event.outcome);
      const dump = JSON.stringify({ seen: seen.map((s) => [phase(s), s.event.round, s.event.outcome, s.at - failoverAt]), record }, null, 1);

      // Same fixed port all run long, the one that had the entry to A.
      expect(new Set(seen.map((s) => s.event.fixedPort)), dump).toEqual(new Set([FIXED_PORT]));
      expect(record.beforeEntry, dump).toContain(`src=${A} `);
      expect(record.afterEntry, dump).toContain(`src=${A} `);

      // Before the failover: every round ok.
      expect(outcomes('before').length, dump).toBeGreaterThanOrEqual(3);
      expect(outcomes('before').every((o) => o === 'ok'), dump).toBe(true);

      // After it: pinned within two intervals, and every round from then until the fix.
      const afterRounds = seen.filter((s) => phase(s) === 'after');
      const firstPinned = afterRounds.find((s) => s.event.outcome === 'pinned');
      expect(firstPinned, dump).toBeDefined();
      expect(firstPinned!.at - failoverAt, dump).toBeLessThanOrEqual(2 * INTERVAL_MS);
      const settled = afterRounds.filter((s) => s.at >= failoverAt + 2 * INTERVAL_MS && s.at + 600 < fixedAt);
      expect(settled.length, dump).toBeGreaterThanOrEqual(2);
      expect(settled.every((s) => s.event.outcome === 'pinned'), dump).toBe(true);
      // The fresh port went to the live backend (through the VIP), the fixed one timed out.
      for (const s of settled) {
        expect(s.event.fresh.code, dump).toBe(200);
        expect(s.event.fixed.error, dump).toBe('timeout');
      }

      // The audit deleted the stale entry; the probe's next packet made a new one, to B.
      const audit = record.audit as { code: number; stdout: string; stderr: string };
      expect([0, 1], dump).toContain(audit.code);
      expect(record.afterFixEntry as string, dump).not.toContain(`src=${A} `);
      const fixedRounds = outcomes('fixed');
      expect(fixedRounds.length, dump).toBeGreaterThanOrEqual(3);
      expect(fixedRounds.every((o) => o === 'ok'), dump).toBe(true);
      expect(seen.filter((s) => phase(s) === 'fixed').every((s) => s.event.fixed.responder === '203.0.113.10:5060'), dump).toBe(true);
      expect(conntrackAfterFixMentions(record.afterFixEntry as string, B) || (record.afterFixEntry as string) === '', dump).toBe(true);

      console.log(
        `probe lab: rounds before/after/fixed ${outcomes('before').length}/${outcomes('after').length}/${fixedRounds.length}; ` +
          `first pinned round ${firstPinned!.at - failoverAt} ms after the failover; audit exit ${audit.code}; ` +
          `fixed-side rtt before ${seen[0]!.event.fixed.rttMs} ms`,
      );

      // Stopped by SIGTERM: exit 0.
      expect(record.exitCode, dump).toBe(0);
      const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      expect(left).not.toContain(`sp-${process.pid}-p`);
    },
    180_000,
  );
});

function conntrackAfterFixMentions(text: string, ip: string): boolean {
  return text.includes(`src=${ip} `);
}
