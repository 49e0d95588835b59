/**
 * The watch engine: `analyze` run incrementally. Packets go into the same LbAnalyzer, conntrack
 * events become the same facts, and the same rules (findings/rules.ts `evaluate`) are asked
 * again whenever something that could change a finding happened: an INVITE retransmitted with
 * no response, a transaction ended by timer B, an ICMP error, a conntrack event, a new read of
 * the live rules. What is new here is only bookkeeping around those calls:
 *
 * - Early findings. The SIP tracker ends an unanswered INVITE transaction at timer B (32 s).
 *   An INVITE still unanswered at its Nth retransmission (default 1, 0.5 s after it was sent)
 *   whose backend is already known dead (the inventory, the live nft active set, or an ICMP
 *   error about it) is added to a copy of its flow as a lost call, so the rules flag the
 *   pinned flow within a second instead of half a minute. Any other unanswered INVITE waits
 *   for timer B, as in analyze.
 * - De-duplication by (kind, transport, client, target): a finding is reported `new` once,
 *   `update` when it lost more calls or its severity or target state changed, `resolved` when
 *   it stops holding: the rules no longer give it (an early INVITE got its answer after all, a
 *   stale entry was destroyed), the flow got an answered INVITE after its last lost one, or its
 *   conntrack entry was destroyed after it.
 * - The live nft ruleset lists the active backends only: a backend a flow of an nft service
 *   was forwarded to (or a conntrack entry points at) that the latest read does not list is
 *   taken as terminated since the last read that listed it.
 *
 * Time is the capture's (the realtime clock live, the file's in tests): nothing here reads a
 * clock, prints or exits.
 */
import type { Anomalies } from '../core/anomalies.js';
import { parseEndpoint } from '../core/address.js';
import type { ConntrackEntry } from '../conntrack/entry.js';
import { toFact } from '../analysis/conntrack-facts.js';
import type { ConntrackFact } from '../findings/facts.js';
import { defaultRuleOptions, evaluate, type RuleResult } from '../findings/rules.js';
import type { Finding } from '../findings/types.js';
import { findNode, isService, merge, nodeEndpoint, type Inventory, type InventoryNode } from '../inventory/model.js';
import { LbAnalyzer } from '../observe/analyzer.js';
import { newFlow, type InviteOutcome } from '../observe/flows.js';
import { isoOf, tOf, type Flow, type InviteRecord, type Stamp } from '../observe/types.js';
import { DecodeStatus, type Packet } from '../decode/types.js';
import type { SipTransaction } from '../sip/transactions.js';

export type WatchEventKind = 'new' | 'update' | 'resolved';

export interface WatchEvent {
  event: WatchEventKind;
  finding: Finding;
  /** When it was noticed (ISO 8601). */
  at: string;
}

export interface WatchEngineOptions {
  anomalies: Anomalies;
  sipPorts: number[];
  timerBNs: number;
  forwardWindowNs: number;
  udpTimeoutS: number;
  /** Normalised service addresses (--vip). */
  vips: string[];
  /** A static inventory (--nodes). */
  inventory?: Inventory;
  /** Retransmissions of an unanswered INVITE to a known-dead backend before it counts as lost (default 1). */
  earlyRetransmissions?: number;
  /** For evidence lines. */
  captureLabel: string;
  /** Latest conntrack facts kept, one per tuple (default 200000). */
  maxFacts?: number;
}

/** An answered INVITE still lingering in the tracker: its live transaction, classified when asked. */
interface Answered {
  tx: SipTransaction;
  at: Stamp;
  t: number;
}

interface Tracked {
  finding: Finding;
  count: number;
  open: boolean;
}

const keyOf = (f: Finding): string => `${f.kind}|${f.transport}|${f.client}|${f.target ?? ''}`;
const lostCount = (f: Finding): number => f.callIds.length + (f.callIdsOmitted ?? 0);
const flowKey = (transport: string, client: string, dst: string): string => `${transport}|${client}|${dst}`;

export class WatchEngine {
  readonly analyzer: LbAnalyzer;
  /** Set when something happened that may change the findings; cleared by evaluate(). */
  dirty = false;
  evaluations = 0;
  /** Unanswered INVITE transactions seen retransmitted, by transaction id. */
  private readonly pending = new Map<number, SipTransaction>();
  /** Latest conntrack fact per "proto|client|service" (insertion order = age, for the bound). */
  private readonly facts = new Map<string, ConntrackFact>();
  private factsDropped = 0;
  private nft: { inv: Inventory; listed: Map<string, Stamp>; sig: string; at: Stamp } | undefined;
  private readonly tracked = new Map<string, Tracked>();
  private readonly early: number;
  private readonly maxFacts: number;
  /** INVITEs taken early into the last evaluation. */
  earlyTaken = 0;
  /**
   * Per flow, the last INVITE that got a response, as soon as it did: the flow table learns of
   * an answered INVITE only when its transaction ends, after timer D (32 s). Bounded, oldest
   * first out.
   */
  private readonly answered = new Map<string, Answered>();
  private readonly maxAnswered: number;

  constructor(private readonly opts: WatchEngineOptions) {
    this.early = Math.max(1, opts.earlyRetransmissions ?? 1);
    this.maxFacts = opts.maxFacts ?? 200_000;
    this.maxAnswered = opts.maxFacts ?? 200_000;
    this.analyzer = new LbAnalyzer({
      anomalies: opts.anomalies,
      sipPorts: opts.sipPorts,
      timerBNs: opts.timerBNs,
      forwardWindowNs: opts.forwardWindowNs,
      limits: { idleS: opts.udpTimeoutS + opts.timerBNs / 1e9 },
      onInvite: (_c, _t, answered, info) => {
        this.pending.delete(info.tx.id);
        // Now in the flow table itself.
        const k = flowKey(info.transport, _c, info.dst);
        if (this.answered.get(k)?.tx.id === info.tx.id) this.answered.delete(k);
        if (!answered || this.tracked.size) this.dirty = true;
      },
      onRetransmission: (tx) => {
        this.pending.set(tx.id, tx);
        this.dirty = true;
      },
      onAnswered: (tx) => this.answeredNow(tx),
    });
  }

  private answeredNow(tx: SipTransaction): void {
    this.pending.delete(tx.id);
    const o = this.analyzer.outcomeOf(tx);
    if (!o) return;
    const k = flowKey(o.transport, o.client, o.dst);
    const prev = this.answered.get(k);
    const t = tOf(o.at);
    if (prev && prev.t > t) return;
    this.answered.delete(k);
    if (this.answered.size >= this.maxAnswered) {
      const oldest = this.answered.keys().next();
      if (!oldest.done) this.answered.delete(oldest.value);
    }
    this.answered.set(k, { tx, at: o.at, t });
    if (this.tracked.size) this.dirty = true;
  }

  /** Every decoded packet (TCP payloads must be reassembled into analyzer.dissector.tcp). */
  packet(pkt: Packet): void {
    this.analyzer.packet(pkt);
    if (pkt.status === DecodeStatus.Ok && (pkt.proto === 1 || pkt.proto === 58) && pkt.quotedProto !== 0) this.dirty = true;
  }

  /** Let capture time pass: timer B ends unanswered INVITE transactions. */
  advance(now: Stamp): void {
    this.analyzer.tracker.advance(now.sec, now.nsec);
  }

  /** A conntrack entry from the live table (`events` false) or the event stream. */
  conntrack(e: ConntrackEntry, file: string, events: boolean): void {
    const f = toFact(e, file, events);
    if (!f) return;
    const k = `${f.proto}|${f.client}|${f.service}`;
    this.facts.delete(k);
    if (this.facts.size >= this.maxFacts) {
      const oldest = this.facts.keys().next();
      if (!oldest.done) this.facts.delete(oldest.value);
      this.factsDropped++;
      this.opts.anomalies.add('conntrack_facts_dropped');
    }
    this.facts.set(k, f);
    if (f.proto === 'udp') this.dirty = true;
  }

  get conntrackFacts(): number {
    return this.facts.size;
  }

  /** A fresh read of the live nft ruleset, taken at `at`. */
  setNft(inv: Inventory, at: Stamp): void {
    const listed = this.nft?.listed ?? new Map<string, Stamp>();
    for (const n of inv.nodes) if (n.state === 'active') listed.set(nodeEndpoint(n), at);
    const sig = inv.nodes.map((n) => `${nodeEndpoint(n)} ${n.state} ${n.service ?? ''}`).sort().join('\n');
    if (sig !== this.nft?.sig) this.dirty = true;
    this.nft = { inv, listed, sig, at };
  }

  get pendingInvites(): number {
    return this.pending.size;
  }

  /** Findings currently open (after de-duplication and resolution). */
  openFindings(): Finding[] {
    const out: Finding[] = [];
    for (const t of this.tracked.values()) if (t.open) out.push(t.finding);
    return out;
  }

  /**
   * Ask the rules again and return what changed since the last call. `now` is the current
   * capture time; `final` weighs the data as analyze would at the end of a capture (the
   * engine's own early records are left out, INVITEs younger than a second are not yet lost).
   */
  evaluate(now: Stamp, final = false): { events: WatchEvent[]; result: RuleResult; flows: Flow[] } {
    this.dirty = false;
    this.evaluations++;
    const flows = this.analyzer.flows.sorted();
    const byFlow = new Map<string, Flow>();
    for (const f of flows) byFlow.set(flowKey(f.transport, f.client, f.dst), f);
    const inventory = this.inventory(flows);
    const early = final ? [] : this.earlyOutcomes(now, byFlow, inventory);
    this.earlyTaken = early.length;
    const all = withEarly(flows, byFlow, early, (k) => {
      const a = this.answered.get(k);
      const target = a && this.analyzer.outcomeOf(a.tx)?.target;
      return a && target !== undefined ? { target, at: a.at, t: a.t } : undefined;
    });
    const result = evaluate(all, this.analyzer.flows, {
      ...defaultRuleOptions,
      udpTimeoutS: this.opts.udpTimeoutS,
      vips: this.opts.vips,
      ...(inventory ? { inventory } : {}),
      conntrack: [...this.facts.values()],
      captureLabel: this.opts.captureLabel,
      end: now,
      // Live, every record is either timed out by timer B or taken early on purpose.
      graceS: final ? defaultRuleOptions.graceS : 0,
    });
    const at = isoOf(now)!;
    const events: WatchEvent[] = [];
    const seen = new Set<string>();
    for (const f of result.findings) {
      if (this.resolvedSince(f, byFlow)) continue;
      const k = keyOf(f);
      seen.add(k);
      const prev = this.tracked.get(k);
      const n = lostCount(f);
      if (!prev || !prev.open) {
        this.tracked.set(k, { finding: f, count: n, open: true });
        events.push({ event: 'new', finding: f, at });
      } else {
        const changed = n > prev.count || f.severity !== prev.finding.severity || f.targetState !== prev.finding.targetState;
        prev.finding = f;
        prev.count = Math.max(prev.count, n);
        if (changed) events.push({ event: 'update', finding: f, at });
      }
    }
    for (const [k, t] of this.tracked) {
      if (!t.open || seen.has(k)) continue;
      t.open = false;
      events.push({ event: 'resolved', finding: t.finding, at });
    }
    // Forget what can no longer change: answered or ended early candidates.
    const limit = tOf(now) - this.opts.timerBNs / 1e9 - 5;
    for (const [id, tx] of this.pending) {
      const r = tx.requests[0];
      if (tx.responseCount > 0 || !r || r.sec + r.nsec * 1e-9 < limit) this.pending.delete(id);
    }
    return { events, result, flows };
  }

  /** The flow answered an INVITE after the finding's last lost one, or its entry was destroyed since. */
  private resolvedSince(f: Finding, byFlow: Map<string, Flow>): boolean {
    if (f.kind !== 'pinned-flow' && f.kind !== 'unanswered-invites') return false;
    const until = f.until === null ? undefined : Date.parse(f.until) / 1000;
    if (until === undefined || Number.isNaN(until)) return false;
    if (f.service !== null) {
      const k = flowKey(f.transport, f.client, f.service);
      const flow = byFlow.get(k);
      if (flow && flow.lastAnsweredT > until + 1e-3) return true;
      const a = this.answered.get(k);
      if (a && a.t > until + 1e-3) return true;
      const fact = this.facts.get(`${f.transport}|${f.client}|${f.service}`);
      if (fact && fact.event === 'destroy' && fact.at && tOf(fact.at) > until) return true;
    }
    return false;
  }

  /** --nodes, then the live nft view with the backends missing from its active set as terminated. */
  private inventory(flows: Flow[]): Inventory | undefined {
    const base = this.opts.inventory;
    if (!this.nft) return base;
    const nft = this.nft.inv;
    const gone: InventoryNode[] = [];
    const added = new Set<string>();
    const readT = tOf(this.nft.at);
    const consider = (service: string, target: string, seenT: number): void => {
      if (added.has(target) || target === service) return;
      // Missing from the set: it was listed before, or it was in use before this read. A backend
      // added since the last read is not dead, only not read yet.
      if (!this.nft!.listed.has(target) && !(seenT < readT)) return;
      const s = parseEndpoint(service);
      const t = parseEndpoint(target);
      if (!s || !t || !isService(nft, s.ip, s.port)) return;
      if (findNode(nft, t.ip, t.port)) return;
      added.add(target);
      const last = this.nft!.listed.get(target);
      gone.push({
        address: t.ip,
        ...(t.port !== undefined ? { port: t.port } : {}),
        state: 'terminated',
        ...(last ? { since: { sec: last.sec, nsec: last.nsec } } : {}),
        service,
        origin: `${nft.source.file}: not in the active set`,
      });
    };
    for (const f of flows) for (const u of f.targets) consider(f.dst, u.target, tOf(u.first));
    for (const c of this.facts.values()) if (c.event !== 'destroy') consider(c.service, c.target, c.at ? tOf(c.at) : c.start ? tOf(c.start) : -Infinity);
    for (const [k, a] of this.answered) {
      const target = this.analyzer.outcomeOf(a.tx)?.target;
      if (target !== undefined) consider(k.slice(k.lastIndexOf('|') + 1), target, a.t);
    }
    for (const tx of this.pending.values()) {
      const r = tx.requests;
      for (const x of r) if (x.dst !== r[0]!.dst && x.dst !== r[0]!.src) consider(r[0]!.dst, x.dst, x.sec + x.nsec * 1e-9);
    }
    const derived: Inventory = {
      nodes: [...nft.nodes, ...gone],
      services: nft.services,
      source: { ...nft.source, why: `${nft.source.why}; backends missing from its active set count as terminated` },
      warnings: [],
      ...(nft.incomplete !== undefined ? { incomplete: nft.incomplete } : {}),
    };
    return base ? merge([base, derived]) : derived;
  }

  /** Unanswered INVITEs retransmitted often enough whose backend is already known dead. */
  private earlyOutcomes(now: Stamp, byFlow: Map<string, Flow>, inv: Inventory | undefined): InviteOutcome[] {
    const out: InviteOutcome[] = [];
    for (const tx of this.pending.values()) {
      if (tx.responseCount > 0 || tx.state !== 'calling') continue;
      const o = this.analyzer.outcomeOf(tx);
      if (!o || o.answered || o.transport !== 'udp' || o.sent - 1 < this.early) continue;
      if (tOf(o.at) > tOf(now)) continue;
      const target = this.candidate(o, byFlow);
      if (target !== undefined && this.knownDead(target, inv)) out.push(o);
    }
    return out;
  }

  /** Where the INVITE went or, by the tracker's state, would go. */
  private candidate(o: InviteOutcome, byFlow: Map<string, Flow>): string | undefined {
    if (o.target !== undefined) return o.target;
    const fact = this.facts.get(`udp|${o.client}|${o.dst}`);
    if (fact) return fact.event !== 'destroy' && fact.target !== fact.service ? fact.target : undefined;
    const k = flowKey(o.transport, o.client, o.dst);
    const a = this.answered.get(k);
    const flow = byFlow.get(k);
    const at = a && this.analyzer.outcomeOf(a.tx)?.target;
    if (a && at !== undefined && (!flow?.lastForwarded || a.t > flow.lastForwarded.t)) return at;
    if (flow?.lastForwarded) return flow.lastForwarded.target;
    return o.dst;
  }

  private knownDead(addr: string, inv: Inventory | undefined): boolean {
    const ep = parseEndpoint(addr);
    if (inv && ep) {
      const node = findNode(inv, ep.ip, ep.port);
      if (node) return node.state === 'terminated' || node.state === 'unresponsive';
    }
    const b = this.analyzer.flows.activity(addr);
    return b?.icmp !== undefined && (b.lastHeard === undefined || tOf(b.icmp.first) >= tOf(b.lastHeard));
  }
}

/**
 * The flows with the early INVITEs added as lost calls, on copies: the flow table itself only
 * ever holds finished transactions, as in analyze.
 */
function withEarly(flows: Flow[], byFlow: Map<string, Flow>, early: InviteOutcome[], answered: (flowKey: string) => { target: string; at: Stamp; t: number } | undefined): Flow[] {
  if (!early.length) return flows;
  const copies = new Map<string, Flow>();
  const extra: Flow[] = [];
  for (const o of early) {
    const k = flowKey(o.transport, o.client, o.dst);
    let f = copies.get(k);
    if (!f) {
      const base = byFlow.get(k);
      f = base ? { ...base, lost: [...base.lost], targets: [...base.targets] } : newFlow(o);
      copies.set(k, f);
      if (!base) extra.push(f);
      // The mapping an answered INVITE still lingering in the tracker already showed.
      const a = answered(k);
      if (a && (!f.lastForwarded || a.t > f.lastForwarded.t)) {
        f.lastForwarded = { target: a.target, at: a.at, t: a.t };
        if (!f.targets.some((u) => u.target === a.target))
          f.targets.push({ target: a.target, how: 'egress-copy', invites: 1, answered: 1, unanswered: 0, first: a.at, last: a.at, lastAnswered: a.at });
        f.lastAnsweredT = Math.max(f.lastAnsweredT, a.t);
      }
    }
    const t = tOf(o.at);
    f.invites++;
    f.unanswered++;
    if (!f.lost.some((r) => r.callId === o.callId)) f.calls++;
    if (t > tOf(f.last)) f.last = o.at;
    const rec: InviteRecord = { callId: o.callId, at: o.at, t, target: o.target, how: o.how, sent: o.sent, timedOut: false };
    f.lost.push(rec);
    if (o.target !== undefined) {
      if (!f.targets.some((u) => u.target === o.target))
        f.targets.push({ target: o.target, how: o.how ?? 'egress-copy', invites: 1, answered: 0, unanswered: 1, first: o.at, last: o.at, lastAnswered: undefined });
      if (!f.lastForwarded || t > f.lastForwarded.t) f.lastForwarded = { target: o.target, at: o.at, t };
    } else f.notForwarded++;
  }
  const out = flows.map((f) => copies.get(flowKey(f.transport, f.client, f.dst)) ?? f);
  for (const f of out) f.lost.sort((a, b) => a.t - b.t);
  return [...out, ...extra];
}
