/** Probe events as NDJSON lines and as rows of a live, append-only table. */
import { visible } from '../report/visible.js';
import type { Outcome, ProbeEvent, ProbeSummary, SideResult } from './probe.js';
import { OUTCOMES } from './probe.js';
import { jsonText } from '../report/json-text.js';

export function eventJson(e: ProbeEvent): string {
  return jsonText(e) + '\n';
}

const COLOR: Record<Outcome, string> = { ok: '32', pinned: '31;1', down: '31', 'fresh-only-fail': '33' };

function side(s: SideResult): string {
  if (s.code !== null) return `${s.port} ${s.code} ${s.rttMs!.toFixed(1)}ms${s.sent > 1 ? ` x${s.sent}` : ''}`;
  return `${s.port || '-'} ${visible(s.error ?? 'no answer')}${s.sent > 1 ? ` x${s.sent}` : ''}`;
}

const WIDTHS = [5, 12, 0, 15, 24, 24];

export function tableHeader(targetWidth: number): string {
  return row(['round', 'time', 'target', 'outcome', 'fixed port/code/rtt', 'fresh port/code/rtt'], targetWidth) + '\n';
}

function row(cells: string[], targetWidth: number, color?: string): string {
  const out = cells.map((c, i) => {
    const w = i === 2 ? targetWidth : WIDTHS[i]!;
    const padded = i === cells.length - 1 ? c : c.padEnd(w);
    return i === 3 && color ? `\x1b[${color}m${padded}\x1b[0m` : padded;
  });
  return out.join(' ').trimEnd();
}

export function tableRow(e: ProbeEvent, targetWidth: number, color: boolean): string {
  const time = e.at.slice(11, 23);
  const extra = e.stray || e.late ? `  (${[e.stray ? `${e.stray} stray` : '', e.late ? `${e.late} late` : ''].filter(Boolean).join(', ')})` : '';
  return row([String(e.round), time, visible(e.target), e.outcome, side(e.fixed), side(e.fresh) + extra], targetWidth, color ? COLOR[e.outcome] : undefined) + '\n';
}

export function summaryLine(s: ProbeSummary): string {
  const parts = OUTCOMES.map((o) => `${o} ${s.outcomes[o]}`);
  const extra = [s.stray ? `${s.stray} stray` : '', s.late ? `${s.late} late` : ''].filter(Boolean);
  return `${s.rounds} round(s): ${parts.join(', ')}${extra.length ? '; ' + extra.join(', ') : ''}\n`;
}
