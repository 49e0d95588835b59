/**
 * The HTML report in headless Chromium (playwright-core, /usr/bin/chromium): it renders with no
 * console error and no network request, the timeline shows the pinned flow past the backend's
 * termination, sorting and call selection work, and screenshots are kept in test-artifacts/.
 * Skipped with a printed reason when Chromium or playwright-core is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderHtml } from '../../src/report/html/index.js';
import { repoRoot } from '../helpers/cli.js';
import { labReport } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
type Pw = typeof import('playwright-core');
let pw: Pw | undefined;
let why = '';
if (!existsSync(CHROMIUM)) why = `${CHROMIUM} is not installed (apt-get install chromium)`;
else {
  try {
    pw = await import('playwright-core');
  } catch {
    why = 'playwright-core is not installed (npm install)';
  }
}
if (why) console.log(`skipping the HTML browser tests: ${why}`);

const artifacts = join(repoRoot, 'test-artifacts');

describe.skipIf(!pw)('HTML report in headless Chromium', () => {
  let ctx: import('playwright-core').BrowserContext;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stalepin-browser-'));
    mkdirSync(artifacts, { recursive: true });
    ctx = await pw!.chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1280, height: 900 },
    });
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Open a page on `html`; every request other than the file itself is refused and recorded. */
  async function open(name: string, html: string) {
    const file = join(dir, name);
    writeFileSync(file, html);
    const url = pathToFileURL(file).href;
    const page = await ctx.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.route('**/*', (route) => {
      const u = route.request().url();
      if (u === url) return route.continue();
      requests.push(u);
      return route.abort();
    });
    await page.goto(url, { waitUntil: 'load' });
    return { page, problems, requests };
  }

  it('renders the killed case: no errors, no requests, the pinned flow past the termination, sorting and the ladder work', async () => {
    const { report, html } = await labReport('killed');
    const { page, problems, requests } = await open('killed.html', html);
    const pinned = report.findings.find((f) => f.kind === 'pinned-flow')!;
    const flow = page.locator(`#timeline-svg g.flow.pinned[data-lane="${pinned.target}"]`);
    const term = page.locator(`#timeline-svg g.term[data-lane="${pinned.target}"] line`);
    await expect(flow.count()).resolves.toBe(1);
    const fb = (await flow.locator('line.fl-aff').boundingBox())!;
    const tb = (await term.boundingBox())!;
    expect(fb.width).toBeGreaterThan(5);
    expect(fb.x + fb.width).toBeGreaterThan(tb.x + tb.width);
    expect(fb.y).toBeGreaterThan(tb.y);
    expect(fb.y).toBeLessThan(tb.y + tb.height);
    await expect(flow.locator('text').textContent()).resolves.toContain(pinned.client);
    await page.locator('#timeline figure').screenshot({ path: join(artifacts, 'html-timeline-killed.png') });

    // Sorting the flows table by INVITEs, both ways.
    const col = async (i: number) => page.$$eval(`#flows-table tbody tr td:nth-child(${i})`, (tds) => tds.map((t) => Number(t.getAttribute('data-v'))));
    const header = page.locator('#flows-table thead th').filter({ hasText: 'INVITEs' }).locator('button');
    await header.click();
    const asc = await col(5);
    expect(asc).toEqual([...asc].sort((a, b) => a - b));
    await expect(page.locator('#flows-table thead th').filter({ hasText: 'INVITEs' }).getAttribute('aria-sort')).resolves.toBe('ascending');
    await header.click();
    const desc = await col(5);
    expect(desc).toEqual([...asc].sort((a, b) => b - a));
    expect(new Set(desc).size).toBeGreaterThan(1); // the sort had something to order

    // Selecting another call draws its ladder.
    const other = pinned.callIds[1]!;
    await page.locator('#calls-table button.callid', { hasText: other }).click();
    await expect(page.locator('#ladder-caption').textContent()).resolves.toContain(other);
    await expect(page.locator('#ladder-box svg text.lost').count()).resolves.toBe(1);
    await expect(page.locator('#calls-table tr.selected button').textContent()).resolves.toBe(other);

    await page.screenshot({ path: join(artifacts, 'html-report-killed.png'), fullPage: true });
    await page.emulateMedia({ media: 'print' });
    await expect(page.locator('nav.toc').isVisible()).resolves.toBe(false);
    await page.screenshot({ path: join(artifacts, 'html-report-killed-print.png'), fullPage: true });
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  }, 60_000);

  it.each(['link-down', 'ipv6'])('%s renders without errors and shows its pinned flow', async (v) => {
    const { report, html } = await labReport(v);
    const { page, problems, requests } = await open(`${v}.html`, html);
    const pinned = report.findings.find((f) => f.kind === 'pinned-flow')!;
    await expect(page.locator(`#timeline-svg g.flow.pinned[data-lane="${pinned.target}"]`).isVisible()).resolves.toBe(true);
    await page.locator('#timeline figure').screenshot({ path: join(artifacts, `html-timeline-${v}.png`) });
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  }, 60_000);

  it('hostile Call-IDs, names and file names stay text: nothing runs, nothing loads', async () => {
    const { report, timeline } = await labReport('killed');
    const evil = ['</script><script>document.title="pwned"</script>', '"><img src=x onerror="document.title=\'pwned\'">', '<svg onload="alert(1)">'];
    const pinned = report.findings.find((f) => f.kind === 'pinned-flow')!;
    evil.forEach((e, i) => {
      const c = timeline.calls[i]!;
      const was = c.callId;
      c.callId = e;
      pinned.callIds = pinned.callIds.map((id) => (id === was ? e : id));
    });
    report.targets[0]!.name = '<img src=x onerror=alert(2)>';
    timeline.lanes[0]!.name = report.targets[0]!.name;
    report.inputs[0]!.file = '<img src="http://192.0.2.1/x.png">';
    const { page, problems, requests } = await open('evil.html', renderHtml(report, timeline));
    for (let i = 0; i < evil.length; i++) await page.locator(`#calls-table button[data-call="${i}"]`).click();
    await expect(page.locator('#ladder-caption').textContent()).resolves.toContain('<svg onload="alert(1)">');
    await expect(page.title()).resolves.toMatch(/^stalepin report/);
    await expect(page.locator('#calls-table img, #ladder-box img, .card img, #inputs img').count()).resolves.toBe(0);
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  }, 60_000);
});
