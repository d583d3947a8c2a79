import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive } from '../../stack/process';

/**
 * Several jest runs may share one checkout's stack (engineers, watch mode). Each run holds a
 * lease file while its tests use the stack; the run that started components stops them at
 * teardown only when no other live run holds a lease.
 */
export interface Lease {
  pid: number;
  started: string[];
}

const dir = (runDir: string) => path.join(runDir, 'leases');
const file = (runDir: string, pid: number) => path.join(dir(runDir), `${pid}.json`);

export function takeLease(runDir: string, started: string[]): void {
  fs.mkdirSync(dir(runDir), { recursive: true });
  const own = readLease(runDir, process.pid);
  const merged = [...new Set([...(own?.started ?? []), ...started])];
  fs.writeFileSync(file(runDir, process.pid), JSON.stringify({ pid: process.pid, started: merged }));
}

export function readLease(runDir: string, pid: number): Lease | undefined {
  try {
    return JSON.parse(fs.readFileSync(file(runDir, pid), 'utf8')) as Lease;
  } catch {
    return undefined;
  }
}

export function dropLease(runDir: string): Lease | undefined {
  const own = readLease(runDir, process.pid);
  fs.rmSync(file(runDir, process.pid), { force: true });
  return own;
}

/** Leases of other runs whose process is still alive; stale ones are removed on the way. */
export function otherLiveLeases(runDir: string): number[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir(runDir));
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const n of names) {
    const pid = Number(n.replace(/\.json$/, ''));
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (isAlive(pid)) live.push(pid);
    else fs.rmSync(path.join(dir(runDir), n), { force: true });
  }
  return live;
}
