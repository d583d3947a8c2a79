import { loadConfig } from '../../core/config';
import type { Logger } from '../../core/log';
import { JsonlRecord, TelemetryTopic, TELEMETRY_TOPICS } from '../../schemas/types';
import { createProducer, ensureStreams } from '../../streams';

/**
 * `simulate --publish`: the records go to Kafka as Avro through the streams producer, in event
 * time order. With a speed-up, publishing is paced so that event time runs `speedup` times faster
 * than the wall clock (a day at 1440x takes a minute); without one, as fast as the broker takes it.
 */
export interface PublishOptions {
  speedup?: number;
  namespace?: string;
  log?: Logger;
  /** Injected for tests; real time otherwise. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const BATCH = 500;

export async function publishRecords(records: readonly JsonlRecord[], o: PublishOptions = {}): Promise<number> {
  const cfg = loadConfig();
  await ensureStreams(cfg, { namespace: o.namespace, topics: TELEMETRY_TOPICS, log: o.log });
  const producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: o.namespace, log: o.log });
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let sent = 0;
  try {
    await producer.connect();
    const t0 = now();
    const e0 = records.length ? records[0].value.timestamp : 0;
    for (let i = 0; i < records.length; ) {
      // A batch holds records up to one wall-clock tick apart, so pacing stays smooth.
      const limit = o.speedup ? records[i].value.timestamp + 200 * o.speedup : Infinity;
      let j = i;
      while (j < records.length && j - i < BATCH && records[j].value.timestamp <= limit) j++;
      if (o.speedup) {
        const due = t0 + (records[i].value.timestamp - e0) / o.speedup;
        const wait = due - now();
        if (wait > 0) await sleep(wait);
      }
      const byTopic = new Map<TelemetryTopic, JsonlRecord[]>();
      for (const r of records.slice(i, j)) {
        const t = r.topic as TelemetryTopic;
        byTopic.set(t, [...(byTopic.get(t) ?? []), r]);
      }
      for (const [topic, rs] of byTopic) await producer.send(topic, rs.map((r) => ({ key: r.key, value: r.value as never })));
      sent += j - i;
      i = j;
    }
  } finally {
    await producer.disconnect();
  }
  return sent;
}
