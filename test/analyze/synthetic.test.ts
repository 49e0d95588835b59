/**
 * analyze against the committed generator of large LB captures with a failover: many clients,
 * a share of them on fixed ports, three backends, one terminated. The report must equal the
 * generator's ground truth exactly.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../../src/analysis/analyze.js';
import { generateLbCapture, inventoryFor, type LbSynthOptions } from '../gen/lbsynth.js';

const base = { conntrack: [], vips: [], udpTimeoutS: 120, timerBNs: 32e9, forwardWindowNs: 500e6, callIds: [], sipPorts: [5060, 5080] };

const cases: [string, Partial<LbSynthOptions>][] = [
  // ~15 s of calls at 50 calls/s; the failover comes a third of the way in.
  ['default mix', { targetBytes: 6 * 1024 * 1024, seed: 1, failoverAt: 5 }],
  ['many fixed-port carriers', { targetBytes: 6 * 1024 * 1024, seed: 7, fixedShare: 0.4, clients: 50, failoverAt: 5 }],
  ['four backends', { targetBytes: 6 * 1024 * 1024, seed: 3, backends: 4, failoverAt: 8 }],
];

describe.each(cases)('synthetic LB capture: %s', (_name, opts) => {
  const dir = mkdtempSync(join(tmpdir(), 'stalepin-synth-'));
  const pcap = join(dir, 'lb.pcap');
  const truth = generateLbCapture(pcap, opts);
  const inv = join(dir, 'inventory.json');
  writeFileSync(inv, JSON.stringify(inventoryFor(truth)));

  const check = (findings: Awaited<ReturnType<typeof analyze>>['findings']): void => {
    const pinned = findings.filter((f) => f.kind === 'pinned-flow');
    expect(pinned.map((p) => ({ client: p.client, service: p.service, target: p.target, callIds: [...p.callIds].sort() }))).toEqual(
      truth.pinned.map((p) => ({ client: p.client, service: p.service, target: p.target, callIds: [...p.callIds].sort() })),
    );
    const flagged = new Set(findings.filter((f) => f.kind !== 'target-unresponsive').map((f) => f.client));
    for (const c of truth.notPinned) expect(flagged.has(c), `${c} must not be flagged`).toBe(false);
  };

  it('has pinned flows to find', () => {
    expect(truth.pinned.length).toBeGreaterThan(0);
  });

  it('with the inventory', async () => {
    const r = await analyze({ ...base, paths: [pcap], nodes: inv });
    check(r.findings);
    expect(r.summary.inviteTransactions).toBe(truth.inviteTransactions);
    expect(r.summary.unansweredInvites).toBe(truth.unansweredInvites);
    expect(r.summary.services).toEqual([truth.vip]);
  });

  it('inferred from the capture alone', async () => {
    const r = await analyze({ ...base, paths: [pcap] });
    check(r.findings);
    expect(r.targets.find((t) => t.address === truth.deadBackend)?.state).toBe('unresponsive');
    for (const b of truth.liveBackends) expect(r.targets.find((t) => t.address === b)?.state).toBe('active');
  });
});
