/** `stalepin inspect`: what capinfos tells, plus transports, SIP payloads and anomalies. */
import { CaptureStats } from '../../observe/capture-stats.js';
import { runPackets } from '../../pipeline/packets.js';
import { buildInspectReport, renderInspectTable } from '../../report/inspect.js';
import { emit } from '../../report/output.js';
import { progressBar } from '../progress.js';
import { printWarnings, sipPortsOption, parseSipPorts } from '../shared.js';
import type { CommandSpec } from '../spec.js';
import { jsonText } from '../../report/json-text.js';

interface InspectOptions {
  format: 'table' | 'json';
  output?: string;
  sipPort: string[];
  quiet: boolean;
}

export const inspectCommand: CommandSpec<InspectOptions> = {
  name: 'inspect',
  summary: 'describe captures: format, interfaces, packets, time span, transports, SIP payloads, anomalies',
  help: `Examples:
  stalepin inspect capture.pcapng
  stalepin inspect --format json rotated-*.pcap.gz
  tcpdump -i any -w - udp port 5060 | stalepin inspect -`,
  args: [{ name: 'capture', description: 'pcap or pcapng files (gzip allowed), - for standard input', variadic: true, required: true }],
  options: [
    { key: 'format', flags: '-f, --format <format>', description: 'output format', kind: 'choice', choices: ['table', 'json'], default: 'table' },
    { key: 'output', flags: '-o, --output <file>', description: 'write the report to a file (atomically) instead of stdout', kind: 'string' },
    sipPortsOption,
  ],
  async run(files, o, io) {
    const stats = new CaptureStats(parseSipPorts(o.sipPort));
    const progress = progressBar(io.stderr, !o.quiet);
    const run = await runPackets({ files, stdin: io.stdin, signal: io.signal, onProgress: progress.update }, (pkt) => stats.observe(pkt));
    progress.done();
    if (!o.quiet) printWarnings(io, run.warnings);
    const report = buildInspectReport(run, stats);
    await emit(o.output, o.format === 'json' ? jsonText(report, 2) + '\n' : renderInspectTable(report), io.stdout);
    if (run.error) throw run.error; // after the partial report: one line on stderr, exit 2
    return 0;
  },
};
