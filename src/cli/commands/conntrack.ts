/**
 * `stalepin conntrack <file...|--live>`: conntrack dumps, event logs and IPVS tables in any
 * format, normalised to one entry model and printed as a table, JSON or NDJSON, or summarised
 * per service and target.
 */
import Table from 'cli-table3';
import { StalepinError } from '../../core/errors.js';
import { parseTime, type Timestamp } from '../../core/time.js';
import { visible } from '../../report/visible.js';
import { entryFlags, entryToJson, type ConntrackEntry } from '../../conntrack/entry.js';
import { compileFilter } from '../../conntrack/filter.js';
import { readLiveTable, streamLiveEvents } from '../../conntrack/live.js';
import { parseConntrackFile, parseConntrackStream, type ParseSummary } from '../../conntrack/parse.js';
import { ConntrackSummary, type SummaryRow } from '../../conntrack/summary.js';
import type { CommandSpec, Io } from '../spec.js';
import { jsonText } from '../../report/json-text.js';

export interface ConntrackOptions {
  live: boolean;
  events: boolean;
  netns?: string;
  format: 'table' | 'json' | 'ndjson';
  proto?: string[];
  service?: string[];
  target?: string[];
  state?: string[];
  flag?: string[];
  summary: boolean;
  at?: string;
  limit: number;
  quiet: boolean;
  debug: boolean;
}

export const SCHEMA = 'stalepin/conntrack@1';

/** Rows a table shows before it says "N more" (a table of a million rows helps no one). */
const DEFAULT_TABLE_LIMIT = 1000;

/** Buffered writer with backpressure: strings are joined up to 64 KiB, then written. */
class Out {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly io: Io) {}
  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
  }
  async flushIfFull(): Promise<void> {
    if (this.size >= 1 << 16) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.size === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    const out = this.io.stdout;
    await new Promise<void>((resolve) => {
      if (out.write(text)) resolve();
      else out.once('drain', () => resolve());
    });
  }
}

function tableRow(e: ConntrackEntry): string[] {
  const flags = entryFlags(e);
  if (e.snat) flags.push('snat');
  const pk = e.orig.packets >= 0 ? `${e.orig.packets}/${e.reply.packets >= 0 ? e.reply.packets : '-'}` : '';
  return [
    e.event ? e.event.toUpperCase() : '',
    e.proto,
    e.state,
    e.timeout >= 0 ? String(e.timeout) : '',
    e.client,
    e.service,
    e.target,
    flags.join(','),
    e.zone >= 0 ? String(e.zone) : '',
    e.mark >= 0 ? String(e.mark) : '',
    pk,
  ].map(visible);
}

const TABLE_HEAD = ['event', 'proto', 'state', 'ttl', 'client', 'service', 'target', 'flags', 'zone', 'mark', 'pkts o/r'];

function newTable(io: Io, head: string[]): Table.Table {
  return new Table({ head, style: { head: io.color ? ['cyan'] : [], border: io.color ? ['grey'] : [], compact: true } });
}

/** Drop columns that are empty in every row (event for tables, zone when unused, ...). */
function pruneColumns(head: string[], rows: string[][]): { head: string[]; rows: string[][] } {
  const keep = head.map((_, i) => i < 1 ? rows.some((r) => r[i] !== '') : rows.some((r) => r[i] !== '') || ['proto', 'client', 'service', 'target'].includes(head[i]!));
  return { head: head.filter((_, i) => keep[i]), rows: rows.map((r) => r.filter((_, i) => keep[i])) };
}

function sourceJson(s: ParseSummary, matched: number, via?: string): Record<string, unknown> {
  const j: Record<string, unknown> = {
    file: s.file,
    format: s.format,
    lines: s.lines,
    entries: s.entries,
    matched,
    badLines: s.badLines,
    snapshot: { time: s.snapshot.time, timeSource: s.snapshot.source },
    warnings: s.warnings.map((w) => w.message),
  };
  if (s.warningsDropped) j['warningsDropped'] = s.warningsDropped;
  if (via) j['via'] = via;
  return j;
}

function summaryCells(r: SummaryRow): string[] {
  const protos = Object.entries(r.byProto)
    .sort((a, b) => b[1] - a[1])
    .map(([p, n]) => `${p}:${n}`)
    .join(' ');
  return [r.service, r.target, String(r.entries), String(r.assured), String(r.unreplied), String(r.snat), protos].map(visible);
}

function parseAt(at: string | undefined): Timestamp | undefined {
  if (at === undefined) return undefined;
  const t = parseTime(at);
  if (!t) throw new StalepinError('bad_usage', `--at: not a time (ISO 8601 or epoch seconds): ${at}`);
  return t;
}

export async function runConntrack(files: string[], o: ConntrackOptions, io: Io): Promise<number> {
  if (o.live && files.length) throw new StalepinError('bad_usage', 'give files or --live, not both');
  if (!o.live && files.length === 0) throw new StalepinError('bad_usage', 'give one or more conntrack dumps (or - for stdin), or --live');
  if (o.events && !o.live) throw new StalepinError('bad_usage', '--events reads the live event stream: use it with --live (event files are read like any dump)');
  if (o.netns !== undefined && !o.live) throw new StalepinError('bad_usage', '--netns goes with --live');
  if (o.events && o.summary) throw new StalepinError('bad_usage', '--summary summarises a table; it does not go with --events');
  const at = parseAt(o.at);
  const keep = compileFilter({ proto: o.proto, service: o.service, target: o.target, state: o.state, flag: o.flag });
  const limit = o.limit > 0 ? o.limit : o.format === 'table' ? DEFAULT_TABLE_LIMIT : Infinity;

  const out = new Out(io);
  const summary = o.summary ? new ConntrackSummary() : undefined;
  const tableRows: string[][] = [];
  let shown = 0;
  let notShown = 0;
  let firstJson = true;
  let currentFile = '';
  let matched = 0;
  const streamingTable = o.live && o.events && o.format === 'table';

  if (o.format === 'json' && !summary) out.write(`{"schema":${JSON.stringify(SCHEMA)},"entries":[`);

  const onEntry = (e: ConntrackEntry): void => {
    if (!keep(e)) return;
    matched++;
    if (summary) {
      summary.add(e);
      return;
    }
    if (shown >= limit) {
      notShown++;
      return;
    }
    shown++;
    if (o.format === 'table') {
      if (streamingTable) out.write(tableRow(e).filter((c) => c !== '').join('  ') + '\n');
      else tableRows.push(tableRow(e));
      return;
    }
    const text = jsonText(entryToJson(e, currentFile));
    if (o.format === 'ndjson') out.write(text + '\n');
    else {
      out.write(firstJson ? '\n' + text : ',\n' + text);
      firstJson = false;
    }
  };
  const onChunk = (): Promise<void> => out.flushIfFull();

  const sources: Record<string, unknown>[] = [];
  const warn = (s: ParseSummary): void => {
    if (o.quiet) return;
    for (const w of s.warnings) io.stderr.write(`stalepin: warning: ${w.message}\n`);
    if (s.warningsDropped) io.stderr.write(`stalepin: warning: ${s.file}: ${s.warningsDropped} more unparseable lines not shown\n`);
  };

  if (o.live) {
    currentFile = o.events ? 'conntrack -E' : 'conntrack -L';
    if (o.events) {
      const s = await streamLiveEvents({ onEntry, onChunk: () => out.flush(), netns: o.netns, signal: io.signal });
      warn(s);
      sources.push(sourceJson(s, matched, 'conntrack'));
    } else {
      const s = await readLiveTable({ onEntry, onChunk, netns: o.netns, signal: io.signal });
      warn(s);
      sources.push(sourceJson(s, matched, s.via));
    }
  } else {
    for (const f of files) {
      currentFile = f;
      const before = matched;
      const s =
        f === '-'
          ? await parseConntrackStream(io.stdin, { file: '<stdin>', onEntry, onChunk, at, signal: io.signal, now: undefined })
          : await parseConntrackFile(f, { file: f, onEntry, onChunk, at, signal: io.signal });
      warn(s);
      sources.push(sourceJson(s, matched - before));
    }
  }

  if (summary) {
    const rows = summary.rows();
    const totals = summary.totals();
    if (o.format === 'json') out.write(jsonText({ schema: SCHEMA, summary: { rows, totals }, sources }, 2) + '\n');
    else if (o.format === 'ndjson') for (const r of rows) out.write(jsonText(r) + '\n');
    else {
      const t = newTable(io, ['service', 'target', 'entries', 'assured', 'unreplied', 'snat', 'by protocol']);
      for (const r of rows) t.push(summaryCells(r));
      out.write(t.toString() + '\n');
      out.write(`${totals.entries} entries, ${totals.services} services, ${totals.targets} targets; ${totals.assured} assured, ${totals.unreplied} unreplied\n`);
    }
  } else if (o.format === 'json') {
    out.write(`${firstJson ? '' : '\n'}],"sources":${jsonText(sources)}` + (notShown ? `,"notShown":${notShown}` : '') + '}\n');
  } else if (o.format === 'table' && !streamingTable) {
    const { head, rows } = pruneColumns(TABLE_HEAD, tableRows);
    if (rows.length) {
      const t = newTable(io, head);
      for (const r of rows) t.push(r);
      out.write(t.toString() + '\n');
    }
    if (notShown) out.write(`... ${notShown} more entries not shown (use --limit, filters, --summary or --format ndjson)\n`);
  }
  if (o.format === 'table') {
    for (const s of sources) {
      const snap = s['snapshot'] as { time: string | null; timeSource: string };
      const when = snap.time ? `snapshot ${snap.time} (from ${snap.timeSource === 'file' ? 'the file\'s timestamps' : snap.timeSource === 'at' ? '--at' : snap.timeSource === 'mtime' ? 'the file\'s modification time' : 'the read time'})` : 'no snapshot time';
      out.write(`${visible(String(s['file']))}: ${s['format'] ?? 'empty'}, ${s['entries']} entries, ${s['matched']} matched, ${when}${s['badLines'] ? `, ${s['badLines']} unparseable lines` : ''}\n`);
    }
  }
  await out.flush();
  return 0;
}

export const conntrackCommand: CommandSpec<ConntrackOptions> = {
  name: 'conntrack',
  summary: 'read conntrack dumps, event logs and IPVS tables (any format) or the live table',
  help: `Formats are detected from the content: conntrack -L (default, -o extended, id, ktimestamp,
labels, save, xml), /proc/net/nf_conntrack, conntrack -E (with -o timestamp, id, xml),
ipvsadm -Lnc and /proc/net/ip_vs_conn.

Examples:
  stalepin conntrack lb1-conntrack.txt
  stalepin conntrack dump.txt --service 203.0.113.10:5060 --flag unreplied
  stalepin conntrack dump.txt --summary
  stalepin conntrack --live --proto udp --format ndjson
  stalepin conntrack --live --events --netns lb`,
  args: [{ name: 'file', description: 'conntrack dump or event log (- for stdin)', variadic: true }],
  options: [
    { key: 'live', flags: '--live', description: 'read the live conntrack table (needs CAP_NET_ADMIN)', kind: 'boolean', default: false },
    { key: 'events', flags: '--events', description: 'with --live: stream conntrack events until interrupted', kind: 'boolean', default: false },
    { key: 'netns', flags: '--netns <name>', description: 'with --live: read this network namespace (ip netns)', kind: 'string' },
    { key: 'format', flags: '-f, --format <fmt>', description: 'output format', kind: 'choice', choices: ['table', 'json', 'ndjson'], default: 'table' },
    { key: 'proto', flags: '--proto <name>', description: 'only these protocols (udp, tcp, 17, ...; repeat or comma-separate)', kind: 'list' },
    { key: 'service', flags: '--service <addr>', description: 'only entries to this service address (ip or ip:port)', kind: 'list' },
    { key: 'target', flags: '--target <addr>', description: 'only entries pinned to this backend (ip or ip:port)', kind: 'list' },
    { key: 'state', flags: '--state <state>', description: 'only these states (ESTABLISHED, TIME_WAIT, ...)', kind: 'list' },
    { key: 'flag', flags: '--flag <flag>', description: 'only entries with these flags: unreplied, replied, assured, offload, hw_offload, snat, dnat (!flag negates)', kind: 'list' },
    { key: 'summary', flags: '--summary', description: 'print only per service and target counts', kind: 'boolean', default: false },
    { key: 'at', flags: '--at <time>', description: 'snapshot time when the file has no timestamps (ISO 8601 or epoch)', kind: 'string' },
    { key: 'limit', flags: '--limit <n>', description: `at most n entries (table default ${DEFAULT_TABLE_LIMIT}; 0 = default)`, kind: 'number', default: 0 },
  ],
  run: (args, options, io) => runConntrack(args, options, io),
};
