/**
 * One audit: read the backend set, stream the connection table through the rule, read the
 * stale entries again when live, judge each, and build the report (stalepin/report@1 with an
 * `audit` section). Pure of the console: the CLI prints, writes and exits.
 */
import { Anomalies, type Warning } from '../core/anomalies.js';
import { formatIso, type Timestamp } from '../core/time.js';
import { GENERATOR } from '../analysis/analyze.js';
import type { ConntrackEntry } from '../conntrack/entry.js';
import type { Finding, Target } from '../findings/types.js';
import { formatWarning, type Inventory } from '../inventory/index.js';
import { countBySeverity, REPORT_SCHEMA, type Report, type ReportInput } from '../report/analyze.js';
import { buildFinding, fixArgv, type FixPlan } from './findings.js';
import { judge, refreshedBetween, type RecheckResult, type RefreshPolicy } from './judge.js';
import { loadBackends, readTable, readUdpStreamTimeout, type BackendSources, type TableRead, type Tools } from './read.js';
import { abortableSleep } from './schedule.js';
import { Auditor, isDead, type AuditRow, type StaleCandidate } from './rule.js';

export const DEFAULT_STREAM_TIMEOUT_S = 120;
export const DEFAULT_IPVS_UDP_TIMEOUT_S = 300;
export const DEFAULT_REFRESHED_WITHIN_S = 60;
export const DEFAULT_RECHECK_MS = 2000;
/** Stale entries copied for findings and fixes; beyond it they are counted only. */
export const DEFAULT_MAX_KEPT = 100_000;

export interface AuditOptions extends BackendSources {
  /** Table file or '-'; absent: the live table. */
  conntrack?: string;
  /** Live IPVS connection table instead of conntrack. */
  ipvs: boolean;
  tcp: boolean;
  /** Undefined: the namespace's sysctl for live reads, else 120 s. */
  udpStreamTimeoutS?: number;
  ipvsUdpTimeoutS?: number;
  refreshedWithinS?: number;
  /** Live reads: read the stale entries again after this long (0: do not). */
  recheckMs?: number;
  at?: Timestamp;
  maxKept?: number;
  stdin?: NodeJS.ReadableStream;
  signal?: AbortSignal;
  tools?: Tools;
}

export interface AuditRowJson {
  service: string;
  target: string;
  protocol: string;
  state: string;
  name?: string;
  unverified: boolean;
  entries: number;
  assured: number;
  unreplied: number;
  stale: number;
  critical: number;
}

export interface AuditSection {
  /** When the table was read (ISO 8601) and how long the audit took. */
  time: string | null;
  timeSource: string;
  durationSec: number;
  table: { source: string; format: string | null; live: boolean; ipvs: boolean; entries: number; badLines: number };
  backends: {
    source: string;
    format: string;
    /** Set when backends may be missing: nothing is deleted on such a set. */
    incomplete?: string;
    services: { service: string; protocol: string; active: string[] }[];
  };
  policy: { streamTimeoutS: number; streamTimeoutFrom: string; refreshedWithinS: number; tcp: boolean };
  counts: {
    entries: number;
    audited: number;
    toServices: number;
    notForwarded: number;
    stale: number;
    critical: number;
    tcpStuck: number;
    tcpClosing: number;
    /** Stale entries of services with no active backend: never judged. */
    unverified: number;
    /** Stale entries gone when read again (expired or deleted meanwhile). */
    goneOnRecheck: number;
    /** Stale entries beyond the copy bound: counted, not listed. */
    notListed: number;
  };
  recheck: { afterSec: number; rechecked: number; refreshed: number; gone: number } | null;
  rows: AuditRowJson[];
  /** Services whose backend set is empty: counted, never judged. */
  unverifiedServices: string[];
  fix?: FixReport;
}

export interface FixResult {
  client: string;
  service: string;
  target: string;
  transport: string;
  command: string;
  result: 'deleted' | 'not-found' | 'failed' | 'skipped';
  message: string;
}

export interface FixReport {
  mode: 'print' | 'apply';
  results: FixResult[];
  refused?: string;
}

export interface AuditReport extends Report {
  audit: AuditSection;
}

export interface AuditResult {
  report: AuditReport;
  /** Per finding (same order as report.findings), what a fix would run. */
  plans: FixPlan[];
  inventory: Inventory;
  rows: AuditRow[];
}

function keyOf(e: ConntrackEntry): string {
  if (e.id >= 0) return `#${e.id}`;
  return `${e.protoNum}|${e.orig.src}|${e.orig.sport}|${e.orig.dst}|${e.orig.dport}|${e.reply.src}|${e.reply.sport}|${e.zone}`;
}

export async function runAudit(opts: AuditOptions): Promise<AuditResult> {
  const t0 = Date.now();
  const tools = opts.tools ?? {};
  const stdin = opts.stdin ? { stdin: opts.stdin } : {};
  const inventory = await loadBackends(opts, { ...stdin, tools });
  const live = opts.conntrack === undefined;
  const maxKept = opts.maxKept ?? DEFAULT_MAX_KEPT;
  const auditor = new Auditor({ inventory, tcp: opts.tcp, maxKept });
  const src = { ...(opts.conntrack !== undefined ? { file: opts.conntrack } : {}), ipvs: opts.ipvs, ...(opts.netns !== undefined ? { netns: opts.netns } : {}) };
  const common = { ...(opts.at ? { at: opts.at } : {}), ...(opts.signal ? { signal: opts.signal } : {}), ...stdin, tools };
  const read = await readTable(src, (e) => auditor.add(e), common);

  let streamTimeoutS = opts.udpStreamTimeoutS;
  let streamTimeoutFrom = '--udp-stream-timeout';
  if (read.ipvs) {
    streamTimeoutS = opts.ipvsUdpTimeoutS ?? DEFAULT_IPVS_UDP_TIMEOUT_S;
    streamTimeoutFrom = opts.ipvsUdpTimeoutS !== undefined ? '--ipvs-udp-timeout' : 'the IPVS default';
  } else if (streamTimeoutS === undefined) {
    const sys = live ? await readUdpStreamTimeout(opts.netns, tools) : undefined;
    streamTimeoutS = sys ?? DEFAULT_STREAM_TIMEOUT_S;
    streamTimeoutFrom = sys !== undefined ? 'net.netfilter.nf_conntrack_udp_timeout_stream' : 'the kernel default';
  }
  const policy: RefreshPolicy = { streamTimeoutS, streamTimeoutFrom, refreshedWithinS: opts.refreshedWithinS ?? DEFAULT_REFRESHED_WITHIN_S, ipvs: read.ipvs };

  // Live: read the stale entries again a little later (only when there are any).
  const rechecks = new Map<StaleCandidate, RecheckResult>();
  let recheck: AuditSection['recheck'] = null;
  const recheckMs = opts.recheckMs ?? DEFAULT_RECHECK_MS;
  if (live && recheckMs > 0 && auditor.candidates.length > 0 && !opts.signal?.aborted) {
    await abortableSleep(recheckMs, opts.signal ?? new AbortController().signal);
    if (!opts.signal?.aborted) recheck = await readAgain(auditor, read, src, common, rechecks);
  }
  if (opts.signal?.aborted) throw new AbortedError();

  const snapshot = read.summary.snapshot;
  const at = snapshot.time ?? undefined;
  const findings: Finding[] = [];
  const plans: FixPlan[] = [];
  const critical = new Map<AuditRow, number>();
  let gone = 0;
  const built: { f: Finding; p: FixPlan }[] = [];
  for (const c of auditor.candidates) {
    const rc = rechecks.get(c);
    if (rc?.gone) {
      gone++;
      c.row.stale--;
      continue;
    }
    const j = judge(c, policy, rc);
    if (j.severity === 'critical') critical.set(c.row, (critical.get(c.row) ?? 0) + 1);
    const f = buildFinding(c, j, policy, { read, inventory, snapshotIso: at, ...(rc ? { recheck: rc } : {}), netns: opts.netns, serviceActive: auditor.serviceSet(c.row.service, c.row.protocol).active });
    built.push({ f, p: { finding: f, argv: fixArgv(c, opts.netns, read.ipvs), zone: c.entry.zone > 0 ? c.entry.zone : 0 } });
  }
  built.sort((a, b) => order(a.f, b.f));
  for (const b of built) {
    findings.push(b.f);
    plans.push(b.p);
  }

  const rows = auditor.rowsSorted();
  const anomalies = new Anomalies();
  anomalies.merge(read.summary.anomalies);
  if (auditor.dropped) anomalies.add('audit_stale_entries_not_listed', undefined, auditor.dropped);
  const warnings: Warning[] = [...read.summary.warnings];
  for (const w of inventory.warnings) warnings.push({ code: w.code, message: formatWarning(w) });
  const unverifiedServices = auditor
    .serviceSets()
    .filter((s) => s.active.length === 0)
    .map((s) => `${s.protocol} ${s.service}`);
  for (const s of unverifiedServices)
    warnings.push({ code: 'audit_service_unverified', message: `${s} has no active backend in ${inventory.source.file}: its entries are not judged (an empty pool must never flush a table)` });
  if (auditor.dropped)
    warnings.push({ code: 'audit_stale_entries_not_listed', message: `${auditor.dropped} more stale entries beyond the first ${maxKept} are counted, not listed` });

  const unverified = rows.filter((r) => r.unverified && isDead(r.verdict)).reduce((a, r) => a + r.entries, 0);
  const inputs: ReportInput[] = [
    { file: read.label, kind: 'conntrack', format: read.summary.format ?? 'unknown', why: read.live ? 'read live' : 'given with --conntrack; format recognised by content' },
  ];
  for (const s of inventory.sources ?? [inventory.source]) inputs.push({ file: s.file, kind: 'inventory', format: s.format, why: s.why });
  const stuck = findings.filter((f) => f.transport === 'tcp').length;
  const audit: AuditSection = {
    time: snapshot.time,
    timeSource: snapshot.source,
    durationSec: (Date.now() - t0) / 1000,
    table: { source: read.label, format: read.summary.format, live: read.live, ipvs: read.ipvs, entries: read.summary.entries, badLines: read.summary.badLines },
    backends: {
      source: inventory.source.file,
      format: inventory.source.format,
      ...(inventory.incomplete !== undefined ? { incomplete: inventory.incomplete } : {}),
      services: auditor.serviceSets().map((s) => ({ service: s.service, protocol: s.protocol, active: s.active })),
    },
    policy: { streamTimeoutS: policy.streamTimeoutS, streamTimeoutFrom: policy.streamTimeoutFrom, refreshedWithinS: policy.refreshedWithinS, tcp: opts.tcp },
    counts: {
      entries: auditor.total,
      audited: auditor.audited,
      toServices: auditor.toServices,
      notForwarded: auditor.notForwarded,
      stale: rows.reduce((a, r) => a + r.stale, 0),
      critical: findings.filter((f) => f.severity === 'critical').length,
      tcpStuck: stuck,
      tcpClosing: auditor.tcpClosing,
      unverified,
      goneOnRecheck: gone,
      notListed: auditor.dropped,
    },
    recheck,
    rows: rows.map((r) => rowJson(r, critical.get(r) ?? 0)),
    unverifiedServices,
  };
  const report: AuditReport = {
    schema: REPORT_SCHEMA,
    generator: GENERATOR,
    inputs,
    window: { since: null, until: null, callIds: [] },
    summary: {
      packets: 0,
      sipMessages: 0,
      inviteTransactions: 0,
      unansweredInvites: 0,
      flows: 0,
      flowsRetired: 0,
      services: [...new Set(rows.map((r) => r.service))].sort(),
      first: snapshot.time,
      last: snapshot.time,
      findings: countBySeverity(findings),
    },
    targets: targetsOf(rows, inventory),
    findings,
    flows: [],
    anomalies: anomalies.list(),
    warnings,
    audit,
  };
  return { report, plans, inventory, rows };
}

export class AbortedError extends Error {
  constructor() {
    super('audit interrupted');
  }
}

const SEV = { critical: 0, warning: 1, info: 2 } as const;

function order(a: Finding, b: Finding): number {
  return (
    SEV[a.severity] - SEV[b.severity] ||
    (a.transport === b.transport ? 0 : a.transport === 'udp' ? -1 : 1) ||
    cmp(a.service ?? '', b.service ?? '') ||
    cmp(a.target ?? '', b.target ?? '') ||
    cmp(a.client, b.client)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rowJson(r: AuditRow, critical: number): AuditRowJson {
  const j: AuditRowJson = {
    service: r.service,
    target: r.target,
    protocol: r.protocol,
    state: r.verdict,
    unverified: r.unverified,
    entries: r.entries,
    assured: r.assured,
    unreplied: r.unreplied,
    stale: r.stale,
    critical,
  };
  if (r.node?.name) j.name = r.node.name;
  return j;
}

function targetsOf(rows: AuditRow[], inv: Inventory): Target[] {
  const out = new Map<string, Target>();
  for (const r of rows) {
    if (out.has(r.target)) continue;
    const since = r.node?.since ? formatIso(r.node.since.sec, r.node.since.nsec, r.node.since.nsec ? 9 : 0) : null;
    const t: Target = {
      address: r.target,
      // A backend missing from the pool is out of service: terminated as far as the balancer goes.
      state: r.verdict === 'absent' ? 'terminated' : r.verdict,
      stateSource: 'inventory',
      since,
      invites: 0,
      unanswered: 0,
      lastHeard: null,
    };
    if (r.node?.name) t.name = r.node.name;
    out.set(r.target, t);
  }
  void inv;
  return [...out.values()].sort((a, b) => cmp(a.address, b.address));
}

/** The second live read: only entries of stale rows are looked at. */
async function readAgain(
  auditor: Auditor,
  first: TableRead,
  src: { file?: string; ipvs: boolean; netns?: string },
  common: Parameters<typeof readTable>[2],
  out: Map<StaleCandidate, RecheckResult>,
): Promise<AuditSection['recheck']> {
  const byKey = new Map<string, StaleCandidate>();
  const rows = new Set<AuditRow>();
  for (const c of auditor.candidates) {
    byKey.set(keyOf(c.entry), c);
    rows.add(c.row);
  }
  const targets = new Set<string>();
  for (const r of rows) targets.add(r.targetIp);
  const seen = new Map<StaleCandidate, { timeout: number; packets: number }>();
  const second = await readTable(
    src,
    (e) => {
      // Cheap filter first: only entries whose reply source is a stale row's target.
      if (!targets.has(e.reply.src)) return;
      const c = byKey.get(keyOf(e));
      if (c) seen.set(c, { timeout: e.timeout, packets: e.orig.packets });
    },
    common,
  );
  const gapS = Math.max(0, (second.startMs - first.endMs) / 1000);
  let refreshed = 0;
  let gone = 0;
  for (const c of auditor.candidates) {
    const s = seen.get(c);
    if (!s) {
      gone++;
      out.set(c, { afterS: gapS, gone: true, timeout: -1, packets: -1, refreshed: false });
      continue;
    }
    const r = refreshedBetween(c.entry.timeout, c.entry.orig.packets, s.timeout, s.packets, gapS);
    if (r) refreshed++;
    out.set(c, { afterS: gapS, gone: false, timeout: s.timeout, packets: s.packets, refreshed: r });
  }
  return { afterSec: Math.round(gapS * 1000) / 1000, rechecked: auditor.candidates.length, refreshed, gone };
}
