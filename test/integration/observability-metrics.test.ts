import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ManualClock } from '../../core/clock';
import { loadConfig, type Config } from '../../core/config';
import { createLogger } from '../../core/log';
import { MetricsRegistry } from '../../core/metrics';
import type { RoleContext } from '../../core/role';
import { startProvisionerRole } from '../../credentials/role';
import { EsdbEventStore } from '../../eventstore/client';
import { openPkcs11Module } from '../../hsm/pkcs11';
import type { HsmModule } from '../../hsm/ports';
import { startHsmRole } from '../../hsm/role';
import { startPipeline, type Pipeline } from '../../roles/runner';
import { createProducer, dropNamespace, ensureStreams, physicalTopic, type Producer } from '../../streams';
import { createKafka } from '../../streams/kafka';
import { workloadAt } from '../support/hsm-pool-fixture';
import { tempSoftHsm, type TempSoftHsm } from '../support/softhsm-temp';

// The pipeline as `foresight run` starts it (roles/runner.ts startPipeline), hsm and provisioner
// roles on the real Kafka, registry, event store and a private SoftHSM2; records in (one of them
// not Avro at all), then GET /metrics and GET /healthz on the ops endpoint as Prometheus and an
// orchestrator would read them.
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const ns = `itobs${run}`;
const T0 = Math.floor(Date.now() / 1000) * 1000;
const hsmId = `o${run}`;
const vaultToken = `v${run}`;

let hsm: TempSoftHsm;
let mod: HsmModule;
let cfg: Config;
let pipeline: Pipeline | undefined;
let producer: Producer;
let store: EsdbEventStore;

/** Prometheus text exposition 0.0.4, strictly: every sample belongs to a family with a TYPE. */
function parsePrometheus(text: string): Map<string, number> {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        types.set(meta[2], meta[3]);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.]+(?:e[+-]?[0-9]+)?|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const family = types.has(m[1]) ? m[1] : m[1].replace(/_(bucket|sum|count)$/, '');
    if (!types.has(family)) throw new Error(`sample ${m[1]} has no # TYPE line`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

/** The value of the first series of `name` whose labels include all of `labels`. */
function find(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const [k, v] of samples) {
    if (!k.startsWith(`${name}{`) && k !== name) continue;
    if (Object.entries(labels).every(([l, val]) => k.includes(`${l}="${val}"`))) return v;
  }
  return undefined;
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  let last: unknown;
  for (let waited = 0; waited < timeoutMs; waited += 300) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

const workload = (net: string, n: number, peak: number) => workloadAt(T0, net, n, peak);

beforeAll(async () => {
  hsm = tempSoftHsm('fs-obs-');
  mod = openPkcs11Module(hsm.modulePath);
  const pin = randomBytes(8).toString('hex');
  await mod.initToken(vaultToken, randomBytes(8).toString('hex'), pin);
  cfg = { ...loadConfig(), home: hsm.dir };
  const poolFile = path.join(hsm.dir, 'pool.yaml');
  fs.writeFileSync(
    poolFile,
    `poolId: ${hsmId}
tiers: [{ name: silver, partitionOpsPerSecond: 500 }]
hsms: [{ id: ${hsmId}, tier: silver, partitionCapacity: 2, createPartitions: true }]
planner: { reserveFraction: 0 }
`,
  );
  await ensureStreams(cfg, { namespace: ns, topics: ['risk.workload', 'alerts.admin'] });
  const ctx: RoleContext = { config: cfg, log: createLogger({}, { write: () => {} }), metrics: new MetricsRegistry(), clock: new ManualClock(T0), groupPrefix: `${ns}-` };
  pipeline = await startPipeline({
    roles: ['hsm', 'provisioner'],
    ctx,
    options: { namespace: ns },
    opsPort: 0,
    lagEveryMs: 300,
    starters: {
      hsm: (c) => startHsmRole(c, { poolFile, namespace: ns, hsmModule: mod, fromBeginning: true, tickMs: 200 }),
      provisioner: (c) => startProvisionerRole(c, { namespace: ns, hsmModule: mod, tokenLabel: vaultToken, pin, vaultDir: path.join(hsm.dir, 'vault'), sweepEveryMs: 60_000 }),
    },
  });
  producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns, clientId: `it-${run}` });
  await producer.connect();
  store = EsdbEventStore.connect(cfg.eventStore.connectionString);
});

afterAll(async () => {
  await producer?.disconnect();
  await pipeline?.stop();
  await store?.close();
  await mod?.close();
  hsm?.cleanup();
  if (cfg) await dropNamespace(cfg, ns).catch(() => undefined);
}, 90_000);

const get = async (p: string) => {
  const res = await fetch(`http://127.0.0.1:${pipeline!.opsPort}${p}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
};

test('GET /metrics: lag, records processed, DLQ, late, HSM operations and pool utilisation, as Prometheus text; GET /healthz: each dependency ready', async () => {
  const net = `net-${run}`;
  await producer.send('risk.workload', [{ key: net, value: workload(net, 1, 300) }]);
  // Not Avro at all: the consumer cannot decode it and sends it to risk.workload.dlq.
  const raw = createKafka(cfg.kafka, `it-raw-${run}`).producer();
  await raw.connect();
  await raw.send({ topic: physicalTopic('risk.workload', ns), messages: [{ key: 'bad', value: Buffer.from('this is not an Avro record') }] });
  await raw.disconnect();
  await waitFor('the partition configured', async () => {
    // Read to the end: a stream left half-read keeps the client's dispose() waiting.
    const types: string[] = [];
    for await (const e of store.readStream(`allocation-${net}`)) types.push(e.type);
    return types.includes('PartitionConfigured') ? true : undefined;
  });

  const group = `${ns}-foresight-hsm`;
  const topic = physicalTopic('risk.workload', ns);
  const samples = await waitFor('every series on /metrics', async () => {
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain; version=0.0.4');
    const s = parsePrometheus(r.body);
    const ready =
      find(s, 'foresight_consumer_lag', { group, topic }) === 0 &&
      (find(s, 'foresight_consumer_records_total', { group, topic }) ?? 0) >= 2 &&
      find(s, 'foresight_dlq_records', { topic: `${topic}.dlq` }) === 1 &&
      find(s, 'foresight_hsm_partitions_allocated', { hsm: hsmId, tier: 'silver' }) === 1;
    return ready ? s : undefined;
  });

  expect(find(samples, 'foresight_late_records', { topic: `${topic}.late` })).toBe(0);
  expect(find(samples, 'foresight_hsm_workload_records_total', { plan: 'allocate' })).toBe(1);
  // PKCS#11 operations of the hsm role: the partition token made, its baseline keys generated
  const ops = (op: string, outcome = 'ok') => find(samples, 'foresight_hsm_operations_total', { op, outcome, tier: 'silver' }) ?? 0;
  expect(ops('init-token')).toBeGreaterThanOrEqual(1);
  expect(ops('open-session')).toBeGreaterThanOrEqual(1);
  expect(ops('generate')).toBeGreaterThanOrEqual(1);
  expect(find(samples, 'foresight_hsm_operation_seconds_count', { op: 'generate', tier: 'silver' })).toBe(ops('generate'));
  expect(find(samples, 'foresight_hsm_operation_seconds_bucket', { op: 'generate', tier: 'silver', le: '+Inf' })).toBe(ops('generate'));
  // Pool utilisation: one of the HSM's two partitions, 500 of 1000 ops/s
  expect(find(samples, 'foresight_hsm_partitions_capacity', { hsm: hsmId, tier: 'silver' })).toBe(2);
  expect(find(samples, 'foresight_hsm_allocated_ops_per_second', { hsm: hsmId, tier: 'silver' })).toBe(500);
  expect(find(samples, 'foresight_hsm_capacity_ops_per_second', { hsm: hsmId, tier: 'silver' })).toBe(1000);
  expect(find(samples, 'foresight_hsm_pool_utilisation_ratio', { tier: 'silver' })).toBe(0.5);
  expect(find(samples, 'foresight_role_up', { role: 'hsm' })).toBe(1);

  // /healthz: ready, with each dependency's readiness (kafka as the lag sampler last saw it).
  const health = await waitFor('/healthz ready', async () => {
    const r = await get('/healthz');
    return r.status === 200 ? (JSON.parse(r.body) as { ok: boolean; dependencies: Record<string, { ok: boolean }>; roles: Record<string, unknown> }) : undefined;
  });
  expect(health.ok).toBe(true);
  for (const dep of ['kafka', 'schemaRegistry', 'eventStore', 'hsm']) expect(health.dependencies[dep]).toEqual({ ok: true });
  expect(Object.keys(health.roles).sort()).toEqual(['hsm', 'provisioner']);
  // The provisioner's health probe touched its vault token: counted under tier "vault".
  const after = parsePrometheus((await get('/metrics')).body);
  expect(find(after, 'foresight_hsm_operations_total', { op: 'random', outcome: 'ok', tier: 'vault', token: vaultToken })).toBeGreaterThanOrEqual(1);
});
