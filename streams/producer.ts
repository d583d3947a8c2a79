import { CompressionTypes, Partitioners, type Message, type Producer as KafkaProducer } from 'kafkajs';
import { silentLogger, type Logger } from '../core/log';
import type { Topic, TopicRecords } from '../schemas';
import { kafkaError } from './errors';
import { createKafka, type KafkaConnection } from './kafka';
import { physicalTopic } from './naming';
import { createSerde, type Serde } from './serde';

/** A typed record for a contract topic: string key, Avro value. */
export interface OutRecord<T extends Topic = Topic> {
  key: string;
  value: TopicRecords[T];
  headers?: Record<string, string>;
}

/** Bytes as they are (DLQ, `.late`, interop tests): nothing is encoded or checked. */
export interface RawRecord {
  key: string | Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string | Buffer>;
  partition?: number;
}

export interface Producer {
  /** Encodes every value (failing before anything is sent if one is invalid), then sends with acks=all. */
  send<T extends Topic>(topic: T, records: OutRecord<T>[]): Promise<void>;
  /** `topic` is the physical name, used as is. */
  sendRaw(topic: string, records: RawRecord[]): Promise<void>;
  /** Fails fast with UnavailableError when the broker cannot be reached. */
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  readonly serde: Serde;
}

export interface ProducerOptions {
  kafka: KafkaConnection;
  registryUrl: string;
  clientId?: string;
  log?: Logger;
  /** Topics are `<namespace>.<topic>` when set (tests, benchmarks); see naming.ts. */
  namespace?: string;
  /** Share one serde (and its caches) between producers and consumers of a process. */
  serde?: Serde;
  /** Defaults true: retries cannot duplicate or reorder records within a partition. */
  idempotent?: boolean;
}

export function createProducer(opts: ProducerOptions): Producer {
  const log = opts.log ?? silentLogger;
  const serde = opts.serde ?? createSerde({ registryUrl: opts.registryUrl });
  const kafka = createKafka(opts.kafka, opts.clientId ?? 'foresight-producer', log);
  const idempotent = opts.idempotent ?? true;
  // An idempotent producer retries without limit (kafkajs's default for it): giving up and
  // sending again from our side could duplicate. Connection set-up still fails fast (connect()).
  const producer: KafkaProducer = kafka.producer({
    // murmur2 of the key, as Java's clients and librdkafka's murmur2_random: a key lands on the
    // same partition whichever language wrote it, which co-partitioned joins rely on.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent,
    allowAutoTopicCreation: false,
    retry: idempotent ? { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5000 } : undefined,
  });
  let connected: Promise<void> | undefined;

  const connect = (): Promise<void> => {
    if (!connected) {
      connected = producer.connect().catch((err) => {
        connected = undefined;
        throw kafkaError(err, 'connect producer');
      });
    }
    return connected;
  };

  const sendMessages = async (topic: string, messages: Message[]): Promise<void> => {
    if (!messages.length) return;
    await connect();
    try {
      await producer.send({ topic, messages, acks: -1, compression: CompressionTypes.None });
    } catch (err) {
      throw kafkaError(err, `send to ${topic}`);
    }
  };

  return {
    serde,
    connect,
    async send(topic, records) {
      const physical = physicalTopic(topic, opts.namespace);
      const messages: Message[] = [];
      for (const r of records) messages.push({ key: r.key, value: await serde.encode(topic, r.value, physical), headers: r.headers });
      await sendMessages(physical, messages);
    },
    async sendRaw(topic, records) {
      await sendMessages(
        topic,
        records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, partition: r.partition })),
      );
    },
    async disconnect() {
      if (!connected) return;
      connected = undefined;
      await producer.disconnect().catch((err) => log.warn('producer disconnect failed', { error: err }));
    },
  };
}
