/**
 * analyze on every committed real-kernel lab case, with every mix of evidence an SRE may have:
 * the whole case folder, captures plus conntrack (no inventory), the capture alone, conntrack
 * plus inventory (no capture). Expectations come from each case's truth.json, derived by the
 * lab from what the run really did.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze, type AnalyzeOptions } from '../../src/analysis/analyze.js';
import type { Finding } from '../../src/findings/types.js';
import { repoRoot } from '../helpers/cli.js';

const labDir = join(repoRoot, 'fixtures', 'lab');
const variants = readdirSync(labDir).filter((d) => existsSync(join(labDir, d, 'truth.json')));

interface Truth {
  pinned: { transport: string; client: string; service: string; target: string; lostCallIds: string[] }[];
  staleEntries: { client: string; target: string }[];
  mustNotFlag: { transport: string; client: string; reason: string }[];
  deadBackend: string;
  liveBackend: string;
  service: string;
}

const base: Omit<AnalyzeOptions, 'paths'> = { conntrack: [], vips: [], udpTimeoutS: 120, timerBNs: 32e9, forwardWindowNs: 500e6, callIds: [], sipPorts: [5060, 5080] };

function filesOf(dir: string): { captures: string[]; conntrack: string[]; inventory: string } {
  const names = readdirSync(dir);
  return {
    captures: names.filter((n) => /\.pcap(ng)?$/.test(n)).map((n) => join(dir, n)),
    conntrack: names.filter((n) => /conntrack/.test(n)).map((n) => join(dir, n)),
    inventory: join(dir, 'inventory.json'),
  };
}

/** The balancer's shape as analyze saw it: one service address, the two backends, nothing else. */
function topology(r: { summary: { services: string[] }; targets: { address: string }[] }, truth: Truth): void {
  expect(r.summary.services).toEqual([truth.service]);
  expect(r.targets.map((t) => t.address).sort()).toEqual([truth.deadBackend, truth.liveBackend].sort());
}

function noFalseAlarms(findings: Finding[], truth: Truth): void {
  for (const m of truth.mustNotFlag) {
    const hit = findings.filter((f) => f.client === m.client && f.transport === m.transport);
    expect(hit, `${m.client} must not be flagged: ${m.reason}`).toEqual([]);
  }
}

describe.each(variants)('lab case %s', (variant) => {
  const dir = join(labDir, variant);
  const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as Truth;
  const f = filesOf(dir);

  const expectPinned = (findings: Finding[], sources: string[]): void => {
    const pinned = findings.filter((x) => x.kind === 'pinned-flow');
    expect(pinned.map((p) => [p.transport, p.client, p.target])).toEqual(truth.pinned.map((p) => [p.transport, p.client, p.target]));
    for (const p of truth.pinned) {
      const got = pinned.find((x) => x.client === p.client)!;
      expect(got.severity).toBe('critical');
      expect(got.service).toBe(p.service);
      expect([...got.callIds].sort()).toEqual([...p.lostCallIds].sort());
      for (const s of sources) expect(got.evidence.map((e) => e.source)).toContain(s);
      expect(got.remedy).toContain(`conntrack -D`);
    }
  };

  it('case folder (captures, conntrack, inventory): pinned flow, lost calls, stale entries, nothing else', async () => {
    const r = await analyze({ ...base, paths: [dir] });
    expectPinned(r.findings, ['conntrack', 'inventory']);
    const stale = r.findings.filter((x) => x.kind === 'stale-conntrack-entry');
    expect(stale.map((s) => `${s.client}>${s.target}`).sort()).toEqual(truth.staleEntries.map((s) => `${s.client}>${s.target}`).sort());
    expect(r.findings.filter((x) => x.kind === 'unanswered-invites')).toEqual([]);
    noFalseAlarms(r.findings, truth);
    topology(r, truth);
    const dead = r.targets.find((t) => t.address === truth.deadBackend)!;
    expect(dead.state).toBe('terminated');
    expect(dead.stateSource).toBe('inventory');
    expect(r.inputs.filter((i) => i.kind === 'capture').length).toBe(f.captures.length);
    expect(r.summary.unansweredInvites).toBe(truth.pinned.reduce((n, p) => n + p.lostCallIds.length, 0));
  });

  it('without the inventory: the dead backend is inferred unresponsive', async () => {
    const r = await analyze({ ...base, paths: f.captures, conntrack: f.conntrack });
    expectPinned(r.findings, ['conntrack']);
    expect(r.targets.find((t) => t.address === truth.deadBackend)).toMatchObject({ state: 'unresponsive', stateSource: 'inferred' });
    noFalseAlarms(r.findings, truth);
    topology(r, truth);
  });

  it('with only the capture', async () => {
    const r = await analyze({ ...base, paths: f.captures });
    expectPinned(r.findings, []);
    const pinned = r.findings.find((x) => x.kind === 'pinned-flow')!;
    // Without balancer state, the target comes from a forwarded copy or from the last known mapping.
    expect(pinned.evidence.some((e) => e.source === 'egress-copy' || e.source === 'last-known-mapping')).toBe(true);
    noFalseAlarms(r.findings, truth);
    topology(r, truth);
  });

  it('with only the conntrack files and the inventory: the pinned entry is a stale entry (no calls seen)', async () => {
    const r = await analyze({ ...base, paths: [], conntrack: f.conntrack, nodes: f.inventory });
    const stale = r.findings.filter((x) => x.kind === 'stale-conntrack-entry');
    const want = [...truth.pinned.map((p) => `${p.client}>${p.target}`), ...truth.staleEntries.map((s) => `${s.client}>${s.target}`)].sort();
    expect(stale.map((s) => `${s.client}>${s.target}`).sort()).toEqual(want);
    expect(r.findings.filter((x) => x.kind === 'pinned-flow')).toEqual([]);
    noFalseAlarms(r.findings, truth);
    topology(r, truth);
  });
});
