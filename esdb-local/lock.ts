/**
 * One server per data dir: two writers appending to the same log would interleave frames and
 * corrupt it. The lock file holds the owner's pid; a lock left by a dead process (kill -9) is
 * taken over.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const LOCK_FILE = 'LOCK';

export class DataDirLockedError extends Error {}

/** Whether `pid` is a live esdb-local (a reused pid of some other program does not count). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return pid === process.pid || cmdline.includes('esdb-local');
  } catch {
    return true; // no /proc: trust the pid
  }
}

/** Takes the lock on `dir` for this process; returns the release function. */
export function lockDataDir(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new DataDirLockedError(`data dir ${dir} is in use by pid ${owner}; stop that server or pass another --data`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new DataDirLockedError(`could not lock data dir ${dir}; another server keeps taking it`);
}
