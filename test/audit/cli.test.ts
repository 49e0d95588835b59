/**
 * `stalepin audit` through the CLI on the recorded killed case: formats (JSON against the report
 * schema, table, JUnit, Markdown), exit codes, --fix print, the Prometheus textfile (checked with
 * promtool when installed) and its carried-over counters, the example alerting rules, the
 * refusals of --fix apply, IPVS tables, and one-line errors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { have, repoRoot, runCli } from '../helpers/cli.js';

const K = 'fixtures/lab/killed';
const CT = `${K}/conntrack-after.extended.txt`;
const NFT = `${K}/nft-after.json`;
const base = ['audit', '--conntrack', CT, '--nodes', NFT];
const schema = JSON.parse(readFileSync(join(repoRoot, 'docs', 'report.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const tmp = mkdtempSync(join(tmpdir(), 'stalepin-audit-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const promtool = have('promtool');
if (!promtool) console.log('promtool checks skipped: promtool (Debian package prometheus) is not installed');

const DELETES = [41572, 49656, 56828].map(
  (p) => `conntrack -D -p udp --orig-src 203.0.113.2 --orig-port-src ${p} --orig-dst 203.0.113.10 --orig-port-dst 5060 --reply-src 198.51.100.11`,
);
const PINNED = 'conntrack -D -p udp --orig-src 203.0.113.2 --orig-port-src 5080 --orig-dst 203.0.113.10 --orig-port-dst 5060 --reply-src 198.51.100.11';

describe('audit report formats', () => {
  it('json: the report schema, with the audit section', async () => {
    const r = await runCli([...base, '--format', 'json']);
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout);
    expect(validate(rep), JSON.stringify(validate.errors)).toBe(true);
    expect(rep.schema).toBe('stalepin/report@1');
    expect(rep.summary.findings).toEqual({ critical: 1, warning: 3, info: 0 });
    expect(rep.audit.counts).toMatchObject({ entries: 9, audited: 7, toServices: 7, stale: 4, critical: 1 });
    expect(rep.audit.rows).toEqual([
      { service: '203.0.113.10:5060', target: '198.51.100.11:5060', protocol: 'udp', state: 'absent', unverified: false, entries: 4, assured: 1, unreplied: 0, stale: 4, critical: 1 },
      { service: '203.0.113.10:5060', target: '198.51.100.21:5060', protocol: 'udp', state: 'active', unverified: false, entries: 3, assured: 0, unreplied: 0, stale: 0, critical: 0 },
    ]);
    expect(rep.findings[0]).toMatchObject({ kind: 'pinned-flow', severity: 'critical', client: '203.0.113.2:5080', remedy: PINNED });
    expect(rep.findings[0].evidence[0].detail).toContain('last packet about 9 s before the read');
    expect(rep.findings[0].evidence[0].detail).toContain('id 875118348');
  });

  it('table: rows per service and target, the finding blocks, TCP apart', async () => {
    const r = await runCli([...base, '--tcp', '--nodes', `${K}/inventory.json`, '--vip', '203.0.113.10:5060']);
    // A dump without its own read time is dated by its file's mtime (a fresh clone's: today).
    const day = statSync(join(repoRoot, CT)).mtime.toISOString().slice(0, 10);
    expect(r.stdout).toMatch(new RegExp(`^audit of .*conntrack-after\\.extended\\.txt \\(extended\\) at ${day}T`));
    expect(r.stdout).toMatch(/critical pinned-flow: udp 203\.0\.113\.2:5080 -> 203\.0\.113\.10:5060 is pinned to 198\.51\.100\.11:5060, which is terminated/);
    expect(r.stdout).toContain(`fix: ${PINNED}`);
    // TIME_WAIT TCP to the dead backend is a closed connection: not flagged.
    expect(r.stdout).not.toContain('stuck TCP');
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  it('junit fails at --fail-on, markdown carries the findings', async () => {
    const crit = (await runCli([...base, '--format', 'junit'])).stdout;
    expect(crit).toMatch(/<testsuites name="stalepin" tests="\d+" failures="1"/);
    const warn = (await runCli([...base, '--format', 'junit', '--fail-on', 'warning'])).stdout;
    expect(warn).toMatch(/<testsuites name="stalepin" tests="\d+" failures="4"/);
    const md = (await runCli([...base, '--format', 'markdown'])).stdout;
    expect(md).toMatch(/^# stalepin audit/);
    expect(md).toContain('### critical: pinned-flow 203.0.113.2:5080 → 198.51.100.11:5060');
    expect(md).toContain('```\n' + PINNED + '\n```');
  });

  it.each([
    [['--fail-on', 'critical'], 1],
    [['--fail-on', 'warning'], 1],
    [['--fail-on', 'never'], 0],
  ] as const)('exit code with %j is %i', async (args, code) => {
    expect((await runCli([...base, ...args])).code).toBe(code);
  });

  it('exit 0 when nothing is stale (before the failover)', async () => {
    const r = await runCli(['audit', '--conntrack', `${K}/conntrack-before.txt`, '--nodes', `${K}/nft-before.json`, '--fail-on', 'warning']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no stale entries');
  });
});

describe('standard input', () => {
  it('--conntrack - reads the table from stdin', async () => {
    const r = await runCli(['audit', '--conntrack', '-', '--nodes', NFT, '--format', 'json'], readFileSync(join(repoRoot, CT)));
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout);
    expect(rep.audit.table.source).toBe('<stdin>');
    expect(rep.findings).toHaveLength(4);
  });
});

describe('--fix print', () => {
  it('prints exactly one conntrack -D per stale entry, critical first; the report goes to -o', async () => {
    const out = join(tmp, 'report.json');
    const r = await runCli([...base, '--fix', 'print', '--format', 'json', '-o', out]);
    expect(r.stdout).toBe([PINNED, ...DELETES].join('\n') + '\n');
    expect(JSON.parse(readFileSync(out, 'utf8')).findings).toHaveLength(4);
  });
  it('inside a namespace: through ip netns exec', async () => {
    const r = await runCli([...base, '--fix', 'print', '--netns', 'lb1']);
    expect(r.stdout.split('\n')[0]).toBe(`ip netns exec lb1 ${PINNED}`);
  });
  it('IPv6: -f ipv6', async () => {
    const r = await runCli(['audit', '--conntrack', 'fixtures/lab/ipv6/conntrack-after.txt', '--nodes', 'fixtures/lab/ipv6/nft-after.json', '--fix', 'print']);
    expect(r.stdout.split('\n')[0]).toBe(
      'conntrack -D -f ipv6 -p udp --orig-src 2001:db8:c::2 --orig-port-src 5080 --orig-dst 2001:db8:c::10 --orig-port-dst 5060 --reply-src 2001:db8:a::11',
    );
  });
});

describe('--fix apply refuses before deleting anything', () => {
  const incomplete = join(tmp, 'iptables-incomplete.txt');
  writeFileSync(
    incomplete,
    '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 203.0.113.10/32 -p udp -m udp --dport 5060 -j DNAT --to-destination 198.51.100.21:5060\n-A PREROUTING -d 203.0.113.10/32 -p tcp -m tcp --dport 5060 -j DNAT\nCOMMIT\n',
  );
  const empty = join(tmp, 'empty-pool.txt');
  writeFileSync(empty, '198.51.100.11 terminated\n');
  it.each([
    ['an incomplete backend set', ['--nodes', incomplete], /refusing --fix apply: the backend set may be incomplete/],
    ['an empty pool', ['--nodes', empty, '--vip', '203.0.113.10:5060'], /refusing --fix apply: the backend set .* has no active backend/],
    ['an IPVS connection table', ['--conntrack', 'fixtures/conntrack/edge/ipvs-lnc.txt', '--nodes', NFT, '--vip', '203.0.113.11:5060'], /refusing --fix apply: the table is an IPVS connection table/],
  ])('%s: exit 2, one line', async (_n, args, msg) => {
    const r = await runCli(['audit', '--conntrack', CT, ...args, '--fix', 'apply']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => !l.includes('warning:'))).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
  });
});

describe('IPVS connection tables', () => {
  it('stale IPVS connections: the remedy is IPVS advice, --fix print shows it as a comment', async () => {
    const nodes = join(tmp, 'ipvs-nodes.txt');
    writeFileSync(nodes, '198.51.100.20 active\n198.51.100.30 terminated\n');
    const args = ['audit', '--conntrack', 'fixtures/conntrack/edge/ipvs-lnc.txt', '--nodes', nodes, '--vip', '203.0.113.11:5060'];
    const r = JSON.parse((await runCli([...args, '--format', 'json'])).stdout);
    expect(r.audit.table.ipvs).toBe(true);
    expect(r.findings.map((f: { client: string; severity: string }) => `${f.client} ${f.severity}`)).toEqual(['192.0.2.11:5060 warning']);
    expect(r.findings[0].remedy).toMatch(/ipvsadm -d -u 203\.0\.113\.11:5060 -r 198\.51\.100\.30:5060/);
    const p = await runCli([...args, '--fix', 'print']);
    expect(p.stdout).toMatch(/^# udp 192\.0\.2\.11:5060 -> 203\.0\.113\.11:5060 on 198\.51\.100\.30:5060: /);
  });
});

describe('Prometheus textfile', () => {
  const prom = join(tmp, 'stalepin_audit.prom');
  it('written atomically with HELP/TYPE; counters carried over; a failed run keeps the last success', async () => {
    expect((await runCli([...base, '--prom-textfile', prom, '--quiet'])).code).toBe(1);
    const t1 = readFileSync(prom, 'utf8');
    expect(t1).toContain('# TYPE stalepin_audit_stale_pins gauge');
    expect(t1).toContain('stalepin_audit_stale_pins{service="203.0.113.10:5060",target="198.51.100.11:5060",protocol="udp",severity="critical"} 1');
    expect(t1).toContain('stalepin_audit_stale_pins{service="203.0.113.10:5060",target="198.51.100.11:5060",protocol="udp",severity="warning"} 3');
    expect(t1).toContain('stalepin_audit_conntrack_entries{service="203.0.113.10:5060",target="198.51.100.21:5060",protocol="udp",state="active"} 3');
    expect(t1).toContain('stalepin_audit_service_backends{service="203.0.113.10:5060",protocol="udp"} 1');
    expect(t1).toMatch(/^stalepin_audit_up 1$/m);
    expect(t1).toMatch(/^stalepin_audit_runs_total 1$/m);
    const success = /^stalepin_audit_last_success_timestamp_seconds (\S+)$/m.exec(t1)![1];
    if (promtool) {
      const c = spawnSync('promtool', ['check', 'metrics'], { input: t1, encoding: 'utf8' });
      expect(c.status, c.stdout + c.stderr).toBe(0);
    }
    // A run that cannot read its table: up 0, errors counted, last success kept, exit 2.
    const bad = await runCli(['audit', '--conntrack', join(tmp, 'missing.txt'), '--nodes', NFT, '--prom-textfile', prom]);
    expect(bad.code).toBe(2);
    const t2 = readFileSync(prom, 'utf8');
    expect(t2).toMatch(/^stalepin_audit_up 0$/m);
    expect(t2).toMatch(/^stalepin_audit_runs_total 2$/m);
    expect(t2).toMatch(/^stalepin_audit_errors_total 1$/m);
    expect(t2).toContain(`stalepin_audit_last_success_timestamp_seconds ${success}\n`);
    expect(t2).toContain('stalepin_audit_last_error{code="bad_input"} 1');
    if (promtool) expect(spawnSync('promtool', ['check', 'metrics'], { input: t2 }).status).toBe(0);
  });

  it.skipIf(!promtool)('the example alerting rules pass promtool check rules', () => {
    const c = spawnSync('promtool', ['check', 'rules', join(repoRoot, 'examples', 'prometheus-alerts.yml')], { encoding: 'utf8' });
    expect(c.status, c.stdout + c.stderr).toBe(0);
    expect(c.stdout).toMatch(/SUCCESS: 6 rules found/);
  });

  it('the alerting rules name only metrics the audit writes', async () => {
    const rules = readFileSync(join(repoRoot, 'examples', 'prometheus-alerts.yml'), 'utf8');
    const used = new Set(rules.match(/stalepin_audit_[a-z_]+/g));
    await runCli([...base, '--prom-textfile', prom, '--quiet']);
    const written = new Set(readFileSync(prom, 'utf8').match(/^# TYPE (stalepin_audit_[a-z_]+)/gm)!.map((l) => l.slice(7)));
    written.add('stalepin_audit_last_error');
    for (const m of used) expect(written.has(m), m).toBe(true);
  });
});

describe('one-line errors, exit 2', () => {
  it.each([
    ['no backend source', ['audit', '--conntrack', CT], /no backend set: give --nodes FILE, --from-nft/],
    ['no service address', ['audit', '--conntrack', CT, '--nodes', `${K}/inventory.json`], /no service address: .* give --vip/],
    ['--ipvs with a file', ['audit', '--ipvs', '--conntrack', CT, '--nodes', NFT], /--ipvs reads the live IPVS table/],
    ['a capture instead of a table', ['audit', '--conntrack', `${K}/lb-any.pcap`, '--nodes', NFT], /not conntrack output/],
    ['bad --vip', ['audit', '--conntrack', CT, '--nodes', NFT, '--vip', 'nonsense'], /--vip: not an address/],
    ['bad --interval', ['audit', '--conntrack', CT, '--nodes', NFT, '--interval', 'soon'], /--interval: not a duration/],
  ])('%s', async (_n, args, msg) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('--from-endpointslices takes EndpointSlice JSON only', async () => {
    const r = await runCli(['audit', '--conntrack', CT, '--from-endpointslices', NFT]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--from-endpointslices: not EndpointSlice JSON \(looks like nft-json/);
  });
  it('the example files exist', () => {
    for (const f of ['stalepin-audit.service', 'stalepin-audit.timer', 'kubernetes-cronjob.yaml', 'prometheus-alerts.yml']) expect(existsSync(join(repoRoot, 'examples', f)), f).toBe(true);
  });
});
