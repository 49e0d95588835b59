/**
 * The LB analyzer: decoded packets in, observations out. It runs the SIP dissector and
 * transaction tracker, classifies every finished INVITE client transaction (which backend got
 * it: the forwarded copy seen leaving the balancer, or the backend's own response on the reply
 * path), and keeps the flow table and backend activity. `analyze` feeds it a whole capture;
 * `watch` feeds it live packets and asks for findings as it goes: one implementation.
 */
import { Anomalies } from '../core/anomalies.js';
import { formatEndpoint, formatIP, ipOfEndpoint } from '../core/address.js';
import { isIcmpAbout } from '../decode/icmp.js';
import { DecodeStatus, type Packet } from '../decode/types.js';
import { SipDissector } from '../sip/dissector.js';
import type { SipMessage } from '../sip/message.js';
import type { SipParseStatus } from '../sip/parser.js';
import { SipTracker, type SipTransaction } from '../sip/transactions.js';
import type { SipContext } from '../sip/types.js';
import { FlowTable, type FlowLimits, type InviteOutcome, defaultFlowLimits } from './flows.js';
import { PacketSpan, type PacketSpanFields } from './packet-span.js';
import { stamp, tOf, type ForwardingHow, type Stamp } from './types.js';

export interface AnalyzerOptions {
  anomalies?: Anomalies;
  sipPorts?: readonly number[];
  /** RFC 3261 timer B in ns (default 32 s). */
  timerBNs?: number;
  /** Longest delay between an INVITE arriving and its forwarded copy (default 500 ms). */
  forwardWindowNs?: number;
  /** Only INVITEs first seen inside [since, until] (seconds, float) count. */
  since?: number;
  until?: number;
  /** Only these Call-IDs count. */
  callIds?: Set<string>;
  limits?: Partial<FlowLimits>;
  /** The dissector's slots, when a split run shares them with its reading thread (sip/handoff.ts). */
  slots?: Uint8Array;
  /**
   * A split run's reading thread keeps the heard-from table (sip/handoff.ts): message() leaves
   * it alone, and FlowTable.adoptHeard() takes that thread's at the end.
   */
  heardElsewhere?: boolean;
  /** Called for each classified INVITE transaction (watch uses it for early findings; the HTML timeline bins it). */
  onInvite?: (client: string, target: string | undefined, answered: boolean, info: InviteInfo) => void;
  /**
   * An INVITE was retransmitted while it still has no response (UDP; before timer B ends it).
   * `tx` is the tracker's live transaction (see TrackerOptions.onRetransmission); `outcomeOf(tx)`
   * classifies it as it stands. `watch` uses this to flag a pinned flow within a second or two.
   */
  onRetransmission?: (tx: SipTransaction) => void;
  /** An INVITE got its first response (long before its transaction ends, after timer D). */
  onAnswered?: (tx: SipTransaction) => void;
}

/** What the onInvite hook gets beyond client, target and outcome; `tx` is only valid during the call. */
export interface InviteInfo {
  at: Stamp;
  callId: string;
  /** Address the client sent to (the service address, or a backend seen directly). */
  dst: string;
  transport: 'udp' | 'tcp';
  how: ForwardingHow | undefined;
  /** Copies the client sent (1 + retransmissions). */
  sent: number;
  timedOut: boolean;
  tx: SipTransaction;
}

export interface AnalyzerCounts {
  packets: number;
  sipMessages: number;
  inviteTransactions: number;
  unansweredInvites: number;
  /** INVITE transactions the filters (--since/--until/--call-id) left out. */
  filteredOut: number;
  /** Forwarded copies seen later than the window after the arriving copy. */
  lateCopies: number;
}

export class LbAnalyzer {
  readonly anomalies: Anomalies;
  readonly flows: FlowTable;
  readonly dissector: SipDissector;
  readonly tracker: SipTracker;
  readonly counts: AnalyzerCounts = { packets: 0, sipMessages: 0, inviteTransactions: 0, unansweredInvites: 0, filteredOut: 0, lateCopies: 0 };
  private readonly span = new PacketSpan();
  private readonly windowS: number;
  private readonly heardElsewhere: boolean;

  constructor(private readonly opts: AnalyzerOptions = {}) {
    this.anomalies = opts.anomalies ?? new Anomalies();
    this.flows = new FlowTable({ ...defaultFlowLimits, ...opts.limits });
    this.windowS = (opts.forwardWindowNs ?? 500e6) / 1e9;
    this.heardElsewhere = opts.heardElsewhere ?? false;
    this.tracker = new SipTracker({
      anomalies: this.anomalies,
      timerBNs: opts.timerBNs,
      calls: false,
      inviteOnly: true,
      onTransaction: (tx) => this.transaction(tx),
      // transaction() keeps nothing of a transaction (InviteInfo.tx is valid during the hook only).
      borrowTransactions: true,
      ...(opts.onRetransmission
        ? {
            onRetransmission: (tx: SipTransaction) => {
              if (tx.method === 'INVITE' && !tx.orphan) opts.onRetransmission!(tx);
            },
          }
        : {}),
      ...(opts.onAnswered
        ? {
            onFirstResponse: (tx: SipTransaction) => {
              if (tx.method === 'INVITE' && !tx.orphan) opts.onAnswered!(tx);
            },
          }
        : {}),
    });
    this.dissector = new SipDissector({
      anomalies: this.anomalies,
      ports: opts.sipPorts,
      ...(opts.slots ? { slots: opts.slots } : {}),
      onMessage: (msg, ctx, st) => this.message(msg, ctx, st),
    });
  }

  /** Earliest packet time (undefined before the first packet). */
  get first(): Stamp | undefined {
    return this.span.first;
  }
  /** Latest packet time. */
  get last(): Stamp | undefined {
    return this.span.last;
  }

  /** Offer every decoded packet (the TcpReassembler must deliver into `dissector.tcp`). */
  packet(pkt: Packet): void {
    const f = pkt.frame;
    const due = this.span.add(f);
    this.counts.packets++;
    if (pkt.status !== DecodeStatus.Ok) return;
    if (pkt.proto === 17) this.dissector.udp(pkt);
    else if (isIcmpAbout(pkt)) this.icmp(pkt);
    // Let timers run on capture time even when no SIP arrives (timer B for the lost INVITEs).
    if (due) this.tick(f.sec, f.nsec);
  }

  /**
   * The parts of packet() a split run's reading thread did not do itself (sip/threaded.ts):
   * capture time for the timers and, at the end, the packets it counted (ICMP goes to icmp()).
   */
  tick(sec: number, nsec: number): void {
    this.tracker.advance(sec, nsec);
  }
  addPackets(span: PacketSpanFields): void {
    this.span.merge(span);
    this.counts.packets += span.count;
  }

  /** End of input: expire what is still open (INVITEs without a response become "incomplete"). */
  finish(): void {
    this.tracker.finish();
  }

  private message(msg: SipMessage, ctx: SipContext, _st: SipParseStatus): void {
    this.counts.sipMessages++;
    if (!this.heardElsewhere) this.flows.heard(ctx.src, ctx.sec, ctx.nsec, ctx.precision, ctx.srcKey);
    this.tracker.track(msg, ctx);
  }

  /**
   * A UDP message at (sec, nsec) that the tracker would ignore, which a split run's reading
   * thread kept to itself (sip/handoff.ts, Rec.Ignored; that thread heard from its source):
   * counted as the dissector, message() and the tracker would have.
   */
  ignored(sec: number, nsec: number): void {
    this.dissector.stats.udpMessages++;
    this.counts.sipMessages++;
    this.tracker.ignored(sec, nsec);
  }

  /** An ICMP(v6) error that quotes a datagram (packet() passes these; so does a split run). */
  icmp(pkt: Packet): void {
    if (pkt.quotedProto !== 17 && pkt.quotedProto !== 6) return;
    const n = pkt.quotedIpVersion === 6 ? 16 : 4;
    const about = formatEndpoint(formatIP(pkt.quotedDst, 0, n), pkt.quotedDstPort);
    const from = formatIP(pkt.src, 0, pkt.ipVersion === 6 ? 16 : 4);
    const f = pkt.frame;
    this.flows.icmpUnreachable(about, from, pkt.icmpType, pkt.icmpCode, stamp(f.sec, f.nsec, f.precision));
  }

  private transaction(tx: SipTransaction): void {
    if (tx.method !== 'INVITE' || tx.orphan || tx.requests.length === 0) return;
    if (this.filtered(tx)) {
      this.counts.filteredOut++;
      return;
    }
    this.counts.inviteTransactions++;
    const o = this.classify(tx);
    this.counts.lateCopies += this.late;
    if (!o.answered) this.counts.unansweredInvites++;
    this.flows.addInvite(o);
    this.opts.onInvite?.(o.client, o.target, o.answered, { at: o.at, callId: o.callId, dst: o.dst, transport: o.transport, how: o.how, sent: o.sent, timedOut: o.timedOut, tx });
  }

  private filtered(tx: SipTransaction): boolean {
    const first = arrivingCopy(tx);
    const t = tOf(first);
    const o = this.opts;
    return (o.since !== undefined && t < o.since) || (o.until !== undefined && t > o.until) || (o.callIds !== undefined && !o.callIds.has(tx.callId));
  }

  /**
   * What an INVITE transaction says about forwarding as it stands: the classification a
   * finished transaction gets, without recording anything (watch asks this of live, still
   * unanswered transactions). Undefined for anything but an INVITE with a request copy seen, or
   * one the filters leave out.
   */
  outcomeOf(tx: SipTransaction): InviteOutcome | undefined {
    if (tx.method !== 'INVITE' || tx.orphan || tx.requests.length === 0 || this.filtered(tx)) return undefined;
    return this.classify(tx);
  }

  /** Forwarded copies found later than the window by the last classify() call. */
  private late = 0;

  private classify(tx: SipTransaction): InviteOutcome {
    const first = arrivingCopy(tx);
    const at = stamp(first.sec, first.nsec, first.precision);
    const client = first.src;
    const dst = first.dst;
    let target: string | undefined;
    let how: ForwardingHow | undefined;
    let sent = 0;
    this.late = 0;
    // The forwarded copy: the same transaction leaving towards another address, close in time
    // to a copy arriving at `dst` (retransmissions are forwarded too, so any arriving copy counts).
    for (const r of tx.requests) {
      if (r.dst === dst) {
        if (r.src === client) sent++;
        continue;
      }
      if (target !== undefined || r.dst === client) continue;
      const rt = r.sec + r.nsec * 1e-9;
      let near = false;
      for (const a of tx.requests) {
        if (a.dst !== dst) continue;
        const d = rt - (a.sec + a.nsec * 1e-9);
        if (d >= -0.001 && d <= this.windowS) {
          near = true;
          break;
        }
      }
      if (near) {
        target = r.dst;
        how = 'egress-copy';
      } else this.late++;
    }
    if (sent === 0) sent = 1;
    sent += Math.max(0, tx.requestCount - tx.requests.length);
    // The reply path: a response sent by someone other than the address the client used.
    if (target === undefined) {
      for (const resp of [tx.firstProvisional, tx.final]) {
        if (resp && resp.src !== dst && resp.src !== client && !resp.inner) {
          target = resp.src;
          how = 'reply-path';
          break;
        }
      }
    }
    return {
      transport: first.transport,
      client,
      clientIp: ipOfEndpoint(client),
      dst,
      callId: tx.callId,
      at,
      target,
      how,
      answered: tx.responseCount > 0,
      sent,
      timedOut: tx.state === 'unanswered',
    };
  }
}

/**
 * The copy that arrived from the client: the earliest by capture time. Not the first in file
 * order: a multi-interface pcapng (dumpcap on each balancer interface) interleaves interfaces
 * as their buffers drain, so a forwarded copy can be written before the copy that caused it.
 */
function arrivingCopy(tx: SipTransaction): SipTransaction['requests'][number] {
  let first = tx.requests[0]!;
  for (let i = 1; i < tx.requests.length; i++) {
    const r = tx.requests[i]!;
    if (r.sec < first.sec || (r.sec === first.sec && r.nsec < first.nsec)) first = r;
  }
  return first;
}
