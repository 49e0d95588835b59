/**
 * Reading the live conntrack table and event stream of this host (or of a named network
 * namespace, through `ip netns exec`). The table comes from `conntrack -L -o extended,id`,
 * parsed as it streams out of the child (never buffered whole); when the binary is missing it
 * falls back to /proc/net/nf_conntrack. Events come from `conntrack -E -o timestamp,id` until
 * the signal is raised. Every failure a user can fix (missing binary, missing CAP_NET_ADMIN, a
 * kernel without conntrack, an unknown namespace) is a StalepinError saying what to do.
 */
import { spawn } from 'node:child_process';
import { createReadStream, promises as fs } from 'node:fs';
import { StalepinError } from '../core/errors.js';
import { visible } from '../report/visible.js';
import type { ConntrackEntry } from './entry.js';
import { parseConntrackStream, type ParseSummary } from './parse.js';

export interface LiveOptions {
  onEntry: (e: ConntrackEntry) => void;
  onChunk?: () => Promise<void> | void;
  /** Read this network namespace (a name under /run/netns) instead of the current one. */
  netns?: string;
  signal?: AbortSignal;
  /** For tests: the conntrack binary and the /proc file to use. */
  conntrackBin?: string;
  ipBin?: string;
  procPath?: string;
}

export interface LiveSummary extends ParseSummary {
  /** How the table was read. */
  via: 'conntrack' | 'proc';
}

const INSTALL = 'install conntrack-tools (Debian/Ubuntu: apt-get install conntrack; Fedora/RHEL: dnf install conntrack-tools)';
const CAP = 'reading the conntrack table needs CAP_NET_ADMIN: run as root (sudo) or grant the capability (e.g. systemd AmbientCapabilities=CAP_NET_ADMIN)';
const NO_CONNTRACK = 'this kernel has no connection tracking loaded (nf_conntrack): nothing to read (modprobe nf_conntrack, or run on the load balancer host)';

function nowTs(): { sec: number; nsec: number } {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}

/** Refuse a --netns value that is not a plain namespace name. */
export function validNetns(name: string): void {
  // Names are files under /run/netns; refuse anything that could be a path or an option.
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || name.startsWith('-') || name === '.' || name === '..')
    throw new StalepinError('bad_usage', `--netns: not a namespace name: ${visible(name)}`);
}

function command(opts: LiveOptions, args: string[]): { cmd: string; argv: string[] } {
  const bin = opts.conntrackBin ?? 'conntrack';
  if (opts.netns === undefined) return { cmd: bin, argv: args };
  validNetns(opts.netns);
  return { cmd: opts.ipBin ?? 'ip', argv: ['netns', 'exec', opts.netns, bin, ...args] };
}

/** Map a failed child's stderr to the error a user can act on. */
export function classifyFailure(stderr: string, netns: string | undefined, what: string): StalepinError {
  const s = stderr;
  if (netns !== undefined && /Cannot open network namespace|No such file or directory.*netns|netns.*No such file/i.test(s))
    return new StalepinError('bad_usage', `--netns ${netns}: no such network namespace (see \`ip netns list\`)`);
  if (netns !== undefined && /exec of "?[^"]*conntrack"? failed: No such file/i.test(s)) return new StalepinError('missing_dependency', `the conntrack binary is not installed: ${INSTALL}`);
  if (/Operation not permitted|must be root|CAP_NET_ADMIN|Permission denied/i.test(s)) return new StalepinError('permission', CAP);
  if (/Protocol not supported|Address family not supported|Protocol not available|not supported by the kernel/i.test(s)) return new StalepinError('missing_dependency', NO_CONNTRACK);
  const first = s.split('\n').find((l) => l.trim() !== '' && !/flow (entries|events) have been shown/.test(l)) ?? 'no message';
  return new StalepinError('bad_input', `${what} failed: ${first.trim().slice(0, 300)}`);
}

/** What a child that prints a conntrack or IPVS table left: its parse, and how it ended. */
export interface ChildRun {
  summary?: ParseSummary;
  /** The output did not parse (the child was stopped then). */
  parseError?: unknown;
  /** It could not be started (ENOENT: not installed; EACCES). */
  spawnError?: NodeJS.ErrnoException;
  code: number | null;
  /** The first 8 KiB of its standard error, for classifying a failure. */
  stderr: string;
}

export interface TableChildOptions {
  /** Name for the parser's error lines. */
  file: string;
  onEntry: (e: ConntrackEntry) => void;
  onChunk?: () => Promise<void> | void;
  /** Stops the child (SIGTERM) when raised. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/**
 * Run a command whose standard output is a conntrack or IPVS table (conntrack -L or -E,
 * ipvsadm -Lnc), parsing it as it streams out, never buffered whole. Nothing is thrown: the
 * caller decides what a spawn error, an exit code or a parse error means for its command.
 */
export async function runTableChild(cmd: string, argv: string[], o: TableChildOptions): Promise<ChildRun> {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d;
  });
  let spawnError: NodeJS.ErrnoException | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (e) => {
      spawnError = e as NodeJS.ErrnoException;
      resolve(null);
    });
    child.once('close', (code) => resolve(code));
  });
  const onAbort = (): void => {
    child.kill('SIGTERM');
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let summary: ParseSummary | undefined;
    let parseError: unknown;
    try {
      summary = await parseConntrackStream(child.stdout, { file: o.file, onEntry: o.onEntry, onChunk: o.onChunk, now: nowTs() });
    } catch (e) {
      parseError = e;
      child.kill('SIGTERM');
    }
    const code = await exited;
    return { ...(summary ? { summary } : {}), ...(parseError !== undefined ? { parseError } : {}), ...(spawnError ? { spawnError } : {}), code, stderr };
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** runTableChild for conntrack: bad output is the error unless the child's own failure explains it. */
async function runChild(cmd: string, argv: string[], opts: LiveOptions, file: string): Promise<ChildRun> {
  const r = await runTableChild(cmd, argv, { file, onEntry: opts.onEntry, ...(opts.onChunk ? { onChunk: opts.onChunk } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  if (r.parseError !== undefined && !r.spawnError && (r.code === 0 || r.stderr === '')) throw r.parseError;
  return r;
}

async function readProc(opts: LiveOptions): Promise<LiveSummary> {
  const path = opts.procPath ?? '/proc/net/nf_conntrack';
  if (opts.netns !== undefined) {
    // The namespace's own /proc view: read it through ip netns exec cat.
    validNetns(opts.netns);
    const r = await runChild(opts.ipBin ?? 'ip', ['netns', 'exec', opts.netns, 'cat', path], opts, `${path} (netns ${opts.netns})`);
    if (r.spawnError) throw new StalepinError('missing_dependency', `--netns needs the ip command (iproute2): apt-get install iproute2`);
    if (r.code !== 0 || !r.summary) {
      if (/No such file/.test(r.stderr) && !/netns/.test(r.stderr)) throw new StalepinError('missing_dependency', `the conntrack binary is not installed and ${path} is absent: ${INSTALL}`);
      throw classifyFailure(r.stderr, opts.netns, `reading ${path}`);
    }
    return { ...r.summary, via: 'proc' };
  }
  try {
    await fs.access(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EACCES' || err.code === 'EPERM') throw new StalepinError('permission', CAP);
    throw new StalepinError('missing_dependency', `the conntrack binary is not installed and ${path} is absent (older kernels only have it with CONFIG_NF_CONNTRACK_PROCFS): ${INSTALL}`);
  }
  const stream = createReadStream(path);
  const failed = new Promise<never>((_, reject) =>
    stream.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EACCES' || e.code === 'EPERM' ? new StalepinError('permission', CAP) : new StalepinError('bad_input', `cannot read ${path}: ${e.code ?? e.message}`))),
  );
  const summary = await Promise.race([parseConntrackStream(stream, { file: path, onEntry: opts.onEntry, onChunk: opts.onChunk, now: nowTs() }), failed]);
  return { ...summary, via: 'proc' };
}

/** Read the live conntrack table once. */
export async function readLiveTable(opts: LiveOptions): Promise<LiveSummary> {
  const { cmd, argv } = command(opts, ['-L', '-o', 'extended,id']);
  const label = opts.netns === undefined ? 'conntrack -L' : `conntrack -L (netns ${opts.netns})`;
  const r = await runChild(cmd, argv, opts, label);
  if (r.spawnError) {
    if (r.spawnError.code === 'ENOENT' && opts.netns !== undefined) throw new StalepinError('missing_dependency', `--netns needs the ip command (iproute2): apt-get install iproute2`);
    if (r.spawnError.code === 'ENOENT') return readProc(opts);
    if (r.spawnError.code === 'EACCES') throw new StalepinError('permission', `cannot run ${cmd}: permission denied`);
    throw new StalepinError('bad_input', `cannot run ${cmd}: ${r.spawnError.code ?? r.spawnError.message}`);
  }
  if (r.code !== 0 || !r.summary) {
    // ip netns exec reports a missing conntrack binary on stderr: fall back to /proc there too.
    if (opts.netns !== undefined && /exec of "?[^"]*conntrack"? failed: No such file/i.test(r.stderr)) return readProc(opts);
    throw classifyFailure(r.stderr, opts.netns, label);
  }
  return { ...r.summary, via: 'conntrack' };
}

/**
 * Stream conntrack events until `signal` is raised (or the child exits). Each event reaches
 * onEntry as it arrives, with its kernel-side timestamp.
 */
export async function streamLiveEvents(opts: LiveOptions): Promise<ParseSummary> {
  const { cmd, argv } = command(opts, ['-E', '-o', 'timestamp,id']);
  const label = opts.netns === undefined ? 'conntrack -E' : `conntrack -E (netns ${opts.netns})`;
  const r = await runChild(cmd, argv, opts, label);
  if (r.spawnError) {
    if (r.spawnError.code === 'ENOENT') {
      throw new StalepinError(
        'missing_dependency',
        opts.netns !== undefined ? `--netns needs the ip command (iproute2): apt-get install iproute2` : `the conntrack binary is needed for events: ${INSTALL}`,
      );
    }
    throw new StalepinError('bad_input', `cannot run ${cmd}: ${r.spawnError.code ?? r.spawnError.message}`);
  }
  const aborted = opts.signal?.aborted ?? false;
  if (!aborted && (r.code !== 0 || !r.summary)) {
    if (opts.netns !== undefined && /exec of "?[^"]*conntrack"? failed: No such file/i.test(r.stderr))
      throw new StalepinError('missing_dependency', `the conntrack binary is needed for events: ${INSTALL}`);
    throw classifyFailure(r.stderr, opts.netns, label);
  }
  if (!r.summary) throw classifyFailure(r.stderr, opts.netns, label);
  return r.summary;
}
