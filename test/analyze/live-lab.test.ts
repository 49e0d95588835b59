/**
 * A fresh real-kernel lab (link-down: no forwarded copy at all, so the evidence is the tracker's
 * entry and the silence), analyzed as an SRE would: the case folder as a whole, then the capture
 * alone. Skips with the reason printed when the machine cannot run the lab (CI can).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analysis/analyze.js';
import { labUnavailable, runLab } from '../lab/run.js';
import { VARIANT_SPECS } from '../lab/topology.js';

const variant = 'link-down';
const why = labUnavailable([VARIANT_SPECS[variant].capture]);
if (why) console.log(`analyze live lab test skipped: ${why}`);

const base = { conntrack: [], vips: [], udpTimeoutS: 120, timerBNs: 32e9, forwardWindowNs: 500e6, callIds: [], sipPorts: [5060, 5080] };

describe.skipIf(why !== undefined)('analyze a fresh lab run', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'stalepin-analyze-live-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it(
    `${variant}: finds exactly the pinned tuple and its lost calls, and flags nothing that must not be`,
    async () => {
      const res = await runLab({ variant, out: path.join(tmp, variant), prefix: `sp-${process.pid}-a` });
      const truth = res.truth;
      expect(truth.pinned.length).toBeGreaterThan(0);
      const r = await analyze({ ...base, paths: [res.out] });
      const pinned = r.findings.filter((f) => f.kind === 'pinned-flow');
      expect(pinned.map((p) => [p.client, p.target])).toEqual(truth.pinned.map((p) => [p.client, p.target]));
      expect([...pinned[0]!.callIds].sort()).toEqual([...truth.pinned[0]!.lostCallIds].sort());
      for (const m of truth.mustNotFlag) expect(r.findings.filter((f) => f.client === m.client && f.transport === m.transport)).toEqual([]);

      const captures = res.files.filter((f) => /\.pcap(ng)?$/.test(f.name)).map((f) => path.join(res.out, f.name));
      const alone = await analyze({ ...base, paths: captures });
      expect(alone.findings.filter((f) => f.kind === 'pinned-flow').map((p) => p.client)).toEqual(truth.pinned.map((p) => p.client));
    },
    150_000,
  );
});
