import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../core/clock';
import type { Config } from '../../core/config';
import { createLogger } from '../../core/log';
import { MetricsRegistry } from '../../core/metrics';
import type { RoleContext } from '../../core/role';
import { EsdbEventStore } from '../../eventstore/client';
import type { HsmModule } from '../../hsm/ports';
import { startHsmRole } from '../../hsm/role';
import type { WorkloadRisk } from '../../schemas/types';
import { createProducer, physicalTopic, readTopic, type Producer } from '../../streams';
import { privateHsmPool, workloadAt } from '../support/hsm-pool-fixture';
import { pollFor } from '../support/poll';
import type { TempSoftHsm } from '../support/softhsm-temp';

// `run --role hsm` on the real stack: risk.workload records through Kafka (Avro), partitions as
// SoftHSM2 tokens, events in EventStoreDB, the pool-exhausted alert back on alerts.admin.
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const ns = `ithsm${run}`;
const T0 = Math.floor(Date.now() / 1000) * 1000;
const MIN = 60_000;
const clock = new ManualClock(T0);

let hsm: TempSoftHsm;
let mod: HsmModule;
let cfg: Config;
let role: Awaited<ReturnType<typeof startHsmRole>>;
let producer: Producer;
let store: EsdbEventStore;
const metrics = new MetricsRegistry();
const handledWith = (plan: string) => metrics.counter('foresight_hsm_workload_records_total', '').get({ plan });

const waitFor = <T>(what: string, f: () => Promise<T | undefined>) => pollFor(what, f);

async function types(stream: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.readStream(stream)) out.push(e.type);
  return out;
}

const workload = (net: string, n: number, peak: number, over: Partial<WorkloadRisk> = {}) => workloadAt(T0, net, n, peak, over);

beforeAll(async () => {
  let poolFile: string;
  ({ hsm, mod, cfg, poolFile } = privateHsmPool('fs-hsm-role-', { id: `r${run}`, rules: '[{ id: exfil, when: { threatIndicators: { includesAny: [key-exfiltration] } }, then: [quarantine, alert] }]' }));
  // No topics made here: the role, started first on a fresh namespace, makes what it reads and
  // writes (regression: it failed to start with "does not host this topic-partition").
  const ctx: RoleContext = { config: cfg, log: createLogger({}, { write: () => {} }), metrics, clock, groupPrefix: `${ns}-` };
  role = await startHsmRole(ctx, { poolFile, namespace: ns, hsmModule: mod, fromBeginning: true, tickMs: 100 });
  producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns, clientId: `it-${run}` });
  await producer.connect();
  store = EsdbEventStore.connect(cfg.eventStore.connectionString);
});

afterAll(async () => {
  await producer?.disconnect();
  await role?.stop();
  await store?.close();
  await mod?.close();
  hsm?.cleanup();
});

test('forecasts in: allocated before the peak (at the lead time), configured, and pool exhaustion alerted once on alerts.admin', async () => {
  const a = `net-a-${run}`;
  const b = `net-b-${run}`;
  await producer.send('risk.workload', [{ key: a, value: workload(a, 1, 300) }]);
  await waitFor('net-a configured', async () => ((await types(`allocation-${a}`)).includes('PartitionConfigured') ? true : undefined));
  expect((await mod.listTokens()).map((t) => t.label)).toContain(`r${run}-p01`);

  // net-c's peak is 2 h away: nothing until the lead time (30 min before it) starts on the clock
  const c = `net-c-${run}`;
  await producer.send('risk.workload', [{ key: c, value: workload(c, 2, 200, { predictedPeakTime: T0 + 120 * MIN }) }]);
  await waitFor('net-c waiting', async () => (handledWith('wait') >= 1 ? true : undefined));
  expect(await types(`allocation-${c}`)).toEqual(['RiskProfileApplied']);
  clock.set(T0 + 91 * MIN);
  await waitFor('net-c allocated at the lead time', async () => ((await types(`allocation-${c}`)).includes('PartitionConfigured') ? true : undefined));

  // no partition left: net-b is refused twice, alerted once
  await producer.send('risk.workload', [
    { key: b, value: workload(b, 3, 400) },
    { key: b, value: workload(b, 4, 450) },
  ]);
  await waitFor('net-b refused twice', async () => (handledWith('exhausted') >= 2 ? true : undefined));
  expect((await types(`allocation-${b}`)).filter((t) => t === 'ScaleOutRecommended')).toHaveLength(1);
  const alerts = await waitFor('the pool-exhausted alert', async () => {
    const msgs = await readTopic(cfg.kafka, physicalTopic('alerts.admin', ns), { fromBeginning: true, timeoutMs: 3000 });
    return msgs.length ? msgs : undefined;
  });
  const decoded = await Promise.all(alerts.map((m) => producer.serde.decode('alerts.admin', m.value)));
  expect(decoded.map((d) => d.value.kind)).toEqual(['POOL_EXHAUSTED']);
  expect(decoded[0].value).toMatchObject({ subject: 'hsm-pool:silver', severity: 'CRITICAL', details: { clientNetworkId: b, shortfallPartitions: '1' } });
  expect((await role.health()).eventStore.ok).toBe(true);
});
