import * as fs from 'node:fs';
import * as path from 'node:path';
import { EventStoreDBClient, StreamNotFoundError } from '@eventstore/db-client';
import { projectRoot, type Config } from '../core/config';
import { UnavailableError } from '../core/errors';
import { layout, mkdirp } from './layout';
import { StackError, isAlive, startDetached, tail, waitUntil, type PidRecord } from './process';

/**
 * The local EventStoreDB-compatible server (esdb-local/), a separate program reached only over
 * gRPC. Until its entry point exists the stack reports the event store as not available yet.
 */

export interface EventStoreHealth {
  healthy: boolean;
  connectionString: string;
  error?: string;
}

export function eventStoreEntry(): string {
  return path.join(projectRoot(), 'esdb-local', 'main.ts');
}

export function eventStoreAvailable(): boolean {
  return fs.existsSync(eventStoreEntry());
}

export function startEventStore(cfg: Config, tls?: { cert: string; key: string }): PidRecord {
  const l = layout(cfg);
  mkdirp(l.eventStoreData);
  const args = ['--import', 'tsx', eventStoreEntry(), '--host', '127.0.0.1', '--port', String(cfg.ports.eventStore), '--data', l.eventStoreData];
  if (tls) args.push('--tls-cert', tls.cert, '--tls-key', tls.key);
  return startDetached({
    component: 'eventstore',
    command: process.execPath,
    args,
    cwd: projectRoot(),
    runDir: l.run,
    logFile: path.join(l.logs, 'eventstore.log'),
    marker: l.eventStoreData,
  });
}

/** Healthy when a read through @eventstore/db-client gets an answer (stream not found counts). */
export async function eventStoreHealth(connectionString: string, timeoutMs = 3000): Promise<EventStoreHealth> {
  const client = EventStoreDBClient.connectionString(connectionString);
  try {
    const read = async () => {
      try {
        for await (const _ of client.readStream(`$foresight-probe-${process.pid}`, { maxCount: 1 })) break;
      } catch (e) {
        if (!(e instanceof StreamNotFoundError)) throw e;
      }
    };
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      read(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    return { healthy: true, connectionString };
  } catch (e) {
    return { healthy: false, connectionString, error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  } finally {
    await client.dispose().catch(() => undefined);
  }
}

export async function waitForEventStore(connectionString: string, o: { timeoutMs?: number; rec?: PidRecord } = {}): Promise<EventStoreHealth> {
  let last: EventStoreHealth | undefined;
  const r = await waitUntil(
    async () => {
      last = await eventStoreHealth(connectionString);
      return last.healthy;
    },
    {
      timeoutMs: o.timeoutMs ?? 60_000,
      check: () => {
        if (o.rec && !isAlive(o.rec.pid)) throw new StackError(`event store exited during start-up: ${tail(o.rec.log, 3)}; see ${o.rec.log}`);
      },
    },
  );
  if (!r.ok || !last) throw new UnavailableError('event store', `${connectionString} did not answer (${last?.error ?? r.lastError ?? 'timeout'})`);
  return last;
}
