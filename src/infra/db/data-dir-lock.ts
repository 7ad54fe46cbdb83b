import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { resolve } from 'node:path';

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

const LOCK_FILE = 'pglite.lock';

/** Directories this process holds: a lock file naming our own pid is ours only if it is listed here. */
const heldByThisProcess = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else; it is alive all the same.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite has no lock of its own: two processes that open one directory each see only their own
 * writes and the last to close wins, silently losing data. We take an exclusive lock file holding
 * our pid, and take over a lock only when the process that wrote it is gone.
 *
 * A lock naming our own pid is stale unless this process took it: a container restarted after a
 * crash usually gets the same pid (often 1) as the life that left the lock behind.
 * Returns the function that releases the lock.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const path = resolve(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      heldByThisProcess.add(path);
      return () => {
        heldByThisProcess.delete(path);
        rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
      const heldElsewhere = holder === process.pid ? heldByThisProcess.has(path) : Number.isInteger(holder) && isAlive(holder);
      if (heldElsewhere) {
        throw new DataDirLockedError(
          `The embedded database directory '${dir}' is in use by process ${holder}. ` +
            'Stop that process, or give this one another DATA_DIR (or a DATABASE_URL).',
        );
      }
      rmSync(path, { force: true }); // stale lock from a process that died
    }
  }
  throw new DataDirLockedError(`Could not lock the embedded database directory '${dir}'`);
}
