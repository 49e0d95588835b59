/**
 * Live reading. Error classification runs everywhere (fake conntrack binaries); reading a real
 * table and event stream needs root, ip and conntrack, and uses a network namespace of its own
 * (spct-PID-live) with documentation addresses only, removed afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { have, repoRoot, runCli } from '../helpers/cli.js';
import { readLiveTable, streamLiveEvents } from '../../src/conntrack/live.js';
import type { ConntrackEntry } from '../../src/conntrack/entry.js';
import { StalepinError } from '../../src/core/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'spct-live-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function fakeBin(name: string, script: string): string {
  const p = join(tmp, name);
  writeFileSync(p, `#!/bin/sh\n${script}\n`);
  chmodSync(p, 0o755);
  return p;
}

async function failure(p: Promise<unknown>): Promise<StalepinError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StalepinError) return e;
    throw e;
  }
  throw new Error('expected a StalepinError');
}

describe('live: errors say what to install or which capability is missing', () => {
  const none = (): void => undefined;
  const cases: [string, string, string, RegExp][] = [
    ['no CAP_NET_ADMIN', 'echo "conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted" >&2; exit 1', 'permission', /CAP_NET_ADMIN/],
    ['kernel without conntrack', 'echo "conntrack v1.4.7 (conntrack-tools): Operation failed: Protocol not supported" >&2; exit 1', 'missing_dependency', /nf_conntrack/],
    ['other failure', 'echo "something odd happened" >&2; exit 1', 'bad_input', /conntrack -L failed: something odd happened/],
  ];
  it.each(cases)('%s', async (_n, script, code, msg) => {
    const e = await failure(readLiveTable({ onEntry: none, conntrackBin: fakeBin(`ct-${code}`, script) }));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(msg);
  });

  it('missing binary falls back to /proc/net/nf_conntrack', async () => {
    const got: ConntrackEntry[] = [];
    const s = await readLiveTable({ onEntry: (e) => got.push(e.clone()), conntrackBin: join(tmp, 'no-conntrack'), procPath: join(repoRoot, 'fixtures', 'conntrack', 'real', 'proc-nf_conntrack.txt') });
    expect(s.via).toBe('proc');
    expect(s.format).toBe('proc');
    expect(got).toHaveLength(16);
    expect(s.snapshot.source).toBe('now');
  });

  it('missing binary and no /proc file: install conntrack', async () => {
    const e = await failure(readLiveTable({ onEntry: none, conntrackBin: join(tmp, 'no-conntrack'), procPath: join(tmp, 'no-proc') }));
    expect(e.code).toBe('missing_dependency');
    expect(e.message).toMatch(/apt-get install conntrack/);
  });

  it('events need the binary', async () => {
    const e = await failure(streamLiveEvents({ onEntry: none, conntrackBin: join(tmp, 'no-conntrack') }));
    expect(e.code).toBe('missing_dependency');
    expect(e.message).toMatch(/apt-get install conntrack/);
  });

  it('the table streams from the child (a fake conntrack printing a recorded dump)', async () => {
    const dump = join(repoRoot, 'fixtures', 'conntrack', 'real', 'list-extended-id.txt');
    const got: string[] = [];
    const s = await readLiveTable({ onEntry: (e) => got.push(e.target), conntrackBin: fakeBin('ct-cat', `cat '${dump}'`) });
    expect(s).toMatchObject({ via: 'conntrack', format: 'extended', entries: 16 });
    expect(got).toContain('198.51.100.30:5060');
  });
});

const isRoot = process.getuid?.() === 0;
const reason = !isRoot ? 'not root' : !have('conntrack') ? 'conntrack not installed' : !have('ip') ? 'ip (iproute2) not installed' : '';
if (reason) console.log(`live conntrack tests skipped: ${reason}`);

describe.skipIf(reason !== '')('live: a real conntrack table in a namespace of our own', () => {
  const ns = `spct-${process.pid}-live`;
  const sh = (...args: string[]) => spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  const insert = (client: string, backend: string) =>
    sh('ip', 'netns', 'exec', ns, 'conntrack', '-I', '-p', 'udp', '-s', client, '-d', '203.0.113.50', '--sport', '5060', '--dport', '5060', '-r', backend, '-q', client, '--reply-port-src', '5060', '--reply-port-dst', '5060', '-t', '120', '-u', 'SEEN_REPLY');

  beforeAll(() => {
    const r = sh('ip', 'netns', 'add', ns);
    if (r.status !== 0) throw new Error(`ip netns add failed: ${r.stderr}`);
    const i = insert('192.0.2.50', '198.51.100.50');
    if (i.status !== 0) throw new Error(`conntrack -I failed: ${i.stderr}`);
  });
  afterAll(() => {
    sh('ip', 'netns', 'del', ns);
  });

  it('reads the table through conntrack -L -o extended,id', async () => {
    const got: ConntrackEntry[] = [];
    const s = await readLiveTable({ netns: ns, onEntry: (e) => got.push(e.clone()) });
    expect(s.via).toBe('conntrack');
    expect(s.format).toBe('extended');
    const e = got.find((x) => x.client === '192.0.2.50:5060')!;
    expect(e.target).toBe('198.51.100.50:5060');
    expect(e.id).toBeGreaterThan(0);
    expect(e.unreplied).toBe(false);
  });

  it('falls back to the namespace\'s /proc/net/nf_conntrack when the binary is missing', async () => {
    const got: ConntrackEntry[] = [];
    const s = await readLiveTable({ netns: ns, conntrackBin: '/nonexistent/conntrack', onEntry: (e) => got.push(e.clone()) });
    expect(s.via).toBe('proc');
    expect(got.find((x) => x.client === '192.0.2.50:5060')?.target).toBe('198.51.100.50:5060');
  });

  it('an unknown namespace is a usage error', async () => {
    const e = await failure(readLiveTable({ netns: `spct-${process.pid}-nosuch`, onEntry: () => undefined }));
    expect(e.code).toBe('bad_usage');
    expect(e.message).toMatch(/no such network namespace/);
  });

  it('streams events (conntrack -E -o timestamp,id) until aborted', async () => {
    const ac = new AbortController();
    const got: ConntrackEntry[] = [];
    const done = streamLiveEvents({
      netns: ns,
      signal: ac.signal,
      onEntry: (e) => {
        got.push(e.clone());
        if (e.client === '192.0.2.51:5060') ac.abort();
      },
    });
    // Keep inserting until the listener has subscribed and reported one.
    for (let i = 0; i < 50 && !ac.signal.aborted; i++) {
      await new Promise((r) => setTimeout(r, 100));
      spawnSync('ip', ['netns', 'exec', ns, 'conntrack', '-D', '-s', '192.0.2.51'], { stdio: 'ignore' });
      insert('192.0.2.51', '198.51.100.51');
    }
    ac.abort();
    await done;
    const ev = got.find((e) => e.client === '192.0.2.51:5060')!;
    expect(ev).toBeDefined();
    expect(ev.event).toMatch(/new|destroy/);
    expect(ev.timeSec).toBeGreaterThan(1_600_000_000);
    expect(ev.id).toBeGreaterThan(0);
  });

  it('the command reads it: stalepin conntrack --live --netns', async () => {
    const r = await runCli(['conntrack', '--live', '--netns', ns, '--format', 'json', '--summary']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.sources[0]).toMatchObject({ via: 'conntrack', snapshot: { timeSource: 'now' } });
    expect(j.summary.rows.find((x: any) => x.target === '198.51.100.50:5060')).toMatchObject({ service: '203.0.113.50:5060', entries: 1 });
  });
});
