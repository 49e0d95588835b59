/**
 * What watch prints: NDJSON event lines, the live table for a terminal, the final report (the
 * analyze Report record, so every analyze renderer applies), and Prometheus metrics.
 */
import type { AnomalyRecord, Warning } from '../core/anomalies.js';
import type { Finding } from '../findings/types.js';
import type { RuleResult } from '../findings/rules.js';
import type { Flow } from '../observe/types.js';
import { isoOf, type Stamp } from '../observe/types.js';
import { countBySeverity, REPORT_SCHEMA, reportFlows, type Report, type ReportInput } from '../report/analyze.js';
import type { MetricFamily } from '../report/prometheus.js';
import { visible } from '../report/visible.js';
import type { WatchEvent } from './engine.js';
import { jsonText } from '../report/json-text.js';

export const GENERATOR = 'stalepin 0.1.0';

export function ndjsonLine(e: WatchEvent): string {
  return jsonText({ event: e.event, finding: e.finding, at: e.at }) + '\n';
}

/** One line per event for a log or a terminal that is not redrawn. */
export function eventLine(e: WatchEvent, color: boolean): string {
  const f = e.finding;
  const mark = e.event === 'new' ? '+' : e.event === 'update' ? '~' : '-';
  const sev = e.event === 'resolved' ? 'resolved' : f.severity;
  const c = color && e.event !== 'resolved' ? (f.severity === 'critical' ? '\x1b[31m' : f.severity === 'warning' ? '\x1b[33m' : '') : '';
  const r = c ? '\x1b[0m' : '';
  return `${e.at} ${mark} ${c}${sev}${r} ${f.kind}: ${visible(f.summary)}${e.event !== 'resolved' && f.remedy ? `\n    fix: ${visible(f.remedy)}` : ''}\n`;
}

export interface LiveStats {
  started: Stamp;
  now: Stamp;
  frames: number;
  framesPerSec: number;
  sipMessages: number;
  pendingInvites: number;
  kernelDrops: number;
  interfaces: string[];
}

/** The whole screen for a terminal, redrawn in place. */
export function liveScreen(s: LiveStats, open: Finding[], recent: WatchEvent[], color: boolean, columns = 120): string {
  const cut = (t: string): string => (t.length > columns ? t.slice(0, Math.max(10, columns - 1)) + '…' : t);
  const lines: string[] = [];
  lines.push(cut(`stalepin watch on ${s.interfaces.join(', ')} since ${isoOf(s.started)}   (Ctrl-C: final report)`));
  lines.push(
    cut(
      `${s.frames} packets (${Math.round(s.framesPerSec)}/s), ${s.sipMessages} SIP messages, ${s.pendingInvites} INVITE(s) awaiting a response, kernel drops ${s.kernelDrops}${s.kernelDrops > 0 && color ? ' \x1b[31m(!)\x1b[0m' : s.kernelDrops > 0 ? ' (!)' : ''}`,
    ),
  );
  lines.push('');
  if (!open.length) lines.push('no open findings');
  else {
    lines.push(cut('SEVERITY  KIND                   CLIENT -> TARGET                                      LOST  SINCE'));
    for (const f of open) {
      const c = color ? (f.severity === 'critical' ? '\x1b[31m' : f.severity === 'warning' ? '\x1b[33m' : '') : '';
      const r = c ? '\x1b[0m' : '';
      const tuple = `${f.transport} ${f.client} -> ${f.target ?? f.service ?? '?'} (${f.targetState})`;
      lines.push(
        cut(`${c}${f.severity.padEnd(9)}${r} ${f.kind.padEnd(22)} ${visible(tuple).padEnd(53)} ${String(f.callIds.length + (f.callIdsOmitted ?? 0)).padStart(4)}  ${f.since ?? '-'}`),
      );
      lines.push(cut(`          fix: ${visible(f.remedy)}`));
    }
  }
  if (recent.length) {
    lines.push('', 'recent events:');
    for (const e of recent.slice(-8)) lines.push(cut(`  ${e.at} ${e.event.padEnd(8)} ${e.finding.kind} ${visible(e.finding.summary)}`));
  }
  return '\x1b[H\x1b[2J' + lines.join('\n') + '\n';
}

export interface ReportParts {
  inputs: ReportInput[];
  result: RuleResult;
  flows: Flow[];
  flowsRetired: number;
  packets: number;
  sipMessages: number;
  inviteTransactions: number;
  unansweredInvites: number;
  first: Stamp | undefined;
  last: Stamp | undefined;
  anomalies: AnomalyRecord[];
  warnings: Warning[];
}

/** The final report: the analyze record, so table/json/junit/markdown render it unchanged. */
export function buildReport(p: ReportParts): Report {
  return {
    schema: REPORT_SCHEMA,
    generator: GENERATOR,
    inputs: p.inputs,
    window: { since: null, until: null, callIds: [] },
    summary: {
      packets: p.packets,
      sipMessages: p.sipMessages,
      inviteTransactions: p.inviteTransactions,
      unansweredInvites: p.unansweredInvites,
      flows: p.flows.length + p.flowsRetired,
      flowsRetired: p.flowsRetired,
      services: p.result.services,
      first: isoOf(p.first),
      last: isoOf(p.last),
      findings: countBySeverity(p.result.findings),
    },
    targets: p.result.targets,
    findings: p.result.findings,
    flows: reportFlows(p.flows),
    anomalies: p.anomalies,
    warnings: p.warnings,
  };
}

export interface MetricsInput {
  open: Finding[];
  events: Record<'new' | 'update' | 'resolved', number>;
  frames: number;
  sipMessages: number;
  kernelDrops: number;
  pendingInvites: number;
  unansweredInvites: number;
  evaluations: number;
  now: Stamp;
}

/** Metric families for node_exporter's textfile collector (stalepin_watch_*). */
export function watchMetrics(m: MetricsInput): MetricFamily[] {
  const bySev = new Map<string, number>();
  for (const f of m.open) {
    const k = `${f.kind}\0${f.severity}`;
    bySev.set(k, (bySev.get(k) ?? 0) + 1);
  }
  const lost = m.open.filter((f) => f.kind === 'pinned-flow').reduce((n, f) => n + f.callIds.length + (f.callIdsOmitted ?? 0), 0);
  return [
    {
      name: 'stalepin_watch_findings',
      help: 'Open findings by kind and severity (de-duplicated by kind, transport, client and target).',
      type: 'gauge',
      samples: [...bySev].map(([k, v]) => {
        const [kind, severity] = k.split('\0') as [string, string];
        return { labels: { kind, severity }, value: v };
      }),
    },
    {
      name: 'stalepin_watch_pinned_flows',
      help: 'Open pinned-flow findings.',
      type: 'gauge',
      samples: [{ value: m.open.filter((f) => f.kind === 'pinned-flow').length }],
    },
    { name: 'stalepin_watch_pinned_lost_calls', help: 'Calls lost on the open pinned flows.', type: 'gauge', samples: [{ value: lost }] },
    {
      name: 'stalepin_watch_finding_events_total',
      help: 'Finding events emitted, by event.',
      type: 'counter',
      samples: (['new', 'update', 'resolved'] as const).map((e) => ({ labels: { event: e }, value: m.events[e] })),
    },
    { name: 'stalepin_watch_packets_total', help: 'Packets captured.', type: 'counter', samples: [{ value: m.frames }] },
    { name: 'stalepin_watch_sip_messages_total', help: 'SIP messages decoded.', type: 'counter', samples: [{ value: m.sipMessages }] },
    { name: 'stalepin_watch_unanswered_invites_total', help: 'INVITE transactions ended with no response (timer B).', type: 'counter', samples: [{ value: m.unansweredInvites }] },
    { name: 'stalepin_watch_pending_invites', help: 'INVITEs retransmitted and still without a response.', type: 'gauge', samples: [{ value: m.pendingInvites }] },
    { name: 'stalepin_watch_kernel_drops_total', help: 'Packets dropped since watch started: by the kernel (capture ring full) and by the interface, from pcap_stats (with the cap fallback: /proc/net/dev rx drop only).', type: 'counter', samples: [{ value: m.kernelDrops }] },
    { name: 'stalepin_watch_evaluations_total', help: 'Times the rules were evaluated.', type: 'counter', samples: [{ value: m.evaluations }] },
    { name: 'stalepin_watch_last_update_timestamp_seconds', help: 'When this file was written.', type: 'gauge', samples: [{ value: m.now.sec + Math.floor(m.now.nsec / 1e6) / 1e3 }] },
  ];
}
