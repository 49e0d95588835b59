/**
 * Prometheus metrics of an audit, for node_exporter's textfile collector (written atomically by
 * report/prometheus.ts). A timer runs one process per audit, so the counters (runs, errors) and
 * the last success time are carried over from the previous file at the same path; with
 * --interval the process keeps them itself.
 */
import { readFile } from 'node:fs/promises';
import type { MetricFamily, Sample } from '../report/prometheus.js';
import type { AuditResult, FixReport } from './run.js';

export interface RunState {
  runs: number;
  errors: number;
  /** Unix seconds of the last successful audit, 0 never. */
  lastSuccess: number;
}

export const PREFIX = 'stalepin_audit_';

/** The counters a previous textfile left, or zeros. */
export async function previousState(path: string): Promise<RunState> {
  const st: RunState = { runs: 0, errors: 0, lastSuccess: 0 };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return st;
  }
  const num = (name: string): number => {
    const m = new RegExp(`^${PREFIX}${name}(?:\\{\\})? ([0-9.eE+-]+)\\s*$`, 'm').exec(text);
    const v = m ? Number(m[1]) : 0;
    return Number.isFinite(v) && v >= 0 ? v : 0;
  };
  st.runs = num('runs_total');
  st.errors = num('errors_total');
  st.lastSuccess = num('last_success_timestamp_seconds');
  return st;
}

export interface RunInfo {
  /** Unix seconds when this run ended. */
  now: number;
  durationSec: number;
  state: RunState;
  /** This run failed: only the run-level families are written. */
  error?: { code: string };
}

function fam(name: string, help: string, type: MetricFamily['type'], samples: Sample[]): MetricFamily {
  return { name: PREFIX + name, help, type, samples };
}

export function auditMetrics(res: AuditResult | undefined, info: RunInfo, fix?: FixReport): MetricFamily[] {
  const out: MetricFamily[] = [
    fam('up', 'Whether the last audit run succeeded (1) or failed (0).', 'gauge', [{ value: info.error ? 0 : 1 }]),
    fam('runs_total', 'Audit runs, successful or not.', 'counter', [{ value: info.state.runs }]),
    fam('errors_total', 'Audit runs that failed (unreadable table or backend set, missing tool or privilege).', 'counter', [{ value: info.state.errors }]),
    fam('last_run_timestamp_seconds', 'Unix time the last audit run ended.', 'gauge', [{ value: info.now }]),
    fam('last_success_timestamp_seconds', 'Unix time of the last successful audit (0: never).', 'gauge', [{ value: info.state.lastSuccess }]),
    fam('run_duration_seconds', 'Wall time of the last audit run.', 'gauge', [{ value: Math.round(info.durationSec * 1e6) / 1e6 }]),
  ];
  if (info.error) {
    out.push(fam('last_error', 'The error code of the last failed run (1 for the code that failed).', 'gauge', [{ labels: { code: info.error.code }, value: 1 }]));
    return out;
  }
  if (!res) return out;
  const a = res.report.audit;
  out.push(fam('table_entries', 'Entries in the connection table that was read.', 'gauge', [{ value: a.counts.entries }]));
  out.push(
    fam(
      'conntrack_entries',
      'Entries to a service address, per service, backend (target), protocol and the backend state (active, draining, unknown, terminated, unresponsive, absent: not in the backend set).',
      'gauge',
      a.rows.map((r) => ({ labels: { service: r.service, target: r.target, protocol: r.protocol, state: r.state }, value: r.entries })),
    ),
  );
  const pins: Sample[] = [];
  for (const r of a.rows) {
    if (r.stale === 0) continue;
    if (r.critical > 0) pins.push({ labels: { service: r.service, target: r.target, protocol: r.protocol, severity: 'critical' }, value: r.critical });
    if (r.stale - r.critical > 0) pins.push({ labels: { service: r.service, target: r.target, protocol: r.protocol, severity: 'warning' }, value: r.stale - r.critical });
  }
  out.push(
    fam(
      'stale_pins',
      'Entries to a service whose backend is not active: critical when assured and still refreshed by the client (UDP), warning otherwise; protocol="tcp" are stuck connections (with --tcp).',
      'gauge',
      pins,
    ),
  );
  out.push(
    fam(
      'service_backends',
      'Active backends per service address and protocol in the backend set; 0 means its entries are not judged.',
      'gauge',
      a.backends.services.map((s) => ({ labels: { service: s.service, protocol: s.protocol }, value: s.active.length })),
    ),
  );
  out.push(fam('backend_set_incomplete', 'Whether the backend set may be missing backends (1: --fix apply refuses).', 'gauge', [{ value: a.backends.incomplete !== undefined ? 1 : 0 }]));
  if (fix?.mode === 'apply') {
    const by: Record<string, number> = { deleted: 0, 'not-found': 0, failed: 0, skipped: 0 };
    for (const r of fix.results) by[r.result] = (by[r.result] ?? 0) + 1;
    out.push(
      fam(
        'fix_entries',
        'Stale entries --fix apply handled in the last run, by result (deleted, not-found, failed, skipped).',
        'gauge',
        Object.entries(by).map(([result, value]) => ({ labels: { result: result.replace('-', '_') }, value })),
      ),
    );
  }
  return out;
}
