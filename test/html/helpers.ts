/** Shared by the HTML tests: a lab case analyzed with the timeline hook, and readers of the generated page. */
import { join } from 'node:path';
import { analyze, type AnalyzeOptions } from '../../src/analysis/analyze.js';
import { TimelineObserver, type Timeline } from '../../src/observe/timeline.js';
import type { Report } from '../../src/report/analyze.js';
import { renderHtml } from '../../src/report/html/index.js';
import { repoRoot } from '../helpers/cli.js';

export const LAB_VARIANTS = ['killed', 'link-down', 'netns-deleted', 'ipv6', 'fragmented'] as const;

const base: Omit<AnalyzeOptions, 'paths'> = { conntrack: [], vips: [], udpTimeoutS: 120, timerBNs: 32e9, forwardWindowNs: 500e6, callIds: [], sipPorts: [5060, 5080] };

export async function labReport(variant: string): Promise<{ report: Report; timeline: Timeline; html: string }> {
  const obs = new TimelineObserver();
  const report = await analyze({ ...base, paths: [join(repoRoot, 'fixtures', 'lab', variant)], onInvite: obs.onInvite });
  const timeline = obs.build(report.targets);
  return { report, timeline, html: renderHtml(report, timeline) };
}

/** Attributes of every start tag matching `tag` whose class attribute contains `cls`. */
export function tags(html: string, tag: string, cls?: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'g'))) {
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    if (cls === undefined || (attrs['class'] ?? '').split(' ').includes(cls)) out.push(attrs);
  }
  return out;
}

/** Every way the page could reach outside itself. */
export function externalReferences(html: string): string[] {
  const found: string[] = [];
  for (const re of [/\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:|\/\/|ftp:|file:)/gi, /@import/gi, /url\(\s*["']?\s*(?:https?:|\/\/)/gi, /<link\b/gi, /<iframe\b/gi, /<img\b/gi, /<object\b/gi, /<embed\b/gi])
    for (const m of html.matchAll(re)) found.push(m[0]);
  return found;
}
