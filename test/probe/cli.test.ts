/**
 * `stalepin probe` end to end: formats, exit codes, one-line errors, the Prometheus textfile
 * and /metrics endpoint (checked by promtool when installed), and SIGTERM on the real binary.
 */
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/spec.js';
import { startMetricsServer } from '../../src/probe/http.js';
import { have, repoRoot, runCli } from '../helpers/cli.js';
import { freeUdpPortPair } from '../helpers/ports.js';
import { Responder } from './responder.js';

const responders: Responder[] = [];
afterEach(async () => {
  await Promise.all(responders.splice(0).map((r) => r.close()));
});
async function responder(tcp = false): Promise<Responder> {
  const r = await Responder.start({ tcp });
  responders.push(r);
  return r;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'stalepin-probe-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const fast = ['--interval', '100ms', '--timeout', '300ms'];

describe('formats and exit codes', () => {
  it('--format ndjson: one event per round with the contract fields', async () => {
    const r = await responder();
    const res = await runCli(['probe', r.udpTarget, '--count', '3', '--format', 'ndjson', ...fast]);
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    for (const [i, e] of lines.entries()) {
      expect(Object.keys(e)).toEqual(['outcome', 'target', 'address', 'transport', 'fixedPort', 'freshPort', 'fixed', 'fresh', 'round', 'at', 'stray', 'late']);
      expect(e).toMatchObject({ outcome: 'ok', target: r.udpTarget, address: r.udpTarget, transport: 'udp', round: i + 1, stray: 0, late: 0 });
      expect(e.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Object.keys(e.fixed)).toEqual(['code', 'reason', 'rttMs', 'sent', 'port', 'error', 'responder']);
      expect(e.fixed).toMatchObject({ code: 200, reason: 'OK', sent: 1, port: e.fixedPort, error: null, responder: r.udpTarget });
      expect(e.fresh.port).toBe(e.freshPort);
    }
    expect(new Set(lines.map((e) => e.fixedPort)).size).toBe(1);
    expect(res.stderr).toContain('3 round(s): ok 3, pinned 0, down 0, fresh-only-fail 0');
  });

  it('--format table: a header, one row per round and a summary', async () => {
    const r = await responder();
    const fixed = await freeUdpPortPair();
    r.policy.ignorePorts.add(fixed);
    const res = await runCli(['probe', r.udpTarget, '--count', '2', '--fixed-port', String(fixed), ...fast]);
    expect(res.code).toBe(1);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^round +time +target +outcome +fixed port\/code\/rtt +fresh port\/code\/rtt$/);
    for (const [i, l] of lines.slice(1, 3).entries()) expect(l).toMatch(new RegExp(`^${i + 1} +\\d\\d:\\d\\d:\\d\\d\\.\\d{3} 127\\.0\\.0\\.1:${r.udpPort} +pinned +${fixed} timeout +\\d+ 200 [\\d.]+ms$`));
    expect(lines[3]).toBe('2 round(s): ok 0, pinned 2, down 0, fresh-only-fail 0');
    expect(res.stdout).not.toContain('\x1b[');
  });

  it.each([
    ['ok', 0, () => ({})],
    ['pinned', 1, (fp: number) => ({ ignorePorts: new Set([fp]) })],
    ['down', 1, () => ({ ignoreAll: true })],
    ['fresh-only-fail', 0, (fp: number) => ({ onlyPorts: new Set([fp]) })],
  ] as const)('--count: a run with %s rounds exits %i', async (outcome, code, policy) => {
    const r = await responder();
    const fixed = await freeUdpPortPair();
    Object.assign(r.policy, policy(fixed));
    const res = await runCli(['probe', r.udpTarget, '--count', '2', '--fixed-port', String(fixed), '--format', 'ndjson', '-q', ...fast]);
    expect(res.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).outcome)).toEqual([outcome, outcome]);
    expect(res.code).toBe(code);
    expect(res.stderr).toBe('');
  });

  it('--from and --to go into the request; --transport tcp', async () => {
    const r = await responder(true);
    const res = await runCli(['probe', r.tcpTarget, '--transport', 'tcp', '--count', '1', '--from', 'sip:carrier@192.0.2.5', '--to', 'sip:trunk@203.0.113.10', '-q', ...fast]);
    expect(res.code).toBe(0);
    const req = r.received[0]!.text;
    expect(req).toMatch(/^OPTIONS sip:trunk@203\.0\.113\.10 SIP\/2\.0\r\n/);
    expect(req).toMatch(/\r\nFrom: <sip:carrier@192\.0\.2\.5>;tag=[0-9a-f]+\r\n/);
    expect(req).toContain('\r\nTo: <sip:trunk@203.0.113.10>\r\n');
    expect(req).toMatch(/\r\nVia: SIP\/2\.0\/TCP 127\.0\.0\.1:\d+;branch=z9hG4bK[0-9a-f]+;rport\r\n/);
  });
});

describe('bad usage: one line, exit 2', () => {
  it.each([
    [['probe', 'no-such-host.invalid:5060', '--count', '1'], /^stalepin: target "no-such-host\.invalid:5060": cannot resolve no-such-host\.invalid \(E[A-Z_]+\)\n$/],
    [['probe', '203.0.113.300:5060', '--count', '1'], /^stalepin: target "203\.0\.113\.300:5060": not an IPv4 address\n$/],
    [['probe', '127.0.0.1:99999', '--count', '1'], /not a port number: "99999"\n$/],
    [['probe', '127.0.0.1:5060', '--interval', 'soon'], /^stalepin: --interval: not a duration \(e\.g\. 500ms, 2s, 1m\): soon\n$/],
    [['probe', '127.0.0.1:5060', '--timeout', '0s'], /--timeout: not a duration/],
    [['probe', '127.0.0.1:5060', '--count', '0'], /--count: not a positive whole number: 0/],
    [['probe', '127.0.0.1:5060', '--from', 'carrier@192.0.2.1'], /--from: not a SIP URI/],
    [['probe', '127.0.0.1:5060', '127.0.0.1:5062', '127.0.0.1:5064', '--fixed-port', '40001,40002'], /one per target \(3\), not 2/],
    [['probe', '127.0.0.1:5060', '--fixed-port', 'x'], /--fixed-port: not a port number: x/],
    [['probe', '127.0.0.1:5060', '--bind', '2001:db8::1'], /different address families/],
    [['probe', '127.0.0.1:5060', '--bind', '192.0.2.77'], /--bind: address not available on this host \(EADDRNOTAVAIL\)/],
    [['probe', '127.0.0.1:5060', '--transport', 'sctp'], /argument 'sctp' is invalid/],
  ])('%j', async (args, msg) => {
    const res = await runCli(args as string[]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(msg);
    expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(res.stdout).toBe('');
  });

  it.each(['udp', 'tcp'] as const)('a %s fixed port in use', async (transport) => {
    const busy = transport === 'udp' ? dgram.createSocket('udp4') : net.createServer();
    const port = await new Promise<number>((resolve) => {
      if (busy instanceof net.Server) busy.listen(0, () => resolve((busy.address() as net.AddressInfo).port));
      else busy.bind(0, () => resolve(busy.address().port));
    });
    try {
      const res = await runCli(['probe', '127.0.0.1:5060', '--transport', transport, '--fixed-port', String(port), '--count', '1']);
      expect(res.code).toBe(2);
      expect(res.stderr).toBe(`stalepin: --fixed-port ${port}: ${transport.toUpperCase()} port in use (EADDRINUSE)\n`);
    } finally {
      busy.close();
    }
  });

  it('a metrics port in use', async () => {
    const srv = net.createServer();
    const port = await new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port)));
    try {
      const res = await runCli(['probe', '127.0.0.1:5060', '--metrics-port', String(port), '--count', '1']);
      expect(res.code).toBe(2);
      expect(res.stderr).toBe(`stalepin: --metrics-port: 127.0.0.1:${port} is in use (EADDRINUSE)\n`);
    } finally {
      srv.close();
    }
  });
});

const promtool = have('promtool');
if (!promtool) console.log('probe metrics: promtool checks skipped: promtool not installed (Debian: prometheus)');

function promtoolCheck(text: string): void {
  if (!promtool) return;
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
}

/** Parse exposition lines into "name{labels}" -> value. */
function samples(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of text.split('\n')) {
    if (l === '' || l.startsWith('#')) continue;
    const i = l.lastIndexOf(' ');
    m.set(l.slice(0, i), Number(l.slice(i + 1)));
  }
  return m;
}

describe('metrics', () => {
  it('--prom-textfile: counters, pinned gauge and per-port-kind histograms, valid for promtool', async () => {
    const r = await responder();
    const fixed = await freeUdpPortPair();
    r.policy.ignorePorts.add(fixed);
    const file = path.join(tmp, 'probe.prom');
    const res = await runCli(['probe', r.udpTarget, '--count', '3', '--fixed-port', String(fixed), '--prom-textfile', file, '-q', ...fast]);
    expect(res.code).toBe(1);
    const text = readFileSync(file, 'utf8');
    promtoolCheck(text);
    const s = samples(text);
    const t = `target="${r.udpTarget}"`;
    expect(s.get(`stalepin_probe_rounds_total{${t},outcome="pinned"}`)).toBe(3);
    expect(s.get(`stalepin_probe_rounds_total{${t},outcome="ok"}`)).toBe(0);
    expect(s.get(`stalepin_probe_pinned{${t}}`)).toBe(1);
    expect(s.get(`stalepin_probe_up{${t},port_kind="fixed"}`)).toBe(0);
    expect(s.get(`stalepin_probe_up{${t},port_kind="fresh"}`)).toBe(1);
    expect(s.get(`stalepin_probe_rtt_seconds_count{${t},port_kind="fresh"}`)).toBe(3);
    expect(s.get(`stalepin_probe_rtt_seconds_bucket{${t},port_kind="fresh",le="+Inf"}`)).toBe(3);
    expect(s.get(`stalepin_probe_rtt_seconds_bucket{${t},port_kind="fresh",le="0.25"}`)).toBe(3);
    expect(s.get(`stalepin_probe_rtt_seconds_count{${t},port_kind="fixed"}`)).toBe(0);
    expect(s.get(`stalepin_probe_failures_total{${t},port_kind="fixed"}`)).toBe(3);
    expect(s.get(`stalepin_probe_info{${t},address="${r.udpTarget}",transport="udp",fixed_port="${fixed}"}`)).toBe(1);
    // 300 ms timeout with T1 = 500 ms: one copy per round on each side.
    expect(s.get(`stalepin_probe_transmissions_total{${t},port_kind="fixed"}`)).toBe(3);
    // Buckets are cumulative.
    const buckets = [...s.entries()].filter(([k]) => k.startsWith(`stalepin_probe_rtt_seconds_bucket{${t},port_kind="fresh"`)).map(([, v]) => v);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
  });

  it('--prom-textfile for several targets; an unwritable path is one line, exit 2, before probing', async () => {
    const [a, b] = [await responder(), await responder()];
    const file = path.join(tmp, 'two.prom');
    const res = await runCli(['probe', a.udpTarget, b.udpTarget, '--count', '1', '--prom-textfile', file, '-q', ...fast]);
    expect(res.code).toBe(0);
    const text = readFileSync(file, 'utf8');
    promtoolCheck(text);
    for (const r of [a, b]) expect(samples(text).get(`stalepin_probe_rounds_total{target="${r.udpTarget}",outcome="ok"}`)).toBe(1);

    const bad = await runCli(['probe', a.udpTarget, '--count', '1', '--prom-textfile', path.join(tmp, 'missing', 'x.prom')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^stalepin: .*cannot write .*x\.prom: ENOENT \(the folder does not exist\)\n$/);
    expect(a.received).toHaveLength(2);
  });

  it('--metrics-port: /metrics on 127.0.0.1 while the probe runs; 404 elsewhere; stops on the signal with exit 0', async () => {
    const r = await responder();
    const fixed = await freeUdpPortPair();
    const out = new Sink();
    const err = new Sink();
    const ac = new AbortController();
    const stdin = new PassThrough();
    stdin.end();
    const io: Io = { stdout: out, stderr: err, stdin, color: false, env: {}, signal: ac.signal };
    const running = main(['probe', r.udpTarget, '--fixed-port', String(fixed), '--metrics-port', '0', '--format', 'ndjson', ...fast], io);
    const url = await waitFor(() => /metrics at (http:\/\/\S+)/.exec(err.text)?.[1]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await waitFor(() => (out.text.split('\n').length > 2 ? true : undefined));
    r.policy.ignorePorts.add(fixed);
    await waitFor(() => (out.text.includes('"pinned"') ? true : undefined));
    const resp = await fetch(url!);
    expect(resp.status).toBe(200);
    expect(resp.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await resp.text();
    promtoolCheck(text);
    const s = samples(text);
    expect(s.get(`stalepin_probe_pinned{target="${r.udpTarget}"}`)).toBe(1);
    expect(s.get(`stalepin_probe_rounds_total{target="${r.udpTarget}",outcome="ok"}`)).toBeGreaterThanOrEqual(2);
    expect(s.get(`stalepin_probe_rounds_total{target="${r.udpTarget}",outcome="pinned"}`)).toBeGreaterThanOrEqual(1);
    expect((await fetch(url!.replace('/metrics', '/'))).status).toBe(404);
    ac.abort();
    expect(await running).toBe(0);
    // The endpoint is gone once the command returns.
    await expect(fetch(url!)).rejects.toThrow();
  });
});

describe('the metrics server', () => {
  it.each(['127.0.0.1', '::1'])('on %s: GET and HEAD /metrics, 405 for POST, 404 elsewhere', async (address) => {
    let server;
    try {
      server = await startMetricsServer(address, 0, () => '# HELP x y\n# TYPE x gauge\nx 1\n');
    } catch (e) {
      console.log(`probe metrics server on ${address} skipped: ${(e as Error).message}`);
      return;
    }
    try {
      expect(server.address).toBe(address.includes(':') ? `[${address}]:${server.port}` : `${address}:${server.port}`);
      const url = `http://${server.address}/metrics`;
      const get = await fetch(url);
      expect([get.status, await get.text()]).toEqual([200, '# HELP x y\n# TYPE x gauge\nx 1\n']);
      const head = await fetch(url, { method: 'HEAD' });
      expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, '30', '']);
      expect((await fetch(url, { method: 'POST' })).status).toBe(405);
      expect((await fetch(`http://${server.address}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

const built = existsSync(path.join(repoRoot, 'dist', 'cli', 'index.js'));
if (!built) console.log('probe binary test skipped: dist/ not built (npm run build)');

describe.skipIf(!built)('the binary', () => {
  it('runs until SIGTERM, then prints the summary and exits 0', async () => {
    const r = await responder();
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'stalepin'), 'probe', r.udpTarget, '--format', 'ndjson', '--interval', '200ms', '--timeout', '300ms'], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    await waitFor(() => (stdout.split('\n').length > 2 ? true : undefined), 10_000);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    const events = stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.every((e) => e.outcome === 'ok')).toBe(true);
    expect(stderr).toMatch(new RegExp(`round\\(s\\): ok ${events.length}, pinned 0`));
  });
});

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

async function waitFor<T>(fn: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
