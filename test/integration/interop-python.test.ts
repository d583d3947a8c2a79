import { execFile, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../core/config';
import type { AdminAlert, VmAccess } from '../../schemas';
import { createProducer, done, ensureStreams, runConsumer } from '../../streams';
import { testNamespaces } from '../support/namespaces';

// Each test gets its own namespace, dropped when the suite ends.
const newNs = testNamespaces('it-py');

// Real processes and brokers on a shared 2-core machine: generous, never asserted on.
jest.setTimeout(120_000);

// An independent client on the same topics: Python confluent-kafka with its Avro serializer
// through the same registry. Needs: pip install 'confluent-kafka[avro,schemaregistry]'.
const run = promisify(execFile);
const scripts = path.join(__dirname, '../interop');
const python = process.env.PYTHON ?? 'python3';
const probe = spawnSync(python, ['-c', 'from confluent_kafka.schema_registry.avro import AvroSerializer, AvroDeserializer'], { encoding: 'utf8' });
const havePython = probe.status === 0;
if (!havePython) {
  console.warn(`interop-python skipped: ${python} cannot import confluent_kafka with Avro support; install it with: python3 -m pip install -r test/interop/requirements.txt`);
}

const cfg = loadConfig();
const registryUrl = cfg.schemaRegistry.url;
const brokers = cfg.kafka.brokers.join(',');

(havePython ? describe : describe.skip)('Python confluent-kafka and Foresight on the same topics', () => {
  it('our consumer accepts telemetry produced by Python with its AvroSerializer', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const out = await run(python, [path.join(scripts, 'produce_telemetry.py'), '--brokers', brokers, '--registry', registryUrl, '--topic', `${ns}.telemetry.vm-access`, '--count', '12', '--prefix', ns]);
    expect(JSON.parse(out.stdout)).toEqual({ acked: 12 });

    const got: VmAccess[] = [];
    const c = await runConsumer({
      kafka: cfg.kafka,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g`,
      topics: ['telemetry.vm-access'],
      fromBeginning: true,
      handle: async (r) => {
        got.push({ ...r.value });
        return done();
      },
    });
    try {
      for (let i = 0; i < 600 && c.counters().in < 12; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await c.stop();
    }
    expect(c.counters()).toMatchObject({ in: 12, processed: 12, dlq: 0 });
    const first = got.find((v) => v.eventId === `${ns}-0`)!;
    expect(first).toMatchObject({ userId: 'py-user-0', vmId: 'py-vm-0', action: 'CONNECT', success: true, source: 'python-confluent-kafka' });
    expect(typeof first.timestamp).toBe('number');

    // Same keys from our producer land on the same partitions as Python's (murmur2 both sides).
    const p = createProducer({ kafka: cfg.kafka, registryUrl, namespace: ns });
    await p.send('telemetry.vm-access', [0, 1, 2].map((u) => ({ key: `py-user-${u}`, value: { ...first, eventId: `ts-${u}`, userId: `py-user-${u}` } })));
    await p.disconnect();
    const partitions = new Map<string, Set<number>>();
    const c2 = await runConsumer({
      kafka: cfg.kafka,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g2`,
      topics: ['telemetry.vm-access'],
      handle: async (r) => {
        partitions.set(r.key!, (partitions.get(r.key!) ?? new Set()).add(r.partition));
        return done();
      },
    });
    try {
      for (let i = 0; i < 600 && c2.counters().in < 15; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await c2.stop();
    }
    expect([...partitions.values()].map((s) => s.size)).toEqual([1, 1, 1]);
  });

  it('Python reads the alerts we produce, with the registered schema', async () => {
    const ns = newNs();
    const { schemaIds } = await ensureStreams(cfg, { namespace: ns, topics: ['alerts.admin'] });
    const alert: AdminAlert = { eventId: 'a-1', timestamp: 1_763_700_000_000, subject: 'pool-gold', kind: 'POOL_EXHAUSTED', severity: 'CRITICAL', message: 'gold pool exhausted', details: { free: '0' } };
    const p = createProducer({ kafka: cfg.kafka, registryUrl, namespace: ns });
    await p.send('alerts.admin', [{ key: 'pool-gold', value: alert }]);
    await p.disconnect();
    const out = await run(python, [path.join(scripts, 'consume_alerts.py'), '--brokers', brokers, '--registry', registryUrl, '--topic', `${ns}.alerts.admin`, '--count', '1', '--timeout', '40']);
    expect(JSON.parse(out.stdout)).toEqual({ key: 'pool-gold', schemaId: schemaIds.get('alerts.admin'), value: alert });
  });
});
