/**
 * A fresh lab run on the real kernel (root, ip netns, nftables, conntrack, sipp, tcpdump), in a
 * temporary folder, checked with the same structural checks as the committed cases. Skips with
 * the reason printed when the machine cannot run it. Set STALEPIN_LAB_VARIANT to pick another
 * variant (default killed).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCase } from './check.js';
import { type LabEnv, labUnavailable, runLab } from './run.js';
import { type Variant, VARIANT_SPECS, VARIANTS } from './topology.js';

const variant = (process.env.STALEPIN_LAB_VARIANT ?? 'killed') as Variant;
const why = VARIANTS.includes(variant) ? labUnavailable([VARIANT_SPECS[variant].capture]) : `unknown variant ${variant}`;
if (why) console.log(`lab live test skipped: ${why}`);

describe.skipIf(why !== undefined)(`live lab (${variant})`, () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'stalepin-lab-live-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const prefix = `sp-${process.pid}-t`;

  it(
    'reproduces the incident, records a consistent case, runs the hooks and removes its namespaces',
    async () => {
      const seen: Record<string, LabEnv> = {};
      const lbEntries: Record<string, string> = {};
      const hook = (env: LabEnv): void => {
        seen[env.STALEPIN_LAB_PHASE!] = env;
        // The namespaces exist while hooks run: read the LB's table the way `audit --netns` will.
        lbEntries[env.STALEPIN_LAB_PHASE!] = execFileSync('ip', ['netns', 'exec', env.STALEPIN_LAB_NS_LB!, 'conntrack', '-L', '-p', 'udp', '--orig-port-src', env.STALEPIN_LAB_FIXED_PORT!, ...(env.STALEPIN_LAB_FAMILY === '6' ? ['-f', 'ipv6'] : [])], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
      };
      const t0 = Date.now();
      const res = await runLab({ variant, out: path.join(tmp, variant), prefix, before: hook, after: hook });
      expect((Date.now() - t0) / 1000).toBeLessThan(90);

      expect(res.truth.problems).toEqual([]);
      expect(res.truth.pinned).toHaveLength(1);
      expect(res.truth.lostCallIds).toHaveLength(2);
      expect(await checkCase(res.out)).toEqual([]);

      expect(Object.keys(seen).sort()).toEqual(['after', 'before']);
      expect(seen.after!.STALEPIN_LAB_DEAD_BACKEND).toBe(seen.after!.STALEPIN_LAB_BACKEND_A);
      expect(seen.after!.STALEPIN_LAB_FAILOVER_AT).toBe(res.truth.failoverAt);
      // Before and after the failover the fixed-port entry maps to A: that is the incident.
      for (const phase of ['before', 'after']) expect(lbEntries[phase]).toContain(`src=${seen.after!.STALEPIN_LAB_BACKEND_A} `);

      const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      expect(left).not.toContain(prefix);
    },
    120_000,
  );
});
