/**
 * The analyze report (schema stalepin/report@1, described by docs/report.schema.json): one
 * typed record, built once; every format renders it without changing it.
 */
import type { AnomalyRecord, Warning } from '../core/anomalies.js';
import type { Finding, Severity, Target } from '../findings/types.js';
import type { Flow } from '../observe/types.js';
import { isoOf } from '../observe/types.js';
import type { JsonBytes } from './json-bytes.js';

export const REPORT_SCHEMA = 'stalepin/report@1';

export interface ReportInput {
  file: string;
  kind: 'capture' | 'conntrack' | 'conntrack-events' | 'inventory' | 'ignored';
  format: string;
  /** Why it was taken as that kind (content, not name). */
  why: string;
}

export interface ReportFlow {
  transport: 'udp' | 'tcp';
  client: string;
  dst: string;
  invites: number;
  answered: number;
  unanswered: number;
  calls: number;
  first: string | null;
  last: string | null;
  targets: { target: string; how: string; invites: number; answered: number; unanswered: number; first: string | null; last: string | null }[];
  notForwarded: number;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  generator: string;
  inputs: ReportInput[];
  window: { since: string | null; until: string | null; callIds: string[] };
  summary: {
    packets: number;
    sipMessages: number;
    inviteTransactions: number;
    unansweredInvites: number;
    flows: number;
    /** Flows idle past the tracker timeout with every INVITE answered: counted, not listed in flows[]. */
    flowsRetired: number;
    services: string[];
    first: string | null;
    last: string | null;
    findings: Record<Severity, number>;
  };
  targets: Target[];
  findings: Finding[];
  flows: ReportFlow[];
  anomalies: AnomalyRecord[];
  warnings: Warning[];
  /** Set when a read error stopped the run early (the report covers what came before it). */
  error?: string;
}

export function reportFlows(flows: Flow[]): ReportFlow[] {
  return flows.map((f) => ({
    transport: f.transport,
    client: f.client,
    dst: f.dst,
    invites: f.invites,
    answered: f.answered,
    unanswered: f.unanswered,
    calls: f.calls,
    first: isoOf(f.first),
    last: isoOf(f.last),
    targets: f.targets.map((u) => ({
      target: u.target,
      how: u.how,
      invites: u.invites,
      answered: u.answered,
      unanswered: u.unanswered,
      first: isoOf(u.first),
      last: isoOf(u.last),
    })),
    notForwarded: f.notForwarded,
  }));
}

/** A string or null, as jsonText prints it. */
function stringOrNull(w: JsonBytes, s: string | null): void {
  if (s === null) w.ascii('null');
  else w.string(s);
}

/**
 * One element of the report's flows list as jsonText(flow, 2) prints it at the list's depth
 * (indented by four), written directly: a report lists up to 20,000 flows.
 */
export function writeFlowJson(w: JsonBytes, f: ReportFlow): void {
  w.ascii('{\n      "transport": ');
  w.string(f.transport);
  w.ascii(',\n      "client": ');
  w.string(f.client);
  w.ascii(',\n      "dst": ');
  w.string(f.dst);
  w.ascii(',\n      "invites": ');
  w.number(f.invites);
  w.ascii(',\n      "answered": ');
  w.number(f.answered);
  w.ascii(',\n      "unanswered": ');
  w.number(f.unanswered);
  w.ascii(',\n      "calls": ');
  w.number(f.calls);
  w.ascii(',\n      "first": ');
  stringOrNull(w, f.first);
  w.ascii(',\n      "last": ');
  stringOrNull(w, f.last);
  w.ascii(',\n      "targets": ');
  if (f.targets.length === 0) w.ascii('[]');
  else {
    for (let i = 0; i < f.targets.length; i++) {
      const u = f.targets[i]!;
      w.ascii(i ? ',\n        {\n          "target": ' : '[\n        {\n          "target": ');
      w.string(u.target);
      w.ascii(',\n          "how": ');
      w.string(u.how);
      w.ascii(',\n          "invites": ');
      w.number(u.invites);
      w.ascii(',\n          "answered": ');
      w.number(u.answered);
      w.ascii(',\n          "unanswered": ');
      w.number(u.unanswered);
      w.ascii(',\n          "first": ');
      stringOrNull(w, u.first);
      w.ascii(',\n          "last": ');
      stringOrNull(w, u.last);
      w.ascii('\n        }');
    }
    w.ascii('\n      ]');
  }
  w.ascii(',\n      "notForwarded": ');
  w.number(f.notForwarded);
  w.ascii('\n    }');
}

export function countBySeverity(findings: Finding[]): Record<Severity, number> {
  const out: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  for (const f of findings) out[f.severity]++;
  return out;
}
