/**
 * The flow table against a plain model of what it must compute: Flow objects with Stamps and a
 * Map of targets, updated INVITE by INVITE the obvious way. The table keeps compact records and
 * makes Flows only when asked; on random INVITE sequences (ties in time, several targets per
 * flow, unanswered and unforwarded INVITEs, idle retirement) both must report the same flows.
 */
import { describe, expect, it } from 'vitest';
import { FlowTable, defaultFlowLimits, newFlow, routesOf, type FlowLimits, type InviteOutcome } from '../../src/observe/flows.js';
import { defaultRuleOptions, evaluate } from '../../src/findings/rules.js';
import { listedFlows } from '../../src/analysis/analyze.js';
import { earlier, later, stamp, tOf, type Flow, type InviteRecord } from '../../src/observe/types.js';

class Model {
  live = new Map<string, { flow: Flow; lastT: number; ids: string[] }>();
  kept: Flow[] = [];
  retired = 0;
  n = 0;
  constructor(private readonly limits: FlowLimits) {}
  add(o: InviteOutcome): void {
    const key = `${o.transport}|${o.client}|${o.dst}`;
    const t = tOf(o.at);
    let s = this.live.get(key);
    if (s) {
      this.live.delete(key);
      this.live.set(key, s);
    } else {
      s = { flow: newFlow(o), lastT: t, ids: [] };
      this.live.set(key, s);
    }
    const f = s.flow;
    if (t > s.lastT) s.lastT = t;
    f.invites++;
    f.first = earlier(f.first, o.at);
    f.last = later(f.last, o.at);
    if (s.ids.length < this.limits.maxCallIdsPerFlow && !s.ids.includes(o.callId)) {
      s.ids.push(o.callId);
      f.calls = s.ids.length;
    }
    if (o.answered) {
      f.answered++;
      if (t > f.lastAnsweredT) f.lastAnsweredT = t;
    } else f.unanswered++;
    if (o.target !== undefined) {
      let u = f.targets.find((x) => x.target === o.target);
      if (!u) {
        u = { target: o.target, how: o.how ?? 'egress-copy', invites: 0, answered: 0, unanswered: 0, first: o.at, last: o.at, lastAnswered: undefined };
        f.targets.push(u);
      }
      u.invites++;
      u.first = earlier(u.first, o.at);
      u.last = later(u.last, o.at);
      if (o.answered) {
        u.answered++;
        u.lastAnswered = later(u.lastAnswered, o.at);
      } else u.unanswered++;
      if (!f.lastForwarded || t > f.lastForwarded.t) f.lastForwarded = { target: o.target, at: o.at, t };
    } else if (!o.answered) f.notForwarded++;
    if (!o.answered) {
      const rec: InviteRecord = { callId: o.callId, at: o.at, t, target: o.target, how: o.how, sent: o.sent, timedOut: o.timedOut };
      f.lost.push(rec);
    }
    if (++this.n >= 1024) {
      this.n = 0;
      const limit = t - this.limits.idleS;
      for (const [k, v] of this.live) {
        if (v.lastT >= limit) break;
        this.live.delete(k);
        if (v.flow.lost.length || v.flow.notForwarded) this.kept.push(v.flow);
        else this.retired++;
      }
    }
  }
  sorted(): Flow[] {
    const out = [...this.kept, ...[...this.live.values()].map((s) => s.flow)];
    for (const f of out) f.lost.sort((a, b) => a.t - b.t);
    return out.sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : a.transport < b.transport ? -1 : a.transport > b.transport ? 1 : a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0));
  }
}

/** Deterministic pseudo-random numbers (a test that fails can be replayed). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const plain = (flows: Flow[]): unknown => flows.map((f) => ({ ...f, targets: [...f.targets], lastForwarded: f.lastForwarded && { ...f.lastForwarded } }));

describe('flow table', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`matches the plain model on random INVITEs (seed ${seed})`, () => {
      const r = rng(seed);
      const limits = { ...defaultFlowLimits, idleS: 30, maxCallIdsPerFlow: 3 };
      const table = new FlowTable(limits);
      const model = new Model(limits);
      const targets = ['198.51.100.11:5060', '198.51.100.12:5060', '198.51.100.13:5060'];
      let sec = 1_700_000_000;
      let nsec = 0;
      let prev: InviteOutcome | undefined;
      for (let i = 0; i < 6000; i++) {
        // Times mostly move forward, sometimes repeat exactly or step back a little (outcomes
        // arrive when their transaction ends, not when the INVITE was sent).
        const step = r();
        if (step < 0.1) nsec = Math.max(0, nsec - 1000);
        else if (step > 0.2) {
          nsec += Math.floor(r() * 40_000_000);
          if (nsec >= 1e9) {
            sec++;
            nsec -= 1e9;
          }
        }
        // A tie in time is most telling on one flow: then the INVITE reuses the last one's tuple.
        const tie = step >= 0.1 && step <= 0.2 && prev !== undefined;
        const client = tie ? prev!.client : `192.0.2.${1 + Math.floor(r() * 5)}:${5060 + Math.floor(r() * 40)}`;
        const pick = r();
        const target = pick < 0.15 ? undefined : targets[pick < 0.8 ? (i >> 9) % 3 : Math.floor(r() * 3)];
        const o: InviteOutcome = {
          transport: tie ? prev!.transport : r() < 0.9 ? 'udp' : 'tcp',
          client,
          clientIp: client.split(':')[0]!,
          dst: tie ? prev!.dst : r() < 0.95 ? '203.0.113.10:5060' : '198.51.100.12:5060',
          callId: `c${Math.floor(r() * 8)}`,
          at: stamp(sec, nsec, r() < 0.5 ? 6 : 9),
          target,
          how: target === undefined ? undefined : r() < 0.9 ? 'egress-copy' : 'reply-path',
          answered: r() < 0.8,
          sent: 1 + Math.floor(r() * 7),
          timedOut: r() < 0.5,
        };
        table.addInvite(o);
        model.add(o);
        prev = o;
      }
      expect(table.flowsRetired).toBe(model.retired);
      expect(plain(table.sorted())).toEqual(plain(model.sorted()));
      // What analyze reads instead of every Flow: the records in the same order, the routes of
      // all of them, the flows it lists chosen by the records, the same findings.
      const all = model.sorted();
      const held = table.held();
      expect(plain(held.map((h) => h.toFlow()))).toEqual(plain(all));
      expect(held.map((h) => h.lostAny())).toEqual(all.map((f) => f.lost.length > 0));
      expect(table.routes()).toEqual(routesOf(all));
      expect(table.routes().forwarded.size).toBeGreaterThan(0);
      const opts = { ...defaultRuleOptions, end: all.at(-1)!.last };
      const lossy = all.filter((f) => f.lost.length > 0);
      expect(lossy.length).toBeGreaterThan(0);
      expect(lossy.length).toBeLessThan(all.length);
      expect(evaluate(lossy, table, opts, table.routes())).toEqual(evaluate(all, table, opts));
      for (const max of [1, 40, all.length - 1, all.length]) {
        const byLoss = [...all].sort((a, b) => b.unanswered - a.unanswered || b.invites - a.invites).slice(0, max);
        const want = max >= all.length ? all : byLoss.sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
        expect(plain(listedFlows(held, max).map((i) => held[i]!.toFlow()))).toEqual(plain(want));
      }
      // Asking twice changes nothing; releasing gives the same flows and leaves none.
      expect(plain(table.sorted())).toEqual(plain(model.sorted()));
      expect(plain(table.sorted(true))).toEqual(plain(model.sorted()));
      expect(table.size).toBe(0);
      expect(table.sorted()).toEqual([]);
    });
  }

  it('routes(): targets beyond the first of a flow count as they do in its Flow', () => {
    const t = new FlowTable(defaultFlowLimits);
    const o = (target: string, how: 'egress-copy' | 'reply-path', sec: number): InviteOutcome => ({
      transport: 'udp', client: '192.0.2.7:5060', clientIp: '192.0.2.7', dst: '203.0.113.10:5060', callId: `c${sec}`,
      at: stamp(1_700_000_000 + sec, 0, 6), target, how, answered: true, sent: 1, timedOut: false,
    });
    // Seen first on the reply path only, then leaving as an egress copy to a second backend.
    t.addInvite(o('198.51.100.11:5060', 'reply-path', 0));
    t.addInvite(o('198.51.100.12:5060', 'egress-copy', 1));
    const routes = t.routes();
    expect(routes).toEqual(routesOf(t.sorted()));
    expect(routes).toEqual({ dsts: new Set(['203.0.113.10:5060']), targets: new Set(['198.51.100.11:5060', '198.51.100.12:5060']), forwarded: new Set(['203.0.113.10:5060']) });
  });

  it('remembers when each address was heard from, first, last and how often', () => {
    const t = new FlowTable(defaultFlowLimits);
    for (let i = 0; i < 3000; i++) t.heard(`192.0.2.1:${10000 + (i % 1500)}`, 1_700_000_000 + (i % 7), i, 6);
    t.heard('192.0.2.1:10000', 1_600_000_000, 5, 9);
    const a = t.activity('192.0.2.1:10000')!;
    expect(a.messagesSent).toBe(3);
    expect(a.firstHeard).toEqual({ sec: 1_600_000_000, nsec: 5, precision: 9 });
    expect(a.lastHeard).toEqual({ sec: 1_700_000_000 + (1500 % 7), nsec: 1500, precision: 9 });
    expect(t.activity('192.0.2.99:1')).toBeUndefined();
  });
});
