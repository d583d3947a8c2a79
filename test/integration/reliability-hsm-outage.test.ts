import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ManualClock } from '../../core/clock';
import type { Config } from '../../core/config';
import { createLogger } from '../../core/log';
import { MetricsRegistry } from '../../core/metrics';
import type { RoleContext } from '../../core/role';
import { EsdbEventStore } from '../../eventstore/client';
import { allocationStream } from '../../hsm/events';
import { partitionPinFile, type PoolConfig } from '../../hsm/pool-config';
import type { HsmModule, KeyHandle } from '../../hsm/ports';
import { loadPool, startHsmRole } from '../../hsm/role';
import type { AdminAlert, WorkloadRisk } from '../../schemas/types';
import { createProducer, physicalTopic, readTopic, type Producer } from '../../streams';
import { testNamespaces } from '../support/namespaces';
import { privateHsmPool, workloadAt } from '../support/hsm-pool-fixture';
import { pollFor } from '../support/poll';
import type { TempSoftHsm } from '../support/softhsm-temp';

// Issue 10: the HSM goes away under `run --role hsm` (real Kafka, registry, event store and a
// private SoftHSM2 whose token directory the test renames away and back). Two client networks get
// the same forecasts: `ref` while the HSM is there, `out` across the outage; `out` must end where
// `ref` did, with one DEPENDENCY_UNAVAILABLE alert for the episode and nothing dead-lettered.
const newNamespace = testNamespaces('ithsmout');
const ns = newNamespace();
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const T0 = Math.floor(Date.now() / 1000) * 1000;
const clock = new ManualClock(T0);

let hsm: TempSoftHsm;
let mod: HsmModule;
let cfg: Config;
let pool: PoolConfig;
let role: Awaited<ReturnType<typeof startHsmRole>>;
let producer: Producer;
let store: EsdbEventStore;
const logs: string[] = [];
const metrics = new MetricsRegistry();
const handled = () => ['allocate', 'hold', 'wait', 'release', 'exhausted'].reduce((n, plan) => n + metrics.counter('foresight_hsm_workload_records_total', '').get({ plan }), 0);

const waitFor = <T>(what: string, f: () => Promise<T | undefined>) => pollFor(what, f, { context: () => `role log tail:\n${logs.slice(-15).join('\n')}` });

async function events(net: string): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
  const out: Array<{ type: string; data: Record<string, unknown> }> = [];
  for await (const e of store.readStream(allocationStream(net))) out.push({ type: e.type, data: e.data as Record<string, unknown> });
  return out;
}

/** What a stream says, without what differs between two client networks (ids, labels, key ids, times). */
function comparable(es: Array<{ type: string; data: Record<string, unknown> }>): unknown[] {
  const drop = new Set(['clientNetworkId', 'at', 'label', 'labels', 'partitions', 'keyId', 'keys', 'key', 'predictedPeakTime', 'modelVersion']);
  return es.map((e) => {
    const kept = Object.fromEntries(Object.entries(e.data).filter(([k]) => !drop.has(k)));
    const key = e.data.key as { family?: string; version?: number } | undefined;
    return { type: e.type, ...kept, ...(key ? { family: key.family, version: key.version } : {}) };
  });
}

async function alerts(): Promise<AdminAlert[]> {
  const msgs = await readTopic(cfg.kafka, physicalTopic('alerts.admin', ns), { fromBeginning: true, idleMs: 1500, timeoutMs: 20_000 });
  return Promise.all(msgs.map(async (m) => (await producer.serde.decode('alerts.admin', m.value)).value as AdminAlert));
}

const workload = (net: string, n: number, over: Partial<WorkloadRisk> = {}) => workloadAt(T0, net, n, 300, over);

/** Keys in a partition's token, by label and class, with their usage: what the HSM really holds. */
async function tokenKeys(net: string): Promise<string[]> {
  const label = ((await events(net)).find((e) => e.type === 'PartitionsAllocated')?.data.partitions as Array<{ label: string }>)[0].label;
  const s = await mod.openSession(label, fs.readFileSync(partitionPinFile(pool, label), 'utf8').trim());
  try {
    const keys = await s.findKeys({});
    const out: string[] = [];
    for (const k of keys as KeyHandle[]) {
      const u = await s.usageOf(k);
      out.push(`${k.label} ${k.keyClass} ${Object.keys(u).filter((x) => u[x as keyof typeof u]).join(',')}`);
    }
    return out.sort();
  } finally {
    await s.close();
  }
}

beforeAll(async () => {
  // Critical risk rotates every root key now: a record that must touch the token.
  let poolFile: string;
  ({ hsm, mod, cfg, poolFile } = privateHsmPool('fs-hsm-outage-', { id: `o${run}`, rules: '[{ id: hot, when: { securityRisk: { gte: 0.85 } }, then: [rotate-now] }]' }));
  pool = loadPool(cfg, poolFile).pool;
  const log = createLogger({}, { write: (l) => void logs.push(l) });
  const ctx: RoleContext = { config: cfg, log, metrics, clock, groupPrefix: `${ns}-` };
  role = await startHsmRole(ctx, { poolFile, namespace: ns, hsmModule: mod, fromBeginning: true, tickMs: 100 });
  producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns, clientId: `it-${run}` });
  await producer.connect();
  store = EsdbEventStore.connect(cfg.eventStore.connectionString);
});

afterAll(async () => {
  // Back in place whatever happened, so the role and the module can close cleanly.
  const tokens = path.join(hsm?.dir ?? '', 'tokens');
  if (hsm && !fs.existsSync(tokens) && fs.existsSync(`${tokens}.away`)) fs.renameSync(`${tokens}.away`, tokens);
  const away = path.join(hsm?.dir ?? '', 'token-dirs.away');
  if (hsm && fs.existsSync(away)) for (const d of fs.readdirSync(away)) fs.renameSync(path.join(away, d), path.join(tokens, d));
  await producer?.disconnect();
  await role?.stop();
  await store?.close();
  await mod?.close();
  hsm?.cleanup();
});

const dependencyAlerts = async () => (await alerts()).filter((a) => a.kind === 'DEPENDENCY_UNAVAILABLE');
const dlq = () => readTopic(cfg.kafka, `${physicalTopic('risk.workload', ns)}.dlq`, { fromBeginning: true, idleMs: 1500, timeoutMs: 20_000 });

test('the HSM token directory goes away under the hsm role: records held and retried, one alert per outage, nothing dead-lettered, the same events once it is back', async () => {
  const ref = `net-ref-${run}`;
  const out = `net-out-${run}`;
  const rotated = async (net: string) => (await events(net)).filter((e) => e.type === 'KeyRotated').length;
  const tokens = path.join(hsm.dir, 'tokens');

  // The reference: allocated, configured, then critical risk rotates both root keys.
  await producer.send('risk.workload', [
    { key: ref, value: workload(ref, 1) },
    { key: ref, value: workload(ref, 2, { securityRisk: 0.9 }) },
  ]);
  await waitFor('the reference rotated', async () => ((await rotated(ref)) === 2 ? true : undefined));
  await producer.send('risk.workload', [{ key: out, value: workload(out, 1) }]);
  await waitFor('out configured', async () => ((await events(out)).some((e) => e.type === 'PartitionConfigured') ? true : undefined));

  // Outage 1: the whole token directory goes away, then the critical forecast arrives.
  fs.renameSync(tokens, `${tokens}.away`);
  await producer.send('risk.workload', [{ key: out, value: workload(out, 2, { securityRisk: 0.9 }) }]);
  const down = await waitFor('the DEPENDENCY_UNAVAILABLE alert', async () => {
    const got = await dependencyAlerts();
    return got.length ? got : undefined;
  });
  expect(down).toHaveLength(1);
  expect(down[0]).toMatchObject({ subject: `hsm:o${run}`, severity: 'CRITICAL', timestamp: T0, details: { poolId: `o${run}`, failures: '3' } });
  // Held, not lost or half-done: no rotation recorded while the token is away, nothing dead-lettered.
  expect(await rotated(out)).toBe(0);
  expect(await dlq()).toHaveLength(0);

  // Back: the held record completes, and the stream ends as the reference's did.
  fs.renameSync(`${tokens}.away`, tokens);
  await waitFor('the held record handled', async () => (handled() >= 4 ? true : undefined));
  expect(comparable(await events(out))).toEqual(comparable(await events(ref)));
  // In the token too: v1 and v2 of each root key once, v1 demoted as a rotation demotes it.
  expect(await tokenKeys(out)).toEqual(await tokenKeys(ref));
  const first = await waitFor('the recovery alert', async () => {
    const got = await dependencyAlerts();
    return got.length >= 2 ? got : undefined;
  });
  expect(first.map((a) => a.severity)).toEqual(['CRITICAL', 'INFO']);
  expect(logs.some((l) => l.includes('"HSM available again"'))).toBe(true);

  // Outage 2: every token's own directory goes (the module re-initialises and no longer lists
  // them) while another critical forecast would rotate again and retire v1.
  await producer.send('risk.workload', [{ key: ref, value: workload(ref, 3, { securityRisk: 0.9 }) }]);
  await waitFor('the reference rotated again', async () => ((await rotated(ref)) === 4 ? true : undefined));
  const away = path.join(hsm.dir, 'token-dirs.away');
  fs.mkdirSync(away);
  const dirs = fs.readdirSync(tokens);
  for (const d of dirs) fs.renameSync(path.join(tokens, d), path.join(away, d));
  await producer.send('risk.workload', [{ key: out, value: workload(out, 3, { securityRisk: 0.9 }) }]);
  await waitFor('the second episode alerted', async () => ((await dependencyAlerts()).length >= 3 ? true : undefined));
  expect(await rotated(out)).toBe(2);
  for (const d of dirs) fs.renameSync(path.join(away, d), path.join(tokens, d));
  await waitFor('the second held record handled', async () => (handled() >= 6 ? true : undefined));
  expect(comparable(await events(out))).toEqual(comparable(await events(ref)));
  expect(await tokenKeys(out)).toEqual(await tokenKeys(ref));

  const all = await waitFor('the second recovery alert', async () => {
    const got = await dependencyAlerts();
    return got.length >= 4 ? got : undefined;
  });
  // One alert per episode and one recovery, however many retries each took.
  expect(all.map((a) => a.severity)).toEqual(['CRITICAL', 'INFO', 'CRITICAL', 'INFO']);
  expect(new Set(all.map((a) => a.eventId)).size).toBe(4);
  expect(await dlq()).toHaveLength(0);
}, 300_000);
