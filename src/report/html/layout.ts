/**
 * Time layout shared by the SVG timeline and the Markdown text timeline: which time span to
 * draw, how the timeline's bins map onto drawn columns, and where the axis ticks go.
 */
import { formatIso, parseTime } from '../../core/time.js';
import type { Timeline, TimelineLane } from '../../observe/timeline.js';
import type { Report } from '../analyze.js';

/** Seconds since the epoch (float, layout only) of an ISO time from the report. */
export function tOfIso(iso: string | null | undefined): number | undefined {
  if (!iso) return undefined;
  const t = parseTime(iso);
  return t ? t.sec + t.nsec * 1e-9 : undefined;
}

export interface Domain {
  t0: number;
  t1: number;
}

/**
 * The span drawn: the capture (its INVITEs and packets), stretched to show a backend's
 * termination or a finding's start and end when that at most quadruples it; times further out
 * are drawn at the edge with their value written (an inventory may date a termination days back).
 */
export function timelineDomain(r: Report, tl: Timeline | undefined): Domain | undefined {
  const base: number[] = [];
  for (const v of [tl?.first, tl?.last, tOfIso(r.summary.first), tOfIso(r.summary.last)]) if (v !== undefined && v !== null) base.push(v);
  if (!base.length) return undefined;
  let t0 = Math.min(...base);
  let t1 = Math.max(...base);
  const span0 = Math.max(t1 - t0, 1);
  const extras: number[] = [];
  for (const t of r.targets) if (t.state !== 'active') extras.push(tOfIso(t.since) ?? NaN);
  for (const f of r.findings) extras.push(tOfIso(f.since) ?? NaN, tOfIso(f.until) ?? NaN);
  for (const x of extras) {
    if (Number.isNaN(x)) continue;
    const n0 = Math.min(t0, x);
    const n1 = Math.max(t1, x);
    if (n1 - n0 <= 4 * span0) {
      t0 = n0;
      t1 = n1;
    }
  }
  if (t1 - t0 < 0.01) {
    t0 -= 0.5;
    t1 += 0.5;
  }
  const pad = (t1 - t0) * 0.02;
  return { t0: t0 - pad, t1: t1 + pad };
}

/** Column count for a drawing of at most `max` columns: never narrower than one bin. */
export function columnCount(tl: Timeline, d: Domain, max: number): number {
  const n = Math.floor((d.t1 - d.t0) / Math.max(tl.binS, 1e-9));
  return Math.max(1, Math.min(max, n));
}

/** Counts per column: [answered, retransmitted, unanswered] at 3*i. Bins outside the domain are clamped to the edge. */
export function laneColumns(tl: Timeline, lane: TimelineLane, d: Domain, n: number): Float64Array {
  const out = new Float64Array(n * 3);
  const span = d.t1 - d.t0;
  for (const [i, a, r, u] of lane.bins) {
    const mid = tl.start + (i + 0.5) * tl.binS;
    const c = Math.min(n - 1, Math.max(0, Math.floor(((mid - d.t0) / span) * n)));
    out[c * 3] += a;
    out[c * 3 + 1] += r;
    out[c * 3 + 2] += u;
  }
  return out;
}

const STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

/** Round tick times (UTC) inside the domain, at most about `max` of them, and the step. */
export function ticks(d: Domain, max: number): { step: number; at: number[] } {
  const span = d.t1 - d.t0;
  const step = STEPS.find((s) => span / s <= max) ?? span / max;
  const at: number[] = [];
  for (let t = Math.ceil(d.t0 / step) * step; t <= d.t1 && at.length < max * 2; t += step) at.push(t);
  return { step, at };
}

/** A tick label: time of day (UTC) with as many fraction digits as the step needs; the date when a step is a day or more. */
export function clockLabel(t: number, step: number): string {
  const digits = step >= 1 ? 0 : step >= 0.1 ? 1 : step >= 0.01 ? 2 : 3;
  const sec = Math.floor(t);
  const nsec = Math.round((t - sec) * 1e9);
  const iso = nsec >= 1e9 ? formatIso(sec + 1, 0, digits) : formatIso(sec, nsec, digits);
  return step >= 86400 ? iso.slice(0, 10) : iso.slice(11, -1);
}

/** Seconds, human-sized: "512 ms", "4.1 s", "2 min". */
export function durationLabel(s: number): string {
  if (s < 1) return `${+(s * 1000).toPrecision(3)} ms`;
  if (s < 120) return `${+s.toPrecision(3)} s`;
  if (s < 7200) return `${+(s / 60).toPrecision(3)} min`;
  return `${+(s / 3600).toPrecision(3)} h`;
}
