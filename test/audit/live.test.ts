/**
 * `stalepin audit` against a real kernel table in a private network namespace (root only): an
 * nftables DNAT ruleset pointing at B, and conntrack entries inserted with `conntrack -I` as a
 * failover leaves them (a pinned, assured, refreshed flow to A; an idle one; a never-assured one;
 * a flow to B; a TCP connection to A). Checks --netns --from-nft, the second read seeing a
 * refresh, --fix apply deleting exactly the stale entries, --max-deletes, a process without
 * CAP_NET_ADMIN, --interval ending on SIGTERM, and --ipvs. Documentation addresses only; the
 * namespace is removed afterwards.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { have, repoRoot, runCli } from '../helpers/cli.js';

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (network namespaces, conntrack -I/-D)';
  for (const t of ['ip', 'nft', 'conntrack']) if (!have(t)) return `${t} is not installed`;
  if (!existsSync(join(repoRoot, 'dist', 'cli', 'commands', 'audit.js'))) return 'dist/ is not built (npx tsc -p tsconfig.json)';
  return undefined;
}
const why = unavailable();
if (why) console.log(`audit live tests skipped: ${why}`);

const NS = `spa-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
const VIP = '203.0.113.10';
const CLIENT = '203.0.113.2';
const A = '198.51.100.11';
const B = '198.51.100.21';
const bin = join(repoRoot, 'bin', 'stalepin');

function inNs(argv: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', NS, ...argv], { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
}

/** Insert one UDP entry VIP-bound from the client's port, replying from `target`. */
function udpEntry(sport: number, target: string, timeout: number, status: string): void {
  inNs(['conntrack', '-I', '-p', 'udp', '-s', CLIENT, '-d', VIP, '--sport', String(sport), '--dport', '5060', '-r', target, '-q', CLIENT, '--reply-port-src', '5060', '--reply-port-dst', String(sport), '-t', String(timeout), '-u', status]);
}

function seed(): void {
  try {
    inNs(['conntrack', '-F']);
  } catch {
    /* empty table */
  }
  udpEntry(5080, A, 115, 'SEEN_REPLY,ASSURED'); // the pin: assured, last packet 5 s ago
  udpEntry(5081, A, 30, 'SEEN_REPLY,ASSURED'); // assured but idle for 90 s
  udpEntry(41572, A, 25, 'SEEN_REPLY'); // answered once, never assured
  udpEntry(33763, B, 25, 'SEEN_REPLY'); // already on the live backend
  inNs(['conntrack', '-I', '-p', 'tcp', '-s', CLIENT, '-d', VIP, '--sport', '5092', '--dport', '5060', '-r', A, '-q', CLIENT, '--reply-port-src', '5060', '--reply-port-dst', '5092', '--state', 'ESTABLISHED', '-t', '3000', '-u', 'SEEN_REPLY,ASSURED']);
}

function table(): string[] {
  return inNs(['conntrack', '-L'])
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const sport = /sport=(\d+)/.exec(l)![1];
      const reply = /src=\S+ dst=\S+ sport=\d+ dport=\d+ (?:\[UNREPLIED\] )?src=(\S+)/.exec(l)![1];
      return `${l.split(/\s+/)[0]} ${sport} ${reply}`;
    })
    .sort();
}

interface F {
  transport: string;
  client: string;
  severity: string;
  kind: string;
  evidence: { detail: string }[];
}

describe.skipIf(why !== undefined)('audit in a live network namespace', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'stalepin-audit-live-'));
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
    inNs(['ip', 'link', 'set', 'lo', 'up']);
    inNs(
      ['nft', '-f', '-'],
      `table ip spa_audit {\n  chain prerouting {\n    type nat hook prerouting priority -100;\n    ip daddr ${VIP} udp dport 5060 dnat to ${B}\n    ip daddr ${VIP} tcp dport 5060 dnat to ${B}\n  }\n}\n`,
    );
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
    rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(seed);

  const live = ['audit', '--netns', NS, '--from-nft', '--format', 'json'];

  it('--netns --from-nft flags the entries to A: the refreshed assured one critical', async () => {
    const r = await runCli([...live, '--recheck', '0', '--tcp']);
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout);
    expect(rep.audit.table).toMatchObject({ live: true, source: `conntrack -L -o extended,id (netns ${NS})` });
    expect(rep.audit.policy.streamTimeoutFrom).toBe('net.netfilter.nf_conntrack_udp_timeout_stream');
    expect(rep.findings.map((f: F) => `${f.transport} ${f.client} ${f.kind} ${f.severity}`)).toEqual([
      `udp ${CLIENT}:5080 pinned-flow critical`,
      `udp ${CLIENT}:41572 stale-conntrack-entry warning`,
      `udp ${CLIENT}:5081 stale-conntrack-entry warning`,
      `tcp ${CLIENT}:5092 stale-conntrack-entry warning`,
    ]);
  });

  it('a second read sees the idle entry refreshed: critical', async () => {
    const child = spawn(process.execPath, [bin, ...live, '--recheck', '6s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 3000));
    // The client sends: the kernel resets the assured entry's timeout to the stream timeout.
    inNs(['conntrack', '-U', '-p', 'udp', '--orig-src', CLIENT, '--orig-port-src', '5081', '--orig-dst', VIP, '--orig-port-dst', '5060', '-t', '120']);
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code).toBe(1);
    const rep = JSON.parse(out);
    const f = rep.findings.find((x: F) => x.client === `${CLIENT}:5081`);
    expect(f.severity).toBe('critical');
    expect(f.evidence[1].detail).toMatch(/read again \d+\.\d s later: timeout \d+ -> 1[12]\d s: refreshed/);
    expect(rep.audit.recheck).toMatchObject({ rechecked: 3, refreshed: 1, gone: 0 });
  }, 30_000);

  it('--fix apply deletes exactly the stale entries and reports each', async () => {
    const before = table();
    const r = await runCli([...live, '--recheck', '0', '--fix', 'apply']);
    const rep = JSON.parse(r.stdout);
    expect(rep.audit.fix.results.map((x: { result: string; client: string }) => `${x.result} ${x.client}`)).toEqual([
      `deleted ${CLIENT}:5080`,
      `deleted ${CLIENT}:41572`,
      `deleted ${CLIENT}:5081`,
    ]);
    expect(rep.audit.fix.results[0].command).toMatch(new RegExp(`^ip netns exec ${NS} conntrack -D -p udp --orig-src ${CLIENT} --orig-port-src 5080 `));
    const after = table();
    expect(before.filter((l) => !after.includes(l)).sort()).toEqual([`udp 41572 ${A}`, `udp 5080 ${A}`, `udp 5081 ${A}`]);
    expect(after).toEqual([`tcp 5092 ${A}`, `udp 33763 ${B}`]);
    // Nothing left to fix: a second run finds nothing.
    const again = await runCli([...live, '--recheck', '0', '--fix', 'apply']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).audit.fix.results).toEqual([]);
  });

  it('--max-deletes stops the deletions, critical first', async () => {
    const rep = JSON.parse((await runCli([...live, '--recheck', '0', '--fix', 'apply', '--max-deletes', '1'])).stdout);
    expect(rep.audit.fix.results.map((x: { result: string }) => x.result)).toEqual(['deleted', 'skipped', 'skipped']);
    expect(rep.audit.fix.results[1].message).toBe('--max-deletes 1 reached');
    expect(table()).toContain(`udp 41572 ${A}`);
    expect(table()).not.toContain(`udp 5080 ${A}`);
  });

  it.skipIf(!have('setpriv'))('without CAP_NET_ADMIN: one line, exit 2, nothing deleted', () => {
    const before = table();
    const r = spawnSync('setpriv', ['--bounding-set=-net_admin', '--inh-caps=-net_admin', process.execPath, bin, ...live, '--fix', 'apply'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^stalepin: --fix apply deletes conntrack entries and needs CAP_NET_ADMIN: run as root/)]);
    expect(table()).toEqual(before);
  });

  it('--interval keeps auditing until SIGTERM, then exits 0; the textfile counts the runs', async () => {
    const prom = join(tmp, 'interval.prom');
    const child = spawn(process.execPath, [bin, 'audit', '--netns', NS, '--from-nft', '--recheck', '0', '--interval', '300ms', '--prom-textfile', prom, '-o', join(tmp, 'r.json'), '-f', 'json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      const m = existsSync(prom) ? /^stalepin_audit_runs_total (\d+)$/m.exec(readFileSync(prom, 'utf8')) : null;
      if (m && Number(m[1]) >= 3) break;
    }
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(Number(/^stalepin_audit_runs_total (\d+)$/m.exec(readFileSync(prom, 'utf8'))![1])).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(readFileSync(join(tmp, 'r.json'), 'utf8')).summary.findings.critical).toBe(1);
  }, 30_000);

  it('--ipvs reads the namespace IPVS table (one line when the kernel has no IPVS)', async () => {
    const r = await runCli(['audit', '--ipvs', '--netns', NS, '--from-nft', '--recheck', '0']);
    if (r.code === 2) expect(r.stderr).toMatch(/^stalepin: ipvsadm: the kernel has no IPVS in network namespace|^stalepin: ipvsadm not found/);
    else expect(r.stdout).toContain('no stale entries');
  });

  it('an unknown namespace is one line, exit 2', async () => {
    const r = await runCli(['audit', '--netns', `${NS}-nope`, '--from-nft']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/network namespace .*does not exist|no such network namespace/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
