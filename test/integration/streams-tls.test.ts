import { loadConfig } from '../../core/config';
import { kafkaSslCa } from '../../stack';
import type { AdminAlert } from '../../schemas';
import { createProducer, createSerde, ensureStreams, readTopic } from '../../streams';
import { testNamespaces } from '../support/namespaces';

// Each test gets its own namespace, dropped when the suite ends.
const newNs = testNamespaces('it-tls');

// The wrappers over the stack's TLS 1.3-only listener, configured the way an operator would:
// KAFKA_BROKERS, KAFKA_SSL=true and KAFKA_SSL_CA.
const local = loadConfig();
const ca = kafkaSslCa(local);

(ca ? describe : describe.skip)('streams over TLS 1.3', () => {
  const cfg = loadConfig({ ...process.env, KAFKA_BROKERS: `127.0.0.1:${local.ports.kafkaSsl}`, KAFKA_SSL: 'true', KAFKA_SSL_CA: ca });

  it('creates topics, produces and reads back through the SSL listener', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['alerts.admin'], retries: 1 });
    const alert: AdminAlert = { eventId: 'tls-1', timestamp: Date.now(), subject: 's', kind: 'SECURITY', severity: 'INFO', message: 'over TLS', details: {} };
    const p = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
    await p.send('alerts.admin', [{ key: 's', value: alert }]);
    await p.disconnect();
    const [m] = await readTopic(cfg.kafka, `${ns}.alerts.admin`, { fromBeginning: true, max: 1, timeoutMs: 20_000 });
    const { value } = await createSerde({ registryUrl: cfg.schemaRegistry.url }).decode('alerts.admin', m.value);
    expect({ ...value }).toEqual(alert);
  });
});
