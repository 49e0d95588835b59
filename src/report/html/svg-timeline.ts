/**
 * The SVG timeline: a lane per backend (plus "other backends" and "not forwarded"); in each
 * lane three rows of marks, one per outcome, each with its own shape and colour (a circle for
 * answered, a triangle for answered after retransmissions, a cross for unanswered; the area
 * grows with the count), the backend's termination as a dashed line with the dead period
 * hatched, and below the marks the flows forwarded to it as lines from their first to their last
 * INVITE there. A flow with a finding is drawn thick, its affected period dashed (pinned) or
 * dotted (the tracker entry still points there), with a cross for each lost call.
 *
 * Size: at most MAX_COLUMNS columns x lanes x 3 marks, ROWS_PER_LANE flow rows: bounded
 * whatever the capture. Every string from the wire or a file goes through h().
 */
import type { Finding } from '../../findings/types.js';
import type { Timeline, TimelineLane } from '../../observe/timeline.js';
import type { Report, ReportFlow } from '../analyze.js';
import { h } from './escape.js';
import { clockLabel, columnCount, durationLabel, laneColumns, tOfIso, ticks, type Domain } from './layout.js';

export const MAX_COLUMNS = 140;
const ROWS_PER_LANE = 6;
const W = 1100;
const X0 = 250;
const X1 = 1080;
const AXIS_H = 34;
const MARK_ROW = 15;
const FLOW_ROW = 15;
const LANE_PAD = 10;

export interface FlowRow {
  transport: string;
  client: string;
  service: string | null;
  first: number | undefined;
  last: number | undefined;
  invites: number;
  finding: Finding | undefined;
}

export interface LaneLayout {
  lane: TimelineLane;
  rows: FlowRow[];
  moreFlows: number;
}

const r1 = (v: number): string => (Math.round(v * 10) / 10).toString();

/** Which flows each lane draws: those with a finding first (pinned, then stale entries), then the busiest. */
export function laneRows(r: Report, tl: Timeline): LaneLayout[] {
  const byTarget = new Map<string, FlowRow[]>();
  const push = (target: string, row: FlowRow): void => {
    let a = byTarget.get(target);
    if (!a) byTarget.set(target, (a = []));
    a.push(row);
  };
  const key = (transport: string, client: string, service: string | null, target: string): string => `${transport}|${client}|${service ?? ''}|${target}`;
  const flowUse = new Map<string, { f: ReportFlow; first: string | null; last: string | null; invites: number }>();
  for (const f of r.flows) for (const u of f.targets) flowUse.set(key(f.transport, f.client, f.dst, u.target), { f, first: u.first, last: u.last, invites: u.invites });
  const withFinding = new Set<string>();
  for (const fd of r.findings) {
    if ((fd.kind !== 'pinned-flow' && fd.kind !== 'stale-conntrack-entry') || !fd.target) continue;
    const k = key(fd.transport, fd.client, fd.service, fd.target);
    if (withFinding.has(k)) continue;
    withFinding.add(k);
    const u = flowUse.get(k);
    push(fd.target, { transport: fd.transport, client: fd.client, service: fd.service, first: tOfIso(u?.first), last: tOfIso(u?.last), invites: u?.invites ?? 0, finding: fd });
  }
  const others = new Map<string, FlowRow[]>();
  for (const [k, u] of flowUse) {
    if (withFinding.has(k)) continue;
    const target = k.slice(k.lastIndexOf('|') + 1);
    let a = others.get(target);
    if (!a) others.set(target, (a = []));
    a.push({ transport: u.f.transport, client: u.f.client, service: u.f.dst, first: tOfIso(u.first), last: tOfIso(u.last), invites: u.invites, finding: undefined });
  }
  const rank = (x: FlowRow): number => (x.finding?.kind === 'pinned-flow' ? 0 : 1);
  return tl.lanes.map((lane) => {
    if (lane.target === null) return { lane, rows: [], moreFlows: 0 };
    const fs = (byTarget.get(lane.target) ?? []).sort((a, b) => rank(a) - rank(b));
    const os = (others.get(lane.target) ?? []).sort((a, b) => b.invites - a.invites);
    const all = [...fs, ...os];
    const rows = all.slice(0, Math.max(ROWS_PER_LANE, Math.min(fs.length, 2 * ROWS_PER_LANE)));
    return { lane, rows, moreFlows: all.length - rows.length };
  });
}

/** The SVG markup and, for the text alternative, the per-column counts of each lane. */
export function timelineSvg(r: Report, tl: Timeline, d: Domain, layouts: LaneLayout[]): { svg: string; columns: number; colS: number; laneCols: Float64Array[] } {
  const n = columnCount(tl, d, MAX_COLUMNS);
  const colS = (d.t1 - d.t0) / n;
  const x = (t: number): number => X0 + ((t - d.t0) / (d.t1 - d.t0)) * (X1 - X0);
  const cx = (t: number): number => Math.min(X1, Math.max(X0, x(t)));
  const colW = (X1 - X0) / n;
  const laneCols = layouts.map((l) => laneColumns(tl, l.lane, d, n));
  let max = 1;
  for (const c of laneCols) for (let i = 0; i < c.length; i++) if (c[i]! > max) max = c[i]!;
  const rMax = Math.max(2.5, Math.min(6.5, colW * 0.48));
  const rad = (v: number): number => 1.4 + (rMax - 1.4) * Math.sqrt(v / max);

  const heights = layouts.map((l) => 3 * MARK_ROW + LANE_PAD + Math.max(l.rows.length, l.lane.target === null ? 0 : 1) * FLOW_ROW + (l.moreFlows ? 12 : 0));
  const H = AXIS_H + heights.reduce((a, b) => a + b, 0) + 6;
  const out: string[] = [];
  const pinned = r.findings.filter((f) => f.kind === 'pinned-flow');
  const dead = r.targets.filter((t) => t.state === 'terminated' || t.state === 'unresponsive');
  const desc =
    `INVITE transactions over time, ${tl.invites} in all, per backend. ` +
    (dead.length ? dead.map((t) => `${t.address} is ${t.state}${t.since ? ` since ${t.since}` : ''}`).join('; ') + '. ' : 'No backend is terminated or unresponsive. ') +
    (pinned.length
      ? pinned.map((f) => `The ${f.transport} flow from ${f.client} to ${f.service ?? '?'} stays pinned to ${f.target ?? '?'} from ${f.since ?? '?'} to ${f.until ?? '?'}, ${f.callIds.length + (f.callIdsOmitted ?? 0)} call(s) lost`).join('. ') + '.'
      : 'No pinned flow.') +
    ' The table below the chart gives the same counts as text.';
  out.push(`<svg class="timeline" id="timeline-svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="tl-title tl-desc" data-t0="${d.t0}" data-t1="${d.t1}" data-x0="${X0}" data-x1="${X1}">`);
  out.push(`<title id="tl-title">Timeline of INVITE transactions per backend</title><desc id="tl-desc">${h(desc)}</desc>`);
  out.push('<defs><pattern id="tl-hatch" width="7" height="7" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="7" height="7" fill="#f7e4dc"/><line x1="0" y1="0" x2="0" y2="7" stroke="#e0b7a6" stroke-width="2.5"/></pattern></defs>');

  // Axis and grid.
  const tk = ticks(d, 9);
  const dayOf = (t: number): string => clockLabel(t, 86400);
  out.push(`<text class="axis" x="8" y="14">UTC ${h(dayOf(d.t0))}${dayOf(d.t1) !== dayOf(d.t0) ? ` to ${h(dayOf(d.t1))}` : ''}</text>`);
  out.push(`<text class="axis" x="8" y="28">column ${h(durationLabel(colS))}</text>`);
  for (const t of tk.at) {
    const gx = r1(x(t));
    out.push(`<line class="grid" x1="${gx}" y1="${AXIS_H - 6}" x2="${gx}" y2="${H - 4}"/><text class="axis" x="${gx}" y="${AXIS_H - 10}" text-anchor="middle">${h(clockLabel(t, tk.step))}</text>`);
  }

  let y = AXIS_H;
  layouts.forEach((l, li) => {
    const lane = l.lane;
    const hgt = heights[li]!;
    const laneAttr = h(lane.target ?? lane.kind);
    out.push(`<g class="lane" data-lane="${laneAttr}" data-kind="${lane.kind}">`);
    out.push(`<rect class="lane-bg${li % 2 ? ' alt' : ''}" x="0" y="${y}" width="${W}" height="${hgt}"/>`);
    // Termination: a dashed line and the dead period hatched.
    const since = lane.state && lane.state !== 'active' ? tOfIso(lane.since) : undefined;
    let termX: number | undefined;
    if (since !== undefined) {
      termX = cx(since);
      if (lane.state !== 'draining') out.push(`<rect class="dead" x="${r1(termX)}" y="${y}" width="${r1(X1 - termX)}" height="${hgt}" fill="url(#tl-hatch)"/>`);
      const word = lane.state === 'draining' ? 'draining' : lane.state === 'unresponsive' ? 'unresponsive' : 'terminated';
      const off = since < d.t0 ? ' (before this span)' : since > d.t1 ? ' (after this span)' : '';
      out.push(
        `<g class="term" data-lane="${laneAttr}" data-x="${r1(termX)}"><title>${h(`${lane.label} ${word} since ${lane.since}${off}`)}</title>` +
          `<line class="term-line" x1="${r1(termX)}" y1="${y + 1}" x2="${r1(termX)}" y2="${y + hgt - 1}"/>` +
          `<text class="term-text" x="${r1(termX + 4)}" y="${y + 11}">${h(`${word}${off}`)}</text></g>`,
      );
    }
    // Lane label.
    out.push(`<text class="lane-label" x="8" y="${y + 15}">${h(lane.label)}</text>`);
    const sub = [lane.name ? lane.name : '', lane.state ? lane.state : '', `${lane.invites} INVITE${lane.invites === 1 ? '' : 's'}`].filter(Boolean).join(' · ');
    out.push(`<text class="lane-sub${lane.state === 'terminated' || lane.state === 'unresponsive' ? ' bad' : ''}" x="8" y="${y + 29}">${h(sub)}</text>`);
    if (lane.unanswered) out.push(`<text class="lane-sub" x="8" y="${y + 42}">${h(`${lane.unanswered} unanswered · ${lane.retransmitted} after retransmission`)}</text>`);
    // Marks: one row per outcome.
    const c = laneCols[li]!;
    const ya = y + 8;
    for (let i = 0; i < n; i++) {
      const a = c[i * 3]!;
      const rt = c[i * 3 + 1]!;
      const u = c[i * 3 + 2]!;
      if (!a && !rt && !u) continue;
      const mx = X0 + (i + 0.5) * colW;
      const t0 = d.t0 + i * colS;
      let g = `<g class="col"><title>${h(`${lane.label}, ${clockLabel(t0, 0.001)} to ${clockLabel(t0 + colS, 0.001)}: ${a} answered, ${rt} answered after retransmissions, ${u} unanswered`)}</title>`;
      if (a) g += `<circle class="m-a" cx="${r1(mx)}" cy="${ya}" r="${r1(rad(a))}"/>`;
      if (rt) {
        const rr = rad(rt) * 1.15;
        const yy = ya + MARK_ROW;
        g += `<path class="m-r" d="M${r1(mx)},${r1(yy - rr)}L${r1(mx + rr)},${r1(yy + rr * 0.8)}L${r1(mx - rr)},${r1(yy + rr * 0.8)}Z"/>`;
      }
      if (u) {
        const rr = rad(u) * 0.9;
        const yy = ya + 2 * MARK_ROW;
        g += `<path class="m-u" d="M${r1(mx - rr)},${r1(yy - rr)}L${r1(mx + rr)},${r1(yy + rr)}M${r1(mx - rr)},${r1(yy + rr)}L${r1(mx + rr)},${r1(yy - rr)}"/>`;
      }
      out.push(g + '</g>');
    }
    // Flows forwarded to this backend.
    let fy = y + 3 * MARK_ROW + LANE_PAD / 2 + FLOW_ROW / 2;
    for (const row of l.rows) {
      const f = row.finding;
      const isPin = f?.kind === 'pinned-flow';
      const cls = isPin ? 'flow pinned' : f ? 'flow stale' : 'flow';
      const parts: string[] = [];
      let fx1: number | undefined;
      let fx2: number | undefined;
      if (row.first !== undefined && row.last !== undefined) {
        fx1 = cx(row.first);
        fx2 = Math.max(cx(row.last), fx1 + 3);
        parts.push(`<line class="fl" x1="${r1(fx1)}" y1="${r1(fy)}" x2="${r1(fx2)}" y2="${r1(fy)}"/>`);
      }
      const fs = tOfIso(f?.since);
      const fu = tOfIso(f?.until);
      if (f && fs !== undefined) {
        const ax1 = cx(fs);
        const ax2 = Math.max(cx(fu ?? fs), ax1 + 3);
        parts.push(`<line class="${isPin ? 'fl-aff' : 'fl-ct'}" x1="${r1(ax1)}" y1="${r1(fy)}" x2="${r1(ax2)}" y2="${r1(fy)}"/>`);
        fx1 = Math.min(fx1 ?? ax1, ax1);
        fx2 = Math.max(fx2 ?? ax2, ax2);
      }
      if (isPin) {
        let k = 0;
        for (const call of tl.calls) {
          if (call.outcome !== 'unanswered' || call.client !== row.client || (row.service !== null && call.service !== row.service) || call.target !== lane.target || k++ >= 200) continue;
          const lx = cx(call.t);
          parts.push(`<path class="lostx" d="M${r1(lx - 3.5)},${r1(fy - 3.5)}L${r1(lx + 3.5)},${r1(fy + 3.5)}M${r1(lx - 3.5)},${r1(fy + 3.5)}L${r1(lx + 3.5)},${r1(fy - 3.5)}"/>`);
        }
      }
      const lost = f ? f.callIds.length + (f.callIdsOmitted ?? 0) : 0;
      const tip = `${row.transport} ${row.client} → ${row.service ?? '?'} forwarded to ${lane.label}` + (f ? `; ${f.kind} (${f.severity})${lost ? `, ${lost} call(s) lost` : ''} from ${f.since ?? '?'} to ${f.until ?? '?'}` : '');
      const label = `${row.client}${isPin ? ' pinned' : f ? ' stale entry' : ''}`;
      out.push(
        `<g class="${cls}" data-client="${h(row.client)}" data-lane="${laneAttr}"${fx1 !== undefined ? ` data-x1="${r1(fx1)}" data-x2="${r1(fx2!)}"` : ''}><title>${h(tip)}</title>` +
          `<text class="row-label${isPin ? ' pin' : ''}" x="${X0 - 6}" y="${r1(fy + 3.5)}" text-anchor="end">${h(label)}</text>${parts.join('')}</g>`,
      );
      fy += FLOW_ROW;
    }
    if (lane.target !== null && !l.rows.length) out.push(`<text class="lane-sub" x="${X0 + 4}" y="${r1(fy + 3.5)}">no flow seen forwarded here</text>`);
    if (l.moreFlows) out.push(`<text class="lane-sub" x="${X0 - 6}" y="${r1(fy + 3)}" text-anchor="end">${h(`+${l.moreFlows} more flows (table below)`)}</text>`);
    out.push('</g>');
    y += hgt;
  });
  out.push('</svg>');
  return { svg: out.join('\n'), columns: n, colS, laneCols };
}
