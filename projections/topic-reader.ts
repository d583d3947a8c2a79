/**
 * Reads every partition of a topic from the beginning, knows when it has caught up with the end
 * it saw at start, and keeps following if asked. Used to restore state from changelogs and to
 * bootstrap the global tables before processing (as Kafka Streams does for global stores).
 *
 * An adapter: the only kafkajs use in projections/. streams/ offers group consumers only; a
 * reader of all partitions with no committed offsets is a different thing, so it lives here
 * (a candidate to move into streams/). Reads committed data only.
 */
import { randomUUID } from 'node:crypto';
import { silentLogger, type Logger } from '../core/log';
import { withRetry } from '../core/retry';
import { headersToStrings } from '../streams/dlq';
import { kafkaError } from '../streams/errors';
import { createKafka, type KafkaConnection } from '../streams/kafka';

export interface RawMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface TopicReader {
  /** Resolves once every partition is read up to the end offsets seen at start. */
  readonly caughtUp: Promise<void>;
  stop(): Promise<void>;
}

export interface ReaderOptions {
  kafka: KafkaConnection;
  topic: string;
  onMessage(m: RawMessage): void | Promise<void>;
  /** Keep following after catching up (global tables); default false: stop at the end. */
  follow?: boolean;
  log?: Logger;
}

export async function readTopic(opts: ReaderOptions): Promise<TopicReader> {
  const log = opts.log ?? silentLogger;
  const kafka = createKafka(opts.kafka, 'foresight-projections-reader', log);
  // Leaders of a just-created topic can take a moment to settle: that error is retriable.
  const ends = await withRetry(
    async () => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        return await admin.fetchTopicOffsets(opts.topic);
      } catch (err) {
        throw kafkaError(err, `read end offsets of ${opts.topic}`);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    { retries: 8, initialMs: 200, maxMs: 3000 },
  );
  const target = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]));
  const position = new Map<number, bigint>();
  let done!: () => void;
  const caughtUp = new Promise<void>((r) => (done = r));
  let reached = false;
  const check = () => {
    if (reached) return;
    for (const [p, high] of target) if ((position.get(p) ?? -1n) < high) return;
    reached = true;
    done();
  };

  // A fresh group each time, never committed: this reader always starts from the beginning.
  const consumer = kafka.consumer({ groupId: `foresight-reader-${randomUUID()}`, maxWaitTimeInMs: 100, readUncommitted: false, allowAutoTopicCreation: false });
  // Batches that hold only transaction markers are not given to eachBatch but still move the
  // position; the instrumentation event sees both kinds.
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    const { partition, lastOffset } = e.payload as { partition: number; lastOffset: string };
    const next = BigInt(lastOffset) + 1n;
    if (next > (position.get(partition) ?? -1n)) position.set(partition, next);
    check();
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        for (const m of batch.messages) await opts.onMessage({ partition: batch.partition, offset: m.offset, key: m.key, value: m.value, headers: headersToStrings(m.headers) });
        await heartbeat();
      },
    });
  } catch (err) {
    await consumer.disconnect().catch(() => undefined);
    throw kafkaError(err, `read ${opts.topic}`);
  }
  check();
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= consumer.disconnect().catch((err) => log.warn('reader disconnect failed', { error: err })));
  if (!opts.follow) await caughtUp.then(stop);
  return { caughtUp, stop };
}

/** The latest value of every key of a (compacted) topic, up to its end now. null = tombstone. */
export async function readTable(kafka: KafkaConnection, topic: string, log?: Logger): Promise<Map<string, Buffer | null>> {
  const table = new Map<string, Buffer | null>();
  await readTopic({ kafka, topic, log, onMessage: (m) => void table.set(m.key?.toString('utf8') ?? '', m.value) });
  return table;
}
