/** Helpers for the projections integration and slow tests: publish telemetry, collect features. */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../core/config';
import { createLogger, type Logger } from '../../core/log';
import { createProducer, done, ensureStreams, runConsumer, type RunningConsumer } from '../../streams';
import type { AccessFeatures, JsonlRecord, NetworkFeatures, TelemetryTopic } from '../../schemas/types';
import { TELEMETRY_TOPICS } from '../../schemas/types';
import { simulate } from '../../models/sim/simulate';

export const cfg = loadConfig();
export const uniqueNamespace = (what: string) => `t-${what}-${randomUUID().slice(0, 8)}`;

export function smallTelemetry(seed = 11): JsonlRecord[] {
  return simulate({ users: 10, vms: 6, networks: 2, days: 2, seed }).records;
}

export const isStreamInput = (r: JsonlRecord) =>
  r.topic === 'telemetry.vm-access' || r.topic === 'telemetry.user-activity' || r.topic === 'telemetry.network';

export async function publish(namespace: string, records: readonly JsonlRecord[]): Promise<void> {
  await ensureStreams(cfg, { namespace, topics: [...TELEMETRY_TOPICS, 'features.access', 'features.network'] });
  const p = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace });
  try {
    for (const topic of TELEMETRY_TOPICS) {
      const mine = records.filter((r) => r.topic === topic);
      for (let i = 0; i < mine.length; i += 500) {
        await p.send(topic as TelemetryTopic, mine.slice(i, i + 500).map((r) => ({ key: r.key, value: r.value as never })));
      }
    }
  } finally {
    await p.disconnect();
  }
}

export type Feature = AccessFeatures | NetworkFeatures;

export interface Collector {
  readonly features: Feature[];
  consumer: RunningConsumer;
}

/** Reads features.access and features.network (committed only) from the beginning. */
export async function collectFeatures(namespace: string): Promise<Collector> {
  const features: Feature[] = [];
  const consumer = await runConsumer({
    kafka: cfg.kafka,
    registryUrl: cfg.schemaRegistry.url,
    groupId: `collect-${randomUUID()}`,
    topics: ['features.access', 'features.network'],
    namespace,
    fromBeginning: true,
    handle: async (r) => {
      features.push(r.value as Feature);
      return done();
    },
  });
  await consumer.ready;
  return { features, consumer };
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Bounds one phase of a test, so a hang fails naming the phase instead of the whole test timing out. */
export async function within<T>(what: string, p: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A logger whose lines are kept, to print when a test fails (CI shows nothing else). */
export function capturedLog(): { log: Logger; dump(what: string): void } {
  const lines: string[] = [];
  const log = createLogger({}, { level: 'info', write: (l) => void (lines.push(l), lines.length > 400 && lines.shift()) });
  return { log, dump: (what) => console.error(`${what}: last ${lines.length} log lines\n${lines.join('\n')}`) };
}

export const byEventId = (xs: readonly Feature[]) => [...xs].sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));

import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Starts projections/main.ts as its own process (node --import tsx: one pid to kill). */
export function spawnRole(namespace: string, group: string, instance: string): { child: ChildProcess; progress: () => number; stderr: () => string } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'projections/main.ts'), '--namespace', namespace, '--group', group, '--instance', instance, '--idle-ms', '3600000', '--report-ms', '100'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'error' } },
  );
  let records = 0;
  let buf = '';
  let errTail = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      try {
        records = (JSON.parse(l) as { records: number }).records;
      } catch {
        /* not a counters line */
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => void (errTail = (errTail + d.toString('utf8')).slice(-2000)));
  return { child, progress: () => records, stderr: () => errTail };
}

export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/**
 * Runs the role in a child process and SIGKILLs it `kills` times at random points — after a
 * random number of records of what is left (as the child reports them), or a random delay after
 * it starts processing — then lets a last instance finish. The same instance id each time, so each restart fences its
 * predecessor's open transaction.
 */
export async function runWithKills(
  namespace: string,
  kills: number,
  random: () => number,
  expectCount: number,
  collector: Collector,
  inputs: number,
): Promise<{ killedAfterFeatures: number[] }> {
  const group = `${namespace}-g`;
  const killedAfterFeatures: number[] = [];
  for (let k = 0; k < kills; k++) {
    const { child, progress } = spawnRole(namespace, group, 'victim');
    const left = Math.max(1, Math.round(inputs * (1 - collector.features.length / expectCount)));
    const at = 1 + Math.floor(random() * left);
    // Half the kills after a record count, half after a delay from the first record (which can
    // land in a commit, or between batches).
    const byDelay = random() < 0.5;
    const delayMs = Math.floor(random() * 1500);
    try {
      const finished = () => collector.features.length >= expectCount || child.exitCode !== null;
      await waitFor('the role to reach its kill point', () => (byDelay ? progress() > 0 : progress() >= at) || finished(), 180_000);
      if (byDelay) await new Promise((r) => setTimeout(r, delayMs));
    } finally {
      await killHard(child);
    }
    killedAfterFeatures.push(collector.features.length);
    if (collector.features.length >= expectCount) break;
  }
  // The last instance runs to the end; like a supervisor, restart it should it exit by itself.
  const deadline = Date.now() + 240_000;
  let last = spawnRole(namespace, group, 'victim');
  try {
    while (collector.features.length < expectCount) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for every feature after the restarts; role stderr: ${last.stderr()}`);
      if (last.child.exitCode !== null) {
        process.stderr.write(`projections role exited with ${last.child.exitCode}; restarting: ${last.stderr().slice(-500)}\n`);
        last = spawnRole(namespace, group, 'victim');
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 2000)); // a duplicate, if any, would show up now
  } finally {
    await killHard(last.child);
  }
  return { killedAfterFeatures };
}

export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}
