import type { Consumer as KafkaConsumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { systemClock, type Clock } from '../core/clock';
import { isRetriable } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import { backoffDelay, sleep as realSleep } from '../core/retry';
import type { Topic } from '../schemas';
import { dlqTopic, lateTopic } from './catalogue';
import { dlqHeaders, lateHeaders } from './dlq';
import { kafkaError } from './errors';
import { createKafka, type KafkaConnection } from './kafka';
import { logicalTopic, physicalTopic } from './naming';
import { newCounters, type Counters, type Outcome } from './outcome';
import { createProducer, type Producer } from './producer';
import { isRejected, toRecord, type AnyRecord } from './record';
import { createSerde, type Serde } from './serde';
import { connectAndSubscribe } from './subscribe';

export type { AnyRecord, ConsumedRecord } from './record';

export interface ConsumerOptions<T extends Topic> {
  kafka: KafkaConnection;
  registryUrl: string;
  groupId: string;
  topics: readonly T[];
  handle(record: AnyRecord<T>): Promise<Outcome>;
  /** Called after each fetched batch of one partition is settled (e.g. to flush state). */
  onBatch?(info: { topic: T; partition: number; records: number }): Promise<void>;
  namespace?: string;
  /**
   * Where a group with no committed offset starts: the earliest retained record (default true),
   * so nothing published before a role first ran is skipped; false: only new records.
   */
  fromBeginning?: boolean;
  /** Partitions processed at once; records of one partition are always handled in order. */
  concurrency?: number;
  /** 'now' for the plausibility checks. */
  clock?: Clock;
  /** Semantic checks (validate.ts) before `handle`; default on. */
  validate?: boolean;
  retry?: { initialMs?: number; maxMs?: number; maxAttempts?: number };
  serde?: Serde;
  /**
   * Producer for DLQ/late writes; one is made (and owned) when absent. A shared one should not be
   * idempotent: kafkajs retries an idempotent send without limit, so stop() would wait for Kafka.
   */
  producer?: Producer;
  log?: Logger;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface RunningConsumer {
  /** Resolves when this member has joined the group and got its partitions. */
  readonly ready: Promise<void>;
  /** Settles when the consumer stops; rejects if it crashed beyond kafkajs's own restarts. */
  readonly finished: Promise<void>;
  counters(): Counters;
  /** Stop fetching, finish the record in hand, commit settled offsets, leave the group, disconnect. */
  stop(): Promise<void>;
}

const ABANDON = Symbol('abandon');

/**
 * Runs a consumer-group member. Offsets are resolved only after a record's outcome is durable
 * (DLQ/late write acknowledged by all in-sync replicas), and committed after each batch, so a
 * crash or rebalance re-delivers (at least once) but never skips. Handlers must be idempotent
 * (records carry `eventId`).
 */
export async function runConsumer<T extends Topic>(opts: ConsumerOptions<T>): Promise<RunningConsumer> {
  const log = (opts.log ?? silentLogger).child({ group: opts.groupId });
  const clock = opts.clock ?? systemClock;
  const serde = opts.serde ?? createSerde({ registryUrl: opts.registryUrl });
  const ownProducer = !opts.producer;
  // Not idempotent: its sends give up after a few tries, so durableWrite's loop (which watches
  // for stop() and rebalances) owns the retrying; a duplicate DLQ record is harmless.
  const producer = opts.producer ?? createProducer({ kafka: opts.kafka, registryUrl: opts.registryUrl, serde, clientId: `${opts.groupId}-dlq`, log, idempotent: false });
  const sleepFn = opts.sleep ?? realSleep;
  const rp = { initialMs: opts.retry?.initialMs ?? 200, maxMs: opts.retry?.maxMs ?? 10_000, random: opts.random };
  const maxAttempts = opts.retry?.maxAttempts ?? 5;
  const counters = newCounters();
  const validate = opts.validate ?? true;

  const kafka = createKafka(opts.kafka, opts.groupId, log);
  const consumer: KafkaConsumer = kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 250,
    allowAutoTopicCreation: false,
    readUncommitted: false,
  });

  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  let finish!: (err?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));
  finished.catch(() => undefined);
  consumer.on(consumer.events.GROUP_JOIN, () => markReady());
  consumer.on(consumer.events.CRASH, (e) => {
    const { error, restart } = e.payload as { error: Error; restart: boolean };
    log.error('consumer crashed', { error, restart });
    if (!restart) finish(kafkaError(error, 'consumer crashed'));
  });

  // One attempt: decode, check, handle. Thrown errors become outcomes here.
  const attempt = async (topic: T, physical: string, partition: number, m: KafkaMessage): Promise<Outcome> => {
    try {
      const record = await toRecord(serde, topic, physical, partition, m, validate ? clock.now() : null);
      if (isRejected(record)) return { kind: 'dlq', reason: record.reason, detail: record.detail };
      return await opts.handle(record);
    } catch (err) {
      return { kind: 'retry', error: err };
    }
  };

  const waitOrAbandon = async (ms: number, p: EachBatchPayload): Promise<boolean> => {
    // Sleep in slices, heartbeating, so a long backoff neither loses the group nor delays stop().
    for (let left = ms; left > 0; left -= 1000) {
      if (!p.isRunning() || p.isStale()) return false;
      await sleepFn(Math.min(1000, left));
      await p.heartbeat();
    }
    return p.isRunning() && !p.isStale();
  };

  const settle = async (topic: T, physical: string, partition: number, m: KafkaMessage, p: EachBatchPayload): Promise<Outcome | typeof ABANDON> => {
    for (let n = 0; ; n++) {
      const o = await attempt(topic, physical, partition, m);
      if (o.kind !== 'retry') return o;
      if (!isRetriable(o.error) && n + 1 >= maxAttempts) {
        return { kind: 'dlq', reason: 'retries-exhausted', detail: (o.error as Error)?.message ?? String(o.error) };
      }
      counters.retried++;
      const delay = backoffDelay(n, rp);
      log.warn('record will be retried', { topic: physical, partition, offset: m.offset, attempt: n + 1, delayMs: delay, error: o.error });
      if (!(await waitOrAbandon(delay, p))) return ABANDON;
    }
  };

  // The DLQ/late write must be acknowledged before the offset moves; while Kafka is down it is retried.
  const durableWrite = async (target: string, m: KafkaMessage, headers: Record<string, string>, p: EachBatchPayload): Promise<boolean> => {
    for (let n = 0; ; n++) {
      try {
        await producer.sendRaw(target, [{ key: m.key ?? null, value: m.value ?? null, headers: { ...(m.headers as Record<string, Buffer>), ...headers } }]);
        return true;
      } catch (err) {
        log.warn('DLQ/late write failed, retrying', { target, attempt: n + 1, error: err });
        if (!(await waitOrAbandon(backoffDelay(n, rp), p))) return false;
      }
    }
  };

  const eachBatch = async (p: EachBatchPayload): Promise<void> => {
    const physical = p.batch.topic;
    const topic = logicalTopic(physical, opts.namespace) as T;
    const partition = p.batch.partition;
    let settled = 0;
    let lastBeat = Date.now();
    for (const m of p.batch.messages) {
      if (!p.isRunning() || p.isStale()) break;
      const o = await settle(topic, physical, partition, m, p);
      if (o === ABANDON) break;
      const src = { topic: physical, partition, offset: m.offset };
      if (o.kind === 'dlq') {
        if (!(await durableWrite(dlqTopic(physical), m, dlqHeaders(o.reason, o.detail ?? '', src, opts.groupId), p))) break;
        counters.dlq++;
        counters.dlqByReason[o.reason] = (counters.dlqByReason[o.reason] ?? 0) + 1;
        log.warn('record sent to DLQ', { ...src, reason: o.reason, detail: o.detail });
      } else if (o.kind === 'late') {
        if (!(await durableWrite(lateTopic(physical), m, lateHeaders(o.reason ?? 'late', src), p))) break;
        counters.late++;
      } else {
        counters.processed++;
      }
      counters.in++;
      settled++;
      p.resolveOffset(m.offset);
      // kafkajs throttles heartbeats itself; skipping the call between records saves its promise
      // chain on fast handlers, while a slow one still beats at least once a second.
      if (Date.now() - lastBeat >= 1000) {
        await p.heartbeat();
        lastBeat = Date.now();
      }
    }
    if (settled && opts.onBatch) await opts.onBatch({ topic, partition, records: settled });
  };

  try {
    await connectAndSubscribe(consumer, opts.topics.map((t) => physicalTopic(t, opts.namespace)), { fromBeginning: opts.fromBeginning ?? true, what: `subscribe ${opts.groupId}`, log });
    if (ownProducer) await producer.connect();
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.concurrency ?? 1,
      eachBatch,
    });
  } catch (err) {
    await consumer.disconnect().catch(() => undefined);
    if (ownProducer) await producer.disconnect();
    throw kafkaError(err, `start consumer ${opts.groupId}`);
  }

  let stopping: Promise<void> | undefined;
  return {
    ready,
    finished,
    counters: () => ({ ...counters, dlqByReason: { ...counters.dlqByReason } }),
    stop() {
      stopping ??= (async () => {
        try {
          await consumer.disconnect();
        } finally {
          if (ownProducer) await producer.disconnect();
          log.info('consumer stopped', { ...counters });
          finish();
        }
      })();
      return stopping;
    },
  };
}
