/**
 * Reports and metrics files (-o, Prometheus textfiles) are written atomically (temporary file
 * beside the destination, then rename) and never through a symlink planted at the path; a
 * destination that is itself a FIFO or a device is written in place, never replaced.
 */
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { spawnSync, spawn } from 'node:child_process';
import { createReadStream, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/report/output.js';
import { StalepinError } from '../../src/core/errors.js';
import { repoRoot, runCli } from '../helpers/cli.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stalepin-write-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function mkfifo(p: string): void {
  const r = spawnSync('mkfifo', [p]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
}

const leftovers = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

describe('writeFileAtomic', () => {
  it('a symlink planted at the destination is replaced; its target is untouched', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    const out = join(dir, 'report.json');
    symlinkSync(victim, out);
    await writeFileAtomic(out, 'report');
    expect(lstatSync(out).isSymbolicLink()).toBe(false);
    expect(readFileSync(out, 'utf8')).toBe('report');
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(leftovers()).toEqual([]);
  });

  it('a symlink to a FIFO or a device is replaced too, not followed', async () => {
    const fifo = join(dir, 'fifo');
    mkfifo(fifo);
    const viaFifo = join(dir, 'a.prom');
    symlinkSync(fifo, viaFifo);
    // Followed, this would block forever (no reader) or write into someone else's pipe.
    await writeFileAtomic(viaFifo, 'metrics');
    expect(readFileSync(viaFifo, 'utf8')).toBe('metrics');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    const viaDev = join(dir, 'b.prom');
    symlinkSync('/dev/zero', viaDev);
    await writeFileAtomic(viaDev, 'metrics');
    expect(lstatSync(viaDev).isFile()).toBe(true);
  });

  it('a FIFO at the destination is written in place, not replaced', async () => {
    const fifo = join(dir, 'out.fifo');
    mkfifo(fifo);
    const got = new Promise<string>((resolve, reject) => {
      let text = '';
      createReadStream(fifo, 'utf8')
        .on('data', (c) => (text += c))
        .on('end', () => resolve(text))
        .on('error', reject);
    });
    await writeFileAtomic(fifo, 'through the pipe\n');
    expect(await got).toBe('through the pipe\n');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('/dev/null is written in place', async () => {
    await writeFileAtomic('/dev/null', 'discarded');
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it.each([
    ['a pipe', 'pipe'],
    ['a socket', 'socket'],
  ] as const)('-o /dev/stdout when stdout is %s: written in place', (_what, kind) => {
    // Node gives a child a socket for stdout unless asked otherwise; the shell gives a pipe.
    const cli = `${JSON.stringify(process.execPath)} --import tsx src/cli/index.ts inspect -f json -o /dev/stdout fixtures/capture/pcap-le-us.pcap`;
    const r =
      kind === 'socket'
        ? spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'inspect', '-f', 'json', '-o', '/dev/stdout', 'fixtures/capture/pcap-le-us.pcap'], { cwd: repoRoot, encoding: 'utf8' })
        : spawnSync('sh', ['-c', `${cli} | cat`], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toBeTypeOf('object');
  });

  it.each([
    ['a directory', (): string => dir, /is a directory; give a file name/],
    ['a folder that does not exist', (): string => join(dir, 'missing', 'report.json'), /cannot write .*ENOENT \(the folder does not exist\)/],
  ] as const)('%s: one clear error', async (_what, path, msg) => {
    const e = await writeFileAtomic(path(), 'x').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StalepinError);
    expect((e as StalepinError).exitCode).toBe(2);
    expect((e as StalepinError).oneLine()).toMatch(msg);
    expect((e as StalepinError).oneLine()).not.toMatch(/\n/);
  });

  it('a read-only folder: one clear error, nothing left behind', async () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    if (process.getuid?.() !== 0) {
      const e = await writeFileAtomic(join(ro, 'x.json'), 'x').catch((x: unknown) => x);
      chmodSync(ro, 0o755);
      expect((e as StalepinError).oneLine()).toMatch(/permission denied/);
      expect(readdirSync(ro)).toEqual([]);
      return;
    }
    // Root writes anywhere: run the CLI as nobody, which may enter the folders but not write.
    chmodSync(dir, 0o755);
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(repoRoot, 'bin', 'stalepin'), 'inspect', '--format', 'json', '-o', join(ro, 'x.json'), join(repoRoot, 'fixtures', 'capture', 'pcap-le-us.pcap')], { encoding: 'utf8' });
    chmodSync(ro, 0o755);
    expect(r.error, 'setpriv (util-linux) is needed to drop root for this test').toBeUndefined();
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/cannot write .*x\.json: EACCES \(permission denied/)]);
    expect(readdirSync(ro)).toEqual([]);
  });

  it('replacing a private file keeps it private', async () => {
    const out = join(dir, 'private.json');
    writeFileSync(out, 'old', { mode: 0o600 });
    chmodSync(out, 0o600);
    await writeFileAtomic(out, 'new');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out, 'utf8')).toBe('new');
  });

  it('concurrent writers and a reader: the reader only ever sees one whole version', async () => {
    const out = join(dir, 'busy.json');
    const size = 1 << 20;
    writeFileSync(out, Buffer.alloc(size, 0x30));
    let writing = true;
    const seen = new Set<number>();
    const reader = (async () => {
      let reads = 0;
      while (writing || reads < 5) {
        const b = await readFile(out);
        reads++;
        expect(b.length).toBe(size);
        const first = b[0]!;
        // One version: every byte the same.
        expect(b.every((x) => x === first)).toBe(true);
        seen.add(first);
      }
      return reads;
    })();
    for (let round = 0; round < 4; round++) {
      await Promise.all(Array.from({ length: 12 }, (_, k) => writeFileAtomic(out, Buffer.alloc(size, 0x41 + ((round * 12 + k) % 26)))));
    }
    writing = false;
    expect(await reader).toBeGreaterThan(5);
    expect(seen.size).toBeGreaterThan(1);
    expect(leftovers()).toEqual([]);
  }, 60_000);

  it('two processes writing the same file at once: a whole version wins, no temporary file left', async () => {
    const out = join(dir, 'shared.prom');
    const code = (ch: string): string =>
      `import('${join(repoRoot, 'src', 'report', 'output.ts')}').then(async (m) => { for (let i = 0; i < 30; i++) await m.writeFileAtomic(${JSON.stringify(out)}, '${ch}'.repeat(300000)); })`;
    const run = (ch: string): Promise<number> =>
      new Promise((resolve) => spawn(process.execPath, ['--import', 'tsx', '-e', code(ch)], { cwd: repoRoot, stdio: 'ignore' }).on('close', (c) => resolve(c ?? -1)));
    expect(await Promise.all([run('a'), run('b')])).toEqual([0, 0]);
    const text = readFileSync(out, 'utf8');
    expect(text.length).toBe(300000);
    expect(/^(a+|b+)$/.test(text)).toBe(true);
    expect(leftovers()).toEqual([]);
  }, 60_000);
});

describe('-o on the command line', () => {
  it('inspect -o through a planted symlink replaces the link, not the file it points at', async () => {
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious');
    const out = join(dir, 'inspect.json');
    symlinkSync(victim, out);
    const r = await runCli(['inspect', '-f', 'json', '-o', out, join(repoRoot, 'fixtures', 'capture', 'pcap-le-us.pcap')]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toBeTypeOf('object');
  });

  it('analyze -o into a missing folder: exit 2, one line', async () => {
    const r = await runCli(['analyze', join(repoRoot, 'fixtures', 'lab', 'killed'), '-o', join(dir, 'nope', 'r.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/the folder does not exist/);
  });
});
