/** `stalepin calls`: the call list an SRE knows from sngrep, non-interactive. */
import { badUsage } from '../../core/errors.js';
import { formatIso } from '../../core/time.js';
import { AtomicOutput } from '../../report/output.js';
import { visible } from '../../report/visible.js';
import { runSip } from '../../sip/source.js';
import type { CallState, SipCall } from '../../sip/transactions.js';
import { printWarnings } from '../shared.js';
import type { CommandSpec } from '../spec.js';
import { csvField, pad, seconds, sipOptions, sipRunOptions, type SipCommonOptions } from './sip-shared.js';
import { jsonText } from '../../report/json-text.js';
import { JsonBytes } from '../../report/json-bytes.js';

const STATES: readonly CallState[] = ['setup', 'ringing', 'in-call', 'completed', 'cancelled', 'failed', 'unanswered'];

interface CallsOptions extends SipCommonOptions {
  format: 'table' | 'json' | 'csv';
  output?: string;
  callId?: string;
  from?: string;
  to?: string;
  state: string[];
}

/** One call as `calls --format json` reports it. */
export interface CallRecord {
  callId: string;
  start: string;
  from: string;
  to: string;
  state: CallState;
  /** Final response code of the initial INVITE (0: none). */
  finalCode: number;
  /** Nanoseconds from the first INVITE to the response that ended setup (null: none). */
  setupNs: number | null;
  /** Nanoseconds from the first INVITE to the first 18x (null: none). */
  ringNs: number | null;
  end: string | null;
  endReason: string | null;
  transport: string;
  messages: number;
  backends: string[];
  addresses: string[];
  unansweredInvites: number;
  evicted: boolean;
}

export function callRecord(c: SipCall): CallRecord {
  return {
    callId: c.callId,
    start: formatIso(c.startSec, c.startNsec, c.precision),
    from: c.from,
    to: c.to,
    state: c.state,
    finalCode: c.finalCode,
    setupNs: c.setupNs < 0 ? null : c.setupNs,
    ringNs: c.ringNs < 0 ? null : c.ringNs,
    end: c.endReason === undefined ? null : formatIso(c.endSec, c.endNsec, c.precision),
    endReason: c.endReason ?? null,
    transport: c.transport,
    messages: c.messages,
    backends: c.backends,
    addresses: c.addresses,
    unansweredInvites: c.unansweredInvites,
    evicted: c.evicted,
  };
}

const COLUMNS = ['call-id', 'start', 'from', 'to', 'state', 'code', 'setup s', 'msgs', 'backend(s)'];

function row(c: CallRecord): string[] {
  return [
    c.callId,
    c.start,
    c.from,
    c.to,
    c.state,
    c.finalCode ? String(c.finalCode) : '',
    c.setupNs === null ? '' : seconds(c.setupNs),
    String(c.messages),
    c.backends.join(' '),
  ];
}

/** A table row as printed: every wire string made visible. */
function tableCells(c: CallRecord): string[] {
  return row(c).map(visible);
}

/** Rows buffered to size the table's columns; later rows use those widths (a longer value stays whole). */
const TABLE_SIZING_ROWS = 1000;

/**
 * The table, written as rows arrive: column widths are set by the first TABLE_SIZING_ROWS rows
 * (all of them in a short list), so a long list streams instead of being held.
 */
class CallsTableWriter {
  private pending: string[][] | undefined = [];
  private widths: number[] = [];
  constructor(private readonly out: (s: string) => void) {}
  addCells(cells: string[]): void {
    if (this.pending === undefined) this.out(this.line(cells));
    else if (this.pending.push(cells) >= TABLE_SIZING_ROWS) this.release();
  }
  end(): void {
    if (this.pending !== undefined) this.release();
  }
  private release(): void {
    const rows = this.pending!;
    this.pending = undefined;
    this.widths = COLUMNS.map((h) => h.length);
    for (const r of rows) for (let i = 0; i < r.length; i++) this.widths[i] = Math.min(48, Math.max(this.widths[i]!, r[i]!.length));
    let text = this.line(COLUMNS);
    for (const r of rows) text += this.line(r);
    this.out(text);
  }
  private line(cells: string[]): string {
    return cells.map((v, i) => (i < cells.length - 1 ? pad(v, this.widths[i]!) : v)).join('  ').trimEnd() + '\n';
  }
}

const CSV_HEAD = 'call_id,start,from,to,state,final_code,setup_s,messages,backends,end,end_reason\n';

function csvLine(c: CallRecord): string {
  return (
    [c.callId, c.start, c.from, c.to, c.state, c.finalCode ? String(c.finalCode) : '', c.setupNs === null ? '' : seconds(c.setupNs), String(c.messages), c.backends.join(' '), c.end ?? '', c.endReason ?? '']
      .map(csvField)
      .join(',') + '\n'
  );
}

/** A string array as jsonText(value, 2) prints it inside a call element. */
function writeStrings(w: JsonBytes, a: string[]): void {
  if (a.length === 0) {
    w.ascii('[]');
    return;
  }
  for (let i = 0; i < a.length; i++) {
    w.ascii(i ? ',\n        ' : '[\n        ');
    w.string(a[i]!);
  }
  w.ascii('\n      ]');
}

function writeNs(w: JsonBytes, ns: number): void {
  if (ns < 0) w.ascii('null');
  else w.number(ns);
}

/**
 * A JSON array element at the indentation of `"calls": [...]` in the document: the text of
 * jsonText(callRecord(c), 2) indented by four, written field by field into bytes.
 */
export function writeJsonElement(w: JsonBytes, c: SipCall): void {
  w.ascii('    {\n      "callId": ');
  w.string(c.callId);
  w.ascii(',\n      "start": ');
  w.isoString(c.startSec, c.startNsec, c.precision);
  w.ascii(',\n      "from": ');
  w.string(c.from);
  w.ascii(',\n      "to": ');
  w.string(c.to);
  w.ascii(',\n      "state": ');
  w.string(c.state);
  w.ascii(',\n      "finalCode": ');
  w.number(c.finalCode);
  w.ascii(',\n      "setupNs": ');
  writeNs(w, c.setupNs);
  w.ascii(',\n      "ringNs": ');
  writeNs(w, c.ringNs);
  w.ascii(',\n      "end": ');
  if (c.endReason === undefined) w.ascii('null');
  else w.isoString(c.endSec, c.endNsec, c.precision);
  w.ascii(',\n      "endReason": ');
  if (c.endReason === undefined) w.ascii('null');
  else w.string(c.endReason);
  w.ascii(',\n      "transport": ');
  w.string(c.transport);
  w.ascii(',\n      "messages": ');
  w.number(c.messages);
  w.ascii(',\n      "backends": ');
  writeStrings(w, c.backends);
  w.ascii(',\n      "addresses": ');
  writeStrings(w, c.addresses);
  w.ascii(',\n      "unansweredInvites": ');
  w.number(c.unansweredInvites);
  w.ascii(c.evicted ? ',\n      "evicted": true\n    }' : ',\n      "evicted": false\n    }');
}

/** Finished calls held back at most, waiting for an earlier one still in progress. */
export const MAX_WAITING_CALLS = 10_000;

/**
 * Calls in the order of their first INVITE (call ids are handed out in that order), although the
 * tracker finishes them in another: each finished call waits here until every earlier one is
 * out. Calls the filters drop still advance the order.
 *
 * One call that lasts (an hour-long call near the start of the capture) would hold back every
 * call after it, and memory would grow with the list. So at most `max` finished calls wait: past
 * that, they are written in order ahead of the calls still in progress, which come out when they
 * end.
 */
export class InOrder<T> {
  private next = 1;
  private readonly waiting = new Map<number, T | null>();
  /**
   * `park` gives what waits in place of an item that must wait (the item itself by default);
   * `out` then gets that.
   */
  constructor(
    private readonly out: (item: T) => void,
    private readonly max = MAX_WAITING_CALLS,
    private readonly park: (item: T) => T = (item) => item,
  ) {}
  put(id: number, item: T | null): void {
    if (id < this.next) {
      // Passed over while it was in progress.
      if (item !== null) this.out(item);
      return;
    }
    if (id !== this.next) {
      this.waiting.set(id, item === null ? null : this.park(item));
      if (this.waiting.size > this.max) this.passOver();
      return;
    }
    if (item !== null) this.out(item);
    this.next++;
    for (let t = this.waiting.get(this.next); t !== undefined; t = this.waiting.get(this.next)) {
      this.waiting.delete(this.next);
      if (t !== null) this.out(t);
      this.next++;
    }
  }
  /** Whatever still waits (ids never finished, which the tracker does not do), in id order. */
  drain(): void {
    for (const id of [...this.waiting.keys()].sort((a, b) => a - b)) {
      const t = this.waiting.get(id)!;
      if (t !== null) this.out(t);
    }
    this.waiting.clear();
  }
  /** Write every waiting call in order; the calls still in progress before them come out when they end. */
  private passOver(): void {
    let last = this.next;
    for (const id of this.waiting.keys()) if (id > last) last = id;
    this.drain();
    this.next = last + 1;
  }
}

/**
 * JSON elements of calls waiting for their turn (see InOrder), kept as bytes in large shared
 * buffers and named by a number. Some 10,000 calls wait at a time behind each unanswered one
 * (timer B: 32 s of capture at 400 calls a second); held as objects, or as a buffer each, they
 * were copied by the young-generation collector, promoted and collected in the old one. On the
 * 1 GB benchmark capture that cost `calls` about 0.2 s of 3.3 and 0.35 s of CPU. A number in the
 * waiting Map holds nothing the collector follows.
 */
export class ParkedElements {
  private static readonly BLOCK = 1 << 20;
  private blocks: Buffer[] = [];
  /** Elements of each block not yet taken; a block none are left in is written over again. */
  private live: number[] = [];
  private block = -1;
  private pos = 0;
  // Per handle: its block, offset and length; handles are used again once taken.
  private at = new Int32Array(1024 * 3);
  private free: number[] = [];
  private handles = 0;
  /** For elements longer than the chunk the writer hands on at once (hundreds of addresses). */
  private readonly spill: Uint8Array[] = [];
  private readonly w = new JsonBytes((chunk) => this.spill.push(chunk));

  /** Park c's element; returns its handle. */
  park(c: SipCall): number {
    writeJsonElement(this.w, c);
    let bytes = this.w.taken();
    if (this.spill.length > 0) {
      bytes = Buffer.concat([...this.spill, bytes]);
      this.spill.length = 0;
    }
    const n = bytes.length;
    if (this.block < 0 || this.pos + n > this.blocks[this.block]!.length) this.newBlock(n);
    const b = this.block;
    this.blocks[b]!.set(bytes, this.pos);
    this.live[b] = this.live[b]! + 1;
    const h = this.free.length > 0 ? this.free.pop()! : this.handles++;
    if (h * 3 + 3 > this.at.length) {
      const grown = new Int32Array(this.at.length * 2);
      grown.set(this.at);
      this.at = grown;
    }
    this.at[h * 3] = b;
    this.at[h * 3 + 1] = this.pos;
    this.at[h * 3 + 2] = n;
    this.pos += n;
    return h;
  }

  /** Write the element of handle h, and let it go. */
  take(h: number, w: JsonBytes): void {
    const b = this.at[h * 3]!;
    const off = this.at[h * 3 + 1]!;
    w.raw(this.blocks[b]!.subarray(off, off + this.at[h * 3 + 2]!));
    this.free.push(h);
    this.live[b] = this.live[b]! - 1;
  }

  /** Blocks held (for the tests). */
  get blockCount(): number {
    return this.blocks.length;
  }

  /** Start a block with room for n bytes: one whose elements were all taken, else a new one. */
  private newBlock(n: number): void {
    let b = -1;
    for (let i = 0; i < this.blocks.length; i++) if (i !== this.block && this.live[i] === 0 && this.blocks[i]!.length >= n) b = i;
    if (b < 0) {
      b = this.blocks.length;
      this.blocks.push(Buffer.allocUnsafeSlow(Math.max(n, ParkedElements.BLOCK)));
      this.live.push(0);
    }
    this.block = b;
    this.pos = 0;
  }
}

export const callsCommand: CommandSpec<CallsOptions> = {
  name: 'calls',
  summary: 'list SIP calls (dialogs): Call-ID, start, from, to, state, final code, setup time, messages, backends',
  help: `States: ${STATES.join(', ')}.
  setup/ringing: no final response yet (at the end of the capture); in-call: answered, no BYE;
  completed: ended by BYE; cancelled: CANCEL then 487; failed: final response >= 300;
  unanswered: no response at all to the INVITE within timer B (--timer-b).
backend(s): where the INVITE went beyond its first hop (at a load balancer: the backend it was
forwarded to), or its only destination.

Examples:
  stalepin calls capture.pcap
  stalepin calls --state unanswered,failed --format csv lb-*.pcap.gz > failed.csv
  stalepin calls --from carrier.example.net --format json capture.pcapng`,
  args: [{ name: 'capture', description: 'pcap or pcapng files (gzip allowed), - for standard input', variadic: true, required: true }],
  options: [
    { key: 'format', flags: '-f, --format <format>', description: 'output format', kind: 'choice', choices: ['table', 'json', 'csv'], default: 'table' },
    { key: 'output', flags: '-o, --output <file>', description: 'write to a file (atomically) instead of stdout', kind: 'string' },
    { key: 'callId', flags: '--call-id <text>', description: 'only calls whose Call-ID contains this text', kind: 'string' },
    { key: 'from', flags: '--from <text>', description: 'only calls whose From URI contains this text', kind: 'string' },
    { key: 'to', flags: '--to <text>', description: 'only calls whose To URI contains this text', kind: 'string' },
    { key: 'state', flags: '--state <states>', description: `only calls in these states (comma separated: ${STATES.join(', ')})`, kind: 'list', default: [] },
    ...sipOptions,
  ],
  async run(files, o, io) {
    const states = o.state ?? [];
    for (const s of states) if (!STATES.includes(s as CallState)) throw badUsage(`--state: unknown state ${s} (one of ${STATES.join(', ')})`);
    const { opts, done } = sipRunOptions(files, o, io);
    const keep = (c: SipCall): boolean =>
      (o.callId === undefined || c.callId.includes(o.callId)) &&
      (o.from === undefined || c.from.includes(o.from)) &&
      (o.to === undefined || c.to.includes(o.to)) &&
      (states.length === 0 || states.includes(c.state));
    // Each call is written (or, until the calls before it are done, held) when the tracker
    // finishes it: memory follows the calls in progress, not the length of the list.
    const out = await AtomicOutput.open(o.output, io.stdout);
    let listed = 0;
    let table: CallsTableWriter | undefined;
    // The JSON list is written as bytes (JsonBytes), everything around it as text.
    let bytes: JsonBytes | undefined;
    // A call that must wait for an earlier one waits as its JSON element's bytes (ParkedElements);
    // for a table or CSV (lists read by people, or filtered) as the record the tracker emitted.
    let emit: (c: SipCall | number) => void;
    let park: ((c: SipCall | number) => SipCall | number) | undefined;
    if (o.format === 'table') {
      const t = (table = new CallsTableWriter((s) => out.write(s)));
      emit = (c) => t.addCells(tableCells(callRecord(c as SipCall)));
    } else {
      const json = o.format === 'json';
      out.write(json ? '{\n  "schema": "stalepin/calls@1",\n  "calls": [' : CSV_HEAD);
      if (json) {
        const w = (bytes = new JsonBytes((chunk) => out.write(chunk)));
        const parked = new ParkedElements();
        emit = (c) => {
          w.ascii(listed ? ',\n' : '\n');
          if (typeof c === 'number') parked.take(c, w);
          else writeJsonElement(w, c);
        };
        park = (c) => (typeof c === 'number' ? c : parked.park(c));
      } else emit = (c) => out.write(csvLine(callRecord(c as SipCall)));
    }
    const order = new InOrder<SipCall | number>(
      (c) => {
        emit(c);
        listed++;
      },
      MAX_WAITING_CALLS,
      park,
    );
    const onCall = (c: SipCall): void => order.put(c.id, keep(c) ? c : null);
    let run;
    try {
      run = await runSip(opts, { onCall });
      order.drain();
    } catch (e) {
      out.abort();
      throw e;
    } finally {
      done();
    }
    if (!o.quiet) printWarnings(io, run.warnings);
    bytes?.flush();
    if (o.format === 'json') {
      const summary = {
        packets: run.frames,
        sipMessages: run.tracker.messages,
        inviteTransactions: run.tracker.inviteTransactions,
        unansweredInvites: run.tracker.unansweredInvites,
        calls: run.tracker.calls,
        listed,
      };
      const anomalies = run.anomalies.list().filter((a) => a.name.startsWith('sip_'));
      // The summary comes last: it is known only at the end of a list written as it goes.
      out.write(`${listed ? '\n  ' : ''}],\n  "summary": ${jsonText(summary, 2).replace(/\n/g, '\n  ')},\n  "anomalies": ${jsonText(anomalies, 2).replace(/\n/g, '\n  ')}\n}\n`);
    } else table?.end();
    await out.commit();
    if (run.error) throw run.error;
    return 0;
  },
};
