/** `stalepin watch`: live capture, findings as they happen, the analyze report at the end. */
import { normalizeVip } from '../../core/address.js';
import { badUsage, StalepinError } from '../../core/errors.js';
import { defaultFilter } from '../../capture/live.js';
import type { Severity } from '../../findings/types.js';
import { loadInventory } from '../../inventory/index.js';
import { emit } from '../../report/output.js';
import { renderJunit, renderMarkdown, renderTable } from '../../report/render-analyze.js';
import { visible } from '../../report/visible.js';
import type { WatchEvent } from '../../watch/engine.js';
import { eventLine, liveScreen, ndjsonLine } from '../../watch/report.js';
import { runWatch } from '../../watch/session.js';
import { durationOption, failOnExitCode, parseSipPorts, sipPortsOption } from '../shared.js';
import type { CommandSpec } from '../spec.js';
import { jsonText } from '../../report/json-text.js';

interface WatchCliOptions {
  interface: string[];
  filter?: string;
  snaplen?: number;
  buffer?: string;
  sipPort: string[];
  nodes?: string;
  vip: string[];
  fromNft: boolean;
  nftInterval: string;
  conntrackEvents: boolean;
  netns?: string;
  udpTimeout: string;
  timerB: string;
  window: string;
  earlyAfter: number;
  format: 'table' | 'ndjson';
  reportFormat?: 'table' | 'json' | 'junit' | 'markdown';
  output?: string;
  failOn: Severity | 'never';
  write?: string;
  rotateSize?: string;
  rotateCount: number;
  promTextfile?: string;
  statsInterval: string;
  duration?: string;
  quiet: boolean;
}

const duration = (flag: string, v: string): number => durationOption(flag, v);

/** "32M", "64MiB", "500k", "1G" in bytes; a plain number is megabytes (1,000,000 bytes, as tcpdump -C). */
export function parseSize(flag: string, v: string, plainUnit = 1e6): number {
  const m = /^(\d+(?:\.\d+)?)\s*(k|kb|kib|m|mb|mib|g|gb|gib|b)?$/i.exec(v.trim());
  if (!m) throw badUsage(`${flag}: not a size: ${v} (examples: 100M, 64MiB, 500k)`);
  const u = (m[2] ?? '').toLowerCase();
  const scale: Record<string, number> = { '': plainUnit, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1 << 20, g: 1e9, gb: 1e9, gib: 1 << 30 };
  const n = Math.round(Number(m[1]) * scale[u]!);
  if (!(n > 0)) throw badUsage(`${flag}: must be more than zero: ${v}`);
  return n;
}

export const watchCommand: CommandSpec<WatchCliOptions> = {
  name: 'watch',
  summary: 'capture live and report pinned flows as they happen; the analyze report on Ctrl-C',
  help: `Examples:
  sudo stalepin watch -i eth0 --from-nft                          # live table on a terminal
  sudo stalepin watch -i any --nodes inventory.json --format ndjson | jq .
  sudo ip netns exec lb stalepin watch -i lb-ext -i lb-a -i lb-b --from-nft --conntrack-events --format ndjson
  sudo stalepin watch -i eth0 --write /var/tmp/sip.pcap --rotate-size 100M --rotate-count 10 --prom-textfile /var/lib/node_exporter/stalepin.prom

An unanswered INVITE whose backend is already known dead (--nodes, the --from-nft active set, or an
ICMP error about it) is reported at its --early-after'th retransmission (0.5 s after it was sent by
default); any other at timer B. SIGINT/SIGTERM (or --duration) ends the watch with the analyze
report. Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 bad usage, missing libpcap or
capture privilege, 3 internal error.`,
  args: [],
  options: [
    { key: 'interface', flags: '-i, --interface <name>', description: 'interface(s) to capture on (repeat or comma-separate; any for all)', kind: 'list', default: [] },
    { key: 'filter', flags: '--filter <bpf>', description: 'BPF filter (default: SIP on the SIP ports over UDP and TCP, ICMP/ICMPv6 errors, IP fragments)', kind: 'string' },
    { key: 'snaplen', flags: '--snaplen <bytes>', description: 'bytes kept of each packet (default 262144, as tcpdump; the cap fallback keeps at most 65535)', kind: 'number' },
    { key: 'buffer', flags: '--buffer <size>', description: 'kernel capture ring per interface (default 32MiB, about 80,000 SIP datagrams; 128MiB with the cap fallback, whose ring takes 128 KiB per packet)', kind: 'string' },
    sipPortsOption,
    { key: 'nodes', flags: '--nodes <file>', description: 'backend inventory (any format analyze reads)', kind: 'string' },
    { key: 'vip', flags: '--vip <address>', description: 'service address(es), ip or ip:port (repeatable)', kind: 'list', default: [] },
    { key: 'fromNft', flags: '--from-nft', description: 'read the live nft ruleset (again every --nft-interval): backends missing from its active set count as terminated', kind: 'boolean', default: false },
    { key: 'nftInterval', flags: '--nft-interval <duration>', description: 'how often --from-nft reads the ruleset', kind: 'string', default: '1s' },
    { key: 'conntrackEvents', flags: '--conntrack-events', description: 'join in the live conntrack table and its event stream (conntrack -E)', kind: 'boolean', default: false },
    { key: 'netns', flags: '--netns <name>', description: 'read nft and conntrack in this network namespace (capture in one: run under ip netns exec)', kind: 'string' },
    { key: 'udpTimeout', flags: '--udp-timeout <duration>', description: "the tracker's UDP idle timeout", kind: 'string', default: '120s' },
    { key: 'timerB', flags: '--timer-b <duration>', description: 'RFC 3261 timer B: an INVITE with no response by then is unanswered', kind: 'string', default: '32s' },
    { key: 'window', flags: '--window <duration>', description: "longest delay between an INVITE's arrival and its forwarded copy", kind: 'string', default: '500ms' },
    { key: 'earlyAfter', flags: '--early-after <n>', description: 'retransmissions of an unanswered INVITE to a known-dead backend before it is reported', kind: 'number', default: 1 },
    { key: 'format', flags: '-f, --format <format>', description: 'live output: table (redrawn on a terminal, event lines otherwise) or ndjson', kind: 'choice', choices: ['table', 'ndjson'], default: 'table' },
    { key: 'reportFormat', flags: '--report-format <format>', description: 'final report format (default: table; with ndjson, one {"event":"report"} line)', kind: 'choice', choices: ['table', 'json', 'junit', 'markdown'] },
    { key: 'output', flags: '-o, --output <file>', description: 'write the final report to a file (atomically) instead of stdout', kind: 'string' },
    { key: 'failOn', flags: '--fail-on <severity>', description: 'exit 1 when a finding is at or above this severity', kind: 'choice', choices: ['critical', 'warning', 'info', 'never'], default: 'critical' },
    { key: 'write', flags: '-w, --write <file>', description: 'keep the captured packets (pcap; pcapng when link types differ)', kind: 'string' },
    { key: 'rotateSize', flags: '--rotate-size <size>', description: 'start a new file at this size (plain number: MB, as tcpdump -C)', kind: 'string' },
    { key: 'rotateCount', flags: '--rotate-count <n>', description: 'files in the ring with --rotate-size (as tcpdump -W)', kind: 'number', default: 10 },
    { key: 'promTextfile', flags: '--prom-textfile <file>', description: 'write Prometheus metrics here (atomically) every --stats-interval', kind: 'string' },
    { key: 'statsInterval', flags: '--stats-interval <duration>', description: 'how often kernel drops and metrics are reported', kind: 'string', default: '10s' },
    { key: 'duration', flags: '--duration <duration>', description: 'stop by itself after this long', kind: 'string' },
  ],
  async run(_args, o, io) {
    if (!o.interface.length) throw badUsage('watch needs an interface: -i IFACE (repeatable; any for all)');
    if (o.snaplen !== undefined && (!Number.isInteger(o.snaplen) || o.snaplen < 64 || o.snaplen > 262144)) throw badUsage(`--snaplen: between 64 and 262144: ${o.snaplen}`);
    const bufferBytes = o.buffer === undefined ? undefined : parseSize('--buffer', o.buffer, 1 << 20);
    if (bufferBytes !== undefined && bufferBytes > 2 ** 31 - 1) throw badUsage(`--buffer: at most 2GiB (libpcap takes an int): ${o.buffer}`);
    if (!Number.isInteger(o.earlyAfter) || o.earlyAfter < 1 || o.earlyAfter > 10) throw badUsage(`--early-after: a whole number from 1 to 10: ${o.earlyAfter}`);
    if (!Number.isInteger(o.rotateCount) || o.rotateCount < 1) throw badUsage(`--rotate-count: a whole number of files, at least 1: ${o.rotateCount}`);
    if (o.rotateSize !== undefined && o.write === undefined) throw badUsage('--rotate-size needs --write FILE');
    const sipPorts = parseSipPorts(o.sipPort);
    const inventory = o.nodes !== undefined ? await loadInventory(o.nodes, { stdin: io.stdin }) : undefined;
    const table = o.format === 'table';
    const screen = table && Boolean(io.stdout.isTTY);
    const recent: WatchEvent[] = [];
    const warn = (m: string): void => {
      if (!o.quiet) io.stderr.write(`stalepin: warning: ${visible(m)}\n`);
    };
    const result = await runWatch(
      {
        interfaces: o.interface,
        filter: o.filter ?? defaultFilter(sipPorts),
        ...(o.snaplen !== undefined ? { snapLen: o.snaplen } : {}),
        ...(bufferBytes !== undefined ? { bufferBytes } : {}),
        sipPorts,
        vips: o.vip.map((v) => normalizeVip(v)),
        ...(inventory ? { inventory, inventoryFile: o.nodes! } : {}),
        fromNft: o.fromNft,
        nftIntervalMs: duration('--nft-interval', o.nftInterval) / 1e6,
        conntrackEvents: o.conntrackEvents,
        ...(o.netns !== undefined ? { netns: o.netns } : {}),
        udpTimeoutS: duration('--udp-timeout', o.udpTimeout) / 1e9,
        timerBNs: duration('--timer-b', o.timerB),
        forwardWindowNs: duration('--window', o.window),
        earlyRetransmissions: o.earlyAfter,
        ...(o.write !== undefined ? { write: { path: o.write, rotateBytes: o.rotateSize !== undefined ? parseSize('--rotate-size', o.rotateSize) : 0, rotateCount: o.rotateCount } } : {}),
        ...(o.promTextfile !== undefined ? { promTextfile: o.promTextfile } : {}),
        statsIntervalMs: duration('--stats-interval', o.statsInterval) / 1e6,
        ...(o.duration !== undefined ? { durationMs: duration('--duration', o.duration) / 1e6 } : {}),
        signal: io.signal,
      },
      {
        onStarted: (ifs) => {
          if (!o.quiet && !screen) io.stderr.write(`stalepin: watching ${ifs.join(', ')}; Ctrl-C for the final report\n`);
        },
        onEvent: (e) => {
          if (!table) io.stdout.write(ndjsonLine(e));
          else if (screen) {
            recent.push(e);
            if (recent.length > 50) recent.splice(0, recent.length - 50);
          } else io.stdout.write(eventLine(e, false));
        },
        onTick: screen
          ? (s, engine) => io.stdout.write(liveScreen(s, engine.openFindings(), recent, io.color, io.stdout.columns ?? 120))
          : undefined,
        onStats: (s, final) => {
          if (o.quiet || (screen && !final)) return;
          io.stderr.write(
            `stalepin: ${final ? 'captured' : 'so far'}: ${s.frames} packets, ${s.sipMessages} SIP messages, kernel drops ${s.kernelDrops}${s.kernelDrops ? ' (findings may be missing)' : ''}\n`,
          );
        },
        onWarning: warn,
      },
    );
    const report = result.report;
    if (!o.quiet) for (const w of report.warnings) warn(w.file ? `${w.file}: ${w.message}` : w.message);
    const fmt = o.reportFormat ?? (table ? 'table' : 'json');
    const text =
      fmt === 'json'
        ? o.output === undefined && !table
          ? jsonText({ event: 'report', report, at: report.summary.last ?? null }) + '\n'
          : jsonText(report, 2) + '\n'
        : fmt === 'junit'
          ? renderJunit(report, o.failOn)
          : fmt === 'markdown'
            ? renderMarkdown(report)
            : renderTable(report, io.color && o.output === undefined);
    await emit(o.output, text, io.stdout);
    if (report.error) throw new StalepinError('bad_input', report.error);
    return failOnExitCode(report.findings, o.failOn);
  },
};
