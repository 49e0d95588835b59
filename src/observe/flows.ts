/**
 * The flow table: INVITE transactions aggregated per flow (transport, client ip:port, the
 * address it sent to). Memory grows with flows and with lost calls, not with packets: answered
 * INVITEs only bump counters, unanswered ones keep a small record (bounded per flow and in
 * total; what is cut is counted and reported).
 */
import type { BackendActivity, Flow, ForwardingHow, InviteRecord, Stamp } from './types.js';
import { earlier, later, tOf } from './types.js';

export interface FlowLimits {
  /** Flows tracked at most; a new flow beyond it is counted, not stored (default 200000). */
  maxFlows: number;
  /** Lost-INVITE records per flow (default 10000). */
  maxLostPerFlow: number;
  /** Lost-INVITE records in total (default 1000000). */
  maxLostTotal: number;
  /** Distinct Call-IDs counted per flow, for the "tuple reused" signature (default 64). */
  maxCallIdsPerFlow: number;
}

export const defaultFlowLimits: FlowLimits = { maxFlows: 200_000, maxLostPerFlow: 10_000, maxLostTotal: 1_000_000, maxCallIdsPerFlow: 64 };

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

export class FlowTable {
  readonly flows = new Map<string, Flow>();
  readonly backends = new Map<string, BackendActivity>();
  private readonly callIds = new Map<Flow, Set<string>>();
  private lostTotal = 0;
  droppedFlows = 0;
  droppedLost = 0;

  constructor(private readonly limits: FlowLimits = defaultFlowLimits) {}

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
    let f = this.flows.get(key);
    if (!f) {
      if (this.flows.size >= this.limits.maxFlows) {
        this.droppedFlows++;
        return;
      }
      f = {
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
      this.flows.set(key, f);
      this.callIds.set(f, new Set());
    }
    const t = tOf(o.at);
    f.invites++;
    f.first = earlier(f.first, o.at);
    f.last = later(f.last, o.at);
    const ids = this.callIds.get(f)!;
    if (ids.size < this.limits.maxCallIdsPerFlow && !ids.has(o.callId)) {
      ids.add(o.callId);
      f.calls = ids.size;
    }
    if (o.answered) {
      f.answered++;
      if (t > f.lastAnsweredT) f.lastAnsweredT = t;
    } else f.unanswered++;
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
  }

  /** A SIP message sent by `address` (any method or response): it is alive at that time. */
  heard(address: string, at: Stamp): void {
    const b = this.backend(address);
    b.messagesSent++;
    b.lastHeard = later(b.lastHeard, at);
    b.firstHeard = earlier(b.firstHeard, at);
  }

  icmpUnreachable(about: string, from: string, type: number, code: number, at: Stamp): void {
    const b = this.backend(about);
    if (!b.icmp) b.icmp = { first: at, count: 0, code, type, from };
    else if (tOf(at) < tOf(b.icmp.first)) b.icmp.first = at;
    b.icmp.count++;
  }

  /** Flows sorted for stable output, their lost lists in time order. */
  sorted(): Flow[] {
    const out = [...this.flows.values()];
    for (const f of out) f.lost.sort((a, b) => a.t - b.t);
    return out.sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : a.transport < b.transport ? -1 : a.dst < b.dst ? -1 : 1));
  }
}
