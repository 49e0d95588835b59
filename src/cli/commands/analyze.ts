/** `stalepin analyze`: which backend got each INVITE, which backends are dead, which flows are pinned. */
import { analyze } from '../../analysis/analyze.js';
import { StalepinError } from '../../core/errors.js';
import type { Severity } from '../../findings/types.js';
import { AtomicOutput, emit } from '../../report/output.js';
import { TimelineObserver } from '../../observe/timeline.js';
import { renderHtml } from '../../report/html/index.js';
import { renderJunit, renderMarkdown, renderTable } from '../../report/render-analyze.js';
import { progressBar } from '../progress.js';
import { durationOption, failOnExitCode, parseSipPorts, printWarnings, sipPortsOption, timeOption } from '../shared.js';
import type { CommandSpec } from '../spec.js';
import { JsonBytes, writeJsonBytes } from '../../report/json-bytes.js';
import { writeFlowJson } from '../../report/analyze.js';

interface AnalyzeCliOptions {
  conntrack: string[];
  nodes?: string;
  vip: string[];
  at?: string;
  udpTimeout: string;
  timerB: string;
  window: string;
  since?: string;
  until?: string;
  callId: string[];
  sipPort: string[];
  format: 'table' | 'json' | 'junit' | 'markdown' | 'html';
  output?: string;
  failOn: Severity | 'never';
  quiet: boolean;
}

const duration = (flag: string, v: string): number => durationOption(flag, v);
const time = timeOption;

export const analyzeCommand: CommandSpec<AnalyzeCliOptions> = {
  name: 'analyze',
  summary: 'find flows pinned to terminated or unresponsive backends, the calls they lost, the evidence and the fix',
  help: `Examples:
  stalepin analyze fixtures/lab/killed                       # a case folder, read by content
  stalepin analyze lb-any.pcap --nodes inventory.json --conntrack conntrack-after.txt
  stalepin analyze carrier-side.pcapng --vip 203.0.113.10:5060 --format json -o report.json
  stalepin analyze ci-fixture.pcap --format junit --fail-on warning > junit.xml
  stalepin analyze fixtures/lab/killed --format html -o incident.html   # one self-contained page

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 bad usage or unreadable input, 3 internal error.`,
  args: [{ name: 'input', description: 'capture files (pcap, pcapng, gzip; - for stdin) or case folders', variadic: true, required: true }],
  options: [
    { key: 'conntrack', flags: '--conntrack <file>', description: 'conntrack dumps or event streams (any format; repeat or comma-separate)', kind: 'list', default: [] },
    { key: 'nodes', flags: '--nodes <file>', description: 'backend inventory: stalepin JSON, ADDRESS STATE lines, EndpointSlices, nft -j, iptables-save, ipvsadm', kind: 'string' },
    { key: 'vip', flags: '--vip <address>', description: 'service address(es) clients send to, ip or ip:port (repeatable); else from the inventory, DNAT rules, or inferred', kind: 'list', default: [] },
    { key: 'at', flags: '--at <time>', description: 'time of conntrack snapshots that carry none of their own (else their file modification time)', kind: 'string' },
    { key: 'udpTimeout', flags: '--udp-timeout <duration>', description: "the tracker's UDP idle timeout, for flows seen only from outside (the kernel SIP helper uses 3600s)", kind: 'string', default: '120s' },
    { key: 'timerB', flags: '--timer-b <duration>', description: 'RFC 3261 timer B: an INVITE with no response by then is unanswered', kind: 'string', default: '32s' },
    { key: 'window', flags: '--window <duration>', description: "longest delay between an INVITE's arrival and its forwarded copy", kind: 'string', default: '500ms' },
    { key: 'since', flags: '--since <time>', description: 'only INVITEs first seen at or after this time', kind: 'string' },
    { key: 'until', flags: '--until <time>', description: 'only INVITEs first seen at or before this time', kind: 'string' },
    { key: 'callId', flags: '--call-id <id>', description: 'only these Call-IDs (repeatable)', kind: 'list', default: [] },
    sipPortsOption,
    { key: 'format', flags: '-f, --format <format>', description: 'report format', kind: 'choice', choices: ['table', 'json', 'junit', 'markdown', 'html'], default: 'table' },
    { key: 'output', flags: '-o, --output <file>', description: 'write the report to a file (atomically) instead of stdout', kind: 'string' },
    { key: 'failOn', flags: '--fail-on <severity>', description: 'exit 1 when a finding is at or above this severity', kind: 'choice', choices: ['critical', 'warning', 'info', 'never'], default: 'critical' },
  ],
  async run(paths, o, io) {
    const progress = progressBar(io.stderr, !o.quiet);
    const since = time('--since', o.since);
    const until = time('--until', o.until);
    // The timeline is kept outside the report record: the JSON contract stays as it is.
    const timeline = o.format === 'html' || o.format === 'markdown' ? new TimelineObserver() : undefined;
    const report = await analyze({
      paths,
      conntrack: o.conntrack,
      ...(o.nodes !== undefined ? { nodes: o.nodes } : {}),
      vips: o.vip,
      ...(o.at !== undefined ? { at: time('--at', o.at)! } : {}),
      udpTimeoutS: duration('--udp-timeout', o.udpTimeout) / 1e9,
      timerBNs: duration('--timer-b', o.timerB),
      forwardWindowNs: duration('--window', o.window),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      callIds: o.callId,
      sipPorts: parseSipPorts(o.sipPort),
      stdin: io.stdin,
      signal: io.signal,
      onProgress: progress.update,
      ...(timeline ? { onInvite: timeline.onInvite } : {}),
    });
    progress.done();
    if (!o.quiet) printWarnings(io, report.warnings);
    if (o.format === 'json') {
      const out = await AtomicOutput.open(o.output, io.stdout);
      try {
        const w = new JsonBytes((chunk) => out.write(chunk));
        writeJsonBytes(report as unknown as Record<string, unknown>, w, { flows: writeFlowJson });
        w.flush();
      } catch (e) {
        out.abort();
        throw e;
      }
      await out.commit('\n');
    } else {
      const text =
        o.format === 'junit'
          ? renderJunit(report, o.failOn)
          : o.format === 'markdown'
            ? renderMarkdown(report, timeline?.build(report.targets))
            : o.format === 'html'
              ? renderHtml(report, timeline!.build(report.targets))
              : renderTable(report, io.color && o.output === undefined);
      await emit(o.output, text, io.stdout);
    }
    if (report.error) throw new StalepinError('bad_input', report.error);
    return failOnExitCode(report.findings, o.failOn);
  },
};
