/** `stalepin messages`: one record per SIP message, what `tshark -T fields` gives for SIP. */
import { formatIso } from '../../core/time.js';
import { visible } from '../../report/visible.js';
import { SipParseStatus } from '../../sip/parser.js';
import { runSip } from '../../sip/source.js';
import { printWarnings } from '../shared.js';
import type { CommandSpec } from '../spec.js';
import { ChunkWriter, pad, sipOptions, sipRunOptions, type SipCommonOptions } from './sip-shared.js';
import { jsonText } from '../../report/json-text.js';

interface MessagesOptions extends SipCommonOptions {
  format: 'table' | 'json' | 'ndjson';
}

/** One SIP message as `messages` reports it (the JSON and NDJSON record). */
export interface MessageRecord {
  time: string;
  src: string;
  dst: string;
  transport: 'udp' | 'tcp';
  /** Request method, or '' for a response. */
  method: string;
  /** Response status code, or 0 for a request. */
  status: number;
  reason: string;
  callId: string;
  /** CSeq number (-1 when missing or malformed) and method. */
  cseq: number;
  cseqMethod: string;
  /** Top Via branch ('' when none). */
  branch: string;
  /** Transaction id (0 when the message could not be tracked). */
  tx: number;
  retransmission: boolean;
  /** A copy of a message seen before at another hop (forwarded by a balancer or proxy). */
  forwardedCopy: boolean;
  /** The message broke a bound or had an unusable start line (see anomalies). */
  invalid: boolean;
}

const HEADER = ['time', 'src', 'dst', 'proto', 'message', 'call-id', 'cseq', 'branch', 'tx', 'flags'];
const W = [31, 22, 22, 5, 14, 36, 14, 24, 6];

function tableLine(cells: string[]): string {
  let s = '';
  for (let i = 0; i < cells.length; i++) s += i < W.length ? pad(cells[i]!, W[i]!) + ' ' : cells[i]!;
  return s.trimEnd() + '\n';
}

export const messagesCommand: CommandSpec<MessagesOptions> = {
  name: 'messages',
  summary: 'list every SIP message: time, hop, transport, method or status, Call-ID, CSeq, branch, transaction, retransmission',
  help: `Flags: R = retransmission (seen before at the same hop), F = forwarded copy (seen before at
another hop: the balancer's or proxy's copy), ! = invalid message (see anomalies).

Examples:
  stalepin messages capture.pcap
  stalepin messages --format ndjson lb-*.pcap.gz | jq 'select(.retransmission)'
  stalepin messages --sip-port 5060,6060 trunk.pcapng`,
  args: [{ name: 'capture', description: 'pcap or pcapng files (gzip allowed), - for standard input', variadic: true, required: true }],
  options: [{ key: 'format', flags: '-f, --format <format>', description: 'output format', kind: 'choice', choices: ['table', 'json', 'ndjson'], default: 'table' }, ...sipOptions],
  async run(files, o, io) {
    const { opts, done } = sipRunOptions(files, o, io);
    const out = new ChunkWriter(io.stdout);
    let n = 0;
    if (o.format === 'table') out.write(tableLine(HEADER));
    else if (o.format === 'json') out.write('{"schema":"stalepin/messages@1","messages":[');
    const run = await runSip(opts, {
      onMessage(msg, ctx, info, status) {
        const v = msg.topVia;
        const rec: MessageRecord = {
          time: formatIso(ctx.sec, ctx.nsec, ctx.precision),
          src: ctx.src,
          dst: ctx.dst,
          transport: ctx.transport,
          method: msg.method,
          status: msg.statusCode,
          reason: msg.isRequest ? '' : msg.reason,
          callId: msg.callId,
          cseq: msg.cseqNum,
          cseqMethod: msg.cseqMethod,
          branch: v ? v.branch : '',
          tx: info.txId,
          retransmission: info.retransmission,
          forwardedCopy: info.forwardedCopy,
          invalid: status !== SipParseStatus.Ok,
        };
        if (o.format === 'table') {
          const flags = (rec.retransmission ? 'R' : '') + (rec.forwardedCopy ? 'F' : '') + (rec.invalid ? '!' : '');
          out.write(
            tableLine([
              rec.time,
              rec.src,
              rec.dst,
              rec.transport,
              visible(rec.method || `${rec.status} ${rec.reason}`),
              visible(rec.callId),
              rec.cseq < 0 ? '' : visible(`${rec.cseq} ${rec.cseqMethod}`),
              visible(rec.branch),
              rec.tx ? String(rec.tx) : '',
              flags,
            ]),
          );
        } else if (o.format === 'json') out.write((n ? ',\n' : '\n') + jsonText(rec));
        else out.write(jsonText(rec) + '\n');
        n++;
      },
    });
    done();
    if (o.format === 'json') {
      out.write(`\n],"count":${n},"transactions":${run.tracker.transactions},"anomalies":${jsonText(run.anomalies.list())}}\n`);
    }
    out.flush();
    if (!o.quiet) {
      printWarnings(io, run.warnings);
      if (o.format === 'table') {
        const sipAnomalies = run.anomalies.list().filter((a) => a.name.startsWith('sip_'));
        const tail = sipAnomalies.length ? '; anomalies: ' + sipAnomalies.map((a) => `${a.name}=${a.count}`).join(', ') : '';
        io.stderr.write(`${n} SIP messages, ${run.tracker.transactions} transactions${tail}\n`);
      }
    }
    if (run.error) throw run.error;
    return 0;
  },
};
