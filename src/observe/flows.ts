/**
 * The flow table: INVITE transactions aggregated per flow (transport, client ip:port, the
 * address it sent to). Memory grows with live flows and with lost calls, not with packets:
 * answered INVITEs only bump counters, unanswered ones keep a small record.
 *
 * Bounds and eviction (each counted when it bites):
 * - A flow idle for longer than `idleS` of capture time (the tracker's UDP timeout plus timer B)
 *   whose INVITEs were all answered cannot be pinned any more: it is folded into the per-backend
 *   and per-client counters and dropped (`flowsRetired`). Flows with a lost INVITE are kept.
 * - At most `maxFlows` flows; a new flow beyond that is counted in `droppedFlows`, not stored.
 * - Lost-INVITE records: `maxLostPerFlow` per flow, `maxLostTotal` in all (`droppedLost`).
 * - Addresses heard from: `maxHeard` (`droppedHeard`).
 */
import type { BackendActivity, Flow, ForwardingHow, InviteRecord, Stamp } from './types.js';
import { earlier, later, stamp, tOf } from './types.js';

export interface FlowLimits {
  maxFlows: number;
  maxLostPerFlow: number;
  maxLostTotal: number;
  /** Distinct Call-IDs remembered per flow, for the "tuple reused" signature. */
  maxCallIdsPerFlow: number;
  maxHeard: number;
  /** Seconds of capture time after which an all-answered flow is retired. */
  idleS: number;
}

export const defaultFlowLimits: FlowLimits = {
  maxFlows: 200_000,
  maxLostPerFlow: 10_000,
  maxLostTotal: 1_000_000,
  maxCallIdsPerFlow: 64,
  maxHeard: 200_000,
  idleS: 152,
};

export interface InviteOutcome {
  transport: 'udp' | 'tcp';
  client: string;
  clientIp: string;
  dst: string;
  callId: string;
  at: Stamp;
  target: string | undefined;
  how: ForwardingHow | undefined;
  answered: boolean;
  sent: number;
  timedOut: boolean;
}

/** An empty flow for the tuple of an INVITE (its counters are filled by the caller). */
export function newFlow(o: Pick<InviteOutcome, 'transport' | 'client' | 'clientIp' | 'dst' | 'at'>): Flow {
  return {
    transport: o.transport,
    client: o.client,
    clientIp: o.clientIp,
    dst: o.dst,
    invites: 0,
    answered: 0,
    unanswered: 0,
    calls: 0,
    first: o.at,
    last: o.at,
    targets: new Map(),
    notForwarded: 0,
    lost: [],
    lostOmitted: 0,
    lastForwarded: undefined,
    lastAnsweredT: -Infinity,
  };
}

/** When an address last (and first) sent a SIP message, without an object per message. */
interface Heard {
  fs: number;
  fn: number;
  ls: number;
  ln: number;
  p: number;
  n: number;
}

/** Answered INVITEs per client host, backend and transport: the incident signature survives retirement. */
export interface HostUse {
  udp: number;
  tcp: number;
  lastT: number;
}

interface FlowState {
  flow: Flow;
  lastT: number;
  /** Distinct Call-IDs seen (at most maxCallIdsPerFlow; most flows carry one call). */
  callIds: string[];
}

export class FlowTable {
  private readonly live = new Map<string, FlowState>();
  private readonly kept: Flow[] = [];
  readonly backends = new Map<string, BackendActivity>();
  /** INVITE counts per destination address (for backends captured directly). */
  readonly byDst = new Map<string, { invites: number; unanswered: number }>();
  readonly hosts = new Map<string, Map<string, HostUse>>();
  private readonly heardTable = new Map<string, Heard>();
  private lostTotal = 0;
  private sinceSweep = 0;
  droppedFlows = 0;
  droppedLost = 0;
  droppedHeard = 0;
  flowsRetired = 0;

  constructor(private readonly limits: FlowLimits = defaultFlowLimits) {}

  get size(): number {
    return this.live.size + this.kept.length;
  }

  backend(address: string): BackendActivity {
    let b = this.backends.get(address);
    if (!b) {
      b = { address, lastHeard: undefined, firstHeard: undefined, messagesSent: 0, icmp: undefined, invites: 0, unanswered: 0 };
      this.backends.set(address, b);
    }
    return b;
  }

  addInvite(o: InviteOutcome): void {
    const key = `${o.transport}|${o.client}|${o.dst}`;
    const t = tOf(o.at);
    let s = this.live.get(key);
    if (s) {
      // Move to the end: the live table stays in order of last activity, oldest first.
      this.live.delete(key);
      this.live.set(key, s);
    } else {
      if (this.size >= this.limits.maxFlows) {
        this.droppedFlows++;
        return;
      }
      s = { flow: newFlow(o), lastT: t, callIds: [] };
      this.live.set(key, s);
    }
    const f = s.flow;
    if (t > s.lastT) s.lastT = t;
    f.invites++;
    f.first = earlier(f.first, o.at);
    f.last = later(f.last, o.at);
    if (s.callIds.length < this.limits.maxCallIdsPerFlow && !s.callIds.includes(o.callId)) {
      // Exact-size arrays: push would reserve 16 slots for the one Call-ID most flows carry.
      const ids = s.callIds;
      const grown = new Array<string>(ids.length + 1);
      for (let i = 0; i < ids.length; i++) grown[i] = ids[i]!;
      grown[ids.length] = o.callId;
      s.callIds = grown;
      f.calls = grown.length;
    }
    let d = this.byDst.get(o.dst);
    if (!d) this.byDst.set(o.dst, (d = { invites: 0, unanswered: 0 }));
    d.invites++;
    if (o.answered) {
      f.answered++;
      if (t > f.lastAnsweredT) f.lastAnsweredT = t;
    } else {
      f.unanswered++;
      d.unanswered++;
    }
    if (o.target !== undefined) {
      let u = f.targets.get(o.target);
      if (!u) {
        u = { target: o.target, how: o.how ?? 'egress-copy', invites: 0, answered: 0, unanswered: 0, first: o.at, last: o.at, lastAnswered: undefined };
        f.targets.set(o.target, u);
      }
      u.invites++;
      u.first = earlier(u.first, o.at);
      u.last = later(u.last, o.at);
      if (o.answered) {
        u.answered++;
        u.lastAnswered = later(u.lastAnswered, o.at);
        this.hostUse(o.clientIp, o.target, o.transport, t);
      } else u.unanswered++;
      if (!f.lastForwarded || t > f.lastForwarded.t) f.lastForwarded = { target: o.target, at: o.at, t };
      const b = this.backend(o.target);
      b.invites++;
      if (!o.answered) b.unanswered++;
    } else if (!o.answered) f.notForwarded++;
    if (!o.answered) {
      if (f.lost.length >= this.limits.maxLostPerFlow || this.lostTotal >= this.limits.maxLostTotal) {
        f.lostOmitted++;
        this.droppedLost++;
      } else {
        const rec: InviteRecord = { callId: o.callId, at: o.at, t, target: o.target, how: o.how, sent: o.sent, timedOut: o.timedOut };
        f.lost.push(rec);
        this.lostTotal++;
      }
    }
    if (++this.sinceSweep >= 1024) {
      this.sinceSweep = 0;
      this.retireIdle(t);
    }
  }

  private hostUse(ip: string, target: string, transport: 'udp' | 'tcp', t: number): void {
    let m = this.hosts.get(ip);
    if (!m) this.hosts.set(ip, (m = new Map()));
    let u = m.get(target);
    if (!u) m.set(target, (u = { udp: 0, tcp: 0, lastT: t }));
    u[transport]++;
    if (t > u.lastT) u.lastT = t;
  }

  /** Retire flows idle since before `now - idleS`; keep the ones that lost calls. */
  private retireIdle(now: number): void {
    const limit = now - this.limits.idleS;
    for (const [key, s] of this.live) {
      if (s.lastT >= limit) break; // in order of last activity: the rest are newer
      this.live.delete(key);
      if (s.flow.lost.length || s.flow.lostOmitted || s.flow.notForwarded) this.kept.push(s.flow);
      else this.flowsRetired++;
    }
  }

  /** A SIP message sent by `address`: it is alive at that time. */
  heard(address: string, sec: number, nsec: number, precision: number): void {
    let h = this.heardTable.get(address);
    if (!h) {
      if (this.heardTable.size >= this.limits.maxHeard) {
        this.droppedHeard++;
        return;
      }
      this.heardTable.set(address, { fs: sec, fn: nsec, ls: sec, ln: nsec, p: precision, n: 1 });
      return;
    }
    h.n++;
    if (sec > h.ls || (sec === h.ls && nsec > h.ln)) {
      h.ls = sec;
      h.ln = nsec;
    } else if (sec < h.fs || (sec === h.fs && nsec < h.fn)) {
      h.fs = sec;
      h.fn = nsec;
    }
    if (precision > h.p) h.p = precision;
  }

  icmpUnreachable(about: string, from: string, type: number, code: number, at: Stamp): void {
    const b = this.backend(about);
    if (!b.icmp) b.icmp = { first: at, count: 0, code, type, from };
    else if (tOf(at) < tOf(b.icmp.first)) b.icmp.first = at;
    b.icmp.count++;
  }

  /** Backend activity with what was heard from it, for the addresses asked about. */
  activity(address: string): BackendActivity | undefined {
    const b = this.backends.get(address);
    const h = this.heardTable.get(address);
    if (!b && !h) return undefined;
    const out: BackendActivity = b ? { ...b } : { address, lastHeard: undefined, firstHeard: undefined, messagesSent: 0, icmp: undefined, invites: 0, unanswered: 0 };
    if (h) {
      out.lastHeard = stamp(h.ls, h.ln, h.p);
      out.firstHeard = stamp(h.fs, h.fn, h.p);
      out.messagesSent = h.n;
    }
    return out;
  }

  /** Every flow still held (live and kept), sorted for stable output, lost lists in time order. */
  sorted(): Flow[] {
    const out = [...this.kept, ...[...this.live.values()].map((s) => s.flow)];
    for (const f of out) f.lost.sort((a, b) => a.t - b.t);
    return out.sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : a.transport < b.transport ? -1 : a.transport > b.transport ? 1 : a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0));
  }
}
