import { describe, expect, it } from 'vitest';
import { TimelineObserver } from '../../src/observe/timeline.js';
import type { InviteInfo } from '../../src/observe/analyzer.js';
import type { SipTransaction } from '../../src/sip/transactions.js';

const T0 = 1_700_000_000;
const at = (t: number) => {
  const sec = Math.floor(t);
  return { sec, nsec: Math.round((t - sec) * 1e9), precision: 9 };
};

/** A minimal INVITE transaction as the tracker emits it: `copies` request copies, an optional response. */
function tx(t: number, copies: number, code: number, callId: string): SipTransaction {
  const requests = Array.from({ length: copies }, (_, i) => ({ ...at(t + (i ? 0.5 * 2 ** (i - 1) : 0)), src: '192.0.2.1:5060', dst: '203.0.113.10:5060', transport: 'udp' as const, ifIndex: 0, retransmission: i > 0 }));
  const final = code ? { ...at(t + 0.05), src: '198.51.100.11:5060', dst: '192.0.2.1:5060', transport: 'udp' as const, ifIndex: 0, retransmission: false, code, inner: false } : undefined;
  return { id: 1, method: 'INVITE', callId, cseq: 1, branch: 'z9hG4bK1', fromTag: 'a', rfc2543: false, orphan: false, requests, requestCount: copies, retransmissions: copies - 1, hops: [], firstProvisional: undefined, final, responseCount: code ? 1 : 0, ack: undefined, cancel: undefined, firstResponseNs: -1, finalResponseNs: -1, state: code ? 'completed' : 'unanswered', evicted: false, callRef: 0 } as SipTransaction;
}

function feed(obs: TimelineObserver, t: number, target: string | undefined, copies: number, code: number, callId = `c${t}`): void {
  const info: InviteInfo = { at: at(t), callId, dst: '203.0.113.10:5060', transport: 'udp', how: target ? 'egress-copy' : undefined, sent: copies, timedOut: !code, tx: tx(t, copies, code, callId) };
  obs.onInvite('192.0.2.1:5060', target, code > 0, info);
}

describe('timeline binning', () => {
  it.each([
    ['one millisecond', 0.001, 100],
    ['ten seconds', 10, 1000],
    ['an hour', 3600, 5000],
    ['three days', 3 * 86400, 5000],
  ])('%s of INVITEs stays within maxBins, keeps every count, and bins are power-of-two milliseconds', (_n, span, count) => {
    const obs = new TimelineObserver({ maxBins: 64 });
    for (let i = 0; i < count; i++) feed(obs, T0 + (span * i) / count, i % 3 ? 'A:5060' : undefined, 1 + (i % 2), i % 5 ? 200 : 0);
    const tl = obs.build();
    expect(tl.bins).toBeLessThanOrEqual(64);
    expect(Math.log2(tl.binS * 1000) % 1).toBe(0);
    expect(tl.bins * tl.binS).toBeGreaterThanOrEqual(span * (1 - 1 / count) - tl.binS);
    let sum = 0;
    for (const l of tl.lanes) {
      let s = 0;
      for (const [i, a, r, u] of l.bins) {
        expect(i).toBeGreaterThanOrEqual(0);
        expect(i).toBeLessThan(tl.bins);
        s += a + r + u;
      }
      expect(s).toBe(l.invites);
      sum += s;
    }
    expect(sum).toBe(count);
    expect(tl.invites).toBe(count);
    // Each INVITE's bin contains its time.
    expect(tl.start).toBeLessThanOrEqual(T0 + 1e-6);
    expect(tl.start + tl.bins * tl.binS).toBeGreaterThan(tl.last!);
  });

  it('out of order (answered emitted before earlier unanswered ones) lands in the right bins', () => {
    const obs = new TimelineObserver({ maxBins: 16 });
    // Transactions end out of order: a late answered one first, then earlier lost ones.
    feed(obs, T0 + 40, 'A', 1, 200);
    feed(obs, T0 + 1, 'A', 5, 0);
    feed(obs, T0 + 8, 'A', 5, 0);
    feed(obs, T0 + 39.9, 'A', 2, 200);
    const tl = obs.build();
    const lane = tl.lanes.find((l) => l.target === 'A')!;
    const when = (outcome: 1 | 2 | 3) => lane.bins.filter((b) => b[outcome] > 0).map((b) => tl.start + b[0] * tl.binS);
    for (const t of when(3)) expect([T0 + 1, T0 + 8].some((x) => x >= t && x < t + tl.binS)).toBe(true);
    expect(when(3).length).toBe(2);
    expect(when(1)[0]! + tl.binS).toBeGreaterThan(T0 + 40);
    expect(lane).toMatchObject({ answered: 1, retransmitted: 1, unanswered: 2, invites: 4 });
  });

  it('lanes: targets in report order, a terminated target without INVITEs gets its lane, extra backends fold into "other", not-forwarded last', () => {
    const obs = new TimelineObserver({ maxLanes: 3 });
    for (const [i, t] of ['B', 'C', 'D', 'E', 'F', undefined].entries()) feed(obs, T0 + i, t, 1, 200);
    const tl = obs.build([
      { address: 'Z', state: 'terminated', stateSource: 'inventory', since: '2023-11-14T22:13:20Z', invites: 0, unanswered: 0, lastHeard: null },
      { address: 'C', state: 'active', stateSource: 'inventory', since: null, name: 'c', invites: 1, unanswered: 0, lastHeard: null },
    ]);
    expect(tl.lanes.map((l) => l.label)).toEqual(['Z', 'C', 'B', 'D', 'other backends (2)', 'not forwarded']);
    expect(tl.lanes[0]).toMatchObject({ state: 'terminated', since: '2023-11-14T22:13:20Z', invites: 0 });
    expect(tl.lanes[1]).toMatchObject({ name: 'c', state: 'active', invites: 1 });
    expect(tl.lanes[4]!.invites).toBe(2);
    expect(tl.lanesMerged).toBe(2);
  });

  it('calls: every lost one up to the cap, a fixed-seed sample of answered ones, ladder messages in time order', () => {
    const mk = () => {
      const obs = new TimelineObserver({ maxLostCalls: 5, answeredSample: 3, retransmittedSample: 2 });
      for (let i = 0; i < 200; i++) feed(obs, T0 + i, 'A', i % 4 === 0 ? 5 : i % 4 === 1 ? 2 : 1, i % 4 === 0 ? 0 : i % 4 === 1 ? 180 : 200, `call-${i}`);
      return obs.build();
    };
    const tl = mk();
    const lost = tl.calls.filter((c) => c.outcome === 'unanswered');
    expect(lost.map((c) => c.callId)).toEqual(['call-0', 'call-4', 'call-8', 'call-12', 'call-16']);
    expect(tl.lostCallsOmitted).toBe(45);
    expect(tl.calls.filter((c) => c.outcome === 'retransmitted').length).toBe(2);
    expect(tl.calls.filter((c) => c.outcome === 'answered').length).toBe(3);
    expect(mk().calls.map((c) => c.callId)).toEqual(tl.calls.map((c) => c.callId));
    // The sample is not just the first ones seen.
    expect(tl.calls.filter((c) => c.outcome === 'answered').some((c) => Number(c.callId.slice(5)) > 20)).toBe(true);
    const c0 = lost[0]!;
    expect(c0.messages.map((m) => [m.label, m.retransmission])).toEqual([['INVITE', false], ['INVITE', true], ['INVITE', true], ['INVITE', true], ['INVITE', true]]);
    expect(c0.messages.map((m) => m.dt)).toEqual([0, 500, 1000, 2000, 4000]);
    const ringing = tl.calls.find((c) => c.outcome === 'retransmitted')!;
    expect(ringing.messages.filter((m) => m.kind === 'response').map((m) => m.label)).toEqual(['180 Ringing']);
    expect(ringing.code).toBe(180);
  });
});
