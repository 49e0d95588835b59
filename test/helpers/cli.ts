/**
 * Run the CLI in-process with captured streams, or as a real child process (`node bin/stalepin`,
 * which needs `npm run build` first: `npm test` builds before vitest runs).
 */
import { PassThrough, Readable, Writable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/spec.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedCaptures = resolve(repoRoot, '..', 'shared', 'captures');
export const haveSharedCaptures = existsSync(join(sharedCaptures, 'MANIFEST.tsv'));

export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

class Sink extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], stdin?: Uint8Array | string): Promise<CliResult> {
  const out = new Sink();
  const err = new Sink();
  const input = stdin === undefined ? new PassThrough() : Readable.from([typeof stdin === 'string' ? Buffer.from(stdin) : Buffer.from(stdin)]);
  if (stdin === undefined) (input as PassThrough).end();
  const io: Io = { stdout: out, stderr: err, stdin: input, color: false, env: {}, signal: new AbortController().signal };
  const code = await main(args, io);
  return { code, stdout: out.text, stderr: err.text };
}

/** The built binary as a child process (checks exit codes and that no stack trace leaks). */
export function runBin(args: string[], input?: Uint8Array): CliResult {
  const bin = join(repoRoot, 'bin', 'stalepin');
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, input, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `node bin/stalepin ...args FIFO` with `capture` fed through a FIFO in two parts and SIGINT sent
 * between them, while the command waits for the second: how a long read is cut short.
 */
export async function interruptedRun(args: string[], capture: Uint8Array, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  const { execFileSync, spawn } = await import('node:child_process');
  const { closeSync, mkdtempSync, openSync, writeSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const fifo = join(mkdtempSync(join(tmpdir(), 'stalepin-int-')), 'in.pcap');
  execFileSync('mkfifo', [fifo]);
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'stalepin'), ...args, fifo], { env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<number | null>((done) => child.on('close', done));
  // Returns once the command opened the FIFO: it runs, its SIGINT handler set.
  const fd = openSync(fifo, 'w');
  const half = capture.length >> 1;
  writeSync(fd, capture.subarray(0, half));
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 300));
  writeSync(fd, capture.subarray(half));
  closeSync(fd);
  return { code: await closed, out, err };
}
