/**
 * Issue 10 item 2, a broker restart mid-stream: a PRIVATE single-node Kafka (the stack's own
 * startKafka, on free ports and a temp FORESIGHT_HOME, so the shared broker is untouched) is
 * killed with SIGKILL while the projections role consumes, kept down a few seconds, and started
 * again on the same data. The role rides it out and, once all telemetry is in, has emitted
 * exactly the features an uninterrupted run (on the shared stack) gives, none twice.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, type Config } from '../../core/config';
import { startProjections } from '../../projections/role';
import type { JsonlRecord, TelemetryTopic } from '../../schemas/types';
import { TELEMETRY_TOPICS } from '../../schemas/types';
import { ensureTls } from '../../stack/certs';
import { ensureKafkaJars, findJava } from '../../stack/deps';
import { startKafka, waitForKafka } from '../../stack/kafka';
import { createProducer, done, ensureStreams, runConsumer } from '../../streams';
import { byEventId, collectFeatures, isStreamInput, publish as publishShared, smallTelemetry, uniqueNamespace, waitFor, type Feature } from '../integration/projections-support';

jest.setTimeout(600_000);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

async function publish(cfg: Config, ns: string, records: readonly JsonlRecord[]): Promise<void> {
  const p = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
  try {
    for (const topic of TELEMETRY_TOPICS) {
      const mine = records.filter((r) => r.topic === topic);
      for (let i = 0; i < mine.length; i += 500) await p.send(topic as TelemetryTopic, mine.slice(i, i + 500).map((r) => ({ key: r.key, value: r.value as never })));
    }
  } finally {
    await p.disconnect();
  }
}

describe('reliability: broker killed and restarted mid-stream', () => {
  it('given the broker dies under the projections role and comes back, then every feature is emitted once, the same as without the restart', async () => {
    const base = loadConfig();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rel-broker-'));
    const ports = { kafka: await freePort(), kafkaController: await freePort(), kafkaSsl: await freePort() };
    const cfg: Config = { ...base, home, ports: { ...base.ports, ...ports }, kafka: { ...base.kafka, brokers: [`127.0.0.1:${ports.kafka}`], external: false } };
    const java = findJava(17, 'FORESIGHT_KAFKA_JAVA_HOME');
    const libs = ensureKafkaJars(cfg, () => undefined);
    const tls = ensureTls(cfg, path.join(path.dirname(java), 'keytool'));
    let broker = startKafka(cfg, java, libs, tls);
    const killBroker = () => {
      try {
        process.kill(broker.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const ns = uniqueNamespace('rel-broker');
    const records = smallTelemetry(31);
    const stream = records.filter(isStreamInput);
    const half = Math.floor(stream.length / 2);
    // The reference: the same input, uninterrupted, on the shared stack.
    const refNs = uniqueNamespace('rel-broker-ref');
    await publishShared(refNs, records);
    const ref = await startProjections({ config: base, namespace: refNs, groupId: `${refNs}-g`, instanceId: 'ref', idleMs: 3_600_000 });
    const refOut = await collectFeatures(refNs);
    try {
      await ref.ready;
      await waitFor('the reference run', () => ref.counters().records >= stream.length, 120_000);
      const rc = ref.counters();
      await waitFor('reference features', () => refOut.features.length >= rc.accessFeatures + rc.networkFeatures, 60_000);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await refOut.consumer.stop();
      await ref.stop();
    }
    const reference = byEventId(refOut.features);

    let role: Awaited<ReturnType<typeof startProjections>> | undefined;
    let collector: Awaited<ReturnType<typeof runConsumer>> | undefined;
    const features: Feature[] = [];
    try {
      await waitForKafka(cfg.kafka.brokers, { rec: broker, timeoutMs: 180_000 });
      await ensureStreams(cfg, { namespace: ns, topics: [...TELEMETRY_TOPICS, 'features.access', 'features.network'] });
      await publish(cfg, ns, [...records.filter((r) => !isStreamInput(r)), ...stream.slice(0, half)]);
      role = await startProjections({ config: cfg, namespace: ns, groupId: `${ns}-g`, instanceId: 'a', idleMs: 3_600_000 });
      let crashed: unknown;
      role.finished.catch((e) => (crashed = e));
      collector = await runConsumer({
        kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, groupId: `${ns}-collect`, topics: ['features.access', 'features.network'], namespace: ns, fromBeginning: true,
        handle: async (r) => {
          features.push(r.value as Feature);
          return done();
        },
      });
      await role.ready;
      await waitFor('some records processed', () => role!.counters().records > 0, 120_000);

      killBroker();
      await new Promise((r) => setTimeout(r, 5000));
      broker = startKafka(cfg, java, libs, tls);
      await waitForKafka(cfg.kafka.brokers, { rec: broker, timeoutMs: 180_000 });
      await publish(cfg, ns, stream.slice(half));

      await waitFor('every record processed after the restart', () => role!.counters().records >= stream.length || crashed !== undefined, 240_000);
      expect(crashed).toBeUndefined();
      // Records of an aborted batch are handed to the role again, so its counters may exceed the
      // input; what readers see (committed) must be exactly the reference.
      expect(role.counters().records).toBeGreaterThanOrEqual(stream.length);
      await waitFor('as many features as the reference', () => features.length >= reference.length, 120_000);
      await new Promise((r) => setTimeout(r, 2000));
      const ids = features.map((f) => f.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(JSON.stringify(byEventId(features))).toBe(JSON.stringify(reference));
      expect(reference.length).toBeGreaterThan(50);
    } finally {
      await collector?.stop().catch(() => undefined);
      await role?.stop().catch(() => undefined);
      killBroker();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
