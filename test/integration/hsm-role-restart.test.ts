import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../core/clock';
import { createLogger } from '../../core/log';
import { MetricsRegistry } from '../../core/metrics';
import type { RoleContext } from '../../core/role';
import { EsdbEventStore } from '../../eventstore/client';
import { startHsmRole } from '../../hsm/role';
import type { WorkloadRisk } from '../../schemas/types';
import { createProducer } from '../../streams';
import { privateHsmPool, type PrivatePool } from '../support/hsm-pool-fixture';
import { pollFor } from '../support/poll';

// A forecast waiting for its lead time is held in the hsm role's memory. Restarted after the
// group committed that forecast, the role must still allocate when the lead time comes, without
// waiting for the network's next forecast.
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const ns = `ithsmre${run}`;
const T0 = Math.floor(Date.now() / 1000) * 1000;
const MIN = 60_000;

let pool: PrivatePool;
let store: EsdbEventStore;

beforeAll(() => {
  pool = privateHsmPool('fs-hsm-restart-', { id: `w${run}`, rules: '[]' });
  store = EsdbEventStore.connect(pool.cfg.eventStore.connectionString);
});

afterAll(async () => {
  await store?.close();
  await pool?.mod.close();
  pool?.hsm.cleanup();
});

async function types(stream: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.readStream(stream)) out.push(e.type);
  return out;
}

const waitFor = (what: string, f: () => Promise<boolean>) => pollFor(what, async () => ((await f()) ? true : undefined));

test('given a forecast waiting for its lead time and the role restarted, when the lead time comes, then the restarted role allocates', async () => {
  const clock = new ManualClock(T0);
  const metrics = new MetricsRegistry();
  const ctx: RoleContext = { config: pool.cfg, log: createLogger({}, { write: () => {} }), metrics, clock, groupPrefix: `${ns}-` };
  const start = () => startHsmRole(ctx, { poolFile: pool.poolFile, namespace: ns, hsmModule: pool.mod, fromBeginning: true, tickMs: 100 });
  const net = `net-w-${run}`;
  const forecast: WorkloadRisk = {
    eventId: `${net}:1`,
    timestamp: T0,
    clientNetworkId: net,
    horizon: 'PT6H',
    predictedCryptoOps: 200 * 3600,
    predictedPeakOpsPerSec: 200,
    predictedPeakTime: T0 + 120 * MIN,
    measuredOpsPerSec: 0,
    securityRisk: 0.2,
    threatIndicators: [],
    modelVersion: 'it-1',
  };
  const first = await start();
  const producer = createProducer({ kafka: pool.cfg.kafka, registryUrl: pool.cfg.schemaRegistry.url, namespace: ns, clientId: `it-${run}` });
  try {
    await producer.connect();
    await producer.send('risk.workload', [{ key: net, value: forecast }]);
    const waiting = () => metrics.counter('foresight_hsm_workload_records_total', '').get({ plan: 'wait' }) ?? 0;
    await waitFor('the forecast to wait for its lead time', async () => waiting() >= 1);
    // Stopped cleanly, so the forecast's offset is committed: no redelivery will bring it back.
    await first.stop();
    expect(await types(`allocation-${net}`)).toEqual(['RiskProfileApplied']);

    const second = await start();
    try {
      clock.set(T0 + 91 * MIN);
      await waitFor('the allocation at the lead time', async () => (await types(`allocation-${net}`)).includes('PartitionConfigured'));
      const t = await types(`allocation-${net}`);
      expect(t.filter((x) => x === 'RiskProfileApplied')).toHaveLength(1);
      expect(t.filter((x) => x === 'PartitionsAllocated' || x === 'PartitionAllocated').length).toBeLessThanOrEqual(1);
    } finally {
      await second.stop();
    }
  } finally {
    await producer.disconnect();
  }
});
