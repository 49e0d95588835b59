/**
 * A stale entry as a Finding of the report contract: the kind (`pinned-flow` when the client is
 * still sending into it, `stale-conntrack-entry` otherwise, TCP always the latter), its evidence
 * (the entry itself with age, timeout and counters; the second read; the backend set) and the
 * exact `conntrack -D` that removes only this entry.
 */
import { formatIso } from '../core/time.js';
import type { Evidence, Finding } from '../findings/types.js';
import { conntrackDelete, pinnedRemedy } from '../findings/remedy.js';
import type { Inventory } from '../inventory/index.js';
import { fmtS, type Judgement, type RecheckResult, type RefreshPolicy } from './judge.js';
import type { TableRead } from './read.js';
import type { StaleCandidate } from './rule.js';

export interface FixPlan {
  finding: Finding;
  /** The command that deletes exactly this entry; undefined where none can (IPVS). */
  argv: string[] | undefined;
  zone: number;
}

export interface FindingContext {
  read: TableRead;
  inventory: Inventory;
  snapshotIso: string | undefined;
  recheck?: RecheckResult;
  netns: string | undefined;
  /** Active backends of the entry's service. */
  serviceActive: string[];
}

/** The `conntrack -D` for one entry, inside the namespace when given; undefined for IPVS. */
export function fixArgv(c: StaleCandidate, netns: string | undefined, ipvs: boolean): string[] | undefined {
  if (ipvs) return undefined;
  const e = c.entry;
  const cmd = conntrackDelete(c.row.protocol, e.client, c.row.service, c.row.target, e.zone > 0 ? e.zone : 0).split(' ');
  return netns === undefined ? cmd : ['ip', 'netns', 'exec', netns, ...cmd];
}

function stateText(c: StaleCandidate): string {
  return c.row.verdict === 'absent' ? 'not in the backend set' : c.row.verdict;
}

function list(xs: string[], n = 5): string {
  if (xs.length === 0) return 'none';
  return xs.slice(0, n).join(', ') + (xs.length > n ? ` and ${xs.length - n} more` : '');
}

function entryDetail(c: StaleCandidate, policy: RefreshPolicy, j: Judgement, ipvs: boolean): string {
  const e = c.entry;
  const flags = [e.unreplied ? 'UNREPLIED' : '', e.assured ? 'ASSURED' : '', e.offload ? 'OFFLOAD' : '', e.hwOffload ? 'HW_OFFLOAD' : ''].filter(Boolean);
  const parts: string[] = [];
  const head = ipvs
    ? `IPVS connection ${c.row.protocol} ${e.client} -> ${c.row.service} to ${c.row.target}${e.state ? `, state ${e.state}` : ''}`
    : `conntrack entry ${c.row.protocol} ${e.client} -> ${c.row.service} replies from ${c.row.target}` +
      (e.state ? ` ${e.state}` : '') +
      (flags.length ? ` [${flags.join('] [')}]` : '');
  parts.push(head);
  if (e.timeout >= 0) {
    let t = `${ipvs ? 'expires in' : 'timeout'} ${e.timeout} s`;
    if (j.idleS >= 0) t += ` (every packet resets it to ${policy.streamTimeoutS} s, from ${policy.streamTimeoutFrom}: last packet about ${j.idleS} s before the read)`;
    parts.push(t);
  } else if (e.offload || e.hwOffload) parts.push('no timeout shown (offloaded)');
  if (e.deltaSec >= 0) parts.push(`age ${e.deltaSec} s`);
  if (e.orig.packets >= 0) parts.push(`packets ${e.orig.packets} from the client / ${e.reply.packets >= 0 ? e.reply.packets : '?'} back`);
  if (e.zone > 0) parts.push(`zone ${e.zone}`);
  if (e.id >= 0) parts.push(`id ${e.id}`);
  return parts.join(', ');
}

function recheckDetail(r: RecheckResult, c: StaleCandidate): string {
  const e = c.entry;
  const parts = [`read again ${fmtS(r.afterS)} s later: timeout ${e.timeout} -> ${r.timeout} s`];
  if (e.orig.packets >= 0 && r.packets >= 0) parts.push(`packets from the client ${e.orig.packets} -> ${r.packets}`);
  return parts.join(', ') + (r.refreshed ? ': refreshed, the client is still sending' : ': not refreshed meanwhile');
}

function inventoryDetail(c: StaleCandidate, ctx: FindingContext): string {
  const n = c.row.node;
  const src = ctx.inventory.source.file;
  if (n && c.row.verdict !== 'absent') {
    const since = n.since ? ` since ${formatIso(n.since.sec, n.since.nsec, n.since.nsec ? 9 : 0)}` : '';
    return `the backend set lists ${c.row.target}${n.name ? ` (${n.name})` : ''} as ${n.state}${since} (${n.origin ?? src})`;
  }
  return `${c.row.target} is not an active backend of ${c.row.service} (${c.row.protocol}) in ${src}: active backends ${list(ctx.serviceActive)}`;
}

function sinceOf(c: StaleCandidate, read: TableRead): string | null {
  const e = c.entry;
  if (e.startSec >= 0) return formatIso(e.startSec, e.startNsec, e.startPrecision);
  const snap = read.summary.snapshot;
  if (e.deltaSec >= 0 && snap.sec >= 0) return formatIso(snap.sec - e.deltaSec, 0, 0);
  return null;
}

export function buildFinding(c: StaleCandidate, j: Judgement, policy: RefreshPolicy, ctx: FindingContext): Finding {
  const e = c.entry;
  const ipvs = ctx.read.ipvs;
  const st = stateText(c);
  const evidence: Evidence[] = [];
  const where = ctx.read.live ? ctx.read.label : `${ctx.read.label} line ${e.line}`;
  const ev: Evidence = { source: 'conntrack', detail: entryDetail(c, policy, j, ipvs), file: where };
  if (ctx.snapshotIso) ev.at = ctx.snapshotIso;
  evidence.push(ev);
  if (ctx.recheck && !ctx.recheck.gone) evidence.push({ source: 'conntrack', detail: recheckDetail(ctx.recheck, c), file: ctx.read.label });
  evidence.push({ source: 'inventory', detail: inventoryDetail(c, ctx) });

  const tcp = c.row.protocol === 'tcp';
  const pinned = !tcp && j.severity === 'critical';
  let summary: string;
  if (tcp) summary = `stuck TCP connection ${e.client} -> ${c.row.service} on ${c.row.target}, which is ${st} (${e.state || 'state not shown'}): a connection, not a pin; it ends when either side gives up`;
  else if (pinned) summary = `udp ${e.client} -> ${c.row.service} is pinned to ${c.row.target}, which is ${st}: ${j.why}; its packets go nowhere until the entry is deleted`;
  else summary = `udp ${e.client} -> ${c.row.service} still maps to ${c.row.target}, which is ${st} (${j.why})`;

  const argv = fixArgv(c, ctx.netns, ipvs);
  const remedy = argv ? argv.join(' ') : pinnedRemedy(c.row.protocol, e.client, c.row.service, c.row.target, false);
  return {
    kind: pinned ? 'pinned-flow' : 'stale-conntrack-entry',
    severity: j.severity,
    transport: c.row.protocol,
    client: e.client,
    service: c.row.service,
    target: c.row.target,
    targetState: c.row.verdict === 'absent' ? 'terminated' : c.row.verdict === 'unresponsive' ? 'unresponsive' : 'terminated',
    since: sinceOf(c, ctx.read),
    until: ctx.snapshotIso ?? null,
    callIds: [],
    evidence,
    remedy,
    summary,
  };
}
