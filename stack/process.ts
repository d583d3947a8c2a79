import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ForesightError } from '../core/errors';
import { sleep } from '../core/retry';
import { mkdirp } from './layout';

/** What `stack up` records about a process it started, so `stack down` stops only that. */
export interface PidRecord {
  component: string;
  pid: number;
  /** A string that must appear in /proc/<pid>/cmdline: guards against a recycled pid. */
  marker: string;
  startedAt: string;
  log: string;
}

export class StackError extends ForesightError {
  constructor(message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super('STACK', message, opts);
  }
}

const pidFile = (runDir: string, component: string) => path.join(runDir, `${component}.pid.json`);

export function readPid(runDir: string, component: string): PidRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(pidFile(runDir, component), 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

export function removePid(runDir: string, component: string): void {
  fs.rmSync(pidFile(runDir, component), { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie answers kill(0) but is gone for our purposes.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

function cmdlineOf(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

/** The live process a pid file names, if it is still the one we started. */
export function runningRecord(runDir: string, component: string): PidRecord | undefined {
  const rec = readPid(runDir, component);
  if (!rec || !isAlive(rec.pid)) return undefined;
  const cmd = cmdlineOf(rec.pid);
  if (cmd !== undefined && !cmd.includes(rec.marker)) return undefined;
  return rec;
}

export interface StartSpec {
  component: string;
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  runDir: string;
  logFile: string;
  marker: string;
}

/** One previous generation is kept, so a log cannot fill the disk across many restarts. */
function rotate(logFile: string, maxBytes = 32 * 1024 * 1024): void {
  try {
    if (fs.statSync(logFile).size > maxBytes) fs.renameSync(logFile, `${logFile}.1`);
  } catch {
    /* no log yet */
  }
}

/**
 * Starts a process in its own session (detached) with output to its log, so `stack up` can
 * return while it keeps running, and `stack down` can stop its whole process group.
 */
export function startDetached(s: StartSpec): PidRecord {
  mkdirp(path.dirname(s.logFile));
  mkdirp(s.runDir);
  rotate(s.logFile);
  const fd = fs.openSync(s.logFile, 'a');
  fs.writeSync(fd, `\n--- ${new Date().toISOString()} starting ${s.component}\n`);
  try {
    const child = spawn(s.command, s.args, {
      cwd: s.cwd,
      env: s.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new StackError(`${s.component}: could not start ${s.command}; see ${s.logFile}`);
    child.unref();
    const rec: PidRecord = { component: s.component, pid: child.pid, marker: s.marker, startedAt: new Date().toISOString(), log: s.logFile };
    fs.writeFileSync(pidFile(s.runDir, s.component), JSON.stringify(rec));
    return rec;
  } finally {
    fs.closeSync(fd);
  }
}

/** SIGTERM to the process group, then SIGKILL after `graceMs`. Resolves when it is gone. */
export async function stopRecorded(runDir: string, component: string, graceMs = 30_000): Promise<boolean> {
  const rec = runningRecord(runDir, component);
  if (!rec) {
    removePid(runDir, component);
    return false;
  }
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-rec.pid, sig);
    } catch {
      try {
        process.kill(rec.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(rec.pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(rec.pid)) {
    signal('SIGKILL');
    while (isAlive(rec.pid)) await sleep(100);
  }
  removePid(runDir, component);
  return true;
}

/** Last lines of a log, for an error message that points at the cause. */
export function tail(file: string, lines = 5): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join(' | ').slice(-600);
  } catch {
    return '';
  }
}

/** True when something accepts TCP connections on host:port. */
export function portInUse(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (v: boolean) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** True when we could bind host:port now (a listener elsewhere or TIME_WAIT would say no). */
export function portBindable(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * A cross-process lock (O_EXCL file holding our pid), so two jest runs in one checkout do not
 * both start Kafka. A lock left by a dead process is taken over.
 */
export async function withLock<T>(file: string, fn: () => Promise<T>, waitMs = 10 * 60_000): Promise<T> {
  mkdirp(path.dirname(file));
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(fs.readFileSync(file, 'utf8').trim() || 'NaN');
      if (!Number.isInteger(holder) || !isAlive(holder)) {
        fs.rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new StackError(`another 'stack' command (pid ${holder}) holds ${file}; wait for it or remove the file if that process is gone`);
      }
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Called each round; throw to give up early (e.g. the process died). */
  check?: () => void;
}

/** Polls `probe` until it resolves true; returns the last error text on timeout. */
export async function waitUntil(probe: () => Promise<boolean>, o: WaitOptions): Promise<{ ok: boolean; lastError?: string }> {
  const deadline = Date.now() + o.timeoutMs;
  let lastError: string | undefined;
  for (;;) {
    o.check?.();
    try {
      if (await probe()) return { ok: true };
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() >= deadline) return { ok: false, lastError };
    await sleep(o.intervalMs ?? 500);
  }
}
