import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../core/config';
import { replay } from '../../eventstore/audit';
import { EsdbEventStore } from '../../eventstore/client';
import { HsmOrchestrator } from '../../hsm/orchestrator';
import { pkcs11PartitionOps } from '../../hsm/partition-ops';
import { openPartition } from '../../hsm/partitions';
import { openPkcs11Module } from '../../hsm/pkcs11';
import { parsePolicy } from '../../hsm/policy';
import { parsePoolConfig, type PoolConfig } from '../../hsm/pool-config';
import type { HsmModule } from '../../hsm/ports';
import { readSecret } from '../../hsm/secrets';
import type { AdminAlert, WorkloadRisk } from '../../schemas/types';
import { tempSoftHsm, type TempSoftHsm } from '../support/softhsm-temp';

// The orchestrator on the real edges: EventStoreDB of the local stack (unique stream names per
// run) and SoftHSM2 tokens as partitions. Alerts are collected in memory (Kafka is covered by
// the streams tests).
const run = randomBytes(3).toString('hex');
const net = `it-net-${run}`;
const T0 = Date.parse('2026-04-01T09:00:00Z');
let hsm: TempSoftHsm;
let mod: HsmModule;
let store: EsdbEventStore;
let pool: PoolConfig;
const rules = parsePolicy('rules: [{ id: critical, when: { securityRisk: { gte: 0.85 } }, then: [rotate-now, alert], cooldownMinutes: 60 }]', 'policy.yaml');

function orchestrator(alerts: AdminAlert[]) {
  const ops = pkcs11PartitionOps(() => mod, pool);
  return { ops, orch: new HsmOrchestrator({ config: pool, rules, store, partitions: ops, publishAlert: async (a) => void alerts.push(a) }) };
}

const record = (n: number, over: Partial<WorkloadRisk> = {}): WorkloadRisk => ({
  eventId: `${net}-wl-${n}`,
  timestamp: T0 + n * 60_000,
  clientNetworkId: net,
  horizon: 'PT6H',
  predictedCryptoOps: 1e6,
  predictedPeakOpsPerSec: 300,
  predictedPeakTime: T0 + 20 * 60_000,
  measuredOpsPerSec: 0,
  securityRisk: 0.1,
  threatIndicators: [],
  modelVersion: 'wl-it',
  ...over,
});

beforeAll(() => {
  hsm = tempSoftHsm('fs-hsm-orch-');
  pool = parsePoolConfig(
    `poolId: it${run}
tiers: [{ name: silver, partitionOpsPerSecond: 500 }, { name: gold, partitionOpsPerSecond: 2000 }]
hsms:
  - { id: it${run}-s, tier: silver, partitionCapacity: 1, createPartitions: true }
  - { id: it${run}-g, tier: gold, partitionCapacity: 1, createPartitions: true }
planner: { reserveFraction: 0 }`,
    'pool.yaml',
    { module: hsm.modulePath, home: hsm.dir },
  );
  mod = openPkcs11Module(hsm.modulePath);
  store = EsdbEventStore.connect(loadConfig().eventStore.connectionString);
});

afterAll(async () => {
  await store?.close();
  await mod?.close();
  hsm?.cleanup();
});

test('allocation, baseline keys, restart from events, risk-driven rotation and exhaustion, all in the event store and the token', async () => {
  const alerts: AdminAlert[] = [];
  const first = orchestrator(alerts);
  const out = await first.orch.handle(record(1));
  expect(out.plan).toMatchObject({ kind: 'allocate', partitions: [{ label: `it${run}-s-p01` }] });
  await first.ops.close();

  // the token was created and holds the baseline root keys
  const s = await openPartition(mod, pool, `it${run}-s-p01`);
  expect((await s.findKeys({})).map((k) => `${k.label}:${k.keyClass}`)).toEqual(['root-sign/v1:private', 'root-sign/v1:public', 'root-wrap/v1:secret']);

  // a new orchestrator (a restart) rebuilds the pool from EventStoreDB
  const second = orchestrator(alerts);
  expect(await second.orch.poolAssignments()).toEqual({ [`it${run}-s-p01`]: net });
  const rebuilt = await second.orch.allocation(net);
  expect(rebuilt.partitions[0]).toMatchObject({ configured: true, keys: { 'root-wrap': { current: { version: 1 } } } });

  // critical risk: rotation makes v2 in the token, v1 stays for decryption
  await second.orch.handle(record(2, { securityRisk: 0.95 }));
  expect((await s.findKeys({ labelPrefix: 'root-wrap/' })).map((k) => k.label)).toEqual(['root-wrap/v1', 'root-wrap/v2']);
  expect(alerts.map((a) => a.kind)).toEqual(['SECURITY']);

  // demand beyond the pool: the gold partition is taken, the shortfall is named once
  await second.orch.handle(record(3, { predictedPeakOpsPerSec: 5000, securityRisk: 0.95 }));
  await second.orch.handle(record(4, { predictedPeakOpsPerSec: 5200, securityRisk: 0.95 }));
  expect(alerts.filter((a) => a.kind === 'POOL_EXHAUSTED').length).toBe(1);
  await second.ops.close();
  await s.close();

  // the history, as `foresight audit replay --category allocation` shows it
  const types: string[] = [];
  for await (const e of replay(store, { stream: `allocation-${net}` })) types.push(e.type);
  expect(types).toEqual([
    'RiskProfileApplied',
    'PartitionsAllocated',
    'PartitionConfigured',
    'RiskProfileApplied',
    'KeyAttributesApplied', // critical risk audits at "full"
    'KeyRotated',
    'KeyRotated',
    'PolicyActionTaken',
    'PolicyActionTaken',
    'PartitionsAllocated', // the gold partition: all that was free
    'AllocationFailed',
    'ScaleOutRecommended',
    'PartitionConfigured',
  ]);
  // no PIN (user or officer) of any partition in any event, its metadata, or an alert
  const pins = fs
    .readdirSync(path.join(hsm.dir, 'secrets', 'partitions'))
    .map((f) => readSecret({ file: path.join(hsm.dir, 'secrets', 'partitions', f) }));
  expect(pins.length).toBe(4);
  const written: string[] = alerts.map((a) => JSON.stringify(a));
  for (const stream of [`allocation-${net}`, `hsm-it${run}-s`, `hsm-it${run}-g`]) {
    for await (const e of store.readStream(stream)) written.push(JSON.stringify(e.data), JSON.stringify(e.metadata));
  }
  for (const pin of pins) expect(written.some((w) => w.includes(pin))).toBe(false);

  const cats: string[] = [];
  for await (const e of replay(store, { category: 'hsm' })) if (e.stream.startsWith(`hsm-it${run}`)) cats.push(`${e.stream}:${e.type}`);
  expect(cats.sort()).toEqual([`hsm-it${run}-g:PartitionAssigned`, `hsm-it${run}-s:PartitionAssigned`]);
});
