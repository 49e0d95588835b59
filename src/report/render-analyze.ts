/**
 * Renderers for the analyze report: terminal tables, JUnit XML, Markdown. JSON is the record
 * itself. Every string from the wire or a file goes through `visible` (terminal), `xml` or `md`.
 */
import Table from 'cli-table3';
import { SEVERITY_RANK, type Finding, type Severity } from '../findings/types.js';
import type { Timeline } from '../observe/timeline.js';
import type { Report } from './analyze.js';
import { textTimeline } from './html/text-timeline.js';
import { visible } from './visible.js';

const plain = { chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' }, style: { head: [] as string[], border: [] as string[] } };
const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const RESET = '\x1b[0m';

function sev(s: Severity, color: boolean): string {
  if (!color) return s;
  return (s === 'critical' ? RED : s === 'warning' ? YELLOW : '') + s + RESET;
}

/**
 * One finding as terminal lines (a blank line first): the block `analyze` and `audit` print
 * for every finding.
 */
export function findingLines(f: Finding, color: boolean): string[] {
  const out: string[] = [''];
  out.push(`${sev(f.severity, color)} ${f.kind}: ${visible(f.summary)}`);
  out.push(`  client ${visible(f.client)}  service ${visible(f.service ?? '-')}  target ${visible(f.target ?? '-')} (${f.targetState})  ${f.transport}`);
  out.push(`  from ${f.since ?? '-'} to ${f.until ?? '-'}`);
  if (f.callIds.length) {
    const shown = f.callIds.slice(0, 10).map(visible).join(', ');
    const more = f.callIds.length - 10 + (f.callIdsOmitted ?? 0);
    out.push(`  lost calls (${f.callIds.length + (f.callIdsOmitted ?? 0)}): ${shown}${more > 0 ? `, and ${more} more (--format json lists all)` : ''}`);
  }
  for (const e of f.evidence) out.push(`  evidence [${e.source}] ${visible(e.detail)}${e.file ? ` (${visible(e.file)})` : ''}`);
  out.push(`  fix: ${visible(f.remedy)}`);
  return out;
}

export function renderTable(r: Report, color: boolean): string {
  const out: string[] = [];
  const s = r.summary;
  const sum = new Table({ ...plain });
  sum.push(
    { packets: [String(s.packets)] },
    { 'SIP messages': [String(s.sipMessages)] },
    { 'INVITE transactions': [String(s.inviteTransactions)] },
    { 'unanswered INVITEs': [String(s.unansweredInvites)] },
    { flows: [String(s.flows)] },
    { 'service addresses': [s.services.map(visible).join(', ') || '-'] },
    { 'time span': [`${s.first ?? '-'} .. ${s.last ?? '-'}`] },
    { findings: [`${s.findings.critical} critical, ${s.findings.warning} warning, ${s.findings.info} info`] },
  );
  out.push(sum.toString());
  if (r.targets.length) {
    const t = new Table({ head: ['backend', 'state', 'from', 'since', 'INVITEs', 'unanswered', 'last heard'], ...plain });
    for (const x of r.targets) t.push([visible(x.address) + (x.name ? ` (${visible(x.name)})` : ''), x.state, x.stateSource, x.since ?? '-', x.invites, x.unanswered, x.lastHeard ?? '-']);
    out.push(t.toString());
  }
  if (r.findings.length === 0) out.push('no findings');
  for (const f of r.findings) out.push(...findingLines(f, color));
  if (r.error) out.push(`\nstopped early: ${visible(r.error)}; the report covers what was read before it`);
  return out.join('\n') + '\n';
}

function xml(s: string): string {
  // XML 1.0 cannot carry most control characters even escaped: show them instead.
  return visible(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const KINDS: Finding['kind'][] = ['pinned-flow', 'stale-conntrack-entry', 'target-unresponsive', 'unanswered-invites'];

/** JUnit: one testsuite per finding kind, one testcase per flow; failures at or above failOn. */
export function renderJunit(r: Report, failOn: Severity | 'never'): string {
  const threshold = failOn === 'never' ? Infinity : SEVERITY_RANK[failOn];
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  for (const kind of KINDS) {
    const fs = r.findings.filter((f) => f.kind === kind);
    const cases: string[] = [];
    let suiteFailures = 0;
    for (const f of fs) {
      const name = `${f.transport} ${f.client} -> ${f.service ?? '-'} -> ${f.target ?? '-'}`;
      const failing = SEVERITY_RANK[f.severity] >= threshold;
      if (failing) suiteFailures++;
      const body = [f.summary, ...f.evidence.map((e) => `[${e.source}] ${e.detail}`), `fix: ${f.remedy}`, f.callIds.length ? `calls: ${f.callIds.join(' ')}` : ''].filter(Boolean).join('\n');
      cases.push(
        `    <testcase classname="stalepin.${kind}" name="${xml(name)}">` +
          (failing ? `\n      <failure type="${f.severity}" message="${xml(f.summary)}">${xml(body)}</failure>\n    ` : `\n      <system-out>${xml(body)}</system-out>\n    `) +
          `</testcase>`,
      );
    }
    if (!fs.length) cases.push(`    <testcase classname="stalepin.${kind}" name="no ${kind} findings"/>`);
    tests += cases.length;
    failures += suiteFailures;
    suites.push(`  <testsuite name="${kind}" tests="${cases.length}" failures="${suiteFailures}" errors="0">\n${cases.join('\n')}\n  </testsuite>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="stalepin" tests="${tests}" failures="${failures}" errors="0">\n${suites.join('\n')}\n</testsuites>\n`;
}

/** Markdown-safe text: visible, with Markdown's special characters escaped. */
export function md(s: string): string {
  return visible(s).replace(/([\\`*_{}[\]<>()#+!|])/g, '\\$1');
}

/** One finding as a Markdown section (heading, summary, facts, evidence, fenced fix). */
export function markdownFinding(f: Finding): string[] {
  const out: string[] = [];
  out.push(`### ${f.severity}: ${f.kind} ${md(f.client)} → ${md(f.target ?? '?')}`, '');
  out.push(md(f.summary), '');
  out.push(`- transport: ${f.transport}; service: ${md(f.service ?? '-')}; target state: ${f.targetState}`);
  out.push(`- from ${f.since ?? '-'} to ${f.until ?? '-'}`);
  if (f.callIds.length) out.push(`- lost calls (${f.callIds.length + (f.callIdsOmitted ?? 0)}): ${f.callIds.slice(0, 20).map((c) => '`' + visible(c).replace(/`/g, "'") + '`').join(', ')}${f.callIds.length > 20 ? ', …' : ''}`);
  for (const e of f.evidence) out.push(`- evidence (${e.source}): ${md(e.detail)}`);
  out.push('', 'Fix:', '', '```', visible(f.remedy).replace(/```/g, "'''"), '```', '');
  return out;
}

/** With a timeline (from the analyzer's onInvite hook), a compact text timeline per backend follows the backends. */
export function renderMarkdown(r: Report, timeline?: Timeline): string {
  const s = r.summary;
  const out: string[] = ['# stalepin report', ''];
  out.push(
    `${s.inviteTransactions} INVITE transactions in ${s.packets} packets (${s.first ?? '-'} to ${s.last ?? '-'}), ${s.unansweredInvites} unanswered. ` +
      `Findings: **${s.findings.critical} critical**, ${s.findings.warning} warning, ${s.findings.info} info.`,
    '',
  );
  if (r.targets.length) {
    out.push('## Backends', '', '| backend | state | from | since | INVITEs | unanswered |', '|---|---|---|---|---:|---:|');
    for (const t of r.targets) out.push(`| ${md(t.address)} | ${t.state} | ${t.stateSource} | ${t.since ?? '-'} | ${t.invites} | ${t.unanswered} |`);
    out.push('');
  }
  if (timeline) out.push('## Timeline', '', ...textTimeline(r, timeline), '');
  out.push('## Findings', '');
  if (!r.findings.length) out.push('No findings.', '');
  for (const f of r.findings) out.push(...markdownFinding(f));
  if (r.error) out.push(`> stopped early: ${md(r.error)}`, '');
  return out.join('\n');
}
