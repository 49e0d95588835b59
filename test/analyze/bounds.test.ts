/**
 * analyze's bounds under a flood of client tuples: the flow table stops at its bound, the
 * unanswered-invites findings listed are capped (most lost calls first), and every cut is counted.
 */
import { describe, expect, it } from 'vitest';
import { FlowTable, defaultFlowLimits } from '../../src/observe/flows.js';
import { defaultRuleOptions, evaluate } from '../../src/findings/rules.js';
import { stamp } from '../../src/observe/types.js';

function flood(tuples: number, limits = defaultFlowLimits): FlowTable {
  const t = new FlowTable(limits);
  for (let i = 0; i < tuples; i++) {
    const client = `192.0.2.${1 + (i % 250)}:${10000 + Math.floor(i / 250)}`;
    // Every tenth tuple loses three calls, the rest one.
    const lost = i % 10 === 0 ? 3 : 1;
    for (let k = 0; k < lost; k++)
      t.addInvite({ transport: 'udp', client, clientIp: client.split(':')[0]!, dst: '203.0.113.10:5060', callId: `c${i}-${k}`, at: stamp(1_700_000_000 + k, i, 6), target: undefined, how: undefined, answered: false, sent: 7, timedOut: true });
  }
  return t;
}

describe('analyze bounds', () => {
  it('lists at most maxUnansweredFindings tuples, those that lost most first, and counts the rest', () => {
    const t = flood(5000);
    const r = evaluate(t.sorted(), t, { ...defaultRuleOptions, maxUnansweredFindings: 100 });
    const listed = r.findings.filter((f) => f.kind === 'unanswered-invites');
    expect(listed).toHaveLength(100);
    expect(listed.every((f) => f.callIds.length === 3)).toBe(true);
    expect(r.unlistedUnanswered).toEqual({ tuples: 4900, invites: 500 * 3 - 100 * 3 + 4500 });
  });

  it('stops adding flows at maxFlows and counts what it dropped', () => {
    const t = flood(3000, { ...defaultFlowLimits, maxFlows: 1000 });
    expect(t.size).toBe(1000);
    expect(t.droppedFlows).toBeGreaterThan(0);
  });

  it('retires idle flows whose INVITEs were all answered, and keeps the ones that lost calls', () => {
    const t = new FlowTable({ ...defaultFlowLimits, idleS: 10 });
    for (let i = 0; i < 3000; i++) {
      const client = `192.0.2.1:${20000 + i}`;
      t.addInvite({ transport: 'udp', client, clientIp: '192.0.2.1', dst: '203.0.113.10:5060', callId: `a${i}`, at: stamp(1_700_000_000 + i, 0, 6), target: '198.51.100.11:5060', how: 'egress-copy', answered: i !== 5, sent: 1, timedOut: i === 5 });
    }
    // The table sweeps every 1024 INVITEs: the sweep at the 2048th (t = 2047 s) retires the 2037
    // flows last active before t = 2037 s, all but the one that lost a call.
    expect(t.flowsRetired).toBe(2036);
    expect(t.sorted().some((f) => f.client === '192.0.2.1:20005')).toBe(true);
  });
});
