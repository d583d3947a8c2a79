import type { KafkaMessage } from 'kafkajs';
import type { Topic, TopicRecords } from '../schemas';
import { headersToStrings } from './dlq';
import { BadRecordError } from './errors';
import type { Serde } from './serde';
import { MAX_VALUE_BYTES, validateRecord } from './validate';

export interface ConsumedRecord<T extends Topic = Topic> {
  topic: T;
  /** The Kafka topic it came from (differs from `topic` under a namespace). */
  physicalTopic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: TopicRecords[T];
  headers: Record<string, string>;
  schemaId: number;
  /** Broker/producer timestamp (epoch ms); event time is `value.timestamp`. */
  kafkaTimestamp: number;
}

/** A record of any of `T`, narrowed by `record.topic`. */
export type AnyRecord<T extends Topic> = { [K in T]: ConsumedRecord<K> }[T];

export type Rejected = { rejected: true; reason: string; detail: string };

/**
 * Decodes and checks one Kafka message. Bad input comes back as Rejected (DLQ it); a registry
 * outage is thrown (retriable UnavailableError) so the caller retries instead.
 */
export async function toRecord<T extends Topic>(
  serde: Serde,
  topic: T,
  physical: string,
  partition: number,
  m: KafkaMessage,
  now: number | null,
): Promise<AnyRecord<T> | Rejected> {
  // Decoding a huge value costs memory and time for nothing: no record of ours is near this size.
  if (m.value && m.value.length > MAX_VALUE_BYTES) return { rejected: true, reason: 'oversized', detail: `value of ${m.value.length} bytes exceeds ${MAX_VALUE_BYTES}` };
  try {
    const { value, schemaId } = await serde.decode(topic, m.value);
    if (now !== null) {
      const problems = validateRecord(topic, value, now);
      if (problems.length) return { rejected: true, reason: 'invalid', detail: problems.join('; ') };
    }
    return {
      topic,
      physicalTopic: physical,
      partition,
      offset: m.offset,
      key: m.key ? m.key.toString('utf8') : null,
      value,
      headers: headersToStrings(m.headers),
      schemaId,
      kafkaTimestamp: Number(m.timestamp),
    } as AnyRecord<T>;
  } catch (err) {
    if (err instanceof BadRecordError) return { rejected: true, reason: err.reason, detail: err.detail };
    throw err;
  }
}

export const isRejected = (r: unknown): r is Rejected => (r as Rejected)?.rejected === true;
