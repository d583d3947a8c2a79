import type { Admin } from 'kafkajs';
import type { Logger } from '../core/log';
import type { MetricsRegistry } from '../core/metrics';
import type { Health, RoleName } from '../core/role';
import { TOPICS, type Topic } from '../schemas';
import { INPUT_TOPICS, dlqTopic, lateTopic, physicalTopic, type KafkaConnection } from '../streams';
import { createKafka } from '../streams/kafka';

/** The consumer group and input topics of each role (the groups the roles name themselves). */
export const ROLE_INPUTS: Record<RoleName, { group: string; topics: readonly Topic[] }> = {
  projections: { group: 'foresight-projections', topics: ['telemetry.vm-access', 'telemetry.user-activity', 'telemetry.network'] },
  scorer: { group: 'foresight-scorer', topics: ['features.access', 'features.network'] },
  provisioner: { group: 'foresight-provisioner', topics: ['risk.access'] },
  hsm: { group: 'foresight-hsm', topics: ['risk.workload'] },
  api: { group: '', topics: [] },
};

export interface LagSampler {
  /** Kafka readiness as seen by the last sample. */
  health(): Health;
  sampleNow(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Samples, every few seconds, the consumer lag and committed offsets of the groups of the roles
 * this process runs, and the end offsets of every topic (DLQ and late topics included), into
 * the process's registry:
 *   foresight_consumer_lag{group,topic}            records behind the end, summed over partitions
 *   foresight_consumer_records_total{group,topic}  committed progress (rate() = throughput)
 *   foresight_topic_end_offset{topic}              records written (transaction markers included)
 *   foresight_dlq_records{topic}, foresight_late_records{topic}   the same, for .dlq / .late
 * Lag is the group's view, so several processes of one role report the same number.
 */
export function startLagSampler(o: { kafka: KafkaConnection; roles: readonly RoleName[]; groupPrefix: string; namespace?: string; metrics: MetricsRegistry; log: Logger; everyMs?: number }): LagSampler {
  const m = o.metrics;
  const lag = m.gauge('foresight_consumer_lag', 'Records between the group\'s committed offset and the end of the topic, summed over partitions.');
  const progress = m.counter('foresight_consumer_records_total', 'Records the group has committed past (rate() is its throughput).');
  const ends = m.gauge('foresight_topic_end_offset', 'End offset of the topic summed over partitions (transaction markers included).');
  const dlq = m.gauge('foresight_dlq_records', 'Records in the dead-letter topic (end offsets summed).');
  const lateG = m.gauge('foresight_late_records', 'Records in the late topic (end offsets summed).');
  const kafka = createKafka(o.kafka, 'foresight-ops', o.log);
  const admin: Admin = kafka.admin();
  let connected: Promise<void> | undefined;
  let lastOk = 0;
  let lastError: string | undefined;
  const committedSeen = new Map<string, number>();

  const groups = o.roles.filter((r) => ROLE_INPUTS[r].group).map((r) => ({ group: `${o.groupPrefix}${ROLE_INPUTS[r].group}`, topics: ROLE_INPUTS[r].topics }));
  const topicNames = [
    ...TOPICS.map((t) => physicalTopic(t, o.namespace)),
    ...INPUT_TOPICS.flatMap((t) => [dlqTopic(physicalTopic(t, o.namespace)), lateTopic(physicalTopic(t, o.namespace))]),
  ];

  const sample = async (): Promise<void> => {
    connected ??= admin.connect();
    await connected;
    const existing = new Set(await admin.listTopics());
    const end = new Map<string, Map<number, number>>();
    for (const t of topicNames.filter((n) => existing.has(n))) {
      const offs = await admin.fetchTopicOffsets(t);
      end.set(t, new Map(offs.map((p) => [p.partition, Number(p.high)])));
      const total = offs.reduce((s, p) => s + Number(p.high), 0);
      if (t.endsWith('.dlq')) dlq.set(total, { topic: t });
      else if (t.endsWith('.late')) lateG.set(total, { topic: t });
      else ends.set(total, { topic: t });
    }
    for (const g of groups) {
      const physical = g.topics.map((t) => physicalTopic(t, o.namespace)).filter((t) => existing.has(t));
      if (!physical.length) continue;
      const committed = await admin.fetchOffsets({ groupId: g.group, topics: physical });
      for (const t of committed) {
        let behind = 0;
        let done = 0;
        for (const p of t.partitions) {
          const high = end.get(t.topic)?.get(p.partition) ?? 0;
          const c = Number(p.offset) >= 0 ? Number(p.offset) : 0;
          behind += Math.max(0, high - c);
          done += c;
        }
        const labels = { group: g.group, topic: t.topic };
        lag.set(behind, labels);
        const key = `${g.group}|${t.topic}`;
        const prev = committedSeen.get(key);
        if (prev !== undefined && done > prev) progress.inc(labels, done - prev);
        committedSeen.set(key, done);
      }
    }
  };

  let running: Promise<void> | undefined;
  const sampleNow = () =>
    (running ??= sample()
      .then(() => {
        lastOk = Date.now();
        lastError = undefined;
      })
      .catch((err: unknown) => {
        connected = undefined;
        lastError = err instanceof Error ? err.message : String(err);
        o.log.warn('lag sample failed; will try again', { error: err });
      })
      .finally(() => (running = undefined)));
  const timer = setInterval(() => void sampleNow(), o.everyMs ?? 5000);
  timer.unref();
  void sampleNow();

  return {
    health: () => ({ kafka: lastError ? { ok: false, detail: lastError } : lastOk ? { ok: true } : { ok: false, detail: 'not sampled yet' } }),
    sampleNow,
    async stop() {
      clearInterval(timer);
      await running;
      await admin.disconnect().catch(() => undefined);
    },
  };
}
