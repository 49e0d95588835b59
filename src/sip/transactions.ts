/**
 * Transactions (RFC 3261 section 17) and calls (dialogs by Call-ID and From tag), as a passive
 * observer sees them, possibly at several hops at once.
 *
 * Matching (17.1.3 and 17.2.3): a request belongs to the transaction keyed by its top Via
 * branch (magic cookie), sent-by and method, where ACK counts as INVITE (the ACK of a non-2xx
 * final response shares the INVITE's branch) and CANCEL is a transaction of its own that refers
 * to the INVITE with the same branch. Without the magic cookie (RFC 2543 elements) the key is
 * Call-ID, CSeq number, method, From tag and the top Via's sent-by and branch. A response
 * matches by its top Via and CSeq method.
 *
 * Hops: at a load balancer the same request is captured twice, client -> VIP and VIP (or the
 * client, without SNAT) -> backend, byte for byte or with an extra top Via when the balancer is
 * a SIP proxy. Both are one transaction seen at two hops: a request whose top Via is unknown is
 * also looked up by its lower Via entries, and a hit makes the new top Via an alias of that
 * transaction. Every copy is kept with its time and hop; a copy at a hop already seen is a
 * retransmission.
 *
 * Memory: a transaction is summarised (emitted through onTransaction) and dropped when it is
 * over: a final response plus a linger period for retransmissions (32 s for INVITE, timer D;
 * 5 s for the others, timer K; 2 s after its ACK for an INVITE answered with a 2xx),
 * no response by timer B
 * ("unanswered"), or only provisional responses by timer C. Calls are emitted and dropped a
 * linger period after they end, or after an idle period. Both tables have a cap; past it the
 * oldest entry is emitted early with `evicted` set and counted as an anomaly. Time is capture
 * time only: nothing here reads a clock.
 */
import { flatten } from '../core/strings.js';
import type { Anomalies } from '../core/anomalies.js';
import { appended } from '../core/arrays.js';
import { CallFlag, CallRows, CallStateCode, EndCode } from './call-rows.js';
import { KeyIndex } from './key-index.js';
import { MAGIC_COOKIE, type SipMessage } from './message.js';
import { DEFAULT_TIMER_B_NS, type SipContext, type SipTransport } from './types.js';

/** One copy of a message as captured at one hop. */
export interface SipSighting {
  sec: number;
  nsec: number;
  precision: number;
  src: string;
  dst: string;
  transport: SipTransport;
  ifIndex: number;
  /** The same message was seen before at this hop. */
  retransmission: boolean;
}

export interface SipResponseSighting extends SipSighting {
  code: number;
  /** Seen below a proxy that added its own Via (not on the leg toward the requester). */
  inner: boolean;
}

export type TransactionState =
  /** Request seen, no response yet. */
  | 'calling'
  /** Provisional response seen, no final yet. */
  | 'proceeding'
  /** Final response seen (an ACK for a 2xx, which gets none, is completed on sight). */
  | 'completed'
  /** No response at all within timer B (timer F for non-INVITE). */
  | 'unanswered'
  /** Provisional responses only, within timer C or until the end of input. */
  | 'no-final'
  /** No response, and the input ended before timer B ran out. */
  | 'incomplete';

export interface SipTransaction {
  /** Stable per run, increasing from 1. */
  id: number;
  method: string;
  callId: string;
  cseq: number;
  /** Top Via branch of the first request copy (or the response, for an orphan). */
  branch: string;
  fromTag: string;
  /** Keyed the RFC 2543 way (no magic cookie). */
  rfc2543: boolean;
  /** Only responses were seen (the capture started after the request). */
  orphan: boolean;
  /** Every request copy, up to TrackerOptions.maxCopies. */
  requests: SipSighting[];
  /** Copies seen, including those beyond maxCopies. */
  requestCount: number;
  retransmissions: number;
  /** Distinct "src>dst" hops of the request, in order of first sight. */
  hops: string[];
  firstProvisional: SipResponseSighting | undefined;
  final: SipResponseSighting | undefined;
  responseCount: number;
  /** INVITE only: the ACK of a non-2xx final response, and the CANCEL for it. */
  ack: SipSighting | undefined;
  cancel: SipSighting | undefined;
  /** Nanoseconds from the first request copy to the first response of each kind (-1: none). */
  firstResponseNs: number;
  finalResponseNs: number;
  state: TransactionState;
  /** Dropped early under the table bound. */
  evicted: boolean;
  /** Id of the call (dialog) it belongs to, 0 when none. */
  callRef: number;
}

export type CallState = 'setup' | 'ringing' | 'in-call' | 'completed' | 'cancelled' | 'failed' | 'unanswered';
export type CallEndReason = 'bye' | 'cancel' | 'failure' | 'timeout';

export interface SipCall {
  id: number;
  callId: string;
  fromTag: string;
  /** First To tag from the callee side ('' until a response carries one). */
  toTag: string;
  /** Caller and callee URIs from the initial INVITE. */
  from: string;
  to: string;
  startSec: number;
  startNsec: number;
  precision: number;
  transport: SipTransport;
  state: CallState;
  /** Final response code of the latest initial INVITE transaction (0 none). */
  finalCode: number;
  /** Nanoseconds from the first INVITE to the final response that ended setup (-1 none yet). */
  setupNs: number;
  /** Nanoseconds from the first INVITE to the first 18x (-1 none). */
  ringNs: number;
  endSec: number;
  endNsec: number;
  endReason: CallEndReason | undefined;
  /** Every endpoint that sent or received one of its messages (bounded). */
  addresses: string[];
  /** Destinations the initial INVITE reached beyond its first hop (or its only destination). */
  backends: string[];
  messages: number;
  /** Id of the first INVITE transaction. */
  inviteTx: number;
  /** INVITE transactions with no response at all (timer B). */
  unansweredInvites: number;
  evicted: boolean;
}

/** What the tracker says about the message just given to it (reused record). */
export interface SipMessageInfo {
  /** Transaction id, 0 when the message could not be matched or keyed. */
  txId: number;
  /** The same message seen before at the same hop. */
  retransmission: boolean;
  /** A copy of a message already seen at another hop (forwarded by a balancer or proxy). */
  forwardedCopy: boolean;
  /** Call id, 0 when the message belongs to no known call. */
  callRef: number;
}

export interface TrackerOptions {
  anomalies: Anomalies;
  onTransaction?: (tx: SipTransaction) => void;
  /**
   * onTransaction reads each transaction only while it runs and keeps nothing of it (the
   * load-balancer analysis): it then gets the tracker's own object, used again for a later
   * transaction, rather than a summary made for it (a 22-field object per transaction).
   */
  borrowTransactions?: boolean;
  onCall?: (call: SipCall) => void;
  /**
   * Track calls (dialogs) as well as transactions (default true). Off, no call is made or
   * emitted and every message's callRef is 0: the load-balancer analysis works on INVITE
   * transactions alone, and calls cost it about a tenth of its time.
   */
  calls?: boolean;
  /**
   * Track INVITE transactions only (default false): other requests and their responses are
   * counted and skipped, and the ACK of a 2xx makes no transaction of its own (it still ends
   * its INVITE's linger). For the load-balancer analysis, which looks at nothing else.
   */
  inviteOnly?: boolean;
  /**
   * A request was retransmitted at a hop while its transaction still has no response at all.
   * `tx` is the live transaction, not a summary: it keeps changing (read `responseCount` to see
   * whether it was answered since) and must not be kept past its onTransaction. `watch` uses it
   * to report an INVITE going unanswered before timer B ends the transaction. With this hook or
   * onFirstResponse given, a finished transaction's object is never used for a new one.
   */
  onRetransmission?: (tx: SipTransaction) => void;
  /**
   * The first response of a transaction whose request was seen (the same live `tx` as above).
   * An answered INVITE is emitted only after timer D; `watch` needs to know at once that the
   * flow is served, and by which backend.
   */
  onFirstResponse?: (tx: SipTransaction) => void;
  /**
   * Does the caller read the per-message record track() returns (default true)? When nobody
   * reads it and nobody listens for transactions (the `calls` command), only INVITE
   * transactions are made: the ACK of a 2xx only ends its INVITE's linger, and other requests
   * and their responses only count in their call and move it on (a BYE ends it, a CANCEL marks
   * it). Those transactions would carry nothing anyone reads. The transaction bound
   * (maxTransactions) then holds INVITE transactions only.
   */
  messageInfo?: boolean;
  /** RFC 3261 timer B / F: no response by then is "unanswered" (default 32 s). */
  timerBNs?: number;
  /** Provisional only for this long: given up as "no-final" (default 180 s, timer C). */
  timerCNs?: number;
  /** An INVITE transaction is kept this long after its final response, for retransmissions of it and the ACK (default 32 s, timer D). */
  lingerNs?: number;
  /** A non-INVITE transaction (and an ACK for a 2xx) is kept this long after its final response (default 5 s, timer K). */
  nonInviteLingerNs?: number;
  /**
   * An INVITE answered with a 2xx is kept this long after the first copy of its ACK (default
   * 2 s): only copies already in flight (the 2xx at other hops, a 2xx retransmission that crossed
   * the ACK) can still come.
   */
  ackedLingerNs?: number;
  /** A call is kept this long after it ended (default 5 s). */
  callLingerNs?: number;
  /** An established call with no message for this long ends with "timeout" (default 3600 s). */
  callIdleNs?: number;
  /** Live transactions at most (default 200000); beyond, the oldest is evicted. */
  maxTransactions?: number;
  /** Live calls at most (default 100000). */
  maxCalls?: number;
  /** Request copies kept per transaction (default 64); more are counted only. */
  maxCopies?: number;
  /** Addresses kept per call (default 32). */
  maxAddresses?: number;
}

export interface TrackerStats {
  messages: number;
  /** Messages that could not be keyed (no Via, Call-ID or CSeq). */
  unkeyed: number;
  transactions: number;
  inviteTransactions: number;
  unansweredInvites: number;
  orphanResponses: number;
  calls: number;
  evictedTransactions: number;
  evictedCalls: number;
}

/** Anomalies this module counts. */
export const SIP_TRACKER_ANOMALIES = ['sip_bad_branch', 'sip_unkeyed_message', 'sip_transaction_evicted', 'sip_call_evicted'] as const;

/**
 * A live transaction: the public fields plus the tracker's bookkeeping. A class, so that every
 * transaction has one shape, and `hops` can be listed on demand (see hopList).
 */
class Tx implements SipTransaction {
  id!: number;
  method!: string;
  callId!: string;
  cseq!: number;
  branch!: string;
  fromTag!: string;
  rfc2543!: boolean;
  orphan!: boolean;
  /** Key of the first copy's top Via: responses matched by it face the requester. */
  origin!: TxKey;
  /** Internal time (ns since the tracker's base) of the first sighting. */
  t0!: number;
  /** Request copies kept at most (the tracker's maxCopies). */
  private maxCopies!: number;
  requests!: SipSighting[];
  requestCount!: number;
  retransmissions!: number;
  firstProvisional!: SipResponseSighting | undefined;
  final!: SipResponseSighting | undefined;
  responseCount!: number;
  ack!: SipSighting | undefined;
  cancel!: SipSighting | undefined;
  firstResponseNs!: number;
  finalResponseNs!: number;
  state!: TransactionState;
  evicted!: boolean;
  callRef!: number;
  /**
   * Distinct hops, once the copies overflow `requests`; until then (undefined) the hops are
   * those of the kept copies, listed when asked for: no strings and no array while it lives.
   */
  hopList!: string[] | undefined;
  /** Keys besides the origin key (aliases from a proxy's added Via), undefined when none. */
  aliases!: TxKey[] | undefined;
  /** Internal time (ns since the tracker's base) of the final response. */
  tFinal!: number;
  /** In the tracker's awaitingAck (by Call-ID, From tag and CSeq): answered with a 2xx, waiting for its ACK. */
  awaitsAck!: boolean;
  /** Dropped from the table (queue entries pointing at it are stale). */
  done!: boolean;
  /** Row of its call in the tracker's CallRows (-1 none); the row is the call's while its id is callRef. */
  callRow!: number;
  /**
   * Seen responses as triples code, src, dst, for retransmission flags (bounded by maxCopies
   * triples); undefined until the first response. One array, not one per field: a transaction
   * lives long enough to be promoted, so every array it owns costs twice. A reused transaction
   * keeps its array (nothing outside the transaction reads it).
   */
  resp: (number | string)[] | undefined = undefined;
  /** Entries of resp in use (3 per response). */
  respN!: number;
  initialInvite!: boolean;
  /** Slots in the timer B and C queues, so a finished transaction is not kept alive by them. */
  bSlot!: number;
  cSlot!: number;
  /** Slot in the timer D queue: a transaction ended early must not stay reachable from it. */
  dSlot!: number;
  prevLive!: Tx | undefined;
  nextLive!: Tx | undefined;

  constructor(id: number, method: string, msg: SipMessage, orphan: boolean, origin: TxKey, t0: number, maxCopies: number) {
    this.init(id, method, msg, orphan, origin, t0, maxCopies);
  }

  /**
   * Every field but `resp`, as for a new transaction: a finished one is used again when no
   * hook hands live transactions out (see SipTracker.spareTx).
   */
  init(id: number, method: string, msg: SipMessage, orphan: boolean, origin: TxKey, t0: number, maxCopies: number): this {
    const v = msg.via[0]!;
    this.id = id;
    this.method = method;
    this.callId = msg.callId;
    this.cseq = msg.cseqNum;
    this.branch = v.branch;
    this.fromTag = msg.fromTag;
    this.rfc2543 = !branchHasCookie(v.branch);
    this.orphan = orphan;
    this.origin = origin;
    this.t0 = t0;
    this.maxCopies = maxCopies;
    this.requests = [];
    this.requestCount = this.retransmissions = this.responseCount = 0;
    this.firstProvisional = this.final = undefined;
    this.ack = this.cancel = undefined;
    this.firstResponseNs = this.finalResponseNs = -1;
    this.state = 'calling';
    this.evicted = false;
    this.callRef = 0;
    this.hopList = undefined;
    this.aliases = undefined;
    this.tFinal = -1;
    this.awaitsAck = false;
    this.done = false;
    this.callRow = -1;
    this.respN = 0;
    this.initialInvite = method === 'INVITE' && msg.toTag === '';
    this.bSlot = this.cSlot = this.dSlot = -1;
    this.prevLive = this.nextLive = undefined;
    return this;
  }

  /** Distinct "src>dst" hops of the request, in order of first sight. */
  get hops(): string[] {
    return this.hopList ?? hopsOf(this.requests, this.maxCopies);
  }
}

interface Linked<T> {
  prevLive: T | undefined;
  nextLive: T | undefined;
}

/**
 * Live entries in creation order, linked through the entries themselves: adding and removing
 * cost no hashing and no table growth, and eviction takes the first.
 */
class LiveList<T extends Linked<T>> {
  first: T | undefined = undefined;
  private last: T | undefined = undefined;
  size = 0;
  add(x: T): void {
    x.prevLive = this.last;
    x.nextLive = undefined;
    if (this.last === undefined) this.first = x;
    else this.last.nextLive = x;
    this.last = x;
    this.size++;
  }
  /** Unlink x (nothing when it is not in the list). */
  remove(x: T): void {
    if (x.prevLive === undefined && this.first !== x) return;
    const p = x.prevLive;
    const n = x.nextLive;
    if (p === undefined) this.first = n;
    else p.nextLive = n;
    if (n === undefined) this.last = p;
    else n.prevLive = p;
    x.prevLive = undefined;
    x.nextLive = undefined;
    this.size--;
  }
  toArray(): T[] {
    const out: T[] = [];
    for (let x = this.first; x !== undefined; x = x.nextLive) out.push(x);
    return out;
  }
}

/**
 * FIFO of items with non-decreasing deadlines (each queue has one fixed delay). push() returns
 * an absolute slot number so an item can be removed early without searching. Each item carries
 * a tag, read from `tag` after pop(): a call's row is queued with the call's id and a
 * transaction with its own, since by the time the deadline comes the row may belong to another
 * call and the object to another transaction.
 */
class Fifo<T> {
  constructor(private readonly due: Due) {}
  // A ring: the queue is items[(head + i) & mask] for i < count; it grows by doubling.
  private items: (T | undefined)[] = new Array<T | undefined>(256).fill(undefined);
  private deadlines = new Float64Array(256);
  private tags = new Float64Array(256);
  private mask = 255;
  private head = 0;
  private count = 0;
  /** Absolute slot number of the head. */
  private base = 0;
  /** The tag of the item pop() returned last. */
  tag = 0;
  push(item: T, deadline: number, tag: number): number {
    if (deadline < this.due.next) this.due.next = deadline;
    if (this.count > this.mask) this.grow();
    const i = (this.head + this.count) & this.mask;
    this.items[i] = item;
    this.deadlines[i] = deadline;
    this.tags[i] = tag;
    return this.base + this.count++;
  }
  private grow(): void {
    const n = (this.mask + 1) * 2;
    const items = new Array<T | undefined>(n).fill(undefined);
    const deadlines = new Float64Array(n);
    const tags = new Float64Array(n);
    for (let i = 0; i < this.count; i++) {
      const j = (this.head + i) & this.mask;
      items[i] = this.items[j];
      deadlines[i] = this.deadlines[j]!;
      tags[i] = this.tags[j]!;
    }
    this.items = items;
    this.deadlines = deadlines;
    this.tags = tags;
    this.mask = n - 1;
    this.head = 0;
  }
  /** Forget the item in `slot` (if it is still that item). */
  remove(slot: number, item: T): void {
    const i = slot - this.base;
    if (i < 0 || i >= this.count) return;
    const j = (this.head + i) & this.mask;
    if (this.items[j] === item) this.items[j] = undefined;
  }
  /** Next item whose deadline is <= now, or undefined. */
  pop(now: number): T | undefined {
    while (this.count > 0 && this.deadlines[this.head]! <= now) {
      const it = this.items[this.head];
      this.tag = this.tags[this.head]!;
      this.items[this.head] = undefined;
      this.head = (this.head + 1) & this.mask;
      this.count--;
      this.base++;
      if (it !== undefined) return it;
    }
    return undefined;
  }
  get length(): number {
    return this.count;
  }
  /** Deadline of the first item still queued (Infinity when empty). */
  headDeadline(): number {
    return this.count > 0 ? this.deadlines[this.head]! : Infinity;
  }
}

/**
 * The earliest deadline at the head of any queue (never later than the truth): time can pass
 * without visiting the queues until then.
 */
class Due {
  next = Infinity;
}

const HOP_SLOTS = 8192;

/** Up to eight characters of s (its ends), mixed: a cheap hash for HopNames slots. */
function mix(h: number, s: string): number {
  const n = s.length;
  h = Math.imul(h ^ n, 0x01000193);
  if (n === 0) return h;
  h = Math.imul(h ^ s.charCodeAt(0) ^ (s.charCodeAt(n >> 1) << 8) ^ (s.charCodeAt(n - 1) << 16), 0x01000193);
  if (n > 3) h = Math.imul(h ^ s.charCodeAt(n - 2) ^ (s.charCodeAt(n - 3) << 8) ^ (s.charCodeAt(n - 4) << 16) ^ (s.charCodeAt(1) << 24), 0x01000193);
  return h;
}

/**
 * Hop names ("src>dst"), built once and handed out again: the same few hops recur in every
 * transaction, and a name made afresh would cost its concatenation and the memory of one more
 * copy in every transaction that lists it. The parts are compared by value, so a slot holding
 * another hop is rebuilt, never confused. Direct-mapped, fixed size.
 */
class HopNames {
  /** Full hash per slot, compact: most misses are decided without touching the parts. */
  private readonly h = new Int32Array(HOP_SLOTS);
  private readonly src: string[] = new Array<string>(HOP_SLOTS).fill('');
  private readonly dst: string[] = new Array<string>(HOP_SLOTS).fill('');
  private readonly name: string[] = new Array<string>(HOP_SLOTS).fill('');

  get(src: string, dst: string): string {
    let h = mix(mix(0x811c9dc5, src), dst);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    const i = h >>> 19;
    if (this.h[i] === h && this.src[i] === src && this.dst[i] === dst && this.name[i] !== '') return this.name[i]!;
    const k = flatten(src + '>' + dst);
    this.h[i] = h;
    this.src[i] = src;
    this.dst[i] = dst;
    this.name[i] = k;
    return k;
  }
}

/** Shared by every tracker. */
const hopNames = new HopNames();

/**
 * A transaction key as the parts a KeyIndex takes. With the magic cookie: the top Via's branch,
 * its sent-by host and port, and the method (ACK counted as INVITE). Without (RFC 2543): one
 * string of every part in `p`, the others empty.
 */
interface TxKey {
  p: string;
  a: string;
  n: number;
  c: string;
}

const sameKey = (x: TxKey, y: TxKey): boolean => x.p === y.p && x.a === y.a && x.n === y.n && x.c === y.c;

/** A key to keep (a transaction's origin or alias): a copy of the scratch key, its string flat. */
const keep = (k: TxKey): TxKey => ({ p: flatten(k.p), a: k.a, n: k.n, c: k.c });

/** keep(), into a reused transaction's own key object. */
function keepInto(k: TxKey, into: TxKey): TxKey {
  into.p = flatten(k.p);
  into.a = k.a;
  into.n = k.n;
  into.c = k.c;
  return into;
}

/** Finished transactions kept for reuse at most: more than expire() finishes between two new ones. */
const MAX_SPARE_TX = 1024;

/** Method slot of the key of an ACK that matched no INVITE (an ACK for a 2xx). */
const ACK_ONLY = 'ACK\0';

/** Is reqs[i] the first copy at its hop? */
function firstAtHop(reqs: SipSighting[], i: number): boolean {
  const r = reqs[i]!;
  for (let j = 0; j < i; j++) if (reqs[j]!.src === r.src && reqs[j]!.dst === r.dst) return false;
  return true;
}

/** Distinct "src>dst" hops of the copies, in order of first sight, at most `max`. */
function hopsOf(reqs: SipSighting[], max: number): string[] {
  let n = 0;
  for (let i = 0; i < reqs.length && n < max; i++) if (firstAtHop(reqs, i)) n++;
  const out = new Array<string>(n);
  n = 0;
  for (let i = 0; i < reqs.length && n < out.length; i++) {
    if (!firstAtHop(reqs, i)) continue;
    const r = reqs[i]!;
    out[n++] = hopNames.get(r.src, r.dst);
  }
  return out;
}

/** Was the request seen before at hop src>dst? */
function seenAt(tx: Tx, src: string, dst: string): boolean {
  if (tx.hopList !== undefined) return tx.hopList.includes(src + '>' + dst);
  const reqs = tx.requests;
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i]!;
    if (r.src === src && r.dst === dst) return true;
  }
  return false;
}

export function branchHasCookie(branch: string): boolean {
  // Compared a character at a time: startsWith() was a builtin call for every message tracked.
  return (
    branch.length > 7 &&
    branch.charCodeAt(0) === 0x7a && // z
    branch.charCodeAt(1) === 0x39 && // 9
    branch.charCodeAt(2) === 0x68 && // h
    branch.charCodeAt(3) === 0x47 && // G
    branch.charCodeAt(4) === 0x34 && // 4
    branch.charCodeAt(5) === 0x62 && // b
    branch.charCodeAt(6) === 0x4b // K
  );
}

export class SipTracker {
  readonly stats: TrackerStats = {
    messages: 0,
    unkeyed: 0,
    transactions: 0,
    inviteTransactions: 0,
    unansweredInvites: 0,
    orphanResponses: 0,
    calls: 0,
    evictedTransactions: 0,
    evictedCalls: 0,
  };
  private readonly an: Anomalies;
  private readonly onTx: (tx: SipTransaction) => void;
  private readonly onCall: (call: SipCall) => void;
  private readonly withCalls: boolean;
  private readonly inviteOnly: boolean;
  /** Nobody reads transactions or per-message records: calls are all that is asked for. */
  private readonly callsOnly: boolean;
  /** Someone listens for finished transactions (else they are not summarised at all). */
  private readonly emitsTx: boolean;
  /** ...and reads them only during the call (TrackerOptions.borrowTransactions). */
  private readonly borrowTx: boolean;
  /** Finished transactions to use again, at most MAX_SPARE_TX (undefined: none are). */
  private readonly spareTx: Tx[] | undefined;
  private readonly onRetx: ((tx: SipTransaction) => void) | undefined;
  private readonly onFirstResp: ((tx: SipTransaction) => void) | undefined;
  private readonly timerB: number;
  private readonly timerC: number;
  private readonly linger: number;
  private readonly shortLinger: number;
  private readonly ackedLinger: number;
  private readonly callLinger: number;
  private readonly idle: number;
  private readonly maxTx: number;
  private readonly maxCalls: number;
  private readonly maxCopies: number;
  private readonly maxAddr: number;

  private readonly byKey = new KeyIndex<Tx>();
  /** Live transactions in creation order (eviction takes the first). */
  private readonly live = new LiveList<Tx>();
  /** Rows of calls by Call-ID and From tag (the tag in the `a` part, -1 and '' in the others). */
  private readonly calls = new KeyIndex<number>();
  /** Live calls. */
  private readonly cr = new CallRows();
  /**
   * INVITE transactions answered with a 2xx, by dialog and CSeq, until their ACK is seen: the
   * ACK of a 2xx has a branch of its own (RFC 3261 17.1.1.3), so this is how it finds them.
   */
  private readonly awaitingAck = new KeyIndex<Tx>();
  private readonly due = new Due();
  /** Keys of the message being tracked: its top Via's, and one for lower Vias and CANCELs. */
  private readonly key0: TxKey = { p: '', a: '', n: 0, c: '' };
  private readonly key1: TxKey = { p: '', a: '', n: 0, c: '' };
  private readonly qB = new Fifo<Tx>(this.due);
  private readonly qC = new Fifo<Tx>(this.due);
  private readonly qLinger = new Fifo<Tx>(this.due);
  private readonly qLingerShort = new Fifo<Tx>(this.due);
  private readonly qLingerAcked = new Fifo<Tx>(this.due);
  /** Call rows, tagged with their call's id. */
  private readonly qCallEnd = new Fifo<number>(this.due);
  private readonly qCallIdle = new Fifo<number>(this.due);
  private finishing = false;
  private nextTx = 1;
  private nextCall = 1;
  private baseSec = -1;
  private now = -Infinity;
  private readonly info: SipMessageInfo = { txId: 0, retransmission: false, forwardedCopy: false, callRef: 0 };

  constructor(opts: TrackerOptions) {
    this.an = opts.anomalies;
    this.onTx = opts.onTransaction ?? (() => undefined);
    this.onCall = opts.onCall ?? (() => undefined);
    this.withCalls = opts.calls ?? true;
    this.inviteOnly = opts.inviteOnly ?? false;
    this.emitsTx = opts.onTransaction !== undefined;
    this.borrowTx = opts.borrowTransactions ?? false;
    // A finished transaction's object is used for a new one unless a hook hands live ones out
    // (watch keeps them). Each lives long enough to be promoted: without reuse every one ends as
    // garbage in the old generation (on the 1 GB benchmark capture, 60 of the 320 MB promoted
    // and collected there by `analyze`).
    this.spareTx = opts.onRetransmission === undefined && opts.onFirstResponse === undefined ? [] : undefined;
    this.onRetx = opts.onRetransmission;
    this.onFirstResp = opts.onFirstResponse;
    this.callsOnly = !this.emitsTx && opts.messageInfo === false && this.onRetx === undefined && this.onFirstResp === undefined;
    this.timerB = opts.timerBNs ?? DEFAULT_TIMER_B_NS;
    this.timerC = opts.timerCNs ?? 180e9;
    this.linger = opts.lingerNs ?? 32e9;
    this.shortLinger = opts.nonInviteLingerNs ?? 5e9;
    this.ackedLinger = opts.ackedLingerNs ?? 2e9;
    this.callLinger = opts.callLingerNs ?? 5e9;
    this.idle = opts.callIdleNs ?? 3600e9;
    this.maxTx = opts.maxTransactions ?? 200_000;
    this.maxCalls = opts.maxCalls ?? 100_000;
    this.maxCopies = opts.maxCopies ?? 64;
    this.maxAddr = opts.maxAddresses ?? 32;
  }

  /** Live (not yet emitted) transactions and calls. */
  get liveTransactions(): number {
    return this.live.size;
  }
  get liveCallCount(): number {
    return this.cr.size;
  }

  private t(sec: number, nsec: number): number {
    if (this.baseSec < 0) this.baseSec = sec;
    return (sec - this.baseSec) * 1e9 + nsec;
  }

  /** Let capture time pass (the pipeline may call this for non-SIP packets too). */
  advance(sec: number, nsec: number): void {
    const t = this.t(sec, nsec);
    if (t > this.now) this.now = t;
    if (this.now >= this.due.next) this.expire(this.now);
  }

  /**
   * What track() does with a message an inviteOnly tracker ignores (neither INVITE nor ACK,
   * keyed, no bad branch) that was never parsed into a record here: a split `analyze` leaves
   * those on its reading thread (sip/handoff.ts, Rec.Ignored).
   */
  ignored(sec: number, nsec: number): void {
    this.advance(sec, nsec);
    this.stats.messages++;
  }

  /** Track one parsed message. Returns a reused record describing it. */
  track(msg: SipMessage, ctx: SipContext): SipMessageInfo {
    this.advance(ctx.sec, ctx.nsec);
    const info = this.info;
    info.txId = 0;
    info.retransmission = false;
    info.forwardedCopy = false;
    info.callRef = 0;
    this.stats.messages++;
    const method = msg.isRequest ? msg.method : msg.cseqMethod;
    if (msg.viaCount === 0 || msg.callId === '' || msg.cseqNum < 0 || method === '') {
      this.stats.unkeyed++;
      this.an.add('sip_unkeyed_message');
      return info;
    }
    // RFC 4475 3.2.1 badbranch: the cookie alone identifies nothing; keyed the RFC 2543 way.
    if (msg.via[0]!.branch === MAGIC_COOKIE) this.an.add('sip_bad_branch');
    if (this.inviteOnly && method !== 'INVITE' && method !== 'ACK') return info;
    const t = this.t(ctx.sec, ctx.nsec);
    if (this.callsOnly && method !== 'INVITE' && method !== 'ACK') {
      this.outsideTx(msg, ctx, t);
      return info;
    }
    if (msg.isRequest) this.request(msg, ctx, t, info);
    else this.response(msg, ctx, t, info);
    return info;
  }

  /** The transaction key of Via hop `viaIndex` for `method`, written into `out`. */
  private key(msg: SipMessage, viaIndex: number, method: string, out: TxKey): TxKey {
    const v = msg.via[viaIndex]!;
    // The ACK of a non-2xx final response shares the INVITE's branch (17.1.1.3).
    const m = method === 'ACK' ? 'INVITE' : method;
    if (branchHasCookie(v.branch)) {
      out.p = v.branch;
      out.a = v.host;
      out.n = v.port;
      out.c = m;
      return out;
    }
    const sentBy = v.port ? v.host + ':' + v.port : v.host;
    // Made per message for a lookup: flattened only where a transaction keeps it (keep()).
    out.p = '2\0' + msg.callId + '\0' + msg.cseqNum + '\0' + m + '\0' + msg.fromTag + '\0' + sentBy + '\0' + v.branch;
    out.a = '';
    out.n = 0;
    out.c = '';
    return out;
  }

  private sighting(ctx: SipContext, retransmission: boolean): SipSighting {
    return {
      sec: ctx.sec,
      nsec: ctx.nsec,
      precision: ctx.precision,
      src: ctx.src,
      dst: ctx.dst,
      transport: ctx.transport,
      ifIndex: ctx.ifIndex,
      retransmission,
    };
  }

  private responseSighting(ctx: SipContext, retransmission: boolean, code: number, inner: boolean): SipResponseSighting {
    return {
      sec: ctx.sec,
      nsec: ctx.nsec,
      precision: ctx.precision,
      src: ctx.src,
      dst: ctx.dst,
      transport: ctx.transport,
      ifIndex: ctx.ifIndex,
      retransmission,
      code,
      inner,
    };
  }

  private newTx(msg: SipMessage, method: string, key: TxKey, t: number, orphan: boolean): Tx {
    if (this.live.size >= this.maxTx) this.evictTx();
    const spare = this.spareTx?.pop();
    const tx = spare !== undefined ? spare.init(this.nextTx++, method, msg, orphan, keepInto(key, spare.origin), t, this.maxCopies) : new Tx(this.nextTx++, method, msg, orphan, keep(key), t, this.maxCopies);
    const origin = tx.origin;
    this.byKey.set(origin.p, origin.a, origin.n, origin.c, tx);
    this.live.add(tx);
    this.stats.transactions++;
    if (method === 'INVITE') this.stats.inviteTransactions++;
    tx.bSlot = this.qB.push(tx, t + this.timerB, tx.id);
    return tx;
  }

  /**
   * The live transaction for this message: by its top Via, else by a lower Via (a proxy's copy),
   * in which case the top Via becomes an alias of the transaction found.
   */
  private lookup(msg: SipMessage, method: string, key: TxKey): Tx | undefined {
    const tx = this.byKey.get(key.p, key.a, key.n, key.c);
    if (tx !== undefined) return tx.done || tx.cseq !== msg.cseqNum || tx.callId !== msg.callId ? undefined : tx;
    for (let i = 1; i < msg.viaCount; i++) {
      const k = this.key(msg, i, method, this.key1);
      const found = this.byKey.get(k.p, k.a, k.n, k.c);
      if (found !== undefined && !found.done && found.cseq === msg.cseqNum && found.callId === msg.callId) {
        const alias = keep(key);
        found.aliases = found.aliases === undefined ? [alias] : appended(found.aliases, alias);
        this.byKey.set(alias.p, alias.a, alias.n, alias.c, found);
        return found;
      }
    }
    return undefined;
  }

  private request(msg: SipMessage, ctx: SipContext, t: number, info: SipMessageInfo): void {
    const method = msg.method;
    let key = this.key(msg, 0, method, this.key0);
    let tx = this.lookup(msg, method, key);
    if (method === 'ACK') {
      if (tx !== undefined && tx.method === 'INVITE') {
        this.ackForInvite(tx, ctx, info);
        this.attachCall(tx, msg, ctx, t, info);
        return;
      }
      if (this.inviteOnly) {
        this.acked(msg, t);
        return;
      }
      if (this.callsOnly) {
        this.acked(msg, t);
        this.ackInCall(msg, ctx, t, info);
        return;
      }
      // ACK for a 2xx: a new branch, a transaction of its own that gets no response.
      key = this.key(msg, 0, ACK_ONLY, this.key0);
      tx = this.lookup(msg, ACK_ONLY, key);
      if (tx === undefined) this.acked(msg, t);
    }
    const src = ctx.src;
    const dst = ctx.dst;
    if (tx === undefined) {
      tx = this.newTx(msg, method, key, t, false);
      if (method === 'ACK') {
        tx.state = 'completed';
        tx.tFinal = t;
        this.qLingerShort.push(tx, t + this.shortLinger, tx.id);
      }
    } else if (tx.orphan && tx.requestCount === 0) {
      tx.orphan = false;
      tx.t0 = t;
    }
    // This copy will not be kept: from now on the hops are listed as they come.
    if (tx.hopList === undefined && tx.requests.length >= this.maxCopies) tx.hopList = hopsOf(tx.requests, this.maxCopies);
    const retrans = seenAt(tx, src, dst);
    info.txId = tx.id;
    info.retransmission = retrans;
    info.forwardedCopy = !retrans && tx.requestCount > 0;
    if (!retrans && tx.hopList !== undefined && tx.hopList.length < this.maxCopies) tx.hopList.push(src + '>' + dst);
    if (retrans) tx.retransmissions++;
    tx.requestCount++;
    // Exact-size arrays (concat) rather than push, which reserves 16 more slots: a transaction
    // lives long enough to be copied by the collector twice, with everything it holds.
    if (tx.requests.length < this.maxCopies) tx.requests = appended(tx.requests, this.sighting(ctx, retrans));
    if (retrans && tx.responseCount === 0 && this.onRetx !== undefined) this.onRetx(tx);
    if (method === 'CANCEL') this.cancelInvite(msg, ctx);
    this.attachCall(tx, msg, ctx, t, info);
  }

  /** A CANCEL: the INVITE it refers to (same top Via branch) is marked, and so is its call. */
  private cancelInvite(msg: SipMessage, ctx: SipContext): void {
    const k = this.key(msg, 0, 'INVITE', this.key1);
    const inv = this.byKey.get(k.p, k.a, k.n, k.c);
    if (inv === undefined || inv.done) return;
    if (inv.cancel === undefined) inv.cancel = this.sighting(ctx, false);
    const r = this.callRowOf(inv);
    if (r >= 0) this.cr.flags[r] |= CallFlag.CancelSeen;
  }

  /**
   * The first ACK of a 2xx: the caller has its answer, so neither the INVITE nor the 2xx will be
   * sent again, and the INVITE transaction needs only a short linger (for copies of the ACK and
   * of the 2xx still on their way through a balancer), not timer D. At thousands of calls a
   * second this is most of the tracker's memory.
   */
  private acked(msg: SipMessage, t: number): void {
    const inv = this.awaitingAck.get(msg.callId, msg.fromTag, msg.cseqNum, '');
    if (inv === undefined) return;
    this.awaitingAck.deleteIf(msg.callId, msg.fromTag, msg.cseqNum, '', inv);
    inv.awaitsAck = false;
    if (!inv.done) this.qLingerAcked.push(inv, t + this.ackedLinger, inv.id);
  }

  private ackForInvite(tx: Tx, ctx: SipContext, info: SipMessageInfo): void {
    info.txId = tx.id;
    if (tx.ack === undefined) {
      tx.ack = this.sighting(ctx, false);
      return;
    }
    // ACK copies at other hops or retransmitted: only the flag is worth reporting.
    const same = tx.ack.src === ctx.src && tx.ack.dst === ctx.dst;
    info.retransmission = same;
    info.forwardedCopy = !same;
  }

  private response(msg: SipMessage, ctx: SipContext, t: number, info: SipMessageInfo): void {
    const method = msg.cseqMethod;
    const key = this.key(msg, 0, method, this.key0);
    let tx = this.lookup(msg, method, key);
    if (tx === undefined) {
      this.stats.orphanResponses++;
      tx = this.newTx(msg, method, key, t, true);
    }
    const code = msg.statusCode;
    const src = ctx.src;
    const dst = ctx.dst;
    let resp = tx.resp;
    const n = tx.respN;
    let retrans = false;
    let otherHop = false;
    for (let i = 0; i < n; i += 3) {
      if (resp![i] !== code) continue;
      if (resp![i + 1] === src && resp![i + 2] === dst) {
        retrans = true;
        break;
      }
      otherHop = true;
    }
    if (retrans) otherHop = false;
    else if (n < this.maxCopies * 3) {
      if (resp === undefined || n === resp.length) {
        // Sized for the usual case: an INVITE's 100, 180 and 200, each seen at two hops.
        const grown = new Array<number | string>(resp === undefined ? (tx.method === 'INVITE' ? 18 : 6) : n * 2);
        for (let i = 0; i < n; i++) grown[i] = resp![i]!;
        resp = tx.resp = grown;
      }
      resp[n] = code;
      resp[n + 1] = src;
      resp[n + 2] = dst;
      tx.respN = n + 3;
    }
    info.txId = tx.id;
    info.retransmission = retrans;
    info.forwardedCopy = otherHop;
    tx.responseCount++;
    const inner = !sameKey(key, tx.origin);
    const dt = tx.requestCount > 0 ? t - tx.t0 : -1;
    if (code < 200) {
      if (tx.firstProvisional === undefined) {
        tx.firstProvisional = this.responseSighting(ctx, retrans, code, inner);
        if (tx.firstResponseNs < 0) tx.firstResponseNs = dt;
      }
      if (tx.state === 'calling') tx.state = 'proceeding';
    } else if (tx.final === undefined || (tx.final.inner && !inner)) {
      const first = tx.final === undefined;
      tx.final = this.responseSighting(ctx, retrans, code, inner);
      if (first) {
        if (tx.firstResponseNs < 0) tx.firstResponseNs = dt;
        tx.finalResponseNs = dt;
        tx.state = 'completed';
        tx.tFinal = t;
        if (tx.method === 'INVITE') {
          tx.dSlot = this.qLinger.push(tx, t + this.linger, tx.id);
          if (code < 300 && tx.requestCount > 0) {
            tx.awaitsAck = true;
            this.awaitingAck.set(tx.callId, tx.fromTag, tx.cseq, '', tx);
          }
        } else this.qLingerShort.push(tx, t + this.shortLinger, tx.id);
      }
    }
    if (tx.responseCount === 1 && tx.requestCount > 0 && this.onFirstResp !== undefined) this.onFirstResp(tx);
    this.attachCall(tx, msg, ctx, t, info);
  }

  // ---------------------------------------------------------------- calls

  /** The row of tx's call while that call lives, else -1. */
  private callRowOf(tx: Tx): number {
    const r = tx.callRow;
    return r >= 0 && this.cr.id[r] === tx.callRef ? r : -1;
  }

  private attachCall(tx: Tx, msg: SipMessage, ctx: SipContext, t: number, info: SipMessageInfo): void {
    if (!this.withCalls) return;
    let r = this.callRowOf(tx);
    if (r < 0) {
      r = this.findCall(msg);
      if (r < 0 && msg.isRequest && msg.method === 'INVITE' && msg.toTag === '') r = this.newCall(msg, ctx, t, tx);
      if (r < 0) return;
      tx.callRow = r;
      tx.callRef = this.cr.id[r]!;
    }
    info.callRef = this.cr.id[r]!;
    this.countIn(r, ctx, t);
    if (msg.isRequest) this.callRequest(r, tx, msg, ctx, t);
    else this.callResponse(r, tx, msg, ctx, t);
  }

  /**
   * A request other than INVITE and ACK, or a response to one, when only calls are asked for
   * (callsOnly): its transaction would tell a call nothing (a BYE ends its call on sight, a
   * CANCEL marks it), so none is made. At a few messages per call that is a third of the
   * transactions, each with its table entries, copies and timers.
   */
  private outsideTx(msg: SipMessage, ctx: SipContext, t: number): void {
    if (!this.withCalls) return;
    if (msg.isRequest && msg.method === 'CANCEL') this.cancelInvite(msg, ctx);
    const r = this.findCall(msg);
    if (r < 0) return;
    this.countIn(r, ctx, t);
    if (msg.isRequest) this.callRequest(r, undefined, msg, ctx, t);
    else this.callResponse(r, undefined, msg, ctx, t);
  }

  /** An ACK for a 2xx with no transaction of its own (callsOnly): it counts in its call. */
  private ackInCall(msg: SipMessage, ctx: SipContext, t: number, info: SipMessageInfo): void {
    if (!this.withCalls) return;
    const r = this.findCall(msg);
    if (r < 0) return;
    info.callRef = this.cr.id[r]!;
    this.countIn(r, ctx, t);
  }

  /** The message is one of the call's: counted, and its two endpoints taken part. */
  private countIn(r: number, ctx: SipContext, t: number): void {
    const cr = this.cr;
    cr.messages[r]++;
    cr.tLast[r] = t;
    cr.addAddress(r, ctx.src, this.maxAddr);
    cr.addAddress(r, ctx.dst, this.maxAddr);
  }

  /** The row of the live call the message belongs to, else -1. */
  private findCall(msg: SipMessage): number {
    // The index holds live calls only (finishCall takes a call out before its row is freed).
    const a = this.calls.get(msg.callId, msg.fromTag, -1, '');
    if (a !== undefined) return a;
    if (msg.toTag !== '') {
      const b = this.calls.get(msg.callId, msg.toTag, -1, '');
      if (b !== undefined) return b;
    }
    return -1;
  }

  private newCall(msg: SipMessage, ctx: SipContext, t: number, tx: Tx): number {
    if (this.cr.size >= this.maxCalls) this.evictCall();
    const cr = this.cr;
    const id = this.nextCall++;
    const r = cr.add(id);
    cr.callId[r] = msg.callId;
    cr.fromTag[r] = msg.fromTag;
    cr.from[r] = msg.fromUri;
    cr.to[r] = msg.toUri;
    cr.startSec[r] = ctx.sec;
    cr.startNsec[r] = ctx.nsec;
    cr.precision[r] = ctx.precision;
    cr.tcp[r] = ctx.transport === 'tcp' ? 1 : 0;
    cr.inviteTx[r] = tx.id;
    cr.t0[r] = t;
    cr.tLast[r] = t;
    this.calls.set(msg.callId, msg.fromTag, -1, '', r);
    this.stats.calls++;
    cr.idleSlot[r] = this.qCallIdle.push(r, t + this.idle, id);
    return r;
  }

  /** tx is undefined only for requests other than INVITE and ACK (see outsideTx). */
  private callRequest(r: number, tx: Tx | undefined, msg: SipMessage, ctx: SipContext, t: number): void {
    const cr = this.cr;
    const m = msg.method;
    if (m === 'INVITE' && tx !== undefined && tx.initialInvite) {
      if (cr.end[r] !== EndCode.None && cr.state[r] === CallStateCode.Failed && tx.id !== cr.finalTx[r]) {
        // A new initial INVITE after a failure (an authentication challenge): setup goes on.
        cr.end[r] = EndCode.None;
        cr.tEnd[r] = -1;
        cr.state[r] = CallStateCode.Setup;
      }
      this.noteBackends(r, tx);
    } else if (m === 'BYE') {
      const e = cr.end[r];
      if (e === EndCode.None || e === EndCode.Timeout) {
        cr.state[r] = CallStateCode.Completed;
        this.endCall(r, ctx, t, EndCode.Bye);
      }
    } else if (m === 'CANCEL') {
      cr.flags[r] |= CallFlag.CancelSeen;
    }
  }

  private noteBackends(r: number, tx: Tx): void {
    const reqs = tx.requests;
    if (reqs.length === 0) return;
    const cr = this.cr;
    const firstDst = reqs[0]!.dst;
    let beyond = false;
    for (const q of reqs) {
      if (q.dst !== firstDst) {
        beyond = true;
        const b = cr.backends[r]!;
        if (!b.includes(q.dst) && b.length < this.maxAddr) cr.backends[r] = appended(b, q.dst);
      }
    }
    const b = cr.backends[r]!;
    if (!beyond && b.length === 0) cr.backends[r] = [firstDst];
    else if (beyond) {
      // The first destination was the balancer's address, not a backend.
      const i = b.indexOf(firstDst);
      if (i >= 0 && b.length > 1) b.splice(i, 1);
    }
  }

  /** tx is undefined only for responses to requests other than INVITE and ACK (see outsideTx). */
  private callResponse(r: number, tx: Tx | undefined, msg: SipMessage, ctx: SipContext, t: number): void {
    const cr = this.cr;
    if (cr.toTag[r] === '' && msg.toTag !== '' && msg.statusCode > 100) cr.toTag[r] = msg.toTag;
    // The method of the transaction answered: its CSeq method when no transaction was made.
    const txMethod = tx !== undefined ? tx.method : msg.cseqMethod;
    if (txMethod !== 'INVITE') {
      if (txMethod === 'BYE' && msg.statusCode >= 200 && cr.end[r] === EndCode.None) {
        cr.state[r] = CallStateCode.Completed;
        this.endCall(r, ctx, t, EndCode.Bye);
      }
      return;
    }
    if (tx === undefined || !tx.initialInvite) return;
    const code = msg.statusCode;
    const dt = t - cr.t0[r]!;
    if (code < 200) {
      if (code >= 180 && code < 190 && cr.ringNs[r]! < 0) cr.ringNs[r] = dt;
      if (code >= 180 && cr.state[r] === CallStateCode.Setup) cr.state[r] = CallStateCode.Ringing;
      return;
    }
    if (tx.final === undefined || tx.final.code !== code || tx.id === cr.finalTx[r]) return;
    const state = cr.state[r];
    if (cr.end[r] !== EndCode.None && state !== CallStateCode.Failed) return;
    if (state === CallStateCode.InCall || state === CallStateCode.Completed) return;
    cr.finalTx[r] = tx.id;
    cr.finalCode[r] = code;
    cr.setupNs[r] = dt;
    if (code < 300) {
      cr.state[r] = CallStateCode.InCall;
      cr.end[r] = EndCode.None;
      cr.tEnd[r] = -1;
    } else if ((cr.flags[r]! & CallFlag.CancelSeen) !== 0 || code === 487) {
      cr.state[r] = CallStateCode.Cancelled;
      this.endCall(r, ctx, t, EndCode.Cancel);
    } else {
      cr.state[r] = CallStateCode.Failed;
      this.endCall(r, ctx, t, EndCode.Failure);
    }
  }

  private endCall(r: number, at: { sec: number; nsec: number }, t: number, reason: EndCode): void {
    const cr = this.cr;
    cr.end[r] = reason;
    cr.endSec[r] = at.sec;
    cr.endNsec[r] = at.nsec;
    cr.tEnd[r] = t;
    this.qCallEnd.push(r, t + this.callLinger, cr.id[r]);
  }

  /** Row r's call ended by a timer at internal time t ("timeout"); emitted after the linger. */
  private timeOut(r: number, t: number): void {
    const cr = this.cr;
    cr.end[r] = EndCode.Timeout;
    cr.endSec[r] = this.baseSec + Math.floor(t / 1e9);
    cr.endNsec[r] = t - Math.floor(t / 1e9) * 1e9;
  }

  // ---------------------------------------------------------------- expiry

  private expire(now: number): void {
    let tx: Tx | undefined;
    // An entry whose tag is not its transaction's id is from an earlier use of the object.
    while ((tx = this.qB.pop(now)) !== undefined) {
      if (tx.done || tx.id !== this.qB.tag) continue;
      if (tx.state === 'calling') {
        tx.state = 'unanswered';
        this.finishTx(tx);
      } else if (tx.state === 'proceeding') tx.cSlot = this.qC.push(tx, tx.t0 + this.timerC, tx.id);
    }
    while ((tx = this.qC.pop(now)) !== undefined) {
      if (tx.done || tx.id !== this.qC.tag || tx.state !== 'proceeding') continue;
      tx.state = 'no-final';
      this.finishTx(tx);
    }
    while ((tx = this.qLinger.pop(now)) !== undefined) if (!tx.done && tx.id === this.qLinger.tag) this.finishTx(tx);
    while ((tx = this.qLingerShort.pop(now)) !== undefined) if (!tx.done && tx.id === this.qLingerShort.tag) this.finishTx(tx);
    while ((tx = this.qLingerAcked.pop(now)) !== undefined) if (!tx.done && tx.id === this.qLingerAcked.tag) this.finishTx(tx);
    const cr = this.cr;
    let r: number | undefined;
    // A row whose id is no longer the queued one: that call was emitted already.
    while ((r = this.qCallEnd.pop(now)) !== undefined) {
      if (cr.id[r] !== this.qCallEnd.tag || cr.tEnd[r]! < 0 || cr.tEnd[r]! + this.callLinger > now) continue;
      this.finishCall(r);
    }
    while ((r = this.qCallIdle.pop(now)) !== undefined) {
      if (cr.id[r] !== this.qCallIdle.tag || cr.end[r] !== EndCode.None) continue;
      const idleAt = cr.tLast[r]! + this.idle;
      if (idleAt <= now) {
        this.timeOut(r, idleAt);
        this.finishCall(r);
      } else cr.idleSlot[r] = this.qCallIdle.push(r, idleAt, cr.id[r]);
    }
    this.due.next = Math.min(
      this.qB.headDeadline(),
      this.qC.headDeadline(),
      this.qLinger.headDeadline(),
      this.qLingerShort.headDeadline(),
      this.qLingerAcked.headDeadline(),
      this.qCallEnd.headDeadline(),
      this.qCallIdle.headDeadline(),
    );
  }

  private finishTx(tx: Tx): void {
    tx.done = true;
    this.qB.remove(tx.bSlot, tx);
    this.qC.remove(tx.cSlot, tx);
    this.qLinger.remove(tx.dSlot, tx);
    const o = tx.origin;
    this.byKey.deleteIf(o.p, o.a, o.n, o.c, tx);
    if (tx.awaitsAck) this.awaitingAck.deleteIf(tx.callId, tx.fromTag, tx.cseq, '', tx);
    const aliases = tx.aliases;
    if (aliases !== undefined) for (const k of aliases) this.byKey.deleteIf(k.p, k.a, k.n, k.c, tx);
    this.live.remove(tx);
    if (tx.method === 'INVITE' && tx.state === 'no-final' && tx.initialInvite && !this.finishing) {
      const r = this.callRowOf(tx);
      const cr = this.cr;
      if (r >= 0 && cr.end[r] === EndCode.None && (cr.state[r] === CallStateCode.Setup || cr.state[r] === CallStateCode.Ringing)) {
        const t = tx.t0 + this.timerC;
        this.timeOut(r, t);
        cr.tEnd[r] = t;
        this.qCallEnd.push(r, t + this.callLinger, cr.id[r]);
      }
    }
    if (tx.method === 'INVITE' && tx.state === 'unanswered') {
      this.stats.unansweredInvites++;
      const r = this.callRowOf(tx);
      const cr = this.cr;
      if (r >= 0) {
        cr.unanswered[r]++;
        const state = cr.state[r];
        if (tx.initialInvite && (state === CallStateCode.Setup || state === CallStateCode.Failed) && cr.finalCode[r] === 0) {
          cr.state[r] = CallStateCode.Unanswered;
          const t = tx.t0 + this.timerB;
          this.timeOut(r, t);
          cr.tEnd[r] = t;
          this.qCallEnd.push(r, t + this.callLinger, cr.id[r]);
        }
      }
    }
    if (this.emitsTx) this.onTx(this.borrowTx ? tx : new TxSummary(tx, this.maxCopies));
    // The summary took what it reports; the queues skip entries of an earlier use (their tag).
    const spare = this.spareTx;
    if (spare !== undefined && spare.length < MAX_SPARE_TX) spare.push(tx);
  }

  private finishCall(r: number): void {
    const cr = this.cr;
    this.qCallIdle.remove(cr.idleSlot[r]!, r);
    this.calls.deleteIf(cr.callId[r]!, cr.fromTag[r]!, -1, '', r);
    const call = cr.toCall(r);
    cr.remove(r);
    this.onCall(call);
  }

  private evictTx(): void {
    const tx = this.live.first;
    if (tx === undefined) return;
    tx.evicted = true;
    this.stats.evictedTransactions++;
    this.an.add('sip_transaction_evicted');
    this.finishTx(tx);
  }

  private evictCall(): void {
    const r = this.cr.first;
    if (r < 0) return;
    this.cr.flags[r] |= CallFlag.Evicted;
    this.stats.evictedCalls++;
    this.an.add('sip_call_evicted');
    this.finishCall(r);
  }

  /**
   * End of input: every live transaction and call is summarised and emitted. A transaction
   * without any response counts as unanswered only when timer B had run out by the last
   * capture time; otherwise it is "incomplete".
   */
  finish(): void {
    this.finishing = true;
    const now = this.now;
    for (const tx of this.live.toArray()) {
      if (tx.state === 'calling') tx.state = now - tx.t0 >= this.timerB ? 'unanswered' : 'incomplete';
      else if (tx.state === 'proceeding') tx.state = 'no-final';
      this.finishTx(tx);
    }
    for (const r of this.cr.rows()) this.finishCall(r);
  }
}

/**
 * The public summary of a transaction: its fields without the tracker's bookkeeping. The hops
 * are listed when first asked for: they are a string and an array per transaction, and the
 * load-balancer analysis, which gets every INVITE transaction, never asks.
 */
class TxSummary implements SipTransaction {
  readonly id: number;
  readonly method: string;
  readonly callId: string;
  readonly cseq: number;
  readonly branch: string;
  readonly fromTag: string;
  readonly rfc2543: boolean;
  readonly orphan: boolean;
  readonly requests: SipSighting[];
  readonly requestCount: number;
  readonly retransmissions: number;
  readonly firstProvisional: SipResponseSighting | undefined;
  readonly final: SipResponseSighting | undefined;
  readonly responseCount: number;
  readonly ack: SipSighting | undefined;
  readonly cancel: SipSighting | undefined;
  readonly firstResponseNs: number;
  readonly finalResponseNs: number;
  readonly state: TransactionState;
  readonly evicted: boolean;
  readonly callRef: number;
  private hopList: string[] | undefined;
  private readonly maxCopies: number;

  constructor(tx: Tx, maxCopies: number) {
    this.id = tx.id;
    this.method = tx.method;
    this.callId = tx.callId;
    this.cseq = tx.cseq;
    this.branch = tx.branch;
    this.fromTag = tx.fromTag;
    this.rfc2543 = tx.rfc2543;
    this.orphan = tx.orphan;
    this.requests = tx.requests;
    this.requestCount = tx.requestCount;
    this.retransmissions = tx.retransmissions;
    this.firstProvisional = tx.firstProvisional;
    this.final = tx.final;
    this.responseCount = tx.responseCount;
    this.ack = tx.ack;
    this.cancel = tx.cancel;
    this.firstResponseNs = tx.firstResponseNs;
    this.finalResponseNs = tx.finalResponseNs;
    this.state = tx.state;
    this.evicted = tx.evicted;
    this.callRef = tx.callRef;
    this.hopList = tx.hopList;
    this.maxCopies = maxCopies;
  }

  get hops(): string[] {
    return (this.hopList ??= hopsOf(this.requests, this.maxCopies));
  }
}
