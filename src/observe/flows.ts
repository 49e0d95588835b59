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
import { ipOfEndpoint, ipv4EndpointKeyOf } from '../core/address.js';
import { HeardTable, type HeardFields } from './heard.js';
import type { BackendActivity, Flow, ForwardingHow, InviteRecord, Stamp, TargetUse } from './types.js';
import { earlier, later, secondsOf, stamp, tOf } from './types.js';

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
    targets: [],
    notForwarded: 0,
    lost: [],
    lostOmitted: 0,
    lastForwarded: undefined,
    lastAnsweredT: -Infinity,
  };
}

/** Answered INVITEs per client host, backend and transport: the incident signature survives retirement. */
export interface HostUse {
  udp: number;
  tcp: number;
  lastT: number;
}

/** Where each time's precision (0-9 digits) sits in FlowRec.precs. */
const enum P {
  First = 0,
  Last = 4,
  TFirst = 8,
  TLast = 12,
  TAns = 16,
}

/**
 * A flow while it is in the table. A Flow holds four Stamp objects, a Map of targets and a
 * record per target; at 400 new client ports a second and a 152 s idle window that was about
 * 1 KB for each of 55,000 live flows. Here times are kept as their seconds and nanoseconds
 * (small integers, stored in the object itself) and the first target inline, so the usual flow
 * (one backend, every INVITE answered) is this one object. sorted() makes the Flow objects.
 * Comparisons go through the same float seconds as tOf, so the outcome is the Flow's.
 */
class FlowRec implements HeldFlow {
  transport!: 'udp' | 'tcp';
  client!: string;
  dst!: string;
  invites!: number;
  answered!: number;
  unanswered!: number;
  notForwarded!: number;
  lostOmitted!: number;
  /** Distinct Call-IDs counted (up to maxCallIdsPerFlow). */
  calls!: number;
  /** The first Call-ID, then the list once there are more. */
  callIds!: string | string[];
  firstSec!: number;
  firstNsec!: number;
  lastSec!: number;
  lastNsec!: number;
  /** The precisions of the five times, four bits each (see P). */
  precs!: number;
  /** Last answered INVITE (lastAnsSec -1: none). */
  lastAnsSec!: number;
  lastAnsNsec!: number;
  /** The first target, inline (undefined until one is seen); later targets are in `more`. */
  target!: string | undefined;
  how!: ForwardingHow;
  tInvites!: number;
  tAnswered!: number;
  tUnanswered!: number;
  tFirstSec!: number;
  tFirstNsec!: number;
  tLastSec!: number;
  tLastNsec!: number;
  /** -1: none answered. */
  tAnsSec!: number;
  tAnsNsec!: number;
  more!: TargetUse[] | undefined;
  /**
   * Last INVITE whose target was seen, once there is more than one target. With one it is
   * that target's last INVITE, so nothing is kept for it.
   */
  lastFwd!: { target: string; at: Stamp; t: number } | undefined;
  lost!: InviteRecord[] | undefined;
  /** The table's activity order (oldest first) and the chain of flows sharing a client address. */
  older!: FlowRec | undefined;
  newer!: FlowRec | undefined;
  sameClient!: FlowRec | undefined;

  constructor(transport: 'udp' | 'tcp', client: string, dst: string, at: Stamp, callId: string) {
    this.init(transport, client, dst, at, callId);
  }

  /** Every field, as for a new flow: a retired record is used again (FlowTable.spare). */
  init(transport: 'udp' | 'tcp', client: string, dst: string, at: Stamp, callId: string): this {
    this.transport = transport;
    this.client = client;
    this.dst = dst;
    this.invites = this.answered = this.unanswered = this.notForwarded = this.lostOmitted = this.calls = 0;
    this.callIds = callId;
    this.firstSec = this.lastSec = at.sec;
    this.firstNsec = this.lastNsec = at.nsec;
    this.precs = (at.precision << P.First) | (at.precision << P.Last);
    this.lastAnsSec = -1;
    this.lastAnsNsec = 0;
    this.target = undefined;
    this.how = 'egress-copy';
    this.tInvites = this.tAnswered = this.tUnanswered = 0;
    this.tFirstSec = this.tFirstNsec = 0;
    this.tLastSec = this.tLastNsec = 0;
    this.tAnsSec = -1;
    this.tAnsNsec = 0;
    this.more = undefined;
    this.lastFwd = undefined;
    this.lost = undefined;
    this.older = this.newer = this.sameClient = undefined;
    return this;
  }

  /** Largest INVITE time seen (float seconds as tOf gives them): what idle retirement goes by. */
  activeT(): number {
    return secondsOf(this.lastSec, this.lastNsec);
  }

  lostAny(): boolean {
    return this.lost !== undefined && this.lost.length > 0;
  }

  hasLost(): boolean {
    return this.lost !== undefined || this.lostOmitted > 0 || this.notForwarded > 0;
  }

  /** The precision of one of the times. */
  p(which: P): number {
    return (this.precs >> which) & 15;
  }
  setP(which: P, precision: number): void {
    this.precs = (this.precs & ~(15 << which)) | (precision << which);
  }

  /** The Flow this record stands for (new objects; lost records are shared). */
  toFlow(): Flow {
    const first = stamp(this.firstSec, this.firstNsec, this.p(P.First));
    const f = newFlow({ transport: this.transport, client: this.client, clientIp: ipOfEndpoint(this.client), dst: this.dst, at: first });
    // Equal times share one Stamp (read-only everywhere): a flow with one backend and one call
    // has the same first and last time for itself, its target and its last forwarding.
    const lastP = this.p(P.Last);
    const last = same(first, this.lastSec, this.lastNsec, lastP) ? first : stamp(this.lastSec, this.lastNsec, lastP);
    f.last = last;
    f.invites = this.invites;
    f.answered = this.answered;
    f.unanswered = this.unanswered;
    f.calls = this.calls;
    f.notForwarded = this.notForwarded;
    f.lostOmitted = this.lostOmitted;
    f.lastAnsweredT = this.lastAnsSec < 0 ? -Infinity : secondsOf(this.lastAnsSec, this.lastAnsNsec);
    if (this.lost !== undefined) f.lost = this.lost;
    if (this.target !== undefined) {
      f.targets.push({
        target: this.target,
        how: this.how,
        invites: this.tInvites,
        answered: this.tAnswered,
        unanswered: this.tUnanswered,
        first: shared(first, last, this.tFirstSec, this.tFirstNsec, this.p(P.TFirst)),
        last: shared(first, last, this.tLastSec, this.tLastNsec, this.p(P.TLast)),
        lastAnswered: this.tAnsSec < 0 ? undefined : shared(first, last, this.tAnsSec, this.tAnsNsec, this.p(P.TAns)),
      });
      if (this.more !== undefined) for (const u of this.more) f.targets.push({ ...u });
    }
    if (this.lastFwd !== undefined) f.lastForwarded = { ...this.lastFwd };
    else if (this.target !== undefined) {
      const at = shared(first, last, this.tLastSec, this.tLastNsec, this.p(P.TLast));
      f.lastForwarded = { target: this.target, at, t: tOf(at) };
    }
    return f;
  }
}

const byTime = (a: InviteRecord, b: InviteRecord): number => a.t - b.t;

/** The order of flows in a report: client, transport, destination (a flow's tuple, so total). */
const byTuple = (a: HeldFlow, b: HeldFlow): number =>
  a.client < b.client ? -1 : a.client > b.client ? 1 : a.transport < b.transport ? -1 : a.transport > b.transport ? 1 : a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0;

/**
 * Where the INVITEs of the flows held went: what the rules infer service and backend addresses
 * from (findings/rules.ts evaluate). routesOf() reads it off Flow objects, FlowTable.routes()
 * off the table's records.
 */
export interface FlowRoutes {
  /** Every flow's destination. */
  dsts: Set<string>;
  /** Every address a flow's INVITEs were forwarded to. */
  targets: Set<string>;
  /** Destinations whose INVITEs were seen leaving again towards another address: service addresses. */
  forwarded: Set<string>;
}

function addRoute(routes: FlowRoutes, dst: string, target: string, how: ForwardingHow): void {
  routes.targets.add(target);
  if (how === 'egress-copy' && target !== dst) routes.forwarded.add(dst);
}

export function routesOf(flows: readonly Flow[]): FlowRoutes {
  const routes: FlowRoutes = { dsts: new Set(), targets: new Set(), forwarded: new Set() };
  for (const f of flows) {
    routes.dsts.add(f.dst);
    for (const u of f.targets) addRoute(routes, f.dst, u.target, u.how);
  }
  return routes;
}

/** A flow as the table holds it: what choosing and ordering flows read, and its Flow. */
export interface HeldFlow {
  readonly transport: 'udp' | 'tcp';
  readonly client: string;
  readonly dst: string;
  readonly invites: number;
  readonly unanswered: number;
  /** Its Flow's `lost` is not empty. */
  lostAny(): boolean;
  /** The Flow it stands for, made now (its lost records are the table's). */
  toFlow(): Flow;
}

const same = (s: Stamp, sec: number, nsec: number, p: number): boolean => s.sec === sec && s.nsec === nsec && s.precision === p;

/** A Stamp for (sec, nsec, p): `a` or `b` when one of them is that time, else a new one. */
function shared(a: Stamp, b: Stamp, sec: number, nsec: number, p: number): Stamp {
  return same(a, sec, nsec, p) ? a : same(b, sec, nsec, p) ? b : stamp(sec, nsec, p);
}

/** Spare records kept at most: as many as one sweep (every 1024 INVITEs) can retire. */
const MAX_SPARE = 1024;

export class FlowTable {
  /** Live flows by client address (flows of one client to other addresses or over the other transport are chained). */
  private readonly live = new Map<string, FlowRec>();
  private liveCount = 0;
  /** Live flows in order of last activity: the oldest is retired first. */
  private oldest: FlowRec | undefined = undefined;
  private newest: FlowRec | undefined = undefined;
  /** Flows idle past the window that lost calls: kept for the report. */
  private readonly kept: FlowRec[] = [];
  /**
   * Retired records, used again for new flows: a record outlives many young-generation
   * collections, so a new one per flow was promoted and then died in the old generation (163,000
   * of them, 52 MB, on the 1 GB benchmark capture).
   */
  private readonly spare: FlowRec[] = [];
  readonly backends = new Map<string, BackendActivity>();
  /** INVITE counts per destination address (for backends captured directly). */
  readonly byDst = new Map<string, { invites: number; unanswered: number }>();
  readonly hosts = new Map<string, Map<string, HostUse>>();
  private heardTable: HeardTable;
  private lostTotal = 0;
  private sinceSweep = 0;
  droppedFlows = 0;
  droppedLost = 0;
  flowsRetired = 0;

  constructor(private readonly limits: FlowLimits = defaultFlowLimits) {
    this.heardTable = new HeardTable(limits.maxHeard);
  }

  get size(): number {
    return this.liveCount + this.kept.length;
  }

  backend(address: string): BackendActivity {
    let b = this.backends.get(address);
    if (!b) {
      b = { address, lastHeard: undefined, firstHeard: undefined, messagesSent: 0, icmp: undefined, invites: 0, unanswered: 0 };
      this.backends.set(address, b);
    }
    return b;
  }

  private find(transport: 'udp' | 'tcp', client: string, dst: string): FlowRec | undefined {
    for (let r = this.live.get(client); r !== undefined; r = r.sameClient) if (r.dst === dst && r.transport === transport) return r;
    return undefined;
  }

  /** Put r at the newest end of the activity order. */
  private touch(r: FlowRec): void {
    if (this.newest === r) return;
    this.unlinkOrder(r);
    r.older = this.newest;
    if (this.newest === undefined) this.oldest = r;
    else this.newest.newer = r;
    this.newest = r;
  }

  private unlinkOrder(r: FlowRec): void {
    const o = r.older;
    const n = r.newer;
    if (o !== undefined) o.newer = n;
    else if (this.oldest === r) this.oldest = n;
    if (n !== undefined) n.older = o;
    else if (this.newest === r) this.newest = o;
    r.older = r.newer = undefined;
  }

  addInvite(o: InviteOutcome): void {
    const at = o.at;
    const t = tOf(at);
    let f = this.find(o.transport, o.client, o.dst);
    if (f === undefined) {
      if (this.size >= this.limits.maxFlows) {
        this.droppedFlows++;
        return;
      }
      f = this.spare.pop()?.init(o.transport, o.client, o.dst, at, o.callId) ?? new FlowRec(o.transport, o.client, o.dst, at, o.callId);
      f.sameClient = this.live.get(o.client);
      this.live.set(o.client, f);
      this.liveCount++;
      f.calls = this.limits.maxCallIdsPerFlow > 0 ? 1 : 0;
    } else {
      if (t < secondsOf(f.firstSec, f.firstNsec)) {
        f.firstSec = at.sec;
        f.firstNsec = at.nsec;
        f.setP(P.First, at.precision);
      }
      if (t > secondsOf(f.lastSec, f.lastNsec)) {
        f.lastSec = at.sec;
        f.lastNsec = at.nsec;
        f.setP(P.Last, at.precision);
      }
      this.noteCallId(f, o.callId);
    }
    // The table stays in order of last activity, oldest first.
    this.touch(f);
    f.invites++;
    let d = this.byDst.get(o.dst);
    if (!d) this.byDst.set(o.dst, (d = { invites: 0, unanswered: 0 }));
    d.invites++;
    if (o.answered) {
      f.answered++;
      if (f.lastAnsSec < 0 || t > secondsOf(f.lastAnsSec, f.lastAnsNsec)) {
        f.lastAnsSec = at.sec;
        f.lastAnsNsec = at.nsec;
      }
    } else {
      f.unanswered++;
      d.unanswered++;
    }
    if (o.target !== undefined) {
      this.useTarget(f, o.target, o.how ?? 'egress-copy', at, t, o.answered);
      if (o.answered) this.hostUse(o.clientIp, o.target, o.transport, t);
      const b = this.backend(o.target);
      b.invites++;
      if (!o.answered) b.unanswered++;
    } else if (!o.answered) f.notForwarded++;
    if (!o.answered) {
      if ((f.lost !== undefined && f.lost.length >= this.limits.maxLostPerFlow) || this.lostTotal >= this.limits.maxLostTotal) {
        f.lostOmitted++;
        this.droppedLost++;
      } else {
        const rec: InviteRecord = { callId: o.callId, at, t, target: o.target, how: o.how, sent: o.sent, timedOut: o.timedOut };
        if (f.lost === undefined) f.lost = [rec];
        else f.lost.push(rec);
        this.lostTotal++;
      }
    }
    if (++this.sinceSweep >= 1024) {
      this.sinceSweep = 0;
      this.retireIdle(t);
    }
  }

  /** Count a Call-ID not seen on this flow before (up to the bound). */
  private noteCallId(f: FlowRec, callId: string): void {
    const ids = f.callIds;
    if (typeof ids === 'string') {
      if (ids === callId || this.limits.maxCallIdsPerFlow <= 1) return;
      f.callIds = [ids, callId];
    } else {
      if (ids.length >= this.limits.maxCallIdsPerFlow || ids.includes(callId)) return;
      ids.push(callId);
    }
    f.calls++;
  }

  private useTarget(f: FlowRec, target: string, how: ForwardingHow, at: Stamp, t: number, answered: boolean): void {
    if (f.target === undefined || f.target === target) {
      if (f.target === undefined) {
        f.target = target;
        f.how = how;
        f.tFirstSec = f.tLastSec = at.sec;
        f.tFirstNsec = f.tLastNsec = at.nsec;
        f.setP(P.TFirst, at.precision);
        f.setP(P.TLast, at.precision);
      } else {
        if (t < secondsOf(f.tFirstSec, f.tFirstNsec)) {
          f.tFirstSec = at.sec;
          f.tFirstNsec = at.nsec;
          f.setP(P.TFirst, at.precision);
        }
        if (t > secondsOf(f.tLastSec, f.tLastNsec)) {
          f.tLastSec = at.sec;
          f.tLastNsec = at.nsec;
          f.setP(P.TLast, at.precision);
        }
      }
      f.tInvites++;
      if (f.lastFwd !== undefined && t > f.lastFwd.t) f.lastFwd = { target, at, t };
      if (answered) {
        f.tAnswered++;
        if (f.tAnsSec < 0 || t > secondsOf(f.tAnsSec, f.tAnsNsec)) {
          f.tAnsSec = at.sec;
          f.tAnsNsec = at.nsec;
          f.setP(P.TAns, at.precision);
        }
      } else f.tUnanswered++;
      return;
    }
    // A second backend for one flow: rare (a failover), so plain records.
    if (f.lastFwd === undefined) {
      const last = stamp(f.tLastSec, f.tLastNsec, f.p(P.TLast));
      f.lastFwd = { target: f.target, at: last, t: tOf(last) };
    }
    if (t > f.lastFwd.t) f.lastFwd = { target, at, t };
    let u = f.more?.find((x) => x.target === target);
    if (u === undefined) {
      u = { target, how, invites: 0, answered: 0, unanswered: 0, first: at, last: at, lastAnswered: undefined };
      f.more = f.more === undefined ? [u] : [...f.more, u];
    }
    u.invites++;
    u.first = earlier(u.first, at);
    u.last = later(u.last, at);
    if (answered) {
      u.answered++;
      u.lastAnswered = later(u.lastAnswered, at);
    } else u.unanswered++;
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
    for (let r = this.oldest; r !== undefined && r.activeT() < limit; r = this.oldest) {
      this.unlinkOrder(r);
      this.unlinkClient(r);
      if (r.hasLost()) this.kept.push(r);
      else {
        this.flowsRetired++;
        if (this.spare.length < MAX_SPARE) this.spare.push(r);
      }
    }
  }

  private unlinkClient(r: FlowRec): void {
    const head = this.live.get(r.client);
    if (head === r) {
      if (r.sameClient === undefined) this.live.delete(r.client);
      else this.live.set(r.client, r.sameClient);
    } else for (let p = head; p !== undefined; p = p.sameClient) if (p.sameClient === r) p.sameClient = r.sameClient;
    r.sameClient = undefined;
    this.liveCount--;
  }

  /**
   * A SIP message sent by `address`: it is alive at that time. `key` is its ipv4EndpointKey
   * when the caller has it (-1: not an IPv4 endpoint), else it is worked out from the text.
   */
  heard(address: string, sec: number, nsec: number, precision: number, key = ipv4EndpointKeyOf(address)): void {
    this.heardTable.heard(address, key, sec, nsec, precision);
  }

  /** The bound on addresses heard from. */
  get maxHeard(): number {
    return this.limits.maxHeard;
  }

  /** Sightings not recorded: new addresses once `maxHeard` were held. */
  get droppedHeard(): number {
    return this.heardTable.dropped;
  }

  /**
   * Take the table a split run's reading thread kept (sip/handoff.ts) in place of this one,
   * which heard nothing: it heard every message this table would have, in the same order.
   */
  adoptHeard(f: HeardFields): void {
    this.heardTable = HeardTable.fromFields(f, this.limits.maxHeard);
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
    const h = this.heardTable;
    const i = h.find(address);
    if (!b && i < 0) return undefined;
    const out: BackendActivity = b ? { ...b } : { address, lastHeard: undefined, firstHeard: undefined, messagesSent: 0, icmp: undefined, invites: 0, unanswered: 0 };
    if (i >= 0) {
      out.lastHeard = stamp(h.lastSec[i]!, h.lastNsec[i]!, h.precision[i]!);
      out.firstHeard = stamp(h.firstSec[i]!, h.firstNsec[i]!, h.precision[i]!);
      out.messagesSent = h.count[i]!;
    }
    return out;
  }

  /**
   * Every flow still held, as Flow objects made now, in the order of held(). With `release`
   * the table lets go of its flows afterwards (see release()).
   */
  sorted(release = false): Flow[] {
    const held = this.held();
    const out = new Array<Flow>(held.length);
    for (let i = 0; i < held.length; i++) out[i] = held[i]!.toFlow();
    if (release) this.release();
    return out;
  }

  /**
   * Every flow still held, as the table holds it, sorted for stable output (client, transport,
   * destination), lost lists in time order: `analyze` chooses from these which flows to make
   * Flow objects for (on the 1 GB benchmark capture it lists 20,000 of the 55,000 held; Flow
   * objects for all of them, and the full collection they brought on, cost it 80-140 ms).
   */
  held(): HeldFlow[] {
    const out: FlowRec[] = [...this.kept];
    for (let r = this.oldest; r !== undefined; r = r.newer) out.push(r);
    // Most flows lost nothing: a sort call each (this runs once, mostly before the JIT has it)
    // cost up to 50 ms on the 1 GB benchmark capture.
    for (const r of out) if (r.lost !== undefined && r.lost.length > 1) r.lost.sort(byTime);
    return out.sort(byTuple);
  }

  /** What routesOf() says of the Flows of held(), read off the records. */
  routes(): FlowRoutes {
    const routes: FlowRoutes = { dsts: new Set(), targets: new Set(), forwarded: new Set() };
    const add = (r: FlowRec): void => {
      routes.dsts.add(r.dst);
      if (r.target === undefined) return;
      addRoute(routes, r.dst, r.target, r.how);
      if (r.more !== undefined) for (const u of r.more) addRoute(routes, r.dst, u.target, u.how);
    };
    for (const r of this.kept) add(r);
    for (let r = this.oldest; r !== undefined; r = r.newer) add(r);
    return routes;
  }

  /**
   * Let go of every flow held (the end of a run): the counters, backends, hosts and addresses
   * heard from stay.
   */
  release(): void {
    for (let r = this.oldest; r !== undefined; ) {
      const next = r.newer;
      r.older = r.newer = r.sameClient = undefined;
      r = next;
    }
    this.oldest = this.newest = undefined;
    this.kept.length = 0;
    this.spare.length = 0;
    this.live.clear();
    this.liveCount = 0;
  }
}
