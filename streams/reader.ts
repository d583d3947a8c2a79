import { randomUUID } from 'node:crypto';
import { InvalidInputError } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import { headersToStrings } from './dlq';
import { kafkaError } from './errors';
import { createKafka, type KafkaConnection } from './kafka';

export interface RawMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: number;
}

export interface ReadOptions {
  fromBeginning?: boolean;
  /** Stop after this many messages. */
  max?: number;
  /** Stop after this long (ms) in total. */
  timeoutMs?: number;
  /** Called per message, in order within a partition; return false to stop. */
  onMessage?(m: RawMessage): boolean | void | Promise<boolean | void>;
  /**
   * Stop once nothing has arrived for this long (ms) after joining: "read what is there now"
   * without knowing end offsets (transaction markers make those a poor guide).
   */
  idleMs?: number;
  /** Stop when this aborts (SIGINT in `alerts tail`). */
  signal?: AbortSignal;
  log?: Logger;
}

/**
 * Reads one topic's raw records outside any role's group, committing nothing (a throwaway group
 * that is deleted afterwards): for `alerts tail`, DLQ inspection and tests. Committed
 * transactional records only.
 */
export async function readTopic(conn: KafkaConnection, topic: string, opts: ReadOptions = {}): Promise<RawMessage[]> {
  const log = opts.log ?? silentLogger;
  const kafka = createKafka(conn, 'foresight-reader', log);
  const groupId = `foresight-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, allowAutoTopicCreation: false, readUncommitted: false });
  const out: RawMessage[] = [];
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const timer = opts.timeoutMs !== undefined ? setTimeout(stop, opts.timeoutMs) : undefined;
  opts.signal?.addEventListener('abort', () => stop(), { once: true });
  if (opts.signal?.aborted) stop();
  let lastActivity = 0;
  const idle =
    opts.idleMs !== undefined
      ? setInterval(() => {
          if (lastActivity && Date.now() - lastActivity >= opts.idleMs!) stop();
        }, Math.min(250, opts.idleMs))
      : undefined;
  consumer.on(consumer.events.GROUP_JOIN, () => (lastActivity = Date.now()));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: opts.fromBeginning ?? false });
    let done = false;
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message: m }) => {
        if (done) return;
        const msg: RawMessage = {
          topic: t,
          partition,
          offset: m.offset,
          key: m.key ? m.key.toString('utf8') : null,
          value: m.value ?? null,
          headers: headersToStrings(m.headers),
          timestamp: Number(m.timestamp),
        };
        out.push(msg);
        const more = opts.onMessage ? await opts.onMessage(msg) : undefined;
        lastActivity = Date.now();
        if (more === false || (opts.max !== undefined && out.length >= opts.max)) {
          done = true;
          stop();
        }
      },
    });
    if (opts.max === 0) stop();
    await stopped;
    return out;
  } catch (err) {
    if ((err as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION') throw new InvalidInputError(`topic ${topic} does not exist`, err);
    throw kafkaError(err, `read ${topic}`);
  } finally {
    if (timer) clearTimeout(timer);
    if (idle) clearInterval(idle);
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect().catch(() => undefined));
  }
}
