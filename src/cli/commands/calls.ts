/** `stalepin calls`: the call list an SRE knows from sngrep, non-interactive. */
import { badUsage } from '../../core/errors.js';
import { formatIso } from '../../core/time.js';
import { emit } from '../../report/output.js';
import { visible } from '../../report/visible.js';
import { runSip } from '../../sip/source.js';
import type { CallState, SipCall } from '../../sip/transactions.js';
import { printWarnings } from '../shared.js';
import type { CommandSpec } from '../spec.js';
import { csvField, pad, seconds, sipOptions, sipRunOptions, type SipCommonOptions } from './sip-shared.js';
import { jsonText } from '../../report/json-text.js';

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

export function renderCallsTable(calls: CallRecord[]): string {
  const rows = calls.map((c) => row(c).map(visible));
  const widths = COLUMNS.map((h, i) => Math.min(48, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (cells: string[]): string => cells.map((v, i) => (i < cells.length - 1 ? pad(v, widths[i]!) : v)).join('  ').trimEnd() + '\n';
  return line(COLUMNS) + rows.map(line).join('');
}

export function renderCallsCsv(calls: CallRecord[]): string {
  const head = 'call_id,start,from,to,state,final_code,setup_s,messages,backends,end,end_reason\n';
  return (
    head +
    calls
      .map((c) =>
        [c.callId, c.start, c.from, c.to, c.state, c.finalCode ? String(c.finalCode) : '', c.setupNs === null ? '' : seconds(c.setupNs), String(c.messages), c.backends.join(' '), c.end ?? '', c.endReason ?? '']
          .map(csvField)
          .join(','),
      )
      .map((l) => l + '\n')
      .join('')
  );
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
    // Each call becomes its small output record on arrival: the tracker's call object links to
    // its transactions, and keeping those for every call held ~5 KB per call until the end.
    const calls: { startSec: number; startNsec: number; id: number; record: CallRecord }[] = [];
    const keep = (c: SipCall): boolean =>
      (o.callId === undefined || c.callId.includes(o.callId)) &&
      (o.from === undefined || c.from.includes(o.from)) &&
      (o.to === undefined || c.to.includes(o.to)) &&
      (states.length === 0 || states.includes(c.state));
    const run = await runSip(opts, { onCall: (c) => (keep(c) ? calls.push({ startSec: c.startSec, startNsec: c.startNsec, id: c.id, record: callRecord(c) }) : undefined) });
    done();
    if (!o.quiet) printWarnings(io, run.warnings);
    calls.sort((a, b) => a.startSec - b.startSec || a.startNsec - b.startNsec || a.id - b.id);
    const records = calls.map((c) => c.record);
    let text: string;
    if (o.format === 'json') {
      text =
        jsonText(
          {
            schema: 'stalepin/calls@1',
            summary: {
              packets: run.frames,
              sipMessages: run.tracker.messages,
              inviteTransactions: run.tracker.inviteTransactions,
              unansweredInvites: run.tracker.unansweredInvites,
              calls: run.tracker.calls,
              listed: records.length,
            },
            calls: records,
            anomalies: run.anomalies.list().filter((a) => a.name.startsWith('sip_')),
          },
          2,
        ) + '\n';
    } else if (o.format === 'csv') text = renderCallsCsv(records);
    else text = renderCallsTable(records);
    await emit(o.output, text, io.stdout);
    if (run.error) throw run.error;
    return 0;
  },
};
