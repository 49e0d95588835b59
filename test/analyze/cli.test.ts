import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Ajv } from 'ajv';
import { repoRoot, runBin, runCli } from '../helpers/cli.js';

const killed = 'fixtures/lab/killed';
const schema = JSON.parse(readFileSync(join(repoRoot, 'docs', 'report.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const golden = (name: string): string => join(repoRoot, 'test', 'golden', 'analyze', name);

describe('analyze report formats', () => {
  it('json validates against docs/report.schema.json for every lab case', async () => {
    for (const v of ['killed', 'link-down', 'netns-deleted', 'ipv6', 'fragmented']) {
      const r = await runCli(['analyze', '--format', 'json', `fixtures/lab/${v}`]);
      const report = JSON.parse(r.stdout);
      const ok = validate(report);
      expect(validate.errors ?? [], v).toEqual([]);
      expect(ok).toBe(true);
      expect(report.schema).toBe('stalepin/report@1');
    }
  });

  it('json matches the golden report of the killed case', async () => {
    const r = await runCli(['analyze', '--format', 'json', killed]);
    const file = golden('killed.json');
    if (process.env['UPDATE_GOLDEN'] || !existsSync(file)) writeFileSync(file, r.stdout);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(readFileSync(file, 'utf8')));
  });

  it('table shows the pinned flow, the lost calls and the exact fix', async () => {
    const r = await runCli(['analyze', killed]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/critical pinned-flow: udp 203\.0\.113\.2:5080 -> 203\.0\.113\.10:5060 is pinned to terminated 198\.51\.100\.11:5060/);
    expect(r.stdout).toContain('fix: conntrack -D -p udp --orig-src 203.0.113.2 --orig-port-src 5080 --orig-dst 203.0.113.10 --orig-port-dst 5060 --reply-src 198.51.100.11');
    expect(r.stdout).not.toMatch(/\x1b\[/); // no colour when not a terminal
  });

  it('junit: one suite per finding kind, failures at or above --fail-on', async () => {
    const crit = (await runCli(['analyze', '--format', 'junit', killed])).stdout;
    expect(crit).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>/);
    for (const k of ['pinned-flow', 'stale-conntrack-entry', 'target-unresponsive', 'unanswered-invites']) expect(crit).toContain(`<testsuite name="${k}"`);
    expect(crit).toMatch(/<testsuites name="stalepin" tests="\d+" failures="1"/);
    const warn = (await runCli(['analyze', '--format', 'junit', '--fail-on', 'warning', killed])).stdout;
    expect(warn).toMatch(/<testsuites name="stalepin" tests="\d+" failures="4"/);
    expect((crit.match(/<testsuite /g) ?? []).length).toBe(4);
    expect((crit.match(/<testcase /g) ?? []).length).toBe((crit.match(/<\/testcase>|<testcase [^>]*\/>/g) ?? []).length);
  });

  it('markdown carries the findings and a fenced fix', async () => {
    const md = (await runCli(['analyze', '--format', 'markdown', killed])).stdout;
    expect(md).toMatch(/^# stalepin report/);
    expect(md).toContain('### critical: pinned-flow 203.0.113.2:5080 → 198.51.100.11:5060');
    expect(md).toMatch(/```\nconntrack -D -p udp/);
  });
});

describe('analyze exit codes and narrowing', () => {
  it.each([
    [['--fail-on', 'critical'], 1],
    [['--fail-on', 'never'], 0],
    [['--fail-on', 'warning'], 1],
  ] as const)('%j -> %i', async (args, code) => {
    expect((await runCli(['analyze', ...args, killed])).code).toBe(code);
  });

  it('exit 0 on a case with nothing wrong (a capture before the failover)', async () => {
    const r = await runCli(['analyze', '--format', 'json', '--until', '2026-11-23T20:17:10Z', 'fixtures/lab/killed/lb-any.pcap']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).findings).toEqual([]);
  });

  it('--call-id narrows the lost calls', async () => {
    const id = 'fixed-after-1-20081@203.0.113.2';
    const r = JSON.parse((await runCli(['analyze', '--format', 'json', '--call-id', id, killed])).stdout);
    expect(r.summary.inviteTransactions).toBe(1);
    expect(r.findings.find((f: { kind: string }) => f.kind === 'pinned-flow').callIds).toEqual([id]);
  });

  it('-o writes the report atomically and prints nothing', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'stalepin-an-')), 'r.json');
    const r = await runCli(['analyze', '--format', 'json', '-o', out, killed]);
    expect(r.stdout).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8')).schema).toBe('stalepin/report@1');
  });

  it('says what was picked from a case folder and why', async () => {
    const r = JSON.parse((await runCli(['analyze', '--format', 'json', killed])).stdout);
    const byFile = Object.fromEntries(r.inputs.map((i: { file: string; kind: string; why: string }) => [i.file.split('/').pop(), i]));
    expect(byFile['lb-any.pcap'].kind).toBe('capture');
    expect(byFile['conntrack-events.txt'].kind).toBe('conntrack-events');
    expect(byFile['conntrack-after.xml'].kind).toBe('conntrack');
    expect(byFile['inventory.json'].kind).toBe('inventory');
    expect(byFile['nft-after.json'].kind).toBe('ignored');
    expect(byFile['nft-after.json'].why).toMatch(/lists backend states/);
    expect(byFile['sipp'].kind).toBe('ignored');
  });

  it.each([
    ['missing input', ['analyze', '/nonexistent.pcap'], /no such file/],
    ['bad vip', ['analyze', '--vip', 'not-an-ip', killed], /--vip: not an address/],
    ['bad duration', ['analyze', '--timer-b', 'soon', killed], /--timer-b: not a duration/],
    ['bad time', ['analyze', '--since', 'yesterday', killed], /--since: not a time/],
    ['not an inventory', ['analyze', '--nodes', 'fixtures/capture/pcap-le-us.pcap', killed], /not a backend inventory/],
  ])('%s: exit 2, one line', (_n, args, msg) => {
    const r = runBin(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
  });
});
