/**
 * Terminal and Markdown renderings of an audit report. The finding blocks are analyze's own
 * (report/render-analyze.ts); only the header (what was read, the backend set, the rows per
 * service and target) and the fix results are audit's. JSON is the record; JUnit is analyze's.
 */
import Table from 'cli-table3';
import type { Finding } from '../findings/types.js';
import { findingLines, markdownFinding, md } from '../report/render-analyze.js';
import { visible } from '../report/visible.js';
import type { AuditReport, FixReport } from './run.js';

const plain = { style: { head: [] as string[], border: [] as string[] } };

function header(r: AuditReport): string[] {
  const a = r.audit;
  const s = r.summary.findings;
  const out: string[] = [];
  out.push(
    `audit of ${visible(a.table.source)} (${a.table.format ?? 'unknown format'}) at ${a.time ?? 'unknown time'}: ` +
      `${a.counts.entries} entries, ${a.counts.toServices} to service addresses, ${a.counts.stale} stale`,
  );
  out.push(`backends from ${visible(a.backends.source)} (${a.backends.format})${a.backends.incomplete !== undefined ? `; may be incomplete: ${visible(a.backends.incomplete)}` : ''}`);
  for (const svc of a.backends.services) out.push(`  ${svc.protocol} ${visible(svc.service)}: ${svc.active.length ? svc.active.map(visible).join(', ') : 'no active backend (not judged)'}`);
  if (a.recheck) out.push(`read again ${a.recheck.afterSec} s later: ${a.recheck.refreshed} of ${a.recheck.rechecked} stale entries refreshed, ${a.recheck.gone} gone`);
  out.push(`findings: ${s.critical} critical, ${s.warning} warning, ${s.info} info`);
  return out;
}

function rowsTable(r: AuditReport): string {
  const t = new Table({ head: ['service', 'proto', 'target', 'state', 'entries', 'assured', 'unreplied', 'stale', 'critical'], ...plain });
  for (const x of r.audit.rows)
    t.push([visible(x.service), x.protocol, visible(x.target) + (x.name ? ` (${visible(x.name)})` : ''), x.unverified ? `${x.state}, not judged` : x.state, x.entries, x.assured, x.unreplied, x.stale, x.critical]);
  return t.toString();
}

function fixLines(fix: FixReport | undefined): string[] {
  if (!fix || fix.mode !== 'apply') return [];
  const out = ['', `fix apply: ${fix.results.filter((x) => x.result === 'deleted').length} deleted, ${fix.results.filter((x) => x.result === 'not-found').length} already gone, ${fix.results.filter((x) => x.result === 'failed').length} failed, ${fix.results.filter((x) => x.result === 'skipped').length} skipped`];
  for (const x of fix.results) out.push(`  ${x.result}: ${visible(x.command || `${x.transport} ${x.client} -> ${x.service}`)}${x.message ? ` (${visible(x.message)})` : ''}`);
  return out;
}

/** Findings beyond `limit` are counted, not printed (`--format json` lists them all). */
export function renderAuditTable(r: AuditReport, color: boolean, limit: number): string {
  const out = header(r);
  if (r.audit.rows.length) out.push(rowsTable(r));
  const udp = r.findings.filter((f) => f.transport === 'udp');
  const tcp = r.findings.filter((f) => f.transport === 'tcp');
  let shown = 0;
  const put = (fs: Finding[]): void => {
    for (const f of fs) {
      if (shown >= limit) break;
      out.push(...findingLines(f, color));
      shown++;
    }
  };
  if (r.findings.length === 0) out.push('no stale entries');
  put(udp);
  if (tcp.length && shown < limit) {
    out.push('', `stuck TCP connections (${tcp.length}): connections to a backend that is gone, not pins`);
    put(tcp);
  }
  if (r.findings.length > shown) out.push('', `${r.findings.length - shown} more findings not shown (--limit, or --format json lists all)`);
  out.push(...fixLines(r.audit.fix));
  return out.join('\n') + '\n';
}

export function renderAuditMarkdown(r: AuditReport): string {
  const a = r.audit;
  const s = r.summary.findings;
  const out: string[] = ['# stalepin audit', ''];
  out.push(
    `${a.counts.entries} entries read from ${md(a.table.source)} at ${a.time ?? 'an unknown time'}, ${a.counts.toServices} to service addresses, ${a.counts.stale} stale. ` +
      `Findings: **${s.critical} critical**, ${s.warning} warning, ${s.info} info.`,
    '',
  );
  out.push(`Backends from ${md(a.backends.source)} (${a.backends.format})${a.backends.incomplete !== undefined ? `, **may be incomplete**: ${md(a.backends.incomplete)}` : ''}.`, '');
  if (a.rows.length) {
    out.push('| service | proto | target | state | entries | stale | critical |', '|---|---|---|---|---:|---:|---:|');
    for (const x of a.rows) out.push(`| ${md(x.service)} | ${x.protocol} | ${md(x.target)} | ${x.unverified ? `${x.state}, not judged` : x.state} | ${x.entries} | ${x.stale} | ${x.critical} |`);
    out.push('');
  }
  out.push('## Findings', '');
  if (!r.findings.length) out.push('No stale entries.', '');
  for (const f of r.findings) out.push(...markdownFinding(f));
  const fix = a.fix;
  if (fix?.mode === 'apply') {
    out.push('## Fix', '');
    for (const x of fix.results) out.push(`- ${x.result}: \`${visible(x.command).replace(/`/g, "'")}\`${x.message ? ` (${md(x.message)})` : ''}`);
    out.push('');
  }
  return out.join('\n');
}
