/**
 * `npm run bench`: builds the corpus once (bench/corpus/, git-ignored), runs stalepin side by
 * side with the tools an SRE would use instead, and writes BENCHMARKS.md. Medians of
 * interleaved runs; ratios against stalepin; peak RSS from GNU time.
 *
 * BENCH_MB (default 1024) sets the corpus size; BENCH_RUNS (default 3) the runs per tool.
 */
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import os from 'node:os';
import { compare, fileSize, have, markdownTable, type BenchRow } from './lib.js';
import { sipParserKind } from '../src/sip/native-parser.js';
import { generateLbCapture } from '../test/gen/lbsynth.js';
import { runConntrackBench } from './conntrack-bench.js';
import { runAuditBench } from './audit-bench.js';
import { runWatchBench } from './watch-bench.js';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const corpus = join(root, 'bench', 'corpus');
const mb = Number(process.env['BENCH_MB'] ?? 1024);
const runs = Number(process.env['BENCH_RUNS'] ?? 3);
const stalepin = ['node', join(root, 'bin', 'stalepin')];

function ensureCorpus(): { pcap: string; pcapng: string; packets: number } {
  mkdirSync(corpus, { recursive: true });
  const pcap = join(corpus, `lb-${mb}m.pcap`);
  const pcapng = join(corpus, `lb-${mb}m.pcapng`);
  const truthFile = pcap.replace(/\.pcap$/, '.truth.json');
  if (!existsSync(pcap) || !existsSync(truthFile)) {
    process.stderr.write(`bench: generating ${pcap} (${mb} MB)...\n`);
    const truth = generateLbCapture(pcap, { targetBytes: mb * 1024 * 1024, callsPerSecond: 400, clients: 5000 });
    writeFileSync(truthFile, JSON.stringify(truth, null, 2) + '\n');
  }
  if (!existsSync(pcapng)) {
    if (!have('editcap')) throw new Error('editcap (Debian package wireshark-common/tshark) is needed to make the pcapng corpus');
    process.stderr.write(`bench: converting to ${pcapng} (editcap -F pcapng)...\n`);
    const r = spawnSync('editcap', ['-F', 'pcapng', pcap, pcapng], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('editcap failed');
  }
  const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as { packets: number };
  return { pcap, pcapng, packets: truth.packets };
}

function peer(tool: string, argv: string[]): { tool: string; argv: string[]; skip?: string } {
  return have(argv[0]!) ? { tool, argv } : { tool, argv, skip: `${argv[0]} not installed` };
}

const rows: BenchRow[] = [];

/** Mark a stalepin row against its issue's target: throughput (MB/s, 1e6 bytes) and peak RSS. */
function target(row: BenchRow | undefined, minMBs: number, maxRssMB: number): void {
  if (!row || row.skipped || !row.bytes) return;
  const mbs = row.bytes / 1e6 / row.medianSec;
  // Each half of the target on its own: one can be met while the other is not.
  const speed = `>= ${minMBs} MB/s: ${mbs >= minMBs ? 'met' : `MISSED (${mbs.toFixed(0)} MB/s)`}`;
  const rss = `< ${maxRssMB} MB: ${row.peakRssMB < maxRssMB ? 'met' : `MISSED (${row.peakRssMB.toFixed(0)} MB)`}`;
  row.note = `target ${speed}; ${rss}`;
}
const { pcap, pcapng, packets } = ensureCorpus();

for (const [label, file] of [
  ['pcap', pcap],
  ['pcapng', pcapng],
] as const) {
  const bytes = fileSize(file);
  rows.push(
    ...compare(
      `read+decode ${label} (${(bytes / 1e6).toFixed(0)} MB)`,
      [
        { tool: 'stalepin inspect', argv: [...stalepin, 'inspect', '--quiet', '--format', 'json', file] },
        peer('tcpdump -r -w /dev/null', ['tcpdump', '-r', file, '-w', '/dev/null']),
        peer('capinfos', ['capinfos', file]),
        peer('tshark -Y sip', ['tshark', '-r', file, '-Y', 'sip']),
      ],
      runs,
      bytes,
      packets,
    ),
  );
}

{
  const bytes = fileSize(pcap);
  const size = `(${(bytes / 1e6).toFixed(0)} MB)`;
  // The SIP call list: sngrep's job, and tshark's SIP statistics tap as its nearest pass.
  // Not a peer: the least any JavaScript SIP parser could cost here (bench/scan-floor.mjs).
  const floor = { tool: 'floor: read+decode, one JS pass over SIP headers', argv: ['node', join(root, 'bench', 'scan-floor.mjs'), pcap] };
  // The same command with the C parser turned off: what a machine without a compiler at install gets.
  const jsOnly = ['env', 'STALEPIN_SIP_PARSER=js'];
  // The SIP commands read and parse on a second thread when they can (sip/threaded.ts).
  const oneThread = ['env', 'STALEPIN_THREADS=1'];
  const callsRows = compare(
    `calls pcap ${size}`,
    [
      { tool: 'stalepin calls', argv: [...stalepin, 'calls', '--quiet', '--format', 'json', '-o', '/dev/null', pcap] },
      { tool: 'stalepin calls, one thread', argv: [...oneThread, ...stalepin, 'calls', '--quiet', '--format', 'json', '-o', '/dev/null', pcap] },
      { tool: 'stalepin calls, JavaScript parser only', argv: [...jsOnly, ...stalepin, 'calls', '--quiet', '--format', 'json', '-o', '/dev/null', pcap] },
      peer('sngrep -I -N -q', ['sngrep', '-I', pcap, '-N', '-q']),
      peer('tshark -q -z sip,stat', ['tshark', '-r', pcap, '-q', '-z', 'sip,stat']),
      floor,
    ],
    runs,
    bytes,
    packets,
  );
  target(callsRows[0], 600, 200);
  rows.push(...callsRows);
  // analyze: the nearest jobs of the peers are loading every call (sngrep) and listing every
  // INVITE with where it went (tshark fields), which an SRE would then join by hand.
  const analyzeRows = compare(
    `analyze pcap ${size}`,
    [
      { tool: 'stalepin analyze', argv: [...stalepin, 'analyze', '--quiet', '--format', 'json', '-o', '/dev/null', '--fail-on', 'never', pcap] },
      { tool: 'stalepin analyze, one thread', argv: [...oneThread, ...stalepin, 'analyze', '--quiet', '--format', 'json', '-o', '/dev/null', '--fail-on', 'never', pcap] },
      { tool: 'stalepin analyze, JavaScript parser only', argv: [...jsOnly, ...stalepin, 'analyze', '--quiet', '--format', 'json', '-o', '/dev/null', '--fail-on', 'never', pcap] },
      peer('sngrep -I -N -q', ['sngrep', '-I', pcap, '-N', '-q']),
      peer('tshark INVITE fields', ['tshark', '-r', pcap, '-Y', 'sip.Method == "INVITE"', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'sip.Call-ID']),
      floor,
    ],
    runs,
    bytes,
    packets,
  );
  target(analyzeRows[0], 500, 200);
  rows.push(...analyzeRows);
}
rows.push(...(await runConntrackBench(runs)));
rows.push(...(await runAuditBench(runs)));
rows.push(...(await runWatchBench()));

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const md = `# Benchmarks

Generated by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${cpu},
${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}. The machine is shared and noisy, so every
figure is the median of ${runs} runs, tools interleaved run by run after one warm-up run each (the
input is in the page cache: this measures parsing, not the disk). "ratio" is the tool's median time
over stalepin's for the same task (above 1: stalepin is faster). Peak RSS is GNU time's maximum
resident set of the process.

Corpus: a synthetic capture taken at a SIP load balancer (test/gen/lbsynth.ts): Ethernet/IPv4/UDP,
every SIP datagram seen arriving and forwarded, RTP-sized noise, one backend terminated mid-way,
${packets} packets; the pcapng is the same capture converted by \`editcap -F pcapng\`.

SIP parser: ${sipParserKind() === 'c' ? "the C fast path (native/sip) with the JavaScript parser for the messages it declines; the rows \"JavaScript parser only\" run the same command with STALEPIN_SIP_PARSER=js" : 'JavaScript only (the C module native/sip was not built)'}.
\`calls\` and \`analyze\` read, decode and parse on a second thread (src/sip/threaded.ts; it needs the C
parser, so the JavaScript-only rows run on one thread); the rows "one thread" run them with
STALEPIN_THREADS=1.

The "floor" rows are not a tool (bench/scan-floor.mjs): stalepin's own reader and decoder, the
dissector's skipping of byte-identical copies, and one JavaScript loop over the header bytes of
each remaining SIP message that finds its line ends and does nothing else. A SIP parser written in
JavaScript cannot cost less on this input; its ratio is the share of stalepin's time it accounts for.

${markdownTable(rows)}
`;
writeFileSync(join(root, 'BENCHMARKS.md'), md);
process.stdout.write(md);
