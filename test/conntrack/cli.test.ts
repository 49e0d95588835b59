/**
 * `stalepin conntrack`: output formats, filters, --summary, snapshot time source, warnings and
 * exit codes, in-process (runCli) and, when dist/ is built, as the real binary.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runBin, runCli } from '../helpers/cli.js';

const real = (f: string): string => join('fixtures', 'conntrack', 'real', f);
const edge = (f: string): string => join('fixtures', 'conntrack', 'edge', f);

async function json(args: string[], stdin?: string): Promise<any> {
  const r = await runCli(['conntrack', '--format', 'json', ...args], stdin);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('conntrack --summary', () => {
  it('counts entries, assured, unreplied and protocols per service and target', async () => {
    const r = await json(['--summary', real('list-extended-id.txt')]);
    expect(r.schema).toBe('stalepin/conntrack@1');
    const row = r.summary.rows.find((x: any) => x.service === '203.0.113.10:5060' && x.target === '198.51.100.20:5060');
    // udp 192.0.2.10:5060, tcp :40000 and :40002, and the conntrack -I entry from 192.0.2.99
    expect(row).toEqual({ service: '203.0.113.10:5060', target: '198.51.100.20:5060', entries: 4, assured: 2, unreplied: 1, snat: 0, byProto: { udp: 2, tcp: 2 } });
    expect(r.summary.rows.find((x: any) => x.service === '203.0.113.10:5070')).toMatchObject({ target: '198.51.100.30:5060', entries: 1, unreplied: 1 });
    expect(r.summary.rows.find((x: any) => x.service === '203.0.113.10:5080')).toMatchObject({ snat: 1 });
    expect(r.summary.totals).toMatchObject({ entries: 16 });
    expect(r.sources[0]).toMatchObject({ format: 'extended', entries: 16, matched: 16, badLines: 0 });
  });

  it('the same table in every form gives the same summary', async () => {
    const sum = async (f: string) => (await json(['--summary', real(f)])).summary.rows.map((x: any) => [x.service, x.target, x.entries, x.assured, x.unreplied, x.snat]);
    const base = await sum('list-default.txt');
    for (const f of ['list-extended.txt', 'list-xml.txt', 'proc-nf_conntrack.txt', 'list-save.txt']) expect(await sum(f), f).toEqual(base);
  });

  it('table output lists rows and totals', async () => {
    const r = await runCli(['conntrack', '--summary', real('list-default.txt')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('203.0.113.10:5070');
    expect(r.stdout).toMatch(/16 entries, \d+ services, \d+ targets; \d+ assured, \d+ unreplied/);
  });
});

const filterCases: [string, string[], number][] = [
  ['--service ip:port', ['--service', '203.0.113.10:5070'], 1],
  ['--service ip (any port)', ['--service', '203.0.113.10'], 8],
  ['--target', ['--target', '198.51.100.20:5060'], 5],
  ['--target v6', ['--target', '[2001:db8:b::20]:5060'], 2],
  ['--proto udp', ['--proto', 'udp'], 7],
  ['--proto numbers and names', ['--proto', '132,253'], 2],
  ['--state', ['--state', 'established'], 2],
  ['--flag unreplied', ['--flag', 'unreplied'], 6],
  ['--flag unreplied --proto udp', ['--flag', 'unreplied', '--proto', 'udp'], 4],
  ['--flag !assured', ['--flag', '!assured'], 13],
  ['--flag snat', ['--flag', 'snat'], 1],
  ['--flag dnat --flag replied', ['--flag', 'dnat', '--flag', 'replied'], 6],
];

describe('conntrack filters', () => {
  it.each(filterCases)('%s', async (_n, args, count) => {
    const r = await json([...args, real('list-extended-id.txt')]);
    expect(r.entries).toHaveLength(count);
    expect(r.sources[0].matched).toBe(count);
  });
});

describe('conntrack output formats', () => {
  it('ndjson: one entry per line, naming file and line', async () => {
    const r = await runCli(['conntrack', '--format', 'ndjson', real('list-default.txt'), real('list6-default.txt')]);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(20);
    expect(lines[0]).toMatchObject({ file: real('list-default.txt'), line: 1 });
    expect(lines[19].file).toBe(real('list6-default.txt'));
  });

  it('table: one row per entry and a line per source with its snapshot time', async () => {
    const r = await runCli(['conntrack', real('list-default.txt')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('198.51.100.30:5060');
    expect(r.stdout).toMatch(/list-default\.txt: default, 16 entries, 16 matched, snapshot .* \(from the file's modification time\)/);
  });

  it('--limit stops the listing and says how many were left out', async () => {
    const r = await runCli(['conntrack', '--limit', '3', real('list-default.txt')]);
    expect(r.stdout).toContain('... 13 more entries not shown');
    const j = await json(['--limit', '3', real('list-default.txt')]);
    expect(j.entries).toHaveLength(3);
    expect(j.notShown).toBe(13);
  });

  it('reads standard input with -', async () => {
    const r = await json(['-'], readFileSync(join(repoRoot, real('list-save.txt')), 'utf8'));
    expect(r.entries).toHaveLength(16);
    expect(r.sources[0]).toMatchObject({ file: '<stdin>', format: 'save' });
  });

  it('a label with terminal escapes is shown made visible in the table', async () => {
    const r = await runCli(['conntrack', edge('some-bad-lines.txt'), '--quiet']);
    expect(r.stdout).not.toContain('\x1b');
  });
});

describe('snapshot time: the file, else --at, else the modification time', () => {
  const cases: [string, string[], string, RegExp][] = [
    ['file timestamps (ktimestamp)', [real('list-ktimestamp.txt')], 'file', /^\d{4}-.*Z$/],
    ['file timestamps (events)', [real('events-timestamp-id.txt')], 'file', /\.\d{6}Z$/],
    ['--at when the file has none', ['--at', '2026-11-23T20:13:00Z', real('list-default.txt')], 'at', /^2026-11-23T20:13:00Z$/],
    ['--at epoch', ['--at', '1795464780.5', real('list-default.txt')], 'at', /^2026-11-23T20:13:00\.500000000Z$/],
    ['the file wins over --at', ['--at', '2000-01-01T00:00:00Z', real('list-ktimestamp.txt')], 'file', /^2026-/],
    ['mtime', [real('list-default.txt')], 'mtime', /Z$/],
  ];
  it.each(cases)('%s', async (_n, args, source, time) => {
    const r = await json(args);
    expect(r.sources[0].snapshot.timeSource).toBe(source);
    expect(r.sources[0].snapshot.time).toMatch(time);
  });
});

describe('bad lines and bad files', () => {
  it('warns with file:line and carries on (exit 0)', async () => {
    const r = await runCli(['conntrack', '--format', 'json', edge('some-bad-lines.txt')]);
    expect(r.code).toBe(0);
    const warnings = r.stderr.trim().split('\n');
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/^stalepin: warning: fixtures\/conntrack\/edge\/some-bad-lines\.txt:2: bad dst address: .*\\e\[2J/);
    expect(r.stderr).not.toContain('\x1b');
    expect(JSON.parse(r.stdout).entries).toHaveLength(4);
    expect((await runCli(['conntrack', '--quiet', edge('some-bad-lines.txt')])).stderr).toBe('');
  });

  const exit2: [string, string[], RegExp][] = [
    ['mostly not conntrack', [edge('mostly-garbage.txt')], /^stalepin: fixtures\/conntrack\/edge\/mostly-garbage\.txt: line 1: not conntrack output: 4 of 5 lines unparseable/],
    ['missing file', [edge('nope.txt')], /nope\.txt: cannot read: no such file/],
    ['a directory', [edge('')], /cannot read: is a directory/],
    ['--events without --live', ['--events', real('list-default.txt')], /--events reads the live event stream/],
    ['files and --live', ['--live', real('list-default.txt')], /not both/],
    ['no input', [], /give one or more conntrack dumps/],
    ['unknown flag', ['--flag', 'pinned', real('list-default.txt')], /--flag: unknown flag: pinned/],
    ['unknown protocol', ['--proto', 'bogus', real('list-default.txt')], /--proto: unknown protocol/],
    ['bad --at', ['--at', 'yesterday', real('list-default.txt')], /--at: not a time/],
    ['bad --service', ['--service', 'lb1', real('list-default.txt')], /--service: not an address/],
    ['bad --netns name', ['--live', '--netns', '../etc'], /--netns: not a namespace name/],
  ];
  it.each(exit2)('%s: exit 2, one line, no stack', async (_n, args, msg) => {
    const r = await runCli(['conntrack', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  const built = existsSync(join(repoRoot, 'dist', 'cli', 'index.js'));
  it.runIf(built)('the built binary exits 2 on a file that is not conntrack output', () => {
    const r = runBin(['conntrack', edge('mostly-garbage.txt')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not conntrack output/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const ok = runBin(['conntrack', '--summary', '--format', 'json', real('list-xml.txt')]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).summary.totals.entries).toBe(16);
  });
  if (!built) it.skip('the built binary (dist/ not built: run npx tsc -p tsconfig.json)', () => undefined);
});
