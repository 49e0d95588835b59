/**
 * Writing reports and metrics files safely. A regular file (or a path that does not exist yet)
 * is written to a new temporary file beside it and renamed into place, so a reader never sees
 * half a report and a symlink planted at the path is replaced, never written through. A
 * destination that is not a regular file (/dev/null, /dev/stdout, a FIFO, a terminal) is
 * written in place, never replaced.
 */
import { close, closeSync, constants, fchmod, fsync, open, promises as fs, unlinkSync, write, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { StalepinError } from '../core/errors.js';

async function isSpecialDestination(path: string): Promise<boolean> {
  if (path.startsWith('/dev/') || path.startsWith('/proc/self/fd/')) return true;
  try {
    // Not followed: a symlink planted at the path is replaced like a file. Following one to a
    // "special" target would let whoever planted it aim a root process at /dev/sda or /dev/mem.
    const lst = await fs.lstat(path);
    return !lst.isSymbolicLink() && !lst.isFile() && !lst.isDirectory();
  } catch {
    return false;
  }
}

/** Names of our own standard output: opening them fails (ENXIO) when stdout is a socket. */
const STDOUT_NAMES = new Set(['-', '/dev/stdout', '/proc/self/fd/1', '/dev/fd/1']);

/**
 * An output written piece by piece (a long call list, a big report) with the guarantees of
 * writeFileAtomic: a regular file appears whole at commit() or not at all, a special
 * destination is written in place, standard output is a stream. Writes are batched (about
 * 64 KiB per system call) so that a caller can write one record at a time; a bigger batch
 * only keeps more text alive long enough to be copied by the collector.
 */
export class AtomicOutput {
  private parts: string[] = [];
  private size = 0;
  private constructor(
    private readonly path: string,
    /** File descriptor written to (the temporary file or the special destination); -1 for a stream. */
    private readonly fd: number,
    /** Temporary file renamed to `path` at commit; '' when written in place. */
    private readonly tmp: string,
    private readonly stream: NodeJS.WritableStream | undefined,
  ) {}

  static async open(path: string | undefined, stdout: NodeJS.WritableStream, mode = 0o644): Promise<AtomicOutput> {
    const p = path ?? '-';
    // Standard output (as under systemd or a parent Node process, where it is a socket) is
    // written as a stream, never opened by name.
    if (STDOUT_NAMES.has(p)) return new AtomicOutput(p, -1, '', stdout);
    try {
      if (await isSpecialDestination(p)) return new AtomicOutput(p, await openAsync(p, constants.O_WRONLY | constants.O_APPEND), '', undefined);
      const st = await fs.lstat(p).catch(() => undefined);
      if (st?.isDirectory()) throw new StalepinError('bad_usage', `${p} is a directory; give a file name`);
      const tmp = join(dirname(p), `.${basename(p)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      // O_EXCL: never open something an attacker pre-created at the temporary name.
      const fd = await openAsync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
      const out = new AtomicOutput(p, fd, tmp, undefined);
      // A file the user made private (0600) stays private when it is replaced.
      if (st?.isFile()) {
        try {
          await fchmodAsync(fd, st.mode & 0o777);
        } catch (e) {
          out.abort();
          throw e;
        }
      }
      return out;
    } catch (e) {
      throw writeError(p, e);
    }
  }

  write(s: string | Uint8Array): void {
    if (typeof s !== 'string') {
      this.flush();
      this.put(s);
      return;
    }
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= 1 << 16) this.flush();
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.size = 0;
    this.put(text);
  }

  private put(chunk: string | Uint8Array): void {
    if (this.stream !== undefined) {
      this.stream.write(chunk);
      return;
    }
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.guard(() => {
      for (let off = 0; off < buf.length; ) off += writeSync(this.fd, buf, off, buf.length - off);
    });
  }

  /** Run a file operation; on failure the temporary file is removed and a one-line error thrown. */
  private guard(op: () => void): void {
    try {
      op();
    } catch (e) {
      this.abort();
      throw writeError(this.path, e);
    }
  }

  /**
   * Write what is buffered, then `last` (asynchronously: a whole report written at once does not
   * hold up the event loop), and put the file in place.
   */
  async commit(last?: string | Uint8Array): Promise<void> {
    this.flush();
    if (last !== undefined && last.length > 0) {
      if (this.stream !== undefined) this.stream.write(last);
      else {
        const buf = typeof last === 'string' ? Buffer.from(last, 'utf8') : last;
        try {
          for (let off = 0; off < buf.length; ) off += (await writeAsync(this.fd, buf, off, buf.length - off, null)).bytesWritten;
        } catch (e) {
          this.abort();
          throw writeError(this.path, e);
        }
      }
    }
    if (this.stream !== undefined) {
      const stream = this.stream;
      // Resolved once the stream has taken everything written so far.
      await new Promise<void>((resolve) => (stream.write('') ? resolve() : stream.once('drain', () => resolve())));
      return;
    }
    if (this.tmp === '') {
      await closeAsync(this.fd);
      return;
    }
    // Not every file system syncs (a FUSE mount, /dev/shm); the rename still makes it whole.
    await fsyncAsync(this.fd).catch(() => undefined);
    try {
      await closeAsync(this.fd);
    } catch (e) {
      this.abort();
      throw writeError(this.path, e);
    }
    try {
      await fs.rename(this.tmp, this.path);
    } catch (e) {
      // Never leave a half-written temporary file behind (a rename refused).
      await fs.unlink(this.tmp).catch(() => undefined);
      throw writeError(this.path, e);
    }
  }

  /** Give up: nothing is put in place (a temporary file is removed). */
  abort(): void {
    this.parts = [];
    this.size = 0;
    if (this.fd < 0) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    if (this.tmp !== '') {
      try {
        unlinkSync(this.tmp);
      } catch {
        // already gone
      }
    }
  }
}

// Callback APIs on a plain descriptor: the streamed writes between them are synchronous.
const writeAsync = promisify(write);
const openAsync = promisify(open);
const fchmodAsync = promisify(fchmod);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);

function writeError(path: string, e: unknown): StalepinError {
  if (e instanceof StalepinError) return e;
  const err = e as NodeJS.ErrnoException;
  const hint = err.code === 'EACCES' || err.code === 'EPERM' ? ' (permission denied: choose a writable path)' : err.code === 'ENOENT' ? ' (the folder does not exist)' : err.code === 'ENOSPC' ? ' (the disk is full)' : '';
  return new StalepinError('bad_usage', `cannot write ${path}: ${err.code ?? err.message}${hint}`, { file: path });
}

export async function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o644, stdout: NodeJS.WritableStream = process.stdout): Promise<void> {
  const out = await AtomicOutput.open(path, stdout, mode);
  await out.commit(content);
}

/** Write a command's output to -o PATH, or to stdout when no path (or "-") is given. */
export async function emit(path: string | undefined, content: string, stdout: NodeJS.WritableStream): Promise<void> {
  await writeFileAtomic(path ?? '-', content, 0o644, stdout);
}
