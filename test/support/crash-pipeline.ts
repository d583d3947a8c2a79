/**
 * A whole pipeline — projections, scorer, provisioner, hsm — each role its own process
 * (test/support/pipeline-child.ts), on the shared Kafka and registry, with a private event store
 * (esdb-local as a child process) and a private SoftHSM2 token directory, so two runs over the
 * same input can be compared. What a run leaves behind is read as a snapshot: the committed
 * features and risks, and every event in its event store.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventStoreDBClient, FORWARDS, START } from '@eventstore/db-client';
import { DEFAULT_PKCS11_MODULE, loadConfig } from '../../core/config';
import { createSerde, dlqTopic, lateTopic, physicalTopic, readTopic } from '../../streams';
import { startEsdbProcess, type EsdbProcess } from './esdb-process';

const ROOT = path.resolve(__dirname, '..', '..');
const CHILD = path.join(ROOT, 'test', 'support', 'pipeline-child.ts');
export const CRASH_ROLES = ['projections', 'scorer', 'provisioner', 'hsm'] as const;
export type CrashRole = (typeof CRASH_ROLES)[number];
const cfg = loadConfig();

export interface PipelineRun {
  readonly namespace: string;
  readonly esdb: EsdbProcess;
  start(role: CrashRole): RoleProcess;
  dispose(): Promise<void>;
}

export interface RoleProcess {
  readonly role: CrashRole;
  readonly child: ChildProcess;
  /** Resolves once the role prints `started`; rejects if it exits first. */
  readonly started: Promise<void>;
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A private event store, SoftHSM2 (vault token made by another process), pool and policy for one run. */
export async function preparePipelineRun(tag: string, o: { modelDir: string; clockAt: number }): Promise<PipelineRun> {
  const namespace = `t-crash-${tag}-${randomUUID().slice(0, 8)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fs-crash-${tag}-`));
  const tokens = path.join(dir, 'tokens');
  fs.mkdirSync(tokens, { mode: 0o700 });
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const vaultToken = 'crash-vault';
  const pin = randomBytes(12).toString('hex');
  const modulePath = process.env.PKCS11_MODULE || DEFAULT_PKCS11_MODULE;
  const init = spawnSync(process.execPath, [path.join(ROOT, 'test', 'support', 'softhsm-init-token.js'), modulePath, vaultToken], {
    env: { ...process.env, SOFTHSM2_CONF: conf, HSM_SO_PIN: randomBytes(12).toString('hex'), HSM_USER_PIN: pin },
    encoding: 'utf8',
  });
  if (init.status !== 0) throw new Error(`vault token not initialised: ${init.stderr}`);
  const pool = path.join(dir, 'pool.yaml');
  fs.writeFileSync(
    pool,
    `poolId: crash
secretsDir: ${path.join(dir, 'secrets')}
policyFile: ${path.join(ROOT, 'hsm', 'policy.example.yaml')}
tiers:
  - { name: silver, partitionOpsPerSecond: 500 }
  - { name: gold, partitionOpsPerSecond: 2500 }
hsms:
  - { id: silver-1, tier: silver, partitionCapacity: 4, createPartitions: true }
  - { id: gold-1, tier: gold, partitionCapacity: 2, createPartitions: true }
planner: { leadTimeMinutes: 30, headroom: 1.25, scaleInBelow: 0.5 }
`,
  );
  const policy = path.join(dir, 'credentials.yaml');
  // A low threshold, so most scores are acted on and the event store has plenty to compare; a
  // validity longer than the input, so with the clock fixed after it nothing is stale or expires.
  fs.writeFileSync(policy, 'default: { threshold: 0.2, validity: PT96H, maxOutstandingPerUser: 5, maxOutstandingTotal: 10000 }\n');
  const esdb = await startEsdbProcess();
  const env = {
    ...process.env,
    EVENTSTORE_CONNECTION_STRING: esdb.connectionString,
    SOFTHSM2_CONF: conf,
    FORESIGHT_CREDENTIALS_POLICY: policy,
    CRASH_VAULT_TOKEN: vaultToken,
    CRASH_VAULT_PIN: pin,
    LOG_LEVEL: 'warn',
  };
  const args = (role: CrashRole) => [
    '--import', 'tsx', CHILD,
    '--role', role,
    '--namespace', namespace,
    '--group-prefix', `${namespace}-`,
    // One instance id per role across restarts: each restart fences its predecessor's transaction.
    '--instance', `${role}-1`,
    '--clock-at', String(o.clockAt),
    '--model', o.modelDir,
    '--pool', pool,
    '--vault-dir', path.join(dir, 'vault'),
  ];
  const live = new Set<RoleProcess>();
  return {
    namespace,
    esdb,
    start(role) {
      const child = spawn(process.execPath, args(role), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => void (err = (err + d.toString('utf8')).slice(-4000)));
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      const started = new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => d.toString('utf8').includes('started') && resolve());
        child.once('exit', (code, signal) => reject(new Error(`${role} exited (${code ?? signal}) before it started: ${err}`)));
      });
      started.catch(() => undefined);
      const p: RoleProcess = {
        role,
        child,
        started,
        stderr: () => err,
        async kill(signal = 'SIGKILL') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exited;
          live.delete(p);
        },
      };
      live.add(p);
      return p;
    },
    async dispose() {
      await Promise.all([...live].map((p) => p.kill('SIGKILL')));
      await esdb.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Snapshot {
  features: string[];
  risks: string[];
  /** Per stream, its events in order: type and the fields two runs must agree on. */
  streams: Record<string, string[]>;
  duplicateEventIds: number;
  dlq: number;
  late: number;
}

/** Fields that carry decisions, not identifiers minted from offsets or random key material. */
const KEPT = /^(userId|vmId|clientNetworkId|hsmId|partitionId|tier|level|riskLevel|status|reason|source|action|kind|ruleId|horizon|expiresAt|validFrom|at|timestamp|predictedAccessTime|capacity|partitions|opsPerSecond)$/;

function normalise(type: string, data: unknown): string {
  const kept: Record<string, unknown> = {};
  if (data && typeof data === 'object') {
    for (const [k, v] of Object.entries(data as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1))) {
      if (!KEPT.test(k) || (typeof v === 'object' && v !== null && !Array.isArray(v))) continue;
      // Which free partition of an HSM a network gets depends on which network the pool served
      // first: networks on different Kafka partitions are handled concurrently, in any order.
      kept[k] = k === 'partitions' && Array.isArray(v) ? v.map((p) => ({ ...(p as object), label: undefined })) : v;
    }
  }
  return `${type} ${JSON.stringify(kept)}`;
}

/** Streams every client network writes to (the pool's, each HSM's): their order across networks is concurrency, not a decision. */
export const isSharedStream = (stream: string): boolean => stream.startsWith('hsm-');

/**
 * Each record as its eventId, and for risks also what was predicted (to 6 decimals): a scorer
 * restarted cold would give the same ids with other scores.
 */
async function records(topic: 'features.access' | 'features.network' | 'risk.access' | 'risk.workload', ns: string): Promise<string[]> {
  const serde = createSerde({ registryUrl: cfg.schemaRegistry.url });
  const raw = await readTopic(cfg.kafka, physicalTopic(topic, ns), { fromBeginning: true, idleMs: 1500, timeoutMs: 60_000 });
  const out: string[] = [];
  for (const m of raw) {
    const v = (await serde.decode(topic, m.value)).value as unknown as Record<string, unknown>;
    const predicted = topic === 'risk.access' ? [v.riskScore] : topic === 'risk.workload' ? [v.predictedPeakOpsPerSec, v.securityRisk] : [];
    out.push([v.eventId, ...predicted.map((x) => (x as number).toFixed(6))].join(' '));
  }
  return out;
}

async function count(topic: string): Promise<number> {
  return (await readTopic(cfg.kafka, topic, { fromBeginning: true, idleMs: 1000, timeoutMs: 30_000 })).length;
}

export async function snapshot(run: PipelineRun): Promise<Snapshot> {
  const ns = run.namespace;
  const features = [...(await records('features.access', ns)), ...(await records('features.network', ns))];
  const risks = [...(await records('risk.access', ns)), ...(await records('risk.workload', ns))];
  const streams: Record<string, string[]> = {};
  const client = EventStoreDBClient.connectionString(run.esdb.connectionString);
  const ids = new Set<string>();
  let duplicateEventIds = 0;
  try {
    for await (const r of client.readAll({ fromPosition: START, direction: FORWARDS, resolveLinkTos: false })) {
      const e = r.event;
      if (!e || e.streamId.startsWith('$') || e.streamId === 'foresight-health') continue;
      if (ids.has(e.id)) duplicateEventIds++;
      ids.add(e.id);
      (streams[e.streamId] ??= []).push(normalise(e.type, e.data));
    }
  } finally {
    await client.dispose();
  }
  const inputs = ['telemetry.vm-access', 'telemetry.user-activity', 'telemetry.network', 'features.access', 'features.network', 'risk.access', 'risk.workload'] as const;
  let dlq = 0;
  for (const t of inputs) dlq += await count(dlqTopic(physicalTopic(t, ns)));
  let late = 0;
  for (const t of inputs.slice(0, 3)) late += await count(lateTopic(physicalTopic(t, ns)));
  // Sorted: partitions interleave differently on every read, and writers on the $all log too.
  const sortedStreams = Object.fromEntries(Object.entries(streams).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { features: features.sort(), risks: risks.sort(), streams: sortedStreams, duplicateEventIds, dlq, late };
}

/** Polls until two snapshots `stableMs` apart agree: every role has drained its input. */
export async function settle(run: PipelineRun, o: { stableMs: number; timeoutMs: number }): Promise<Snapshot> {
  const deadline = Date.now() + o.timeoutMs;
  let last = await snapshot(run);
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 5000));
    const next = await snapshot(run);
    if (JSON.stringify(next) !== JSON.stringify(last)) {
      last = next;
      since = Date.now();
    } else if (Date.now() - since >= o.stableMs) return next;
    if (Date.now() > deadline) throw new Error(`the pipeline did not settle in ${o.timeoutMs} ms`);
  }
}
