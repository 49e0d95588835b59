/**
 * Writing reports and metrics files safely. A regular file (or a path that does not exist yet)
 * is written to a new temporary file beside it and renamed into place, so a reader never sees
 * half a report and a symlink planted at the path is replaced, never written through. A
 * destination that is not a regular file (/dev/null, /dev/stdout, a FIFO, a terminal) is
 * written in place, never replaced.
 */
import { constants, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
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

function writeStream(stream: NodeJS.WritableStream, content: string | Uint8Array): Promise<void> {
  return new Promise<void>((resolve) => {
    if (stream.write(content)) resolve();
    else stream.once('drain', () => resolve());
  });
}

export async function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o644, stdout: NodeJS.WritableStream = process.stdout): Promise<void> {
  // Standard output (as under systemd or a parent Node process, where it is a socket) is
  // written as a stream, never opened by name.
  if (STDOUT_NAMES.has(path)) return writeStream(stdout, content);
  try {
    if (await isSpecialDestination(path)) {
      const fh = await fs.open(path, constants.O_WRONLY | constants.O_APPEND);
      try {
        await fh.writeFile(content);
      } finally {
        await fh.close();
      }
      return;
    }
    const st = await fs.lstat(path).catch(() => undefined);
    if (st?.isDirectory()) throw new StalepinError('bad_usage', `${path} is a directory; give a file name`);
    const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    // O_EXCL: never open something an attacker pre-created at the temporary name.
    const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    try {
      try {
        // A file the user made private (0600) stays private when it is replaced.
        if (st?.isFile()) await fh.chmod(st.mode & 0o777);
        await fh.writeFile(content);
        await fh.sync().catch(() => undefined);
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, path);
    } catch (e) {
      // Never leave a half-written temporary file behind (a full disk, a rename refused).
      await fs.unlink(tmp).catch(() => undefined);
      throw e;
    }
  } catch (e) {
    if (e instanceof StalepinError) throw e;
    const err = e as NodeJS.ErrnoException;
    const hint = err.code === 'EACCES' || err.code === 'EPERM' ? ' (permission denied: choose a writable path)' : err.code === 'ENOENT' ? ' (the folder does not exist)' : '';
    throw new StalepinError('bad_usage', `cannot write ${path}: ${err.code ?? err.message}${hint}`, { file: path });
  }
}

/** Write a command's output to -o PATH, or to stdout when no path (or "-") is given. */
export async function emit(path: string | undefined, content: string, stdout: NodeJS.WritableStream): Promise<void> {
  await writeFileAtomic(path ?? '-', content, 0o644, stdout);
}
