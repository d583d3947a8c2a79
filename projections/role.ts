/**
 * The projections role: telemetry in, features.access and features.network out, exactly once.
 *
 * - One transactional consume-transform-produce processor (streams/) over vm-access,
 *   user-activity and network. Each partition's batch goes to its task (task.ts); the task's
 *   outputs, its `.late` records, its changelog delta and the consumed offsets commit in one
 *   Kafka transaction. A process killed anywhere restarts from the changelog at exactly the
 *   committed offsets: the same features, none twice.
 * - vm-state and scheduled-jobs are global tables: read in full (no group) and followed; the
 *   role bootstraps them to their end before it processes anything.
 * - A task whose in-memory state does not match the offsets a batch starts at (the partition
 *   was processed elsewhere after a rebalance, or a transaction aborted) is rebuilt from the
 *   changelog first.
 */
import * as os from 'node:os';
import type { Config } from '../core/config';
import { systemClock, type Clock } from '../core/clock';
import { ForesightError } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import { withRetry } from '../core/retry';
import type { ScheduledJob, Topic, VmState } from '../schemas/types';
import {
  changelogSpec,
  createSerde,
  ensureStreams,
  ensureTopics,
  physicalTopic,
  runTransactionalProcessor,
  type AnyRecord,
  type RunningProcessor,
  type Serde,
  type TxOutput,
} from '../streams';
import { coPartitionedAssigner } from './assigner';
import { createTables, resolveOptions, type GlobalTables, type ProjectionOptions } from './engines';
import { Task, taskIdOf, taskKindOf, type InputRecord, type InputTopic } from './task';
import { readTable, readTopic, type TopicReader } from './topic-reader';

export const PROJECTIONS_GROUP = 'foresight-projections';
/** Input partitions that deliver nothing this long (processing time) stop holding windows open. */
export const DEFAULT_IDLE_MS = 30_000;
const PRUNE_EVERY_BATCHES = 100;

const INPUT_TOPICS: readonly InputTopic[] = ['telemetry.vm-access', 'telemetry.user-activity', 'telemetry.network'];
const TABLE_TOPICS = ['telemetry.vm-state', 'telemetry.scheduled-jobs'] as const;
const OUTPUT_TOPICS: readonly Topic[] = ['features.access', 'features.network'];

export interface ProjectionsRoleOptions {
  config: Pick<Config, 'kafka' | 'schemaRegistry'>;
  namespace?: string;
  groupId?: string;
  /** Stable per instance: a restarted instance fences its killed predecessor's transactions. */
  instanceId?: string;
  projection?: ProjectionOptions;
  idleMs?: number;
  clock?: Clock;
  log?: Logger;
}

export interface ProjectionsCounters {
  batches: number;
  records: number;
  accessFeatures: number;
  networkFeatures: number;
  late: number;
  duplicates: number;
  restores: number;
  tableRecords: number;
  tableRecordsUndecodable: number;
}

export interface RunningProjections {
  readonly ready: Promise<void>;
  /** Rejects when the processor stopped on a non-retriable error. */
  readonly finished: Promise<void>;
  counters(): ProjectionsCounters;
  /** Keys and JSON bytes of state held, per task kind. */
  stateSize(): Record<'access' | 'network', { keys: number; bytes: number }>;
  stop(): Promise<void>;
}

export function changelogTopic(namespace?: string): string {
  return namespace ? `${namespace}.projections.changelog` : 'foresight.projections.changelog';
}

export async function startProjections(opts: ProjectionsRoleOptions): Promise<RunningProjections> {
  const log = (opts.log ?? silentLogger).child({ role: 'projections' });
  const clock = opts.clock ?? systemClock;
  const cfg = opts.config;
  const groupId = opts.groupId ?? PROJECTIONS_GROUP;
  const instanceId = opts.instanceId ?? `${os.hostname()}-${process.pid}`;
  const o = resolveOptions(opts.projection);
  const idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  const changelog = changelogTopic(opts.namespace);
  const counters: ProjectionsCounters = { batches: 0, records: 0, accessFeatures: 0, networkFeatures: 0, late: 0, duplicates: 0, restores: 0, tableRecords: 0, tableRecordsUndecodable: 0 };

  await ensureStreams(cfg, { namespace: opts.namespace, topics: [...INPUT_TOPICS, ...TABLE_TOPICS, ...OUTPUT_TOPICS], log });
  // Just-created topics can briefly be unknown to the broker's metadata: retriable, so retry.
  await withRetry(() => ensureTopics(cfg.kafka, { specs: [changelogSpec(changelog, 3)], log }), { retries: 8, initialMs: 250, maxMs: 5000 });

  const serde = createSerde({ registryUrl: cfg.schemaRegistry.url });
  const tables = createTables();
  const readers = await startTables(cfg.kafka, serde, tables, counters, log, opts.namespace);
  let stored = await readTable(cfg.kafka, changelog, log);
  log.info('restored changelog', { entries: stored.size });

  const tasks = new Map<string, Task>();
  const restore = (topic: InputTopic, partition: number): Task => {
    const t = Task.restore(taskKindOf(topic), partition, stored, o, tables, { idleMs, now: clock.now() });
    tasks.set(t.id, t);
    return t;
  };
  const reloadFromChangelog = async (topic: InputTopic, partition: number): Promise<Task> => {
    counters.restores++;
    stored = await readTable(cfg.kafka, changelog, log);
    return restore(topic, partition);
  };

  const processBatch = async (records: Array<AnyRecord<InputTopic>>, ctx: { topic: InputTopic; partition: number }) => {
    const { topic, partition } = ctx;
    const first = BigInt(records[0].offset);
    let task = tasks.get(taskIdOf(taskKindOf(topic), partition)) ?? restore(topic, partition);
    if (task.expectedOffset(topic) !== undefined && task.expectedOffset(topic) !== first) {
      task = await reloadFromChangelog(topic, partition);
      const expected = task.expectedOffset(topic);
      // A later start is records that went to the DLQ before us. An earlier one: the group's
      // offset is older than the changelog — the previous owner's transaction committed both,
      // but kafkajs fetches offsets without KIP-447's require_stable, so right after a rebalance
      // it can read the offset from before that commit's markers landed. Those records are in
      // the state already; folding them again would emit their features twice.
      if (expected !== undefined && first < expected) {
        log.warn('batch starts before the changelog state; skipping records already applied', { task: task.id, topic, partition, first: first.toString(), expected: expected.toString() });
      }
    }
    const fresh = task.unapplied(topic, records);
    const input: InputRecord[] = fresh.map((r) => ({ offset: r.offset, topic, value: r.value as InputRecord['value'] }));
    const res = task.process(topic, input, clock.now());
    counters.batches++;
    if (counters.batches % PRUNE_EVERY_BATCHES === 0) pruneTables(tables, tasks);
    counters.records += fresh.length;
    counters.late += res.late.length;
    counters.duplicates += res.duplicates;
    for (const f of res.outputs) {
      if (f.topic === 'features.access') counters.accessFeatures++;
      else counters.networkFeatures++;
    }
    const outputs: TxOutput[] = [
      ...res.outputs,
      ...res.changelog.map((c) => ({ rawTopic: changelog, key: c.key, value: c.value })),
    ];
    return { outputs, late: res.late };
  };

  let processor: RunningProcessor;
  try {
    processor = await runTransactionalProcessor<InputTopic>({
      kafka: cfg.kafka,
      registryUrl: cfg.schemaRegistry.url,
      groupId,
      transactionalId: `${groupId}-${instanceId}`,
      topics: INPUT_TOPICS,
      namespace: opts.namespace,
      fromBeginning: true,
      // vm-access p and user-activity p feed one task: they must go to the same member.
      partitionAssigners: [coPartitionedAssigner],
      serde,
      clock,
      log,
      processBatch,
      // The aborted batch changed a task in memory: forget it, so the retry rebuilds it from the changelog.
      onAbort: async ({ topic, partition }) => {
        tasks.delete(taskIdOf(taskKindOf(topic), partition));
        stored = await readTable(cfg.kafka, changelog, log);
        counters.restores++;
      },
    });
  } catch (err) {
    await Promise.all(readers.map((r) => r.stop()));
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    ready: processor.ready,
    finished: processor.finished,
    counters: () => ({ ...counters }),
    stateSize() {
      const out = { access: { keys: 0, bytes: 0 }, network: { keys: 0, bytes: 0 } };
      for (const t of tasks.values()) {
        const s = t.stateBytes();
        out[t.kind].keys += s.keys;
        out[t.kind].bytes += s.bytes;
      }
      return out;
    },
    stop() {
      stopping ??= (async () => {
        try {
          await processor.stop();
        } finally {
          await Promise.all(readers.map((r) => r.stop()));
        }
      })();
      return stopping;
    },
  };
}

/**
 * Drops table history older than the retention before the slowest task's watermark (keeping
 * the entry current at the cutoff), so as-of lookups at any window still to close are unchanged.
 */
function pruneTables(tables: GlobalTables, tasks: ReadonlyMap<string, Task>): void {
  let min = Infinity;
  for (const t of tasks.values()) min = Math.min(min, t.watermark);
  if (!Number.isFinite(min)) return;
  tables.vmState.prune(min);
  tables.jobs.prune(min);
}

/** Reads both global tables to their end, then keeps following them. */
async function startTables(
  kafka: Config['kafka'],
  serde: Serde,
  tables: GlobalTables,
  counters: ProjectionsCounters,
  log: Logger,
  namespace?: string,
): Promise<TopicReader[]> {
  const readers: TopicReader[] = [];
  for (const topic of TABLE_TOPICS) {
    readers.push(
      await readTopic({
        kafka,
        topic: physicalTopic(topic, namespace),
        follow: true,
        log,
        onMessage: async (m) => {
          try {
            const { value } = await serde.decode(topic, m.value);
            if (topic === 'telemetry.vm-state') tables.vmState.apply(value as VmState);
            else tables.jobs.apply(value as ScheduledJob);
            counters.tableRecords++;
          } catch (err) {
            // Every instance reads the whole table, so none of them owns DLQ'ing it; the
            // projection role's group DLQs nothing here and says so in the log.
            if (err instanceof ForesightError && !err.retriable) {
              counters.tableRecordsUndecodable++;
              log.warn('global table record skipped', { topic, partition: m.partition, offset: m.offset, error: err });
            } else throw err;
          }
        },
      }),
    );
  }
  await Promise.all(readers.map((r) => r.caughtUp));
  return readers;
}
