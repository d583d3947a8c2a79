/**
 * streams/: the Kafka edge. kafkajs and @kafkajs/confluent-schema-registry stay behind this
 * module; roles import from here only.
 *
 * Start-up (every role, idempotent):
 *   ensureStreams(cfg, { namespace?, topics? })  topics of the catalogue (+ .dlq/.late beside
 *     each input topic) exist; every `<topic>-value` subject has BACKWARD set explicitly and our
 *     schema registered. `cfg` is core/config loadConfig() (kafka, schemaRegistry).
 *
 * Producing:
 *   const p = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace? })
 *   await p.send('risk.access', [{ key: userId, value: {...AccessRisk} }])  // typed by TopicRecords
 *   await p.sendRaw(physicalTopic, [{ key, value: Buffer }]); await p.disconnect()
 *   Idempotent producer, acks=all; values validated against the schema before anything is sent.
 *
 * Consuming (at least once; handlers idempotent by eventId):
 *   const c = await runConsumer({ kafka, registryUrl, groupId, topics: ['telemetry.vm-access'],
 *     handle: async (r) => { switch (r.topic) {...}; return done(); }, concurrency?, namespace?,
 *     fromBeginning? (default true: a new group starts at the earliest record), clock? })
 *   await c.ready; c.counters(); await c.stop()
 *   Outcome (outcome.ts): done() | retry(err) | toDlq(reason, detail?) | late(reason?). Records
 *   that do not decode (no-magic-byte, unknown-schema-id, undecodable, incompatible-schema) or fail
 *   validate.ts (invalid) go to `<topic>.dlq` before `handle` sees them; headers dlq.reason,
 *   dlq.detail, dlq.source.topic/partition/offset, dlq.consumer.group (dlq.ts). A retriable error
 *   (UnavailableError: broker, registry, event store down) is retried with backoff for as long as
 *   the consumer runs, never DLQ'd; non-retriable errors are retried maxAttempts (5) times, then
 *   DLQ'd as retries-exhausted. Offsets move only after the outcome is durable.
 *   onShutdownSignals([() => c.stop(), ...]) wires SIGINT/SIGTERM for a role process.
 *
 * Exactly once (stateful roles):
 *   runTransactionalProcessor({ kafka, registryUrl, groupId, transactionalId, topics,
 *     processBatch: async (records) => ({ outputs: [{ topic, key, value }] }) })
 *   Outputs and consumed offsets commit in one Kafka transaction; readers see outputs only
 *   once committed (runConsumer reads READ_COMMITTED).
 *
 * Serde (serde.ts): Confluent wire format, ids cached; timestamp-millis are plain epoch-ms
 * numbers; longs beyond 2^53 fail as undecodable; createSerde({ registryUrl, autoRegister:
 * false }) only looks ids up. Names (naming.ts): `<namespace>.<topic>`. Keys are partitioned
 * with murmur2 (as Java and librdkafka's murmur2_random), so keys co-partition across clients.
 *
 * Also: readTopic(conn, physicalTopic, { fromBeginning, max, timeoutMs, onMessage, signal })
 * reads raw records outside any role's group (tail, DLQ inspection, tests); checkLine() checks
 * one JSON line against schema + semantics (publish); catalogue()/changelogSpec() for topics;
 * KAFKA_REPLICATION_FACTOR (default 1) for new topics; dropNamespace(cfg, ns) deletes a test's
 * topics and subjects; replayDlq() sends `<topic>.dlq` back to `<topic>`.
 */
export * from './admin';
export * from './catalogue';
export * from './consumer';
export * from './dlq';
export * from './errors';
export * from './naming';
export * from './outcome';
export * from './producer';
export * from './registry';
export * from './serde';
export * from './shutdown';
export * from './validate';
export type { KafkaConnection } from './kafka';
export * from './transactional';
export * from './reader';
export * from './jsonl';
export * from './replay';
