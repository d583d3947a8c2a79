import type { EachBatchPayload, KafkaMessage, Message, PartitionAssigner, Producer as KafkaProducer } from 'kafkajs';
import { systemClock, type Clock } from '../core/clock';
import { ForesightError, isRetriable } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import { backoffDelay, sleep as realSleep } from '../core/retry';
import type { Topic, TopicRecords } from '../schemas';
import { dlqTopic, lateTopic } from './catalogue';
import { chunkBySize } from './chunk';
import { dlqHeaders, lateHeaders } from './dlq';
import { kafkaError } from './errors';
import { createKafka, type KafkaConnection } from './kafka';
import { logicalTopic, physicalTopic } from './naming';
import { newCounters, type Counters } from './outcome';
import { isRejected, toRecord, type AnyRecord } from './record';
import { createSerde, type Serde } from './serde';
import { connectAndSubscribe } from './subscribe';

/** An Avro output to a contract topic, or raw bytes to any topic (changelogs, tombstones). */
export type TxOutput =
  | { [K in Topic]: { topic: K; key: string; value: TopicRecords[K]; headers?: Record<string, string> } }[Topic]
  | { rawTopic: string; key: string; value: Buffer | null; headers?: Record<string, string> };

export interface BatchResult {
  outputs: TxOutput[];
  /** Offsets (of records given) the processor found invalid: their raw bytes go to `.dlq`. */
  dlq?: Array<{ offset: string; reason: string; detail?: string }>;
  /** Offsets past the grace period: their raw bytes go to `.late`. */
  late?: Array<{ offset: string; reason?: string }>;
}

export interface TransactionalOptions<T extends Topic> {
  kafka: KafkaConnection;
  registryUrl: string;
  groupId: string;
  /** Unique per running instance (e.g. `${groupId}-${hostname}-${pid}`). */
  transactionalId: string;
  topics: readonly T[];
  /**
   * Called with the decoded, valid records of one partition's batch, in offset order. Must not
   * write anywhere itself: everything it returns is committed atomically with the offsets.
   */
  processBatch(records: Array<AnyRecord<T>>, ctx: { topic: T; partition: number }): Promise<BatchResult>;
  /**
   * The transaction was aborted after processBatch ran: in-memory state it changed is now ahead
   * of Kafka. Restore it (e.g. reload from the changelog) before the batch is processed again.
   */
  onAbort?(ctx: { topic: T; partition: number; error: unknown }): Promise<void>;
  namespace?: string;
  /**
   * Where a group with no committed offset starts: the earliest retained record (default true),
   * so nothing published before a role first ran is skipped; false: only new records.
   */
  fromBeginning?: boolean;
  concurrency?: number;
  clock?: Clock;
  validate?: boolean;
  retry?: { initialMs?: number; maxMs?: number };
  /** Group assignment strategy; default round-robin. Co-partitioned inputs need theirs (projections/assigner.ts). */
  partitionAssigners?: PartitionAssigner[];
  serde?: Serde;
  log?: Logger;
  sleep?: (ms: number) => Promise<void>;
}

export interface RunningProcessor {
  readonly ready: Promise<void>;
  /** Rejects when a non-retriable error stopped the processor. */
  readonly finished: Promise<void>;
  counters(): Counters;
  stop(): Promise<void>;
}

/**
 * Consume-transform-produce with Kafka transactions: a partition's batch, its outputs, its DLQ
 * and late records and the group's next offsets commit together or not at all. Readers of the
 * outputs must read committed (runConsumer does).
 */
export async function runTransactionalProcessor<T extends Topic>(opts: TransactionalOptions<T>): Promise<RunningProcessor> {
  const log = (opts.log ?? silentLogger).child({ group: opts.groupId, transactionalId: opts.transactionalId });
  const clock = opts.clock ?? systemClock;
  const serde = opts.serde ?? createSerde({ registryUrl: opts.registryUrl });
  const sleepFn = opts.sleep ?? realSleep;
  const rp = { initialMs: opts.retry?.initialMs ?? 200, maxMs: opts.retry?.maxMs ?? 10_000 };
  const counters = newCounters();
  const kafka = createKafka(opts.kafka, opts.groupId, log);
  const producer: KafkaProducer = kafka.producer({ transactionalId: opts.transactionalId, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: opts.groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, maxWaitTimeInMs: 250, allowAutoTopicCreation: false, readUncommitted: false, partitionAssigners: opts.partitionAssigners });

  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  let finish!: (err?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));
  finished.catch(() => undefined);
  consumer.on(consumer.events.GROUP_JOIN, () => markReady());
  consumer.on(consumer.events.CRASH, (e) => {
    const { error, restart } = e.payload as { error: Error; restart: boolean };
    log.error('processor crashed', { error, restart });
    if (!restart) finish(kafkaError(error, 'processor crashed'));
  });

  // One producer has one transaction open at a time: with several partitions processed at once
  // (concurrency > 1), batches are computed in parallel but committed one after another.
  let txQueue: Promise<void> = Promise.resolve();
  const serially = (fn: () => Promise<void>): Promise<void> => {
    const run = txQueue.then(fn);
    txQueue = run.catch(() => undefined);
    return run;
  };

  const encodeOutputs = async (outputs: TxOutput[]): Promise<Map<string, Message[]>> => {
    const byTopic = new Map<string, Message[]>();
    const add = (t: string, m: Message) => (byTopic.get(t) ?? byTopic.set(t, []).get(t)!).push(m);
    for (const o of outputs) {
      if ('rawTopic' in o) add(o.rawTopic, { key: o.key, value: o.value, headers: o.headers });
      else {
        const physical = physicalTopic(o.topic, opts.namespace);
        add(physical, { key: o.key, value: await serde.encode(o.topic, o.value as never, physical), headers: o.headers });
      }
    }
    return byTopic;
  };

  // One attempt at a whole batch; throws on failure after aborting the transaction.
  const attemptBatch = async (topic: T, physical: string, partition: number, messages: KafkaMessage[]): Promise<{ dlq: string[]; late: number; processed: number }> => {
    const byOffset = new Map(messages.map((m) => [m.offset, m]));
    const records: Array<AnyRecord<T>> = [];
    const toDlq = new Map<string, { reason: string; detail: string }>();
    const now = opts.validate === false ? null : clock.now();
    for (const m of messages) {
      const r = await toRecord(serde, topic, physical, partition, m, now);
      if (isRejected(r)) toDlq.set(m.offset, { reason: r.reason, detail: r.detail });
      else records.push(r);
    }
    const result = records.length ? await opts.processBatch(records, { topic, partition }) : { outputs: [] };
    for (const d of result.dlq ?? []) toDlq.set(d.offset, { reason: d.reason, detail: d.detail ?? '' });
    const lateSet = new Map((result.late ?? []).filter((l) => !toDlq.has(l.offset)).map((l) => [l.offset, l.reason ?? 'late']));
    const out = await encodeOutputs(result.outputs);
    const dlqMsgs: Message[] = [];
    for (const [offset, d] of toDlq) {
      const m = byOffset.get(offset);
      if (m) dlqMsgs.push({ key: m.key, value: m.value, headers: { ...(m.headers as Record<string, Buffer>), ...dlqHeaders(d.reason, d.detail, { topic: physical, partition, offset }, opts.groupId) } });
    }
    const lateMsgs: Message[] = [];
    for (const [offset, reason] of lateSet) {
      const m = byOffset.get(offset);
      if (m) lateMsgs.push({ key: m.key, value: m.value, headers: { ...(m.headers as Record<string, Buffer>), ...lateHeaders(reason, { topic: physical, partition, offset }) } });
    }
    if (dlqMsgs.length) out.set(dlqTopic(physical), [...(out.get(dlqTopic(physical)) ?? []), ...dlqMsgs]);
    if (lateMsgs.length) out.set(lateTopic(physical), [...(out.get(lateTopic(physical)) ?? []), ...lateMsgs]);

    const last = messages[messages.length - 1].offset;
    await serially(async () => {
      // Beginning one looks the coordinator up: while a restarted broker elects it, that fails
      // retriably, and unmapped it stopped the processor instead of retrying the batch.
      const tx = await producer.transaction().catch((err: unknown) => {
        throw kafkaError(err, `begin transaction for ${physical}[${partition}]`);
      });
      try {
        for (const [t, msgs] of out) for (const part of chunkBySize(msgs)) await tx.send({ topic: t, messages: part, acks: -1 });
        await tx.sendOffsets({ consumerGroupId: opts.groupId, topics: [{ topic: physical, partitions: [{ partition, offset: (BigInt(last) + 1n).toString() }] }] });
        await tx.commit();
      } catch (err) {
        await tx.abort().catch((e) => log.warn('abort failed', { error: e }));
        throw kafkaError(err, `commit transaction for ${physical}[${partition}]`);
      }
    });
    return { dlq: [...toDlq.values()].map((d) => d.reason), late: lateMsgs.length, processed: messages.length - dlqMsgs.length - lateMsgs.length };
  };

  const eachBatch = async (p: EachBatchPayload): Promise<void> => {
    const physical = p.batch.topic;
    const topic = logicalTopic(physical, opts.namespace) as T;
    const partition = p.batch.partition;
    const messages = p.batch.messages;
    if (!messages.length) return;
    for (let n = 0; ; n++) {
      if (!p.isRunning() || p.isStale()) return;
      let r: Awaited<ReturnType<typeof attemptBatch>>;
      try {
        r = await attemptBatch(topic, physical, partition, messages);
      } catch (err) {
        if (opts.onAbort) await opts.onAbort({ topic, partition, error: err });
        if (!isRetriable(err)) {
          // A bug or a fenced producer: stop rather than loop or skip records.
          log.error('batch failed, stopping processor', { topic: physical, partition, error: err });
          finish(err instanceof ForesightError ? err : kafkaError(err, 'process batch'));
          void consumer.stop().catch(() => undefined);
          return;
        }
        counters.retried++;
        const delay = backoffDelay(n, rp);
        log.warn('batch will be retried', { topic: physical, partition, attempt: n + 1, delayMs: delay, error: err });
        for (let left = delay; left > 0; left -= 1000) {
          await sleepFn(Math.min(1000, left));
          await p.heartbeat();
        }
        continue;
      }
      counters.in += messages.length;
      counters.processed += r.processed;
      counters.dlq += r.dlq.length;
      for (const reason of r.dlq) counters.dlqByReason[reason] = (counters.dlqByReason[reason] ?? 0) + 1;
      counters.late += r.late;
      p.resolveOffset(messages[messages.length - 1].offset);
      // The batch is committed: a rebalance this heartbeat reports (REBALANCE_IN_PROGRESS) is
      // kafkajs's to handle by rejoining; caught as a failed batch it stopped the processor.
      await p.heartbeat();
      return;
    }
  };

  try {
    await producer.connect();
    await connectAndSubscribe(consumer, opts.topics.map((t) => physicalTopic(t, opts.namespace)), { fromBeginning: opts.fromBeginning ?? true, what: `subscribe ${opts.groupId}`, log });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: opts.concurrency ?? 1, eachBatch });
  } catch (err) {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    throw kafkaError(err, `start processor ${opts.groupId}`);
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
          await producer.disconnect().catch(() => undefined);
          finish();
        }
      })();
      return stopping;
    },
  };
}
