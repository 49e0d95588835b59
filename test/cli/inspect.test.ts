import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync, mkdtempSync, symlinkSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { repoRoot, runBin, runCli } from '../helpers/cli.js';

const fx = (name: string): string => join('fixtures', name);
const golden = (name: string): string => join(repoRoot, 'test', 'golden', 'inspect', name + '.json');

// Golden files are rewritten with UPDATE_GOLDEN=1 and then reviewed in the diff.
const goldenCases = [
  ['pcap-le-us', fx('capture/pcap-le-us.pcap')],
  ['pcapng-multi-if', fx('capture/pcapng-multi-if.pcapng')],
  ['pcapng-two-sections', fx('capture/pcapng-two-sections.pcapng')],
  ['frag-ipv6', fx('decode/frag-ipv6.pcap')],
  ['icmp-unreachable', fx('decode/icmp-unreachable.pcap')],
] as const;

describe('inspect --format json golden output', () => {
  it.each(goldenCases)('%s', async (name, file) => {
    const r = await runCli(['inspect', '--format', 'json', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    if (process.env['UPDATE_GOLDEN'] || !existsSync(golden(name))) writeFileSync(golden(name), r.stdout);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(readFileSync(golden(name), 'utf8')));
  });
});

describe('inspect counts', () => {
  it('reports nanosecond timestamps exactly', async () => {
    const r = JSON.parse((await runCli(['inspect', '--format', 'json', fx('capture/pcap-le-ns.pcap')])).stdout);
    expect(r.first).toMatch(/\.\d{9}Z$/);
    expect(r.interfaces[0].precision).toBe(9);
  });

  it('reads standard input and gzip (by magic bytes, not by name)', async () => {
    const plain = readFileSync(join(repoRoot, fx('capture/pcap-le-us.pcap')));
    const a = JSON.parse((await runCli(['inspect', '--format', 'json', fx('capture/pcap-le-us.pcap')])).stdout);
    const b = JSON.parse((await runCli(['inspect', '--format', 'json', '-'], gzipSync(plain))).stdout);
    expect(b.packets).toBe(a.packets);
    expect(b.files[0].gzip).toBe(true);
    expect(b.first).toBe(a.first);
  });

  it('merges several files in time order and counts both', async () => {
    const r = JSON.parse((await runCli(['inspect', '--format', 'json', fx('capture/merge-a.pcap'), fx('capture/merge-b.pcap')])).stdout);
    const one = (f: string) => runCli(['inspect', '--format', 'json', f]).then((x) => JSON.parse(x.stdout).packets as number);
    expect(r.packets).toBe((await one(fx('capture/merge-a.pcap'))) + (await one(fx('capture/merge-b.pcap'))));
    expect(r.files).toHaveLength(2);
  });

  it('counts SIP payloads by start line on any port', async () => {
    const r = JSON.parse((await runCli(['inspect', '--format', 'json', fx('capture/pcap-le-us.pcap')])).stdout);
    expect(r.sip.udp).toBeGreaterThan(0);
    expect(r.sip.udp).toBeLessThanOrEqual(r.transports.udp);
  });
});

describe('inspect bad input: one line, exit 2, no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stalepin-inspect-'));
  const cases: [string, string[], RegExp][] = [
    ['missing file', ['inspect', '/nonexistent/x.pcap'], /x\.pcap: no such file/],
    ['directory', ['inspect', 'fixtures'], /fixtures: is a directory/],
    ['not a capture shows the magic', ['inspect', fx('capture/bad-not-capture.txt')], /first bytes: 48 65 6c 6c/],
    ['empty file', ['inspect', fx('capture/bad-empty.pcap')], /empty file/],
    ['truncated header', ['inspect', fx('capture/bad-truncated-header.pcap')], /at byte \d+: truncated pcap file header/],
    ['absurd block length', ['inspect', fx('capture/bad-absurd-block.pcapng')], /at byte \d+: absurd pcapng block length/],
    ['bad trailing length', ['inspect', fx('capture/bad-trailing-length.pcapng')], /at byte \d+: .*trailing length/],
    ['unknown format option', ['inspect', '--format', 'xml', fx('capture/pcap-le-us.pcap')], /invalid/],
  ];
  it.each(cases)('%s', (_name, args, message) => {
    const r = runBin(args);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack frames
  });

  it('keeps the partial report before a mid-file corruption, then exits 2', () => {
    const r = runBin(['inspect', '--format', 'json', fx('capture/bad-interface-id.pcapng')]);
    expect(r.code).toBe(2);
    const rep = JSON.parse(r.stdout);
    expect(rep.packets).toBeGreaterThan(0);
    expect(rep.error).toMatch(/interface/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    ['truncated record', fx('capture/bad-truncated-record.pcap'), /truncated record/],
    ['oversized record', fx('capture/bad-oversized-record.pcap'), /exceeds the 262144-byte limit/],
    ['corrupt gzip (bad CRC after the records)', fx('capture/bad-crc.pcap.gz'), /gzip stream is corrupt/],
    ['gzip cut short', fx('capture/bad-truncated.pcap.gz'), /truncated record|gzip/],
  ])('%s is a warning with the byte offset, and what was read is kept', (_n, file, msg) => {
    const r = runBin(['inspect', '--format', 'json', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*at byte \d+: /);
    expect(r.stderr).toMatch(msg);
    expect(JSON.parse(r.stdout).packets).toBeGreaterThan(0);
    expect(runBin(['inspect', '--quiet', file]).stderr).toBe('');
  });

  it('writes -o atomically and replaces a planted symlink instead of following it', () => {
    const target = join(dir, 'victim.txt');
    writeFileSync(target, 'keep me');
    const out = join(dir, 'report.json');
    symlinkSync(target, out);
    const r = runBin(['inspect', '--format', 'json', '-o', out, fx('capture/pcap-le-us.pcap')]);
    expect(r.code).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(JSON.parse(readFileSync(out, 'utf8')).schema).toBe('stalepin/inspect@1');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(runBin(['inspect', '-o', '/dev/null', fx('capture/pcap-le-us.pcap')]).code).toBe(0);
  });
});
