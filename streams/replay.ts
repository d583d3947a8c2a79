import { silentLogger, type Logger } from '../core/log';
import { dlqTopic } from './catalogue';
import { DLQ_HEADERS } from './dlq';
import type { KafkaConnection } from './kafka';
import type { Producer } from './producer';
import { readTopic, type RawMessage } from './reader';

export interface ReplayResult {
  /** Records read from the DLQ. */
  read: number;
  /** Records sent back to the source topic (0 on a dry run). */
  replayed: number;
  /** Matching records by their dlq.reason. */
  byReason: Record<string, number>;
  /** Not matching --reason, or from another source topic. */
  skipped: number;
}

/** The record as first sent: its key, value and own headers, plus where it was replayed from. */
export function replayRecord(m: RawMessage): { key: string | null; value: Buffer | null; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) if (!k.startsWith('dlq.')) headers[k] = v;
  headers['replayed.from'] = `${m.topic}[${m.partition}]@${m.offset}`;
  return { key: m.key, value: m.value, headers };
}

/**
 * Sends the records of `<source>.dlq` back to `<source>`, unchanged, e.g. after the schema learnt
 * an enum symbol or a producer bug was fixed. Reads what the DLQ holds now (stops after `idleMs`
 * without a new record). Records still bad return to the DLQ; consumers are idempotent by
 * eventId, so replaying twice repeats nothing downstream.
 */
export async function replayDlq(
  conn: KafkaConnection,
  producer: Producer,
  source: string,
  opts: { reason?: string; dryRun?: boolean; idleMs?: number; log?: Logger } = {},
): Promise<ReplayResult> {
  const log = opts.log ?? silentLogger;
  const chosen: RawMessage[] = [];
  const byReason: Record<string, number> = {};
  let skipped = 0;
  const all = await readTopic(conn, dlqTopic(source), {
    fromBeginning: true,
    idleMs: opts.idleMs ?? 3000,
    log,
    onMessage: (m) => {
      const reason = m.headers[DLQ_HEADERS.reason] ?? 'unknown';
      const from = m.headers[DLQ_HEADERS.topic];
      if ((opts.reason && reason !== opts.reason) || (from && from !== source)) {
        skipped++;
        return;
      }
      byReason[reason] = (byReason[reason] ?? 0) + 1;
      chosen.push(m);
    },
  });
  let replayed = 0;
  if (!opts.dryRun) {
    for (let i = 0; i < chosen.length; i += 500) {
      const chunk = chosen.slice(i, i + 500).map(replayRecord);
      await producer.sendRaw(source, chunk);
      replayed += chunk.length;
    }
  }
  return { read: all.length, replayed, byReason, skipped };
}
