import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { renderMarkdown } from '../../src/report/render-analyze.js';
import { runCli } from '../helpers/cli.js';
import { externalReferences, LAB_VARIANTS, labReport, tags } from './helpers.js';

describe('HTML report of every lab case', () => {
  it.each(LAB_VARIANTS)('%s: the pinned flow is drawn on the dead backend\'s lane past its termination', async (v) => {
    const { report, html } = await labReport(v);
    const pinned = report.findings.filter((f) => f.kind === 'pinned-flow');
    expect(pinned.length, v).toBeGreaterThan(0);
    for (const f of pinned) {
      const dead = report.targets.find((t) => t.address === f.target)!;
      expect(['terminated', 'unresponsive']).toContain(dead.state);
      const term = tags(html, 'g', 'term').find((t) => t['data-lane'] === f.target);
      expect(term, `${v}: termination mark of ${f.target}`).toBeDefined();
      const flow = tags(html, 'g', 'pinned').find((t) => t['data-lane'] === f.target && t['data-client'] === f.client);
      expect(flow, `${v}: pinned flow ${f.client} on ${f.target}`).toBeDefined();
      expect(Number(flow!['data-x2'])).toBeGreaterThan(Number(term!['data-x']));
      // The live backend carries no pinned line.
      for (const t of report.targets.filter((x) => x.state === 'active')) expect(tags(html, 'g', 'pinned').some((g) => g['data-lane'] === t.address)).toBe(false);
    }
  });

  it.each(LAB_VARIANTS)('%s: one card per finding, with evidence and remedy', async (v) => {
    const { report, html } = await labReport(v);
    const cards = html.split('<article class="card ').slice(1).map((c) => c.slice(0, c.indexOf('</article>')));
    expect(cards.length).toBe(report.findings.length);
    report.findings.forEach((f, i) => {
      expect(cards[i]).toContain(`sev-${f.severity}`);
      expect(cards[i]).toContain(f.kind);
      expect(cards[i]).toContain('class="evidence"');
      expect((cards[i]!.match(/<li>/g) ?? []).length).toBe(f.evidence.length);
      expect(cards[i]).toContain(`<pre class="remedy"><code>${f.remedy.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</code></pre>`);
    });
  });

  it.each(LAB_VARIANTS)('%s: self-contained, accessible, with sortable tables and a ladder', async (v) => {
    const { report, timeline, html } = await labReport(v);
    expect(externalReferences(html)).toEqual([]);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    // Exactly one inline style and two script elements (data, code); the policy allows just those by hash.
    expect(html.match(/<style>/g)?.length).toBe(1);
    expect(html.match(/<script\b/g)?.length).toBe(2);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    expect(csp).toContain("default-src 'none'");
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    expect(csp).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(csp).toContain(`'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(style).toContain('@media print');
    expect(html).not.toMatch(/\sstyle="/); // inline style attributes would be blocked by the policy
    // The chart: title, desc, aria, and a lane per backend plus "not forwarded".
    const svg = tags(html, 'svg', 'timeline')[0]!;
    expect(svg['role']).toBe('img');
    expect(svg['aria-labelledby']).toBe('tl-title tl-desc');
    expect(html).toMatch(/<title id="tl-title">[^<]+<\/title><desc id="tl-desc">[^<]*pinned[^<]*<\/desc>/);
    const lanes = tags(html, 'g', 'lane').map((l) => l['data-lane']);
    for (const t of report.targets) expect(lanes).toContain(t.address);
    expect(lanes).toContain('not-forwarded');
    // Shapes and colours per outcome: every unanswered INVITE is in some cross.
    expect(tags(html, 'path', 'm-u').length).toBeGreaterThan(0);
    expect(timeline.lanes.reduce((a, l) => a + l.unanswered, 0)).toBe(report.summary.unansweredInvites);
    // The text alternative lists every lane with its counts.
    const alt = html.slice(html.indexOf('id="timeline-table"'), html.indexOf('</table>', html.indexOf('id="timeline-table"')));
    for (const t of report.targets) expect(alt).toContain(t.address);
    // Tables, ladder, and the calls of the pinned flow as ladder buttons.
    for (const id of ['flows-table', 'calls-table', 'backends-table']) expect(html).toContain(`id="${id}"`);
    expect(tags(html, 'th').length).toBeGreaterThan(10);
    expect(html).toMatch(/<div id="ladder-box" class="ladder"><svg /);
    const pinned = report.findings.find((f) => f.kind === 'pinned-flow')!;
    for (const id of pinned.callIds) expect(html).toMatch(new RegExp(`data-call="\\d+" aria-pressed="[a-z]+"( title="[^"]*")?>${id.replace(/[.]/g, '\\.')}<`));
    // The ladder shown by default is a lost call of the pinned flow.
    const caption = /<p id="ladder-caption"[^>]*>([^<]*)</.exec(html)![1]!;
    expect(pinned.callIds.some((id) => caption.includes(id))).toBe(true);
    expect(caption).toContain('unanswered');
  });

  it('markdown gains a text timeline: the dead backend with unanswered marks after its termination caret', async () => {
    const { report, timeline } = await labReport('killed');
    const md = renderMarkdown(report, timeline);
    expect(md).toContain('## Timeline');
    const block = md.slice(md.indexOf('## Timeline'), md.indexOf('## Findings'));
    const lines = block.split('\n');
    const dead = lines.findIndex((l) => l.startsWith('198.51.100.11:5060'));
    expect(dead).toBeGreaterThan(0);
    const caret = lines[dead + 1]!.indexOf('^');
    expect(lines[dead + 1]).toContain('^ terminated 2026-11-23T20:17:10.657135564Z');
    expect(lines[dead]!.lastIndexOf('x')).toBeGreaterThan(caret);
    expect(lines[dead]!.slice(0, caret)).not.toContain('x');
    expect(lines.find((l) => l.startsWith('198.51.100.21:5060'))).toMatch(/o/);
    // Without a timeline the markdown is what it was.
    expect(renderMarkdown(report)).not.toContain('## Timeline');
  });

  it('analyze --format html -o writes the page; --format markdown carries the timeline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stalepin-html-'));
    const file = join(dir, 'report.html');
    const r = await runCli(['analyze', '--format', 'html', '-o', file, 'fixtures/lab/killed']);
    expect(r.code).toBe(1);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('stalepin incident report');
    expect(tags(html, 'g', 'pinned').length).toBe(1);
    const md = await runCli(['analyze', '--format', 'markdown', 'fixtures/lab/killed']);
    expect(md.stdout).toContain('## Timeline');
  });
});
