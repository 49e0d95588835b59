/** `stalepin flow`: a ladder diagram of one call in the terminal. */
import { badUsage } from '../../core/errors.js';
import { diffNs, formatIso } from '../../core/time.js';
import { emit } from '../../report/output.js';
import { visible } from '../../report/visible.js';
import { runSip } from '../../sip/source.js';
import { printWarnings } from '../shared.js';
import type { CommandSpec } from '../spec.js';
import { sipOptions, sipRunOptions, type SipCommonOptions } from './sip-shared.js';

interface FlowOptions extends SipCommonOptions {
  output?: string;
}

/** One message of the call, as the ladder draws it. */
export interface FlowMessage {
  sec: number;
  nsec: number;
  precision: number;
  src: string;
  dst: string;
  transport: string;
  /** Method, or "code reason". */
  label: string;
  cseq: string;
  retransmission: boolean;
  forwardedCopy: boolean;
  tx: number;
}

/** Offset from the first message: "+S.FFFFFF" with the capture's digits, exact (no float). */
function offset(ns: number, precision: number): string {
  const s = Math.floor(ns / 1e9);
  const frac = String(ns - s * 1e9).padStart(9, '0').slice(0, Math.max(0, Math.min(9, precision)));
  return '+' + s + (frac ? '.' + frac : '');
}

function center(text: string, width: number): string {
  if (text.length >= width) return text;
  const left = Math.floor((width - text.length) / 2);
  return ' '.repeat(left) + text + ' '.repeat(width - text.length - left);
}

/** Render the ladder: one column per address, in order of first appearance. */
export function renderFlow(callId: string, msgs: FlowMessage[]): string {
  const cols: string[] = [];
  for (const m of msgs) for (const a of [m.src, m.dst]) if (!cols.includes(a)) cols.push(a);
  const W = Math.max(24, ...cols.map((c) => c.length + 4));
  const T = 16; // time offset column
  const x = (i: number): number => T + i * W + Math.floor(W / 2);
  const width = T + cols.length * W;
  const blank = (): string[] => {
    const l = new Array<string>(width).fill(' ');
    for (let i = 0; i < cols.length; i++) l[x(i)] = '|';
    return l;
  };
  const put = (l: string[], at: number, s: string): void => {
    for (let i = 0; i < s.length; i++) {
      if (at + i >= l.length) l.push(s[i]!);
      else l[at + i] = s[i]!;
    }
  };
  const out: string[] = [];
  const first = msgs[0]!;
  out.push(`Call-ID: ${visible(callId)}`);
  out.push(`first message: ${formatIso(first.sec, first.nsec, first.precision)}; ${msgs.length} messages; [R] retransmission (dotted), [F] forwarded copy`);
  out.push('');
  const head = new Array<string>(width).fill(' ');
  cols.forEach((c, i) => put(head, T + i * W, center(c, W)));
  out.push(head.join('').trimEnd());
  out.push(blank().join('').trimEnd());
  for (const m of msgs) {
    const a = cols.indexOf(m.src);
    const b = cols.indexOf(m.dst);
    const mark = m.retransmission ? ' [R]' : m.forwardedCopy ? ' [F]' : '';
    const label = visible(`${m.label}${m.cseq ? ` (${m.cseq})` : ''}${mark}`);
    const labelLine = blank();
    put(labelLine, 0, offset(diffNs(first.sec, first.nsec, m.sec, m.nsec), m.precision));
    const arrow = blank();
    if (a === b) {
      put(labelLine, x(a) + 2, label + ' (to itself)');
      put(arrow, x(a), '|<-+');
    } else {
      const lo = Math.min(x(a), x(b));
      const hi = Math.max(x(a), x(b));
      const span = hi - lo - 1;
      put(labelLine, lo + 1 + Math.max(0, Math.floor((span - label.length) / 2)), label);
      const dash = m.retransmission ? '.' : '-';
      let line = dash.repeat(span);
      line = a < b ? line.slice(0, -1) + '>' : '<' + line.slice(1);
      put(arrow, lo + 1, line);
    }
    out.push(labelLine.join('').trimEnd());
    out.push(arrow.join('').trimEnd());
  }
  return out.join('\n') + '\n';
}

export const flowCommand: CommandSpec<FlowOptions> = {
  name: 'flow',
  summary: 'draw one call as a ladder diagram: a column per address, an arrow per message, retransmissions marked',
  help: `Examples:
  stalepin flow 3c2a7f1e@192.0.2.1 capture.pcap
  stalepin flow "$(stalepin calls -f csv --state unanswered x.pcap | sed -n 2p | cut -d, -f1)" x.pcap`,
  args: [
    { name: 'call-id', description: 'the Call-ID of the call (exact)', required: true },
    { name: 'capture', description: 'pcap or pcapng files (gzip allowed), - for standard input', variadic: true, required: true },
  ],
  options: [{ key: 'output', flags: '-o, --output <file>', description: 'write to a file (atomically) instead of stdout', kind: 'string' }, ...sipOptions],
  async run(args, o, io) {
    const [callId, ...files] = args;
    if (callId === undefined || callId === '') throw badUsage('flow: give a Call-ID, then the captures');
    const { opts, done } = sipRunOptions(files, o, io);
    const msgs: FlowMessage[] = [];
    const run = await runSip(opts, {
      onMessage(msg, ctx, info) {
        if (msg.callId !== callId) return;
        msgs.push({
          sec: ctx.sec,
          nsec: ctx.nsec,
          precision: ctx.precision,
          src: ctx.src,
          dst: ctx.dst,
          transport: ctx.transport,
          label: msg.isRequest ? msg.method : `${msg.statusCode} ${msg.reason}`.trimEnd(),
          cseq: msg.cseqNum >= 0 ? `${msg.cseqNum} ${msg.cseqMethod}` : '',
          retransmission: info.retransmission,
          forwardedCopy: info.forwardedCopy,
          tx: info.txId,
        });
      },
    });
    done();
    if (!o.quiet) printWarnings(io, run.warnings);
    if (run.error) throw run.error;
    if (msgs.length === 0) throw badUsage(`no SIP message with Call-ID ${callId} in ${files.join(', ')} (stalepin calls lists the Call-IDs)`);
    await emit(o.output, renderFlow(callId, msgs), io.stdout);
    return 0;
  },
};
