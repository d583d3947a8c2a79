/** Helpers for the projections integration and slow tests: publish telemetry, collect features. */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../core/config';
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

export const byEventId = (xs: readonly Feature[]) => [...xs].sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
