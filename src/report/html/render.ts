/**
 * The incident report as one self-contained HTML file: summary, SVG timeline, a card per
 * finding with its evidence and remedy, sortable tables of flows and calls, and the ladder
 * diagram of a selected call. No external script, style, font or image; a Content-Security-
 * Policy allows only the inline style and script below (by hash) and no network at all.
 *
 * Size bounds (the page stays small whatever the capture): the timeline is binned (see
 * svg-timeline.ts), cards for the first `maxCards` findings and a compact table for the rest up
 * to `maxFindingRows`, `maxCallIdsPerCard` Call-IDs per card, `maxFlowRows` flows, and the calls
 * the timeline kept (bounded there).
 */
import { createHash } from 'node:crypto';
import type { Finding, Severity } from '../../findings/types.js';
import type { Timeline, TimelineCall } from '../../observe/timeline.js';
import type { Report, ReportFlow } from '../analyze.js';
import { visible } from '../visible.js';
import { CLIENT_JS, CSS, ladderSvg } from './assets.js';
import { h, jsonForScript } from './escape.js';
import { clockLabel, durationLabel, timelineDomain, tOfIso } from './layout.js';
import { laneRows, timelineSvg } from './svg-timeline.js';

export interface HtmlOptions {
  /** Page title (default: "stalepin report" and the capture's time span). */
  title?: string;
  maxCards?: number;
  maxFindingRows?: number;
  maxCallIdsPerCard?: number;
  maxFlowRows?: number;
}

const SEV_MARK: Record<Severity, string> = { critical: '◆', warning: '▲', info: '●' };
const OUTCOME_MARK: Record<TimelineCall['outcome'], string> = { answered: '● answered', retransmitted: '▲ answered after retransmission', unanswered: '✕ unanswered' };

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64');

function num(n: number): string {
  return n.toLocaleString('en-US');
}

function th(label: string, type: 'num' | 'text' = 'text'): string {
  return `<th scope="col"${type === 'num' ? ' class="num" data-type="num"' : ''}><button type="button">${h(label)}</button></th>`;
}

function td(v: string | number | null | undefined, cls = ''): string {
  if (typeof v === 'number') return `<td class="num" data-v="${v}">${num(v)}</td>`;
  return `<td${cls ? ` class="${cls}"` : ''}>${v === null || v === undefined ? '–' : h(v)}</td>`;
}

function flowKey(transport: string, client: string, service: string | null, target: string | null): string {
  return `${transport}|${client}|${service ?? ''}|${target ?? ''}`;
}

/** The backend's state as the ladder names it: "terminated later" for a call before the termination. */
function stateAt(c: TimelineCall, targets: Map<string, { state: string; since: number | undefined }>): string | null {
  const t = c.target === null ? undefined : targets.get(c.target);
  if (!t) return null;
  return t.state !== 'active' && t.since !== undefined && c.t < t.since ? `${t.state} later` : t.state;
}

/** Calls as the page's script gets them (short keys; strings made visible; endpoints by index). */
function callData(c: TimelineCall, targetState: Map<string, { state: string; since: number | undefined }>): unknown {
  const eps: string[] = [];
  const idx = (a: string): number => {
    let i = eps.indexOf(a);
    if (i < 0) i = eps.push(a) - 1;
    return i;
  };
  // Column order: client, service address, backend, then anything else in order of appearance.
  for (const a of [c.client, c.service, c.target]) if (a) idx(a);
  const m = c.messages.map((x) => [Math.round(x.dt * 1000) / 1000, idx(x.src), idx(x.dst), visible(x.label), x.kind === 'response' ? 1 : 0, x.retransmission ? 1 : 0]);
  return {
    id: visible(c.callId),
    cl: visible(c.client),
    sv: visible(c.service),
    tg: c.target === null ? null : visible(c.target),
    ts: stateAt(c, targetState),
    at: c.at,
    o: c.outcome,
    n: c.sent,
    code: c.code,
    to: c.timedOut,
    e: eps.map(visible),
    m,
    more: c.messagesOmitted,
  };
}

export function renderHtml(r: Report, timeline: Timeline | undefined, opts: HtmlOptions = {}): string {
  const maxCards = opts.maxCards ?? 100;
  const maxFindingRows = opts.maxFindingRows ?? 2000;
  const maxIds = opts.maxCallIdsPerCard ?? 50;
  const maxFlowRows = opts.maxFlowRows ?? 2000;
  const s = r.summary;
  const targetState = new Map(r.targets.map((t) => [t.address, { state: t.state, since: tOfIso(t.since) }]));
  const calls = timeline?.calls ?? [];
  const callIndex = new Map<string, number>();
  calls.forEach((c, i) => {
    if (!callIndex.has(c.callId)) callIndex.set(c.callId, i);
  });
  // Which finding a kept call belongs to (its flow and backend, and listed among its Call-IDs).
  const findingOf = new Map<string, Finding>();
  for (const f of r.findings) if (f.kind === 'pinned-flow' || f.kind === 'unanswered-invites') findingOf.set(flowKey(f.transport, f.client, f.service, f.kind === 'pinned-flow' ? f.target : null), f);
  const idSets = new Map<Finding, Set<string>>();
  const callFinding = (c: TimelineCall): Finding | undefined => {
    const f = findingOf.get(flowKey(c.transport, c.client, c.service, c.target)) ?? findingOf.get(flowKey(c.transport, c.client, c.service, null));
    if (!f) return undefined;
    let set = idSets.get(f);
    if (!set) idSets.set(f, (set = new Set(f.callIds)));
    return set.has(c.callId) ? f : undefined;
  };
  const firstPinned = r.findings.find((f) => f.kind === 'pinned-flow');
  let selected = -1;
  if (firstPinned) selected = calls.findIndex((c) => c.outcome === 'unanswered' && callFinding(c) === firstPinned);
  if (selected < 0) selected = calls.findIndex((c) => c.outcome === 'unanswered');
  if (selected < 0 && calls.length) selected = 0;

  const span = s.first && s.last ? `${s.first} to ${s.last}` : 'no packets';
  const title = opts.title ?? `stalepin report: ${s.findings.critical} critical, ${s.findings.warning} warning (${span})`;
  const out: string[] = [];

  // Summary.
  out.push('<header><h1>stalepin incident report</h1>');
  out.push(`<p class="meta">${h(r.generator)} · ${h(span)} · ${r.inputs.filter((i) => i.kind !== 'ignored').length} input(s)</p>`);
  out.push('<nav class="toc" aria-label="Sections"><a href="#summary">Summary</a><a href="#timeline">Timeline</a><a href="#findings">Findings</a><a href="#flows">Flows</a><a href="#calls">Calls</a><a href="#ladder">Ladder</a><a href="#inputs">Inputs</a></nav></header>');
  out.push('<main>');
  if (r.error) out.push(`<p class="banner" role="alert"><strong>Stopped early:</strong> ${h(r.error)}. The report covers what was read before it.</p>`);
  out.push('<section id="summary" aria-labelledby="h-summary"><h2 id="h-summary">Summary</h2>');
  const pinned = r.findings.filter((f) => f.kind === 'pinned-flow');
  if (pinned.length) {
    for (const f of pinned.slice(0, 5)) {
      const lost = f.callIds.length + (f.callIdsOmitted ?? 0);
      out.push(
        `<p class="headline"><strong>${h(f.transport)} ${h(f.client)} → ${h(f.service ?? '?')}</strong> is pinned to ${h(f.targetState)} backend <strong>${h(f.target ?? '?')}</strong>: ` +
          `${num(lost)} call(s) lost from ${h(f.since ?? '?')} to ${h(f.until ?? '?')}.</p>`,
      );
    }
    if (pinned.length > 5) out.push(`<p class="headline">and ${num(pinned.length - 5)} more pinned flows (see Findings).</p>`);
  } else if (r.findings.length) out.push(`<p class="headline">No pinned flow; ${num(r.findings.length)} other finding(s) below.</p>`);
  else out.push('<p class="headline ok">No findings: no flow is pinned to a terminated or unresponsive backend.</p>');
  const fig = (label: string, value: string): string => `<div><dt>${h(label)}</dt><dd>${value}</dd></div>`;
  out.push(
    '<dl class="figures">' +
      fig('findings', `<span class="sev critical">${s.findings.critical} critical</span> ${s.findings.warning} warning · ${s.findings.info} info`) +
      fig('INVITE transactions', num(s.inviteTransactions)) +
      fig('unanswered INVITEs', num(s.unansweredInvites)) +
      fig('flows', num(s.flows)) +
      fig('SIP messages', num(s.sipMessages)) +
      fig('packets', num(s.packets)) +
      fig('service addresses', h(s.services.join(', ') || '–')) +
      fig('duration', s.first && s.last && timeline?.first != null && timeline.last != null ? h(durationLabel(Math.max(0, timeline.last - timeline.first))) + ' of INVITEs' : '–') +
      '</dl>',
  );
  if (r.targets.length) {
    out.push('<table class="sortable" id="backends-table"><caption class="sr-only">Backends</caption><thead><tr>' + th('backend') + th('name') + th('state') + th('from') + th('since') + th('INVITEs', 'num') + th('unanswered', 'num') + th('last heard') + '</tr></thead><tbody>');
    for (const t of r.targets) out.push(`<tr>${td(t.address, 'mono')}${td(t.name ?? null)}<td class="state-${t.state}">${h(t.state)}</td>${td(t.stateSource)}${td(t.since)}${td(t.invites)}${td(t.unanswered)}${td(t.lastHeard)}</tr>`);
    out.push('</tbody></table>');
  }
  out.push('</section>');

  // Timeline.
  out.push('<section id="timeline" aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2>');
  const d = timeline ? timelineDomain(r, timeline) : undefined;
  if (!timeline || !d || timeline.invites === 0) out.push('<p>No INVITE transactions to draw.</p>');
  else {
    const layouts = laneRows(r, timeline);
    const tsvg = timelineSvg(r, timeline, d, layouts);
    out.push(legend());
    out.push(`<figure>${tsvg.svg}<figcaption>INVITE transactions per backend, ${num(timeline.invites)} in all, in columns of ${h(durationLabel(tsvg.colS))}; mark area grows with the count (hover a mark for the numbers). Flows are drawn from their first to their last INVITE forwarded to that backend.${timeline.lanesMerged ? ` ${timeline.lanesMerged} backends beyond the lane limit are drawn as one lane.` : ''}</figcaption></figure>`);
    // The text alternative: per lane, then per column.
    out.push('<h3>The timeline as text</h3><table id="timeline-table"><caption class="sr-only">INVITE transactions per backend</caption><thead><tr><th scope="col">lane</th><th scope="col">state</th><th scope="col">since</th><th scope="col" class="num">INVITEs</th><th scope="col" class="num">answered</th><th scope="col" class="num">after retransmission</th><th scope="col" class="num">unanswered</th><th scope="col">flows drawn</th></tr></thead><tbody>');
    for (const l of layouts) {
      const lane = l.lane;
      const flows = l.rows.map((x) => `${x.client}${x.finding ? ` (${x.finding.kind})` : ''}`).join(', ') + (l.moreFlows ? `, +${l.moreFlows} more` : '');
      out.push(`<tr>${td(lane.label + (lane.name ? ` (${lane.name})` : ''), 'mono')}${td(lane.state ?? null)}${td(lane.since ?? null)}${td(lane.invites)}${td(lane.answered)}${td(lane.retransmitted)}${td(lane.unanswered)}${td(flows || null, 'wrap')}</tr>`);
    }
    out.push('</tbody></table>');
    out.push('<details><summary>Counts per column</summary><table><thead><tr><th scope="col">lane</th><th scope="col">from (UTC)</th><th scope="col" class="num">answered</th><th scope="col" class="num">after retransmission</th><th scope="col" class="num">unanswered</th></tr></thead><tbody>');
    layouts.forEach((l, li) => {
      const c = tsvg.laneCols[li]!;
      for (let i = 0; i < tsvg.columns; i++) {
        if (!c[i * 3] && !c[i * 3 + 1] && !c[i * 3 + 2]) continue;
        out.push(`<tr>${td(l.lane.label, 'mono')}${td(clockLabel(d.t0 + i * tsvg.colS, 0.001))}${td(c[i * 3]!)}${td(c[i * 3 + 1]!)}${td(c[i * 3 + 2]!)}</tr>`);
      }
    });
    out.push('</tbody></table></details>');
  }
  out.push('</section>');

  // Findings.
  out.push(`<section id="findings" aria-labelledby="h-findings"><h2 id="h-findings">Findings (${r.findings.length})</h2>`);
  if (!r.findings.length) out.push('<p>No findings.</p>');
  for (const f of r.findings.slice(0, maxCards)) out.push(card(f, callIndex, maxIds));
  if (r.findings.length > maxCards) {
    const rest = r.findings.slice(maxCards, maxCards + maxFindingRows);
    out.push(`<h3>${num(r.findings.length - maxCards)} more findings</h3><div class="tablewrap"><table class="sortable"><thead><tr>${th('severity')}${th('kind')}${th('transport')}${th('client')}${th('service')}${th('target')}${th('state')}${th('calls', 'num')}${th('since')}${th('until')}</tr></thead><tbody>`);
    for (const f of rest) out.push(`<tr>${td(f.severity)}${td(f.kind)}${td(f.transport)}${td(f.client, 'mono')}${td(f.service, 'mono')}${td(f.target, 'mono')}${td(f.targetState)}${td(f.callIds.length + (f.callIdsOmitted ?? 0))}${td(f.since)}${td(f.until)}</tr>`);
    out.push('</tbody></table></div>');
    if (r.findings.length > maxCards + maxFindingRows) out.push(`<p class="muted">${num(r.findings.length - maxCards - maxFindingRows)} more not shown: --format json lists every finding.</p>`);
  }
  out.push('</section>');

  // Flows.
  out.push(`<section id="flows" aria-labelledby="h-flows"><h2 id="h-flows">Flows (${num(r.flows.length)})</h2>`);
  const flowFinding = new Map<string, Finding>();
  for (const f of r.findings) {
    const k = flowKey(f.transport, f.client, f.service, null);
    if (!flowFinding.has(k)) flowFinding.set(k, f);
  }
  const flows = [...r.flows].sort((a, b) => b.unanswered - a.unanswered || b.invites - a.invites).slice(0, maxFlowRows);
  if (!flows.length) out.push('<p>No flows with INVITE transactions.</p>');
  else {
    out.push(`<p class="muted">Click a column heading to sort.${r.flows.length > flows.length ? ` The ${num(flows.length)} flows with the most unanswered INVITEs are shown; --format json lists all ${num(r.flows.length)}.` : ''}${s.flowsRetired ? ` ${num(s.flowsRetired)} idle flows with every INVITE answered were retired and are counted only.` : ''}</p>`);
    out.push(`<div class="tablewrap"><table class="sortable" id="flows-table"><thead><tr>${th('transport')}${th('client')}${th('service')}${th('backends')}${th('INVITEs', 'num')}${th('answered', 'num')}${th('unanswered', 'num')}${th('calls', 'num')}${th('not forwarded', 'num')}${th('first')}${th('last')}${th('finding')}</tr></thead><tbody>`);
    for (const f of flows) out.push(flowRow(f, flowFinding.get(flowKey(f.transport, f.client, f.dst, null))));
    out.push('</tbody></table></div>');
  }
  out.push('</section>');

  // Calls.
  out.push(`<section id="calls" aria-labelledby="h-calls"><h2 id="h-calls">Calls (${num(calls.length)} kept)</h2>`);
  if (!calls.length) out.push('<p>No INVITE transactions were kept for the ladder.</p>');
  else {
    const lostKept = calls.filter((c) => c.outcome === 'unanswered').length;
    out.push(
      `<p class="muted">Every unanswered INVITE transaction${timeline?.lostCallsOmitted ? ` up to ${num(lostKept)} (${num(timeline.lostCallsOmitted)} more not kept)` : ''} and a sample of answered ones. Select a Call-ID to draw its ladder.</p>`,
    );
    out.push(`<div class="tablewrap"><table class="sortable" id="calls-table"><thead><tr>${th('Call-ID')}${th('first INVITE')}${th('client')}${th('service')}${th('backend')}${th('outcome')}${th('copies sent', 'num')}${th('response', 'num')}${th('finding')}</tr></thead><tbody>`);
    calls.forEach((c, i) => {
      const f = callFinding(c);
      out.push(
        `<tr${i === selected ? ' class="selected"' : ''}><td data-v="${h(c.callId)}"><button type="button" class="callid" data-call="${i}" aria-pressed="${i === selected}">${h(c.callId)}</button></td>` +
          `${td(c.at)}${td(c.client, 'mono')}${td(c.service, 'mono')}${td(c.target ?? 'not forwarded', 'mono')}<td data-v="${c.outcome}">${h(OUTCOME_MARK[c.outcome])}</td>${td(c.sent)}` +
          `<td class="num" data-v="${c.code}">${c.code ? c.code : '–'}</td>${td(f ? `${f.kind} (${f.severity})` : null)}</tr>`,
      );
    });
    out.push('</tbody></table></div>');
  }
  out.push('</section>');

  // Ladder.
  out.push('<section id="ladder" aria-labelledby="h-ladder"><h2 id="h-ladder">Ladder diagram</h2>');
  const data = { calls: calls.map((c) => callData(c, targetState)) };
  if (selected >= 0) {
    const c = calls[selected]!;
    out.push(`<p id="ladder-caption" class="muted">Call-ID ${h(c.callId)} — ${h(c.outcome)}, first INVITE ${h(c.at)}, ${c.sent} cop${c.sent === 1 ? 'y' : 'ies'} sent</p>`);
    out.push(`<div id="ladder-box" class="ladder">${ladderSvg(data.calls[selected])}</div>`);
    out.push('<p class="muted">The INVITE transaction as seen at every hop: each copy of the request (retransmissions dashed), the first provisional and the final response, the ACK or CANCEL.</p>');
  } else out.push('<p id="ladder-caption" class="muted">No call to draw.</p><div id="ladder-box" class="ladder"></div>');
  out.push('</section>');

  // Inputs, anomalies, warnings.
  out.push('<section id="inputs" aria-labelledby="h-inputs"><h2 id="h-inputs">Inputs and data quality</h2>');
  out.push(`<details><summary>${r.inputs.length} input file(s)</summary><table><thead><tr><th scope="col">file</th><th scope="col">taken as</th><th scope="col">format</th><th scope="col">why</th></tr></thead><tbody>`);
  for (const i of r.inputs) out.push(`<tr>${td(i.file, 'wrap')}${td(i.kind)}${td(i.format)}${td(i.why)}</tr>`);
  out.push('</tbody></table></details>');
  out.push(`<details><summary>${r.anomalies.length} anomaly kind(s), ${r.warnings.length} warning(s)</summary><ul>`);
  for (const a of r.anomalies) out.push(`<li><code>${h(a.name)}</code> × ${num(a.count)}${a.first ? ` (first: ${h(a.first)})` : ''}</li>`);
  for (const w of r.warnings) out.push(`<li>${h(JSON.stringify(w))}</li>`);
  out.push('</ul></details>');
  if (r.window.since || r.window.until || r.window.callIds.length) out.push(`<p class="muted">Narrowed to ${h(r.window.since ?? '…')} – ${h(r.window.until ?? '…')}${r.window.callIds.length ? `, Call-IDs ${h(r.window.callIds.join(', '))}` : ''}.</p>`);
  out.push('</section></main>');
  out.push(`<footer class="muted"><p>${h(r.generator)}, report schema ${h(r.schema)}. This file is self-contained: it loads nothing and sends nothing.</p></footer>`);

  const script = CLIENT_JS;
  const csp = `default-src 'none'; style-src 'sha256-${sha256(CSS)}'; script-src 'sha256-${sha256(script)}'; img-src 'none'; base-uri 'none'; form-action 'none'`;
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<meta name="generator" content="${h(r.generator)}"><title>${h(title)}</title><style>${CSS}</style></head>\n<body>\n` +
    out.join('\n') +
    `\n<script type="application/json" id="stalepin-data">${jsonForScript(data)}</script>\n<script>${script}</script>\n</body></html>\n`
  );
}

function legend(): string {
  const icon = (inner: string): string => `<svg class="svgkey" width="26" height="14" viewBox="0 0 26 14" aria-hidden="true">${inner}</svg>`;
  return (
    '<ul class="legend" aria-label="Legend">' +
    `<li>${icon('<circle class="m-a" cx="13" cy="7" r="5"/>')}answered</li>` +
    `<li>${icon('<path class="m-r" d="M13,1L19,12L7,12Z"/>')}answered after retransmissions</li>` +
    `<li>${icon('<path class="m-u" d="M8,2L18,12M8,12L18,2"/>')}unanswered</li>` +
    `<li>${icon('<line class="fl" x1="2" y1="7" x2="24" y2="7"/>')}flow: first to last INVITE forwarded here</li>` +
    `<li>${icon('<line class="fl" x1="2" y1="7" x2="14" y2="7"/><line class="fl-aff" x1="14" y1="7" x2="24" y2="7"/>')}pinned flow: red while its calls were lost</li>` +
    `<li>${icon('<line class="fl-ct" x1="2" y1="7" x2="24" y2="7"/>')}tracker entry still points here</li>` +
    `<li>${icon('<path class="lostx" d="M9,3L17,11M9,11L17,3"/>')}lost call</li>` +
    `<li>${icon('<rect x="13" y="0" width="13" height="14" fill="url(#tl-hatch)"/><line class="term-line" x1="13" y1="0" x2="13" y2="14"/>')}backend terminated</li>` +
    '</ul>'
  );
}

function card(f: Finding, callIndex: Map<string, number>, maxIds: number): string {
  const o: string[] = [];
  const lost = f.callIds.length + (f.callIdsOmitted ?? 0);
  o.push(`<article class="card sev-${f.severity}">`);
  o.push(`<h3><span class="sev">${SEV_MARK[f.severity]} ${f.severity}</span>${h(f.kind)}</h3>`);
  o.push(`<p>${h(f.summary)}</p>`);
  o.push('<dl>');
  o.push(`<dt>client</dt><dd class="mono">${h(f.transport)} ${h(f.client)}</dd>`);
  o.push(`<dt>service</dt><dd class="mono">${h(f.service ?? '–')}</dd>`);
  o.push(`<dt>backend</dt><dd class="mono">${h(f.target ?? '–')} <span class="state-${f.targetState}">(${h(f.targetState)})</span></dd>`);
  o.push(`<dt>when</dt><dd>${h(f.since ?? '?')} – ${h(f.until ?? '?')}</dd>`);
  if (f.retransmissions !== undefined) o.push(`<dt>INVITE copies</dt><dd>${num(f.retransmissions)}</dd>`);
  if (f.tupleReused) o.push('<dt>signature</dt><dd>the same client tuple carried several calls (fixed source port)</dd>');
  o.push('</dl>');
  if (lost) {
    o.push(`<p><strong>Lost calls (${num(lost)}):</strong></p><div class="calls-list">`);
    for (const id of f.callIds.slice(0, maxIds)) {
      const i = callIndex.get(id);
      o.push(i !== undefined ? `<button type="button" class="callid" data-call="${i}" aria-pressed="false" title="show its ladder">${h(id)}</button>` : `<code class="callid">${h(id)}</code>`);
    }
    if (lost > maxIds) o.push(`<span class="muted">and ${num(lost - Math.min(maxIds, f.callIds.length))} more (--format json lists all)</span>`);
    o.push('</div>');
  }
  if (f.evidence.length) {
    o.push('<p><strong>Evidence:</strong></p><ul class="evidence">');
    for (const e of f.evidence) o.push(`<li><span class="src">[${h(e.source)}]</span> ${h(e.detail)}${e.file ? ` <span class="muted">(${h(e.file)})</span>` : ''}${e.at ? ` <span class="muted">at ${h(e.at)}</span>` : ''}</li>`);
    o.push('</ul>');
  }
  o.push(`<p><strong>Remedy:</strong></p><pre class="remedy"><code>${h(f.remedy)}</code></pre>`);
  o.push('</article>');
  return o.join('\n');
}

function flowRow(f: ReportFlow, finding: Finding | undefined): string {
  const backends = f.targets.map((u) => u.target).join(' → ');
  return (
    `<tr>${td(f.transport)}${td(f.client, 'mono')}${td(f.dst, 'mono')}${td(backends || null, 'mono wrap')}${td(f.invites)}${td(f.answered)}${td(f.unanswered)}${td(f.calls)}${td(f.notForwarded)}${td(f.first)}${td(f.last)}` +
    `${td(finding ? `${finding.kind} (${finding.severity})` : null)}</tr>`
  );
}
