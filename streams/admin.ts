import { ConfigError } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import { withRetry } from '../core/retry';
import type { Topic } from '../schemas';
import { catalogue, topicConfig, type TopicSpec } from './catalogue';
import { kafkaError } from './errors';
import { createKafka, type KafkaConnection } from './kafka';
import { deleteSubject, ensureSchemas, listSubjects } from './registry';

/**
 * Replication factor for new topics: 1 on the local single broker; a real cluster sets
 * KAFKA_REPLICATION_FACTOR (typically 3). Checked here, at the start-up admin step.
 */
export function replicationFactorFrom(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.KAFKA_REPLICATION_FACTOR?.trim();
  if (!raw) return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 32) throw new ConfigError(`KAFKA_REPLICATION_FACTOR=${raw} is not a replication factor; use a whole number such as 1 or 3, or unset it`);
  return n;
}

export interface EnsureTopicsResult {
  created: string[];
  existing: string[];
  /** Existing topics with fewer partitions than the catalogue asks for (left as they are). */
  mismatched: Array<{ name: string; partitions: number; wanted: number }>;
}

/**
 * Creates missing topics; leaves existing ones alone (idempotent). Partitions are never changed
 * behind a running system's back: growing them moves keys between partitions.
 */
export async function ensureTopics(
  conn: KafkaConnection,
  opts: { specs?: TopicSpec[]; replicationFactor?: number; log?: Logger } = {},
): Promise<EnsureTopicsResult> {
  const specs = opts.specs ?? catalogue();
  const log = opts.log ?? silentLogger;
  const admin = createKafka(conn, 'foresight-admin', log).admin();
  try {
    await admin.connect();
    const existingNames = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existingNames.has(s.name));
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.name,
          numPartitions: s.partitions,
          replicationFactor: opts.replicationFactor ?? replicationFactorFrom(),
          configEntries: topicConfig(s),
        })),
      });
    }
    const present = specs.filter((s) => existingNames.has(s.name));
    const mismatched: EnsureTopicsResult['mismatched'] = [];
    if (present.length) {
      const md = await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) });
      for (const t of md.topics) {
        const wanted = present.find((s) => s.name === t.name)!.partitions;
        if (t.partitions.length < wanted) mismatched.push({ name: t.name, partitions: t.partitions.length, wanted });
      }
    }
    for (const m of mismatched) log.warn('topic has fewer partitions than the catalogue', m);
    return { created: missing.map((s) => s.name), existing: present.map((s) => s.name), mismatched };
  } catch (err) {
    // Two processes racing to create the same topic: the loser sees TOPIC_ALREADY_EXISTS.
    if ((err as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return ensureTopics(conn, opts);
    throw kafkaError(err, 'ensure topics');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * The start-up admin step every role runs: topics and schemas exist, BACKWARD per subject.
 * Retries while the broker or registry is still coming up.
 */
export async function ensureStreams(
  cfg: { kafka: KafkaConnection; schemaRegistry: { url: string } },
  opts: { topics?: readonly Topic[]; namespace?: string; replicationFactor?: number; log?: Logger; retries?: number } = {},
): Promise<{ topics: EnsureTopicsResult; schemaIds: Map<Topic, number> }> {
  const log = opts.log ?? silentLogger;
  const retry = { retries: opts.retries ?? 8, initialMs: 250, maxMs: 5000, onRetry: (err: unknown, n: number) => log.warn('streams not ready, retrying', { attempt: n, error: err }) };
  const specs = catalogue(opts.namespace, opts.topics);
  const replicationFactor = opts.replicationFactor ?? replicationFactorFrom();
  const topics = await withRetry(() => ensureTopics(cfg.kafka, { specs, replicationFactor, log }), retry);
  const schemaIds = await withRetry(() => ensureSchemas(cfg.schemaRegistry.url, opts.topics, { namespace: opts.namespace }), retry);
  return { topics, schemaIds };
}

/**
 * Deletes every topic and value subject under a namespace (`<ns>.…`): what a test or benchmark
 * made, so a long-lived local stack does not fill up. Refuses an empty namespace.
 */
export async function dropNamespace(cfg: { kafka: KafkaConnection; schemaRegistry: { url: string } }, namespace: string, log: Logger = silentLogger): Promise<{ topics: string[]; subjects: string[] }> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(namespace)) throw new ConfigError(`dropNamespace: "${namespace}" is not a namespace`);
  const prefix = `${namespace}.`;
  const admin = createKafka(cfg.kafka, 'foresight-admin', log).admin();
  let topics: string[] = [];
  try {
    await admin.connect();
    topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
  } catch (err) {
    throw kafkaError(err, `drop namespace ${namespace}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const subjects = await listSubjects(cfg.schemaRegistry.url).then((all) => all.filter((s) => s.startsWith(prefix)));
  for (const s of subjects) await deleteSubject(cfg.schemaRegistry.url, s);
  return { topics, subjects };
}

/**
 * A group's committed offset per partition of `topic` (the next record it will read; 0 where it
 * has none). Read before the group's member starts, this is where its history ends: a value read
 * while a transaction commits is at worst older, never newer.
 */
export async function committedOffsets(conn: KafkaConnection, groupId: string, topic: string, log: Logger = silentLogger): Promise<Map<number, bigint>> {
  const admin = createKafka(conn, 'foresight-admin', log).admin();
  try {
    await admin.connect();
    // On a fresh broker the group's coordinator may still be loading (NOT_COORDINATOR): retriable.
    const [t] = await withRetry(
      () =>
        admin.fetchOffsets({ groupId, topics: [topic] }).catch((err: unknown) => {
          throw kafkaError(err, `read the offsets of ${groupId} on ${topic}`);
        }),
      { retries: 8, initialMs: 250, maxMs: 5000 },
    );
    const out = new Map<number, bigint>();
    for (const p of t?.partitions ?? []) out.set(p.partition, BigInt(p.offset) < 0n ? 0n : BigInt(p.offset));
    return out;
  } catch (err) {
    throw kafkaError(err, `read the offsets of ${groupId} on ${topic}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
