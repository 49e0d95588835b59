/**
 * The reading thread started before a run asks for it (sip/reader-thread.ts): the run takes
 * that thread and hands it its input, says what a thread started by the run says, and a thread
 * no run took does not keep the process alive. Through the built JavaScript (a worker needs a
 * file it can load), as the CLI runs it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeSipParser } from '../../src/sip/native-parser.js';

const repoRoot = resolve(__dirname, '..', '..');
const dist = join(repoRoot, 'dist', 'sip');
const bin = join(repoRoot, 'bin', 'stalepin');
const capture = join(repoRoot, 'fixtures', 'lab', 'killed', 'lb-any.pcap');

const why =
  process.env.STALEPIN_SIP_PARSER === 'js'
    ? 'STALEPIN_SIP_PARSER=js'
    : process.env.STALEPIN_THREADS === '1'
      ? 'STALEPIN_THREADS=1'
      : nativeSipParser() === undefined
        ? 'the C parser binding is not built (npm install needs g++, make and python3)'
        : !existsSync(join(dist, 'reader-thread.js'))
          ? 'dist/ is not built (npm run build)'
          : undefined;
if (why) console.log(`early reading-thread tests skipped: ${why}`);

interface Built {
  startReaderEarly(): void;
  readerWaiting(): boolean;
}

describe.skipIf(why !== undefined)('the reading thread started early', () => {
  it('is taken by the next split run, which says what a run with a thread of its own says', async () => {
    const early = (await import(pathToFileURL(join(dist, 'reader-thread.js')).href)) as Built;
    const { runSip } = (await import(pathToFileURL(join(dist, 'source.js')).href)) as typeof import('../../src/sip/source.js');
    const calls = async (): Promise<string[]> => {
      const out: string[] = [];
      const run = await runSip({ files: [capture] }, { onCall: (c) => out.push(`${c.id} ${c.callId} ${c.state} ${c.messages} ${c.backends.join(',')}`) });
      expect(run.error).toBeUndefined();
      return out;
    };
    expect(early.readerWaiting()).toBe(false);
    early.startReaderEarly();
    expect(early.readerWaiting()).toBe(true);
    const first = await calls();
    // Taken: the next run starts a thread of its own.
    expect(early.readerWaiting()).toBe(false);
    const second = await calls();
    expect(first.length).toBeGreaterThan(10);
    expect(first).toEqual(second);
  });

  it('does not keep the process alive when no run takes it', () => {
    const script = `import(${JSON.stringify(pathToFileURL(join(dist, 'reader-thread.js')).href)}).then((m) => { m.startReaderEarly(); if (!m.readerWaiting()) process.exit(9); })`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
  });

  it('the CLI starts it for a run it cannot split (standard input, --help) and still exits as it should', () => {
    const env = { ...process.env };
    delete env.STALEPIN_THREADS;
    const piped = spawnSync(process.execPath, [bin, 'calls', '-f', 'json', '-'], { input: readFileSync(capture), env, encoding: 'utf8', timeout: 60_000 });
    const file = spawnSync(process.execPath, [bin, 'calls', '-f', 'json', capture], { env: { ...env, STALEPIN_THREADS: '1' }, encoding: 'utf8', timeout: 60_000 });
    expect(piped.status).toBe(0);
    expect(file.status).toBe(0);
    expect(piped.stdout.length).toBeGreaterThan(1000);
    expect(piped.stdout).toBe(file.stdout);
    const help = spawnSync(process.execPath, [bin, 'analyze', '--help'], { env, encoding: 'utf8', timeout: 20_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: stalepin analyze');
  });
});
