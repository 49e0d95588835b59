/**
 * The tracker's live calls as rows of typed columns rather than one object each. Every message
 * of a call reads and writes a few of its fields (its message count, last time, addresses and
 * state); as objects, 5,000 live calls of some forty fields, each time field a number boxed on
 * its own, are spread over more memory than the caches hold and are copied twice by the young
 * generation's collector before they settle. As rows the numbers sit unboxed in a few dense
 * arrays, the first four addresses beside one another, and nothing is allocated per call but
 * its strings. A finished call's row is handed out again: whoever keeps a row number past the
 * call's end (a timer queue, a transaction) keeps the call's id with it and checks `id[row]`.
 */
import { appended } from '../core/arrays.js';
import type { CallEndReason, CallState, SipCall } from './transactions.js';
import type { SipTransport } from './types.js';

export const enum CallStateCode {
  Setup = 0,
  Ringing,
  InCall,
  Completed,
  Cancelled,
  Failed,
  Unanswered,
}

const STATE_NAMES: readonly CallState[] = ['setup', 'ringing', 'in-call', 'completed', 'cancelled', 'failed', 'unanswered'];

export const enum EndCode {
  None = 0,
  Bye,
  Cancel,
  Failure,
  Timeout,
}

const END_NAMES: readonly (CallEndReason | undefined)[] = [undefined, 'bye', 'cancel', 'failure', 'timeout'];

/** Bits of `flags`. */
export const enum CallFlag {
  Evicted = 1,
  CancelSeen = 2,
}

/** Addresses kept in the row itself; a call's further ones go to a list of its own. */
export const ADDR_INLINE = 4;

const NO_ROW = -1;

export class CallRows {
  private cap = 0;
  // Ids count every call and transaction of a run: a `watch` on a busy balancer passes 2^31.
  /** Call id, 0 for a free row. */
  id = new Float64Array(0);
  messages = new Int32Array(0);
  finalCode = new Int32Array(0);
  /** Transaction whose final response set finalCode (its retransmissions change nothing). */
  finalTx = new Float64Array(0);
  inviteTx = new Float64Array(0);
  unanswered = new Int32Array(0);
  state = new Uint8Array(0);
  end = new Uint8Array(0);
  flags = new Uint8Array(0);
  precision = new Uint8Array(0);
  tcp = new Uint8Array(0);
  /** Addresses held: the first ADDR_INLINE in `addr`, the rest in `addrMore`. */
  addrN = new Int32Array(0);
  startSec = new Float64Array(0);
  startNsec = new Float64Array(0);
  endSec = new Float64Array(0);
  endNsec = new Float64Array(0);
  setupNs = new Float64Array(0);
  ringNs = new Float64Array(0);
  /** Internal times (ns since the tracker's base): first INVITE, last message, end (-1 none). */
  t0 = new Float64Array(0);
  tLast = new Float64Array(0);
  tEnd = new Float64Array(0);
  /** Slot in the idle queue, so a finished call's entry can be taken out of it. */
  idleSlot = new Float64Array(0);
  callId: string[] = [];
  fromTag: string[] = [];
  /** First To tag from the callee side ('' until a response carries one). */
  toTag: string[] = [];
  from: string[] = [];
  to: string[] = [];
  addr: string[] = [];
  addrMore: (string[] | undefined)[] = [];
  backends: string[][] = [];
  // Live rows in creation order (eviction takes the first), linked through two columns.
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  first = NO_ROW;
  private last = NO_ROW;
  size = 0;
  private free = new Int32Array(0);
  private freeN = 0;

  /** A row for call `id`, its columns reset, appended to the live list. */
  add(id: number): number {
    if (this.freeN === 0) this.grow();
    const r = this.free[--this.freeN]!;
    this.id[r] = id;
    this.messages[r] = 0;
    this.finalCode[r] = 0;
    this.finalTx[r] = 0;
    this.inviteTx[r] = 0;
    this.unanswered[r] = 0;
    this.state[r] = CallStateCode.Setup;
    this.end[r] = EndCode.None;
    this.flags[r] = 0;
    this.addrN[r] = 0;
    this.endSec[r] = 0;
    this.endNsec[r] = 0;
    this.setupNs[r] = -1;
    this.ringNs[r] = -1;
    this.tEnd[r] = -1;
    this.idleSlot[r] = -1;
    this.toTag[r] = '';
    this.prev[r] = this.last;
    this.next[r] = NO_ROW;
    if (this.last === NO_ROW) this.first = r;
    else this.next[this.last] = r;
    this.last = r;
    this.size++;
    return r;
  }

  /** Unlink the row from the live list and free it; its strings are let go. */
  remove(r: number): void {
    const p = this.prev[r]!;
    const n = this.next[r]!;
    if (p === NO_ROW) this.first = n;
    else this.next[p] = n;
    if (n === NO_ROW) this.last = p;
    else this.prev[n] = p;
    this.size--;
    this.id[r] = 0;
    this.callId[r] = this.fromTag[r] = this.toTag[r] = this.from[r] = this.to[r] = '';
    const a = r * ADDR_INLINE;
    for (let i = 0; i < ADDR_INLINE; i++) this.addr[a + i] = '';
    this.addrMore[r] = undefined;
    this.backends[r] = NO_BACKENDS;
    this.free[this.freeN++] = r;
  }

  /** Live rows in creation order. */
  rows(): number[] {
    const out: number[] = [];
    for (let r = this.first; r !== NO_ROW; r = this.next[r]!) out.push(r);
    return out;
  }

  /** Add address s to row r's list unless it is there or the list holds `max` already. */
  addAddress(r: number, s: string, max: number): void {
    const n = this.addrN[r]!;
    const a = r * ADDR_INLINE;
    const inline = n < ADDR_INLINE ? n : ADDR_INLINE;
    // A loop, not includes(): two calls per message.
    for (let i = 0; i < inline; i++) if (this.addr[a + i] === s) return;
    const more = this.addrMore[r];
    if (more !== undefined) for (let i = 0; i < more.length; i++) if (more[i] === s) return;
    if (n >= max) return;
    if (n < ADDR_INLINE) this.addr[a + n] = s;
    else this.addrMore[r] = more === undefined ? [s] : appended(more, s);
    this.addrN[r] = n + 1;
  }

  /** The public record of row r's call. */
  toCall(r: number): SipCall {
    const n = this.addrN[r]!;
    const addresses = new Array<string>(n);
    const a = r * ADDR_INLINE;
    const more = this.addrMore[r];
    for (let i = 0; i < n; i++) addresses[i] = i < ADDR_INLINE ? this.addr[a + i]! : more![i - ADDR_INLINE]!;
    const backends = this.backends[r]!;
    const f = this.flags[r]!;
    return {
      id: this.id[r]!,
      callId: this.callId[r]!,
      fromTag: this.fromTag[r]!,
      toTag: this.toTag[r]!,
      from: this.from[r]!,
      to: this.to[r]!,
      startSec: this.startSec[r]!,
      startNsec: this.startNsec[r]!,
      precision: this.precision[r]!,
      transport: (this.tcp[r] === 1 ? 'tcp' : 'udp') as SipTransport,
      state: STATE_NAMES[this.state[r]!]!,
      finalCode: this.finalCode[r]!,
      setupNs: this.setupNs[r]!,
      ringNs: this.ringNs[r]!,
      endSec: this.endSec[r]!,
      endNsec: this.endNsec[r]!,
      endReason: END_NAMES[this.end[r]!],
      addresses,
      backends: backends === NO_BACKENDS ? [] : backends,
      messages: this.messages[r]!,
      inviteTx: this.inviteTx[r]!,
      unansweredInvites: this.unanswered[r]!,
      evicted: (f & CallFlag.Evicted) !== 0,
    };
  }

  private grow(): void {
    const old = this.cap;
    const cap = old === 0 ? 1024 : old * 2;
    this.cap = cap;
    this.id = grownF64(this.id, cap);
    this.messages = grownI32(this.messages, cap);
    this.finalCode = grownI32(this.finalCode, cap);
    this.finalTx = grownF64(this.finalTx, cap);
    this.inviteTx = grownF64(this.inviteTx, cap);
    this.unanswered = grownI32(this.unanswered, cap);
    this.addrN = grownI32(this.addrN, cap);
    this.prev = grownI32(this.prev, cap);
    this.next = grownI32(this.next, cap);
    this.state = grownU8(this.state, cap);
    this.end = grownU8(this.end, cap);
    this.flags = grownU8(this.flags, cap);
    this.precision = grownU8(this.precision, cap);
    this.tcp = grownU8(this.tcp, cap);
    this.startSec = grownF64(this.startSec, cap);
    this.startNsec = grownF64(this.startNsec, cap);
    this.endSec = grownF64(this.endSec, cap);
    this.endNsec = grownF64(this.endNsec, cap);
    this.setupNs = grownF64(this.setupNs, cap);
    this.ringNs = grownF64(this.ringNs, cap);
    this.t0 = grownF64(this.t0, cap);
    this.tLast = grownF64(this.tLast, cap);
    this.tEnd = grownF64(this.tEnd, cap);
    this.idleSlot = grownF64(this.idleSlot, cap);
    for (const col of [this.callId, this.fromTag, this.toTag, this.from, this.to]) for (let i = old; i < cap; i++) col.push('');
    for (let i = old * ADDR_INLINE; i < cap * ADDR_INLINE; i++) this.addr.push('');
    for (let i = old; i < cap; i++) {
      this.addrMore.push(undefined);
      this.backends.push(NO_BACKENDS);
    }
    const free = new Int32Array(cap);
    free.set(this.free.subarray(0, this.freeN));
    // Lowest rows handed out first: the live rows stay packed at the start of each column.
    for (let i = cap - 1; i >= old; i--) free[this.freeN++] = i;
    this.free = free;
  }
}

/** The backends of a call that has none yet: shared, never changed (noteBackends replaces it). */
export const NO_BACKENDS: string[] = [];

function grownI32(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

function grownU8(a: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}

function grownF64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
