import type { Config } from '../../core/config';
import type { Topic, TopicRecords } from '../../schemas/types';
import { createSerde, physicalTopic, readTopic } from '../../streams';

/** Every committed record of a namespaced topic, decoded: what a consumer of the topic would see. */
export async function readRecords<T extends Topic>(cfg: Pick<Config, 'kafka' | 'schemaRegistry'>, topic: T, namespace: string, o: { idleMs?: number; timeoutMs?: number } = {}): Promise<Array<TopicRecords[T]>> {
  const serde = createSerde({ registryUrl: cfg.schemaRegistry.url });
  const raw = await readTopic(cfg.kafka, physicalTopic(topic, namespace), { fromBeginning: true, idleMs: o.idleMs ?? 1500, timeoutMs: o.timeoutMs ?? 30_000 });
  const out: Array<TopicRecords[T]> = [];
  for (const m of raw) out.push((await serde.decode(topic, m.value)).value as TopicRecords[T]);
  return out;
}
