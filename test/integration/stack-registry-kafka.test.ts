import { randomUUID } from 'node:crypto';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../core/config';
import { createTopicReady } from '../support/kafka-topics';

// The real local stack (globalSetup): Apicurio's Confluent API and the Kafka broker together.
const cfg = loadConfig();
const id = randomUUID().slice(0, 8);
const topic = `stack-smoke-${id}`;
const kafka = new Kafka({ clientId: `stack-smoke-${id}`, brokers: cfg.kafka.brokers, logLevel: logLevel.NOTHING });
const registry = new SchemaRegistry({ host: cfg.schemaRegistry.url });

const v1 = {
  type: 'record',
  name: 'StackSmoke',
  namespace: 'foresight.test',
  fields: [
    { name: 'eventId', type: 'string' },
    { name: 'timestamp', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'count', type: 'int' },
  ],
};

describe('schema registry and Kafka of the local stack', () => {
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: `stack-smoke-${id}` });

  beforeAll(async () => {
    await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
    await createTopicReady(admin, topic);
  });

  afterAll(async () => {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  test('an Avro record round-trips in the Confluent wire format through kafkajs', async () => {
    const { id: schemaId } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject: `${topic}-value` });
    const value = { eventId: `e-${id}`, timestamp: 1_700_000_000_000, count: 7 };
    const bytes = await registry.encode(schemaId, value);
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(schemaId);

    await producer.send({ topic, messages: [{ key: 'u1', value: bytes }] });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received = await new Promise<Buffer>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(message.value as Buffer) });
    });
    expect(received.equals(bytes)).toBe(true);
    const decoded = await registry.decode(received);
    expect({ ...decoded, timestamp: Number(new Date(decoded.timestamp as number | Date)) }).toEqual(value);
  });

  test('a second registration under BACKWARD accepts a compatible change and refuses a breaking one', async () => {
    const subject = `stack-compat-${id}-value`;
    await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
    const v2 = { ...v1, fields: [...v1.fields, { name: 'note', type: ['null', 'string'], default: null }] };
    const second = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2) }, { subject });
    expect(second.id).toBeGreaterThan(0);
    const breaking = { ...v1, fields: [...v1.fields, { name: 'mandatory', type: 'string' }] };
    await expect(registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(breaking) }, { subject })).rejects.toThrow();
  });
});
