/**
 * A SIP run split in two threads (sip/threaded.ts) must say exactly what one thread says: the
 * same records and reports, the same anomalies, warnings and errors, the same exit codes. Run
 * through the built CLI (a worker needs built JavaScript), with STALEPIN_THREADS=1 against =2
 * (which fails when the run cannot be split, so a pass means the split path was taken).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeSipParser } from '../../src/sip/native-parser.js';
import { encodePcap } from '../../src/capture/writer.js';
import { udp4Frame, udp6Frame } from '../gen/packets.js';
import { interruptedRun } from '../helpers/cli.js';
import { request, response } from './helpers.js';

const repoRoot = resolve(__dirname, '..', '..');
const bin = join(repoRoot, 'bin', 'stalepin');
const capturesDir = resolve(repoRoot, '..', 'shared', 'captures');
const labDir = resolve(repoRoot, 'fixtures', 'lab');

const why =
  process.env.STALEPIN_SIP_PARSER === 'js'
    ? 'STALEPIN_SIP_PARSER=js'
    : nativeSipParser() === undefined
      ? 'the C parser binding is not built (npm install needs g++, make and python3)'
      : !existsSync(join(repoRoot, 'dist', 'sip', 'dissect-worker.js'))
        ? 'dist/ is not built (npm run build)'
        : undefined;
if (why) console.log(`split-run tests skipped: ${why}`);

function run(threads: '1' | '2', args: string[]): { out: string; err: string; code: number | null } {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, STALEPIN_THREADS: threads }, encoding: 'utf8', maxBuffer: 256 << 20 });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

function same(args: string[]): string {
  const one = run('1', args);
  const two = run('2', args);
  expect(two.err, `stderr of ${args.join(' ')}`).toBe(one.err);
  expect(two.code, `exit code of ${args.join(' ')}`).toBe(one.code);
  expect(two.out === one.out, `output of ${args.join(' ')}`).toBe(true);
  return one.out;
}

const labCaptures = existsSync(labDir)
  ? readdirSync(labDir)
      .filter((d) => statSync(join(labDir, d)).isDirectory())
      .flatMap((d) => readdirSync(join(labDir, d)).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join(labDir, d, f)))
  : [];

describe.skipIf(why !== undefined)('a SIP run in two threads', () => {
  it('lists the same calls and messages as one thread on every lab capture', () => {
    expect(labCaptures.length).toBeGreaterThan(4);
    for (const f of labCaptures) {
      expect(same(['calls', '-f', 'json', f]).length).toBeGreaterThan(100);
      same(['messages', '-f', 'ndjson', f]);
    }
  });

  it('analyze: the same report for every lab case, its captures alone, and every format that reads INVITEs as they come', () => {
    const cases = readdirSync(labDir).filter((d) => statSync(join(labDir, d)).isDirectory());
    expect(cases.length).toBeGreaterThan(4);
    let icmp = 0;
    for (const d of cases) {
      const json = same(['analyze', '-f', 'json', join(labDir, d)]);
      // ICMP errors reach the tracking thread as records of their own.
      icmp += json.split('icmp-unreachable').length - 1;
      same(['analyze', '-f', 'markdown', join(labDir, d)]);
    }
    expect(icmp).toBeGreaterThan(0);
    for (const f of labCaptures) same(['analyze', '-f', 'json', f]);
  });

  it('analyze: the same report where the reading thread keeps messages and the heard-from table to itself', () => {
    const C = '192.0.2.1';
    const C2 = '192.0.2.2';
    const VIP = '203.0.113.10';
    const B1 = '198.51.100.11';
    const frames: { t: number; data: Uint8Array }[] = [];
    const v4 = (t: number, src: string, sport: number, dst: string, dport: number, m: Uint8Array | string): void => {
      frames.push({ t, data: udp4Frame(src, sport, dst, dport, m, frames.length + 1) });
    };
    // A Call-ID first seen in a BYE (the reading thread keeps it, and must take back the string
    // entries its parse made), then in an INVITE that is lost: the report names it.
    const bye = request({ method: 'BYE', callId: 'cid-bye-first', branch: 'z9hG4bKbye1', via: `${C}:5060`, toTag: 'tt9' });
    const ok = response(200, { method: 'BYE', callId: 'cid-bye-first', branch: 'z9hG4bKbye1', via: `${C}:5060`, toTag: 'tt9' });
    v4(0, C, 5060, VIP, 5060, bye);
    v4(0.0001, C, 5060, B1, 5060, bye);
    v4(0.002, B1, 5060, C, 5060, ok);
    v4(0.0021, VIP, 5060, C, 5060, ok);
    const invite = request({ callId: 'cid-bye-first', cseq: 2, branch: 'z9hG4bKinv1', via: `${C}:5060` });
    const other = request({ callId: 'cid-other', branch: 'z9hG4bKinv2', via: `${C}:5060` });
    for (const t of [1, 1.5, 2.5]) {
      v4(t, C, 5060, VIP, 5060, invite);
      v4(t + 0.0001, C, 5060, B1, 5060, invite);
      v4(t + 0.1, C, 5060, VIP, 5060, other);
      v4(t + 0.1001, C, 5060, B1, 5060, other);
    }
    // Not SIP on a SIP port from the backend, twice (the second a copy of the first): heard
    // from by neither thread, so its last message stays the INVITE's time.
    v4(3, B1, 5060, C, 5060, 'hello there\r\n\r\n');
    v4(3.1, B1, 5060, C, 5060, 'hello there\r\n\r\n');
    // Sixteen INVITEs that fill every slot, then a BYE kept on the reading thread and its copy
    // over IPv6, which is not: the tracking thread gets it as a parsed message, not as a copy
    // of what its slot held (one of these INVITEs, which would then look forwarded).
    for (let i = 0; i < 16; i++) v4(10 + i * 0.001, C2, 5062, VIP, 5060, request({ callId: `cid-fill-${i}`, branch: `z9hG4bKfill${i}`, via: `${C2}:5062` }));
    const bye2 = request({ method: 'BYE', callId: 'cid-bye-2', branch: 'z9hG4bKbye2', via: `${C2}:5062`, toTag: 'tt8' });
    v4(10.02, C2, 5062, VIP, 5060, bye2);
    frames.push({ t: 10.021, data: udp6Frame('2001:db8::1', 5062, '2001:db8::2', 5060, bye2) });
    v4(60, C2, 5062, VIP, 5060, request({ method: 'OPTIONS', callId: 'cid-end', branch: 'z9hG4bKend', via: `${C2}:5062` }));
    const dir = mkdtempSync(join(tmpdir(), 'stalepin-split-'));
    const f = join(dir, 'kept.pcap');
    writeFileSync(f, encodePcap({ linkType: 1, resolution: 'ns' }, frames.map(({ t, data }) => ({ sec: 1_700_000_000 + Math.floor(t), nsec: Math.round((t % 1) * 1e9), data }))));
    const report = JSON.parse(same(['analyze', '-f', 'json', '--fail-on', 'never', f])) as {
      summary: { sipMessages: number; inviteTransactions: number };
      findings: { client: string; callIds: string[] }[];
      flows: { client: string }[];
      targets: { address: string; lastHeard: string | null }[];
    };
    expect(report.summary.sipMessages).toBe(4 + 12 + 16 + 2 + 1);
    expect(report.summary.inviteTransactions).toBe(18);
    expect(report.findings.find((x) => x.client === `${C}:5060`)?.callIds).toEqual(['cid-bye-first', 'cid-other']);
    expect(JSON.stringify(report.flows.find((x) => x.client === `${C2}:5062`))).not.toContain('2001:db8');
    expect(report.targets.find((x) => x.address === `${B1}:5060`)?.lastHeard).toBe('2023-11-14T22:13:20.002000000Z');
  });

  it('draws the same ladder', () => {
    const f = join(labDir, 'killed', 'lb-any.pcap');
    const callId = run('1', ['calls', '-f', 'csv', f]).out.split('\n')[1]!.split(',')[0]!;
    expect(same(['flow', callId, f])).toContain(callId);
  });

  it.skipIf(!existsSync(capturesDir))('says the same on every public capture (UDP, TCP, IPv6, broken ones)', () => {
    const files = readdirSync(capturesDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && !['MANIFEST.tsv', 'README.md'].includes(e.name))
      .map((e) => join(e.parentPath ?? e.path, e.name));
    expect(files.length).toBeGreaterThan(40);
    for (const f of files) {
      same(['calls', '-f', 'json', f]);
      same(['messages', '-f', 'ndjson', f]);
      same(['analyze', '-f', 'json', f]);
    }
  }, 300_000);

  it('reports errors the same way: a missing file, a file that is no capture, one corrupt half-way', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stalepin-split-'));
    const notCapture = join(dir, 'not.pcap');
    writeFileSync(notCapture, 'not a capture at all');
    // Record 50's captured length made impossible: the first 50 records are delivered, then a warning.
    const d = Buffer.from(readFileSync(join(labDir, 'killed', 'lb-any.pcap')));
    let off = 24;
    for (let i = 0; i < 50; i++) off += 16 + d.readUInt32LE(off + 8);
    d.writeUInt32LE(0x7fffffff, off + 8);
    const corrupt = join(dir, 'corrupt.pcap');
    writeFileSync(corrupt, d);
    const missing = same(['calls', join(dir, 'missing.pcap')]);
    expect(missing).toBe('');
    expect(run('2', ['calls', join(dir, 'missing.pcap')]).code).toBe(2);
    expect(run('2', ['calls', notCapture]).code).toBe(2);
    same(['calls', notCapture]);
    expect(same(['messages', '-f', 'ndjson', corrupt]).split('\n').length).toBeGreaterThan(10);
    expect(run('2', ['messages', '-f', 'ndjson', corrupt]).err).toMatch(/corrupt from here/);
    same(['analyze', join(dir, 'missing.pcap')]);
    same(['analyze', notCapture]);
    expect(same(['analyze', '-f', 'json', corrupt])).toContain('"packets"');
    expect(run('2', ['analyze', corrupt]).err).toMatch(/corrupt from here/);
  });

  it('SIGINT during a split analyze: the report of what was read, and the warning', async () => {
    const r = await interruptedRun(['analyze', '-f', 'json', '--fail-on', 'never'], readFileSync(join(labDir, 'killed', 'lb-any.pcap')), { STALEPIN_THREADS: '2' });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^stalepin: warning: interrupted: stopped reading after \d+ bytes/m);
    expect(r.out).toContain('interrupted: stopped reading after');
  });

  it('SIGINT stops the reading thread, and the command says its output is cut short', async () => {
    const r = await interruptedRun(['calls', '-f', 'csv'], readFileSync(join(labDir, 'killed', 'lb-any.pcap')), { STALEPIN_THREADS: '2' });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^stalepin: warning: interrupted: stopped reading after \d+ bytes; what was read before is reported/m);
    expect(r.out.startsWith('call_id,')).toBe(true);
  });

  it('STALEPIN_THREADS=2 is an error where the run cannot be split; standard input stays in one thread', () => {
    const f = join(labDir, 'killed', 'lb-any.pcap');
    const r = spawnSync(process.execPath, [bin, 'calls', f], { env: { ...process.env, STALEPIN_THREADS: '2', STALEPIN_SIP_PARSER: 'js' }, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot take two threads: the C SIP parser is not built/);
    const viaStdin = spawnSync(process.execPath, [bin, 'calls', '-f', 'json', '-'], { input: readFileSync(f), encoding: 'utf8' });
    expect(viaStdin.status).toBe(0);
    expect(viaStdin.stdout).toBe(run('1', ['calls', '-f', 'json', f]).out);
  });
});
