/**
 * A private esdb-local server as a child process, for tests that must own (and kill) their event
 * store: a free port (the server binds --port 0 and reports the port in its start line), its own
 * data dir, and kill/restart helpers. Started as `node --import tsx` directly, so a SIGKILL hits the
 * server itself and not a wrapper.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const ENTRY = path.join(ROOT, 'esdb-local', 'main.ts');

export interface EsdbProcessOptions {
  /** Reuse a data dir (e.g. after a kill); a fresh temp dir otherwise. */
  dataDir?: string;
  /** Bind this port instead of a free one (a restart keeps the old port so clients reconnect). */
  port?: number;
  tls?: { certFile: string; keyFile: string };
  extraArgs?: string[];
  /** Flags for node itself, e.g. --expose-gc. */
  nodeArgs?: string[];
  startTimeoutMs?: number;
}

export interface StartLine {
  port: number;
  events: number;
  end: number;
  truncatedBytes: number;
  heapUsedBytes: number;
  arrayBuffersBytes: number;
  [k: string]: unknown;
}

export interface EsdbProcess {
  readonly port: number;
  readonly dataDir: string;
  readonly pid: number;
  readonly connectionString: string;
  readonly startLine: StartLine;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Sends `signal` and resolves with the exit code (null when killed by a signal). */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGTERM and wait; the data dir is kept. */
  stop(): Promise<number | null>;
  /** SIGTERM, then removes the data dir if this helper created it. */
  dispose(): Promise<void>;
}

export async function startEsdbProcess(opts: EsdbProcessOptions = {}): Promise<EsdbProcess> {
  const ownsDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'esdb-local-test-'));
  const args = [...(opts.nodeArgs ?? []), '--import', 'tsx', ENTRY, '--host', '127.0.0.1', '--port', String(opts.port ?? 0), '--data', dataDir];
  if (opts.tls) args.push('--tls-cert', opts.tls.certFile, '--tls-key', opts.tls.keyFile);
  args.push(...(opts.extraArgs ?? []));
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const startLine = await waitForStart(child, () => err, exited, opts.startTimeoutMs ?? 30_000);
  const tls = !!opts.tls;
  const connectionString = tls
    ? `esdb://localhost:${startLine.port}?tls=true&tlsCAFile=${encodeURIComponent(opts.tls!.certFile)}`
    : `esdb://127.0.0.1:${startLine.port}?tls=false`;
  let done: Promise<number | null> | null = null;
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    done ??= exited;
    return done;
  };
  return {
    port: startLine.port,
    dataDir,
    pid: child.pid as number,
    connectionString,
    startLine,
    stderr: () => err,
    kill,
    stop: () => kill('SIGTERM'),
    async dispose() {
      await kill('SIGTERM');
      if (ownsDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitForStart(
  child: ChildProcess,
  stderr: () => string,
  exited: Promise<number | null>,
  timeoutMs: number,
): Promise<StartLine> {
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      new Promise<StartLine>((resolve) => {
        poll = setInterval(() => {
          for (const line of stderr().split('\n')) {
            if (!line.includes('"esdb-local started"')) continue;
            resolve(JSON.parse(line) as StartLine);
          }
        }, 25);
      }),
      exited.then((code) => {
        throw new Error(`esdb-local exited with ${code} before it started: ${stderr().trim().split('\n').slice(-3).join(' | ')}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`esdb-local did not start within ${timeoutMs} ms: ${stderr().trim()}`));
        }, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    clearInterval(poll);
  }
}

export interface ConformanceTarget {
  connectionString: string;
  /** True when EVENTSTORE_CONNECTION_STRING names the server (maybe a real EventStoreDB). */
  external: boolean;
  dispose(): Promise<void>;
}

/**
 * What the conformance suite talks to: EVENTSTORE_CONNECTION_STRING when set (so the same suite
 * runs unchanged against a real EventStoreDB), else a private esdb-local on a free port started
 * with `privateServerArgs`.
 */
export async function conformanceTarget(privateServerArgs: string[] = []): Promise<ConformanceTarget> {
  const external = process.env.EVENTSTORE_CONNECTION_STRING;
  if (external) return { connectionString: external, external: true, dispose: async () => undefined };
  const p = await startEsdbProcess({ extraArgs: privateServerArgs });
  return { connectionString: p.connectionString, external: false, dispose: () => p.dispose() };
}

/** A name no other test (or earlier run against a long-lived server) has used. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Polls `pred` until true; fails after `timeoutMs` with `what` in the message. */
export async function waitFor(pred: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
