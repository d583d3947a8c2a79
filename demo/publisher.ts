import { sleep } from '../core/retry';
import type { JsonlRecord, TelemetryTopic } from '../schemas/types';
import type { Producer } from '../streams';
import type { ScaledClock } from '../roles/clock';

export type TopicCounts = Partial<Record<TelemetryTopic, number>>;

/** Sends records grouped by topic, in their order within each topic. */
async function sendGroup(producer: Producer, records: readonly JsonlRecord<TelemetryTopic>[], counts: TopicCounts): Promise<void> {
  const by = new Map<TelemetryTopic, JsonlRecord<TelemetryTopic>[]>();
  for (const r of records) (by.get(r.topic) ?? by.set(r.topic, []).get(r.topic)!).push(r);
  for (const [topic, rs] of by) {
    await producer.send(topic, rs.map((r) => ({ key: r.key, value: r.value })) as never);
    counts[topic] = (counts[topic] ?? 0) + rs.length;
  }
}

/** The warm-up: history published as fast as the broker takes it. */
export async function publishAll(producer: Producer, records: readonly JsonlRecord<TelemetryTopic>[], counts: TopicCounts, onProgress?: (sent: number) => void): Promise<void> {
  for (let i = 0; i < records.length; i += 1000) {
    await sendGroup(producer, records.slice(i, i + 1000), counts);
    onProgress?.(Math.min(records.length, i + 1000));
  }
}

/**
 * The live part: each record goes out when the scaled clock reaches its event time, as a
 * producer would have sent it in the simulated day. `due` hears of each record as it goes.
 */
export async function replay(
  producer: Producer,
  records: readonly JsonlRecord<TelemetryTopic>[],
  clock: ScaledClock,
  counts: TopicCounts,
  o: { stopped: () => boolean; due?: (r: JsonlRecord<TelemetryTopic>) => void },
): Promise<void> {
  let i = 0;
  while (i < records.length && !o.stopped()) {
    const now = clock.now();
    let j = i;
    while (j < records.length && records[j].value.timestamp <= now) j++;
    if (j > i) {
      const batch = records.slice(i, j);
      await sendGroup(producer, batch, counts);
      for (const r of batch) o.due?.(r);
      i = j;
    } else {
      await sleep(Math.min(100, Math.max(5, clock.wallMsUntil(records[i].value.timestamp))));
    }
  }
}
