/**
 * The timeline of an incident, for the HTML and Markdown reports: INVITE transactions binned
 * per backend lane (plus "not forwarded") and per time bin, counted by outcome, and the INVITE
 * transaction of a bounded set of calls kept message by message for the ladder diagram.
 *
 * It is fed from the analyzer's onInvite hook, once per classified INVITE transaction (never
 * per packet), so `analyze` and `watch` build it the same way.
 *
 * Bounds: `maxBins` bins per lane. Bins start 1 ms wide; when the INVITEs seen span more than
 * `maxBins` bins, the width doubles and neighbouring bins merge (exact: bin edges are multiples
 * of the width from a fixed origin, so merging never splits a bin). Transactions are emitted
 * when they end, not in arrival order, so an INVITE earlier than every one before it is fine.
 * At most `maxLanes` backend lanes; INVITEs to further backends go to one "other backends"
 * lane. Calls for the ladder: every unanswered INVITE transaction up to `maxLostCalls`, plus a
 * deterministic reservoir sample of answered ones (first-try and retransmitted kept apart), each
 * with at most `maxMessagesPerCall` messages. Memory is therefore fixed whatever the capture size.
 */
import type { Target, TargetState } from '../findings/types.js';
import { formatIso } from '../core/time.js';
import type { InviteInfo } from './analyzer.js';
import type { Stamp } from './types.js';

export interface TimelineOptions {
  maxBins: number;
  maxLanes: number;
  maxLostCalls: number;
  /** Answered calls sampled (first-try answered). */
  answeredSample: number;
  /** Answered-after-retransmission calls sampled. */
  retransmittedSample: number;
  maxMessagesPerCall: number;
  /** Seed of the sampler (the same input gives the same sample). */
  seed: number;
}

export const defaultTimelineOptions: TimelineOptions = {
  maxBins: 256,
  maxLanes: 48,
  maxLostCalls: 500,
  answeredSample: 30,
  retransmittedSample: 20,
  maxMessagesPerCall: 48,
  seed: 0x5eed,
};

/** Answered at the first copy, answered after retransmissions, or no response at all. */
export type InviteOutcome = 'answered' | 'retransmitted' | 'unanswered';

export interface TimelineLane {
  /** Backend address; null for INVITEs seen arriving with no forwarded copy and no backend response. */
  target: string | null;
  /** "other" when this lane gathers the backends beyond maxLanes. */
  kind: 'backend' | 'not-forwarded' | 'other';
  label: string;
  name?: string;
  state?: TargetState;
  /** When it entered that state (ISO 8601), from the report's targets. */
  since?: string | null;
  invites: number;
  answered: number;
  retransmitted: number;
  unanswered: number;
  /** Non-empty bins: [bin index, answered, retransmitted, unanswered]. */
  bins: [number, number, number, number][];
}

export interface TimelineMessage {
  /** Milliseconds after the call's first INVITE copy. */
  dt: number;
  src: string;
  dst: string;
  /** "INVITE", "ACK", "CANCEL", or a response code with its reason ("180 Ringing"). */
  label: string;
  kind: 'request' | 'response';
  retransmission: boolean;
}

export interface TimelineCall {
  callId: string;
  client: string;
  /** Address the client sent to. */
  service: string;
  target: string | null;
  transport: 'udp' | 'tcp';
  /** First INVITE copy (ISO 8601) and seconds since the Unix epoch (float, for layout only). */
  at: string;
  t: number;
  outcome: InviteOutcome;
  /** Copies the client sent (1 + retransmissions). */
  sent: number;
  /** Final response code, else the first provisional one, else 0. */
  code: number;
  /** Timer B ran out (else the capture ended before it). */
  timedOut: boolean;
  messages: TimelineMessage[];
  messagesOmitted: number;
}

export interface Timeline {
  /** Start of bin 0 in seconds since the Unix epoch (float: layout only), and as ISO 8601. */
  start: number;
  startIso: string | null;
  /** Bin width in seconds (a power of two of milliseconds). */
  binS: number;
  /** Bins in use (indexes 0 .. bins-1). */
  bins: number;
  /** Time of the first and last INVITE (seconds since the epoch, float). */
  first: number | null;
  last: number | null;
  invites: number;
  lanes: TimelineLane[];
  /** Backends folded into the "other backends" lane. */
  lanesMerged: number;
  /** Kept calls, in time order: unanswered first come first kept, then the answered samples. */
  calls: TimelineCall[];
  /** Unanswered calls beyond maxLostCalls (counted, no ladder). */
  lostCallsOmitted: number;
}

const REASONS: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  600: 'Busy Everywhere',
  603: 'Decline',
};

export function responseLabel(code: number): string {
  const r = REASONS[code];
  return r ? `${code} ${r}` : String(code);
}

interface LaneState {
  target: string | null;
  kind: TimelineLane['kind'];
  /** maxBins x 3 counts (answered, retransmitted, unanswered), indexed from `lo`. */
  counts: Float64Array;
  answered: number;
  retransmitted: number;
  unanswered: number;
}

const NOT_FORWARDED = '\0not-forwarded';
const OTHER = '\0other';

export class TimelineObserver {
  private readonly o: TimelineOptions;
  private readonly lanes = new Map<string, LaneState>();
  /** Integer epoch second all bin indexes count from (the first INVITE's second). */
  private ref: number | undefined;
  /** Bin width is 2^k milliseconds. */
  private k = 0;
  /** Index of counts[0]; indexes of the earliest and latest non-empty bins. */
  private lo = 0;
  private usedLo = Infinity;
  private usedHi = -Infinity;
  private firstT = Infinity;
  private lastT = -Infinity;
  private invites = 0;
  private otherTargets = new Set<string>();
  private lost: TimelineCall[] = [];
  private lostOmitted = 0;
  private readonly samples: { answered: TimelineCall[]; retransmitted: TimelineCall[] } = { answered: [], retransmitted: [] };
  private readonly seen = { answered: 0, retransmitted: 0 };
  private rng: number;

  constructor(opts: Partial<TimelineOptions> = {}) {
    this.o = { ...defaultTimelineOptions, ...opts };
    this.rng = this.o.seed >>> 0 || 1;
  }

  /** The analyzer's onInvite hook (bound: pass it as is). */
  readonly onInvite = (client: string, target: string | undefined, answered: boolean, info: InviteInfo): void => {
    const outcome: InviteOutcome = !answered ? 'unanswered' : info.sent > 1 ? 'retransmitted' : 'answered';
    this.add(info.at, target, outcome);
    if (outcome === 'unanswered') {
      if (this.lost.length < this.o.maxLostCalls) this.lost.push(this.call(client, target, outcome, info));
      else this.lostOmitted++;
      return;
    }
    // Reservoir sampling (Algorithm R) with a fixed-seed generator: the same capture gives the same sample.
    const pool = this.samples[outcome];
    const cap = outcome === 'answered' ? this.o.answeredSample : this.o.retransmittedSample;
    const n = ++this.seen[outcome];
    if (pool.length < cap) pool.push(this.call(client, target, outcome, info));
    else {
      const j = this.random() % n;
      if (j < cap) pool[j] = this.call(client, target, outcome, info);
    }
  };

  /** Count one INVITE transaction first seen at `at`, forwarded to `target` (undefined: not forwarded). */
  add(at: Stamp, target: string | undefined, outcome: InviteOutcome): void {
    if (this.ref === undefined) this.ref = at.sec;
    const t = at.sec - this.ref + at.nsec * 1e-9;
    const abs = at.sec + at.nsec * 1e-9;
    if (abs < this.firstT) this.firstT = abs;
    if (abs > this.lastT) this.lastT = abs;
    this.invites++;
    const lane = this.lane(target);
    const idx = this.place(t);
    const slot = (idx - this.lo) * 3 + (outcome === 'answered' ? 0 : outcome === 'retransmitted' ? 1 : 2);
    lane.counts[slot]!++;
    lane[outcome]++;
  }

  /** The timeline so far, with lanes ordered and labelled from the report's targets. */
  build(targets: readonly Target[] = []): Timeline {
    const w = this.widthS();
    const empty = this.usedLo > this.usedHi;
    const base = empty ? 0 : this.usedLo;
    const startAbs = empty ? 0 : this.ref! + base * w;
    const byTarget = new Map(targets.map((t) => [t.address, t]));
    const order: string[] = [];
    // Backends first in the report's order (a terminated one with no INVITE still gets its lane).
    for (const t of targets) if (order.length < this.o.maxLanes) order.push(t.address);
    const rest = [...this.lanes.entries()].filter(([k, l]) => l.kind === 'backend' && !order.includes(k)).sort((a, b) => total(b[1]) - total(a[1]));
    for (const [k] of rest) order.push(k);
    if (this.lanes.has(OTHER)) order.push(OTHER);
    order.push(NOT_FORWARDED);
    const lanes: TimelineLane[] = [];
    for (const key of order) {
      const st = this.lanes.get(key);
      const tg = key === OTHER || key === NOT_FORWARDED ? undefined : byTarget.get(key);
      const kind: TimelineLane['kind'] = key === OTHER ? 'other' : key === NOT_FORWARDED ? 'not-forwarded' : 'backend';
      const bins: TimelineLane['bins'] = [];
      if (st && !empty) {
        for (let i = this.usedLo; i <= this.usedHi; i++) {
          const s = (i - this.lo) * 3;
          const a = st.counts[s]!;
          const r = st.counts[s + 1]!;
          const u = st.counts[s + 2]!;
          if (a || r || u) bins.push([i - base, a, r, u]);
        }
      }
      lanes.push({
        target: kind === 'backend' ? key : null,
        kind,
        label: kind === 'other' ? `other backends (${this.otherTargets.size})` : kind === 'not-forwarded' ? 'not forwarded' : key,
        ...(tg?.name !== undefined ? { name: tg.name } : {}),
        ...(tg ? { state: tg.state, since: tg.since } : {}),
        invites: st ? total(st) : 0,
        answered: st?.answered ?? 0,
        retransmitted: st?.retransmitted ?? 0,
        unanswered: st?.unanswered ?? 0,
        bins,
      });
    }
    const calls = [...this.lost, ...this.samples.retransmitted, ...this.samples.answered].sort((a, b) => a.t - b.t);
    return {
      start: startAbs,
      startIso: empty ? null : isoOfFloat(startAbs),
      binS: w,
      bins: empty ? 0 : this.usedHi - this.usedLo + 1,
      first: empty ? null : this.firstT,
      last: empty ? null : this.lastT,
      invites: this.invites,
      lanes,
      lanesMerged: this.otherTargets.size,
      calls,
      lostCallsOmitted: this.lostOmitted,
    };
  }

  private widthS(): number {
    return 2 ** this.k / 1000;
  }

  private random(): number {
    // xorshift32
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng;
  }

  private lane(target: string | undefined): LaneState {
    let key = target ?? NOT_FORWARDED;
    let lane = this.lanes.get(key);
    if (lane) return lane;
    let kind: LaneState['kind'] = target === undefined ? 'not-forwarded' : 'backend';
    if (kind === 'backend') {
      let backends = 0;
      for (const l of this.lanes.values()) if (l.kind === 'backend') backends++;
      if (backends >= this.o.maxLanes) {
        this.otherTargets.add(target!);
        key = OTHER;
        kind = 'other';
        lane = this.lanes.get(key);
        if (lane) return lane;
      }
    }
    lane = { target: target ?? null, kind, counts: new Float64Array(this.o.maxBins * 3), answered: 0, retransmitted: 0, unanswered: 0 };
    this.lanes.set(key, lane);
    return lane;
  }

  /** Bin index of `t` (seconds after ref), widening or moving the window so that it fits. */
  private place(t: number): number {
    const B = this.o.maxBins;
    for (;;) {
      const idx = Math.floor((t * 1000) / 2 ** this.k);
      const nlo = Math.min(this.usedLo, idx);
      const nhi = Math.max(this.usedHi, idx);
      if (nhi - nlo < B) {
        if (idx < this.lo || idx >= this.lo + B) this.rebase(this.k, nlo);
        this.usedLo = nlo;
        this.usedHi = nhi;
        return idx;
      }
      this.rebase(this.k + 1, Math.floor(this.usedLo / 2));
      this.usedLo = Math.floor(this.usedLo / 2);
      this.usedHi = Math.floor(this.usedHi / 2);
    }
  }

  /** Move counts to width 2^k ms and window start `lo` (both exact: widths only double). */
  private rebase(k: number, lo: number): void {
    const B = this.o.maxBins;
    const f = 2 ** (k - this.k);
    for (const lane of this.lanes.values()) {
      const next = new Float64Array(B * 3);
      const c = lane.counts;
      for (let i = 0; i < B; i++) {
        const s = i * 3;
        if (!c[s] && !c[s + 1] && !c[s + 2]) continue;
        const j = Math.floor((this.lo + i) / f) - lo;
        // Only empty bins can fall outside: the used range always fits the new window.
        if (j < 0 || j >= B) continue;
        next[j * 3] += c[s]!;
        next[j * 3 + 1] += c[s + 1]!;
        next[j * 3 + 2] += c[s + 2]!;
      }
      lane.counts = next;
    }
    this.k = k;
    this.lo = lo;
  }

  private call(client: string, target: string | undefined, outcome: InviteOutcome, info: InviteInfo): TimelineCall {
    const tx = info.tx;
    const t0s = info.at.sec;
    const t0n = info.at.nsec;
    const dt = (sec: number, nsec: number): number => (sec - t0s) * 1000 + (nsec - t0n) / 1e6;
    const msgs: TimelineMessage[] = [];
    for (const r of tx.requests) msgs.push({ dt: dt(r.sec, r.nsec), src: r.src, dst: r.dst, label: 'INVITE', kind: 'request', retransmission: r.retransmission });
    for (const r of [tx.firstProvisional, tx.final]) if (r) msgs.push({ dt: dt(r.sec, r.nsec), src: r.src, dst: r.dst, label: responseLabel(r.code), kind: 'response', retransmission: r.retransmission });
    if (tx.cancel) msgs.push({ dt: dt(tx.cancel.sec, tx.cancel.nsec), src: tx.cancel.src, dst: tx.cancel.dst, label: 'CANCEL', kind: 'request', retransmission: false });
    if (tx.ack) msgs.push({ dt: dt(tx.ack.sec, tx.ack.nsec), src: tx.ack.src, dst: tx.ack.dst, label: 'ACK', kind: 'request', retransmission: false });
    msgs.sort((a, b) => a.dt - b.dt);
    const max = this.o.maxMessagesPerCall;
    return {
      callId: info.callId,
      client,
      service: info.dst,
      target: target ?? null,
      transport: info.transport,
      at: formatIso(info.at.sec, info.at.nsec, info.at.precision),
      t: info.at.sec + info.at.nsec * 1e-9,
      outcome,
      sent: info.sent,
      code: tx.final?.code ?? tx.firstProvisional?.code ?? 0,
      timedOut: info.timedOut,
      messages: msgs.length > max ? msgs.slice(0, max) : msgs,
      messagesOmitted: Math.max(0, msgs.length - max) + Math.max(0, tx.requestCount - tx.requests.length),
    };
  }
}

function total(l: { answered: number; retransmitted: number; unanswered: number }): number {
  return l.answered + l.retransmitted + l.unanswered;
}

/** ISO 8601 of a float epoch time, to the millisecond (bin edges are whole milliseconds). */
export function isoOfFloat(t: number): string {
  const sec = Math.floor(t);
  const ms = Math.round((t - sec) * 1000);
  return ms >= 1000 ? formatIso(sec + 1, 0, 3) : formatIso(sec, ms * 1e6, 3);
}
