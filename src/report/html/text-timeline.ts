/**
 * The compact text timeline for Markdown: one row per backend lane, one character per column
 * (the worst outcome in it), and a caret under the column where the backend was terminated.
 */
import type { Timeline } from '../../observe/timeline.js';
import type { Report } from '../analyze.js';
import { visible } from '../visible.js';
import { clockLabel, columnCount, durationLabel, laneColumns, tOfIso, timelineDomain } from './layout.js';

export function textTimeline(r: Report, tl: Timeline, width = 60): string[] {
  const d = timelineDomain(r, tl);
  if (!d || tl.invites === 0) return ['No INVITE transactions to draw.'];
  const n = columnCount(tl, d, width);
  const col = (d.t1 - d.t0) / n;
  const label = (s: string): string => visible(s).replace(/`/g, "'").slice(0, 44);
  const rows = tl.lanes.filter((l) => l.invites > 0 || (l.state !== undefined && l.state !== 'active'));
  const names = rows.map((l) => label(l.label + (l.name ? ` ${l.name}` : '') + (l.state && l.state !== 'active' ? ` (${l.state})` : '')));
  const w = Math.max(...names.map((s) => s.length), 8) + 2;
  const out: string[] = [];
  out.push(
    `Columns of ${durationLabel(col)} from ${clockLabel(d.t0, 0.001)} to ${clockLabel(d.t1, 0.001)} UTC; ` +
      '`o` answered, `r` answered after retransmissions, `x` unanswered, `.` none; `^` marks a backend\'s termination.',
    '',
    '```',
  );
  const a = clockLabel(d.t0, 0.001);
  const b = clockLabel(d.t1, 0.001);
  out.push(' '.repeat(w) + (n >= a.length + b.length + 2 ? a.padEnd(n - b.length) + b : `${a} .. ${b}`));
  rows.forEach((l, i) => {
    const c = laneColumns(tl, l, d, n);
    let s = '';
    for (let j = 0; j < n; j++) s += c[j * 3 + 2] ? 'x' : c[j * 3 + 1] ? 'r' : c[j * 3] ? 'o' : '.';
    out.push(names[i]!.padEnd(w) + s);
    const since = l.state && l.state !== 'active' ? tOfIso(l.since) : undefined;
    if (since !== undefined) {
      const j = Math.floor((since - d.t0) / col);
      const at = Math.min(n - 1, Math.max(0, j));
      out.push(' '.repeat(w + at) + `^ ${l.state} ${j < 0 ? 'before this, at ' : j >= n ? 'after this, at ' : ''}${visible(l.since!)}`);
    }
  });
  out.push('```');
  return out;
}
