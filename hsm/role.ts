import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot, type Config } from '../core/config';
import { isRetriable } from '../core/errors';
import type { Health, RoleContext, RunningRole } from '../core/role';
import { EsdbEventStore } from '../eventstore/client';
import type { EventStorePort } from '../eventstore/port';
import type { AdminAlert, WorkloadRisk } from '../schemas/types';
import { useLocalSoftHsm } from '../stack/softhsm';
import { createProducer, done, ensureStreams, physicalTopic, retry, runConsumer } from '../streams';
import { lastCommittedForecasts } from './resume';
import { LeadTimeScheduler } from './lead-time';
import { hsmOpsMetrics, instrumentModule, poolTierOf } from './instrumented';
import { HsmOrchestrator } from './orchestrator';
import { watchHsmOutages } from './outage';
import { pkcs11PartitionOps } from './partition-ops';
import { openPkcs11Module } from './pkcs11';
import { loadPolicy, type PolicyRule } from './policy';
import { loadPoolConfig, type PoolConfig } from './pool-config';
import { poolMetrics } from './pool-metrics';
import type { HsmModule } from './ports';

/**
 * The pool file: --pool, else FORESIGHT_HSM_POOL, else FORESIGHT_HOME/hsm-pool.yaml when it
 * exists, else the example shipped in hsm/ (the local stack's SoftHSM2 pool).
 */
export function resolvePoolFile(cfg: Pick<Config, 'home'>, explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return path.resolve(explicit);
  if (env.FORESIGHT_HSM_POOL) return path.resolve(env.FORESIGHT_HSM_POOL);
  const local = path.join(cfg.home, 'hsm-pool.yaml');
  if (fs.existsSync(local)) return local;
  return path.join(projectRoot(), 'hsm', 'pool.example.yaml');
}

export function loadPool(cfg: Pick<Config, 'home' | 'hsm'>, explicit?: string): { file: string; pool: PoolConfig; rules: PolicyRule[] } {
  const file = resolvePoolFile(cfg, explicit);
  const pool = loadPoolConfig(file, { module: cfg.hsm.module, home: cfg.home });
  const rules = pool.policyFile ? loadPolicy(pool.policyFile) : [];
  return { file, pool, rules };
}

/** Consecutive HSM-unavailable failures before the one DEPENDENCY_UNAVAILABLE alert of an episode. */
export const HSM_OUTAGE_ALERT_AFTER = 3;

export interface HsmRoleOptions {
  poolFile?: string;
  namespace?: string;
  fromBeginning?: boolean;
  store?: EventStorePort;
  /** How often forecasts waiting for their lead time are looked at again. */
  tickMs?: number;
  /** A module the caller owns (tests: a private SoftHSM2); default: one per library path. */
  hsmModule?: HsmModule;
}

/**
 * `run --role hsm`: consumes risk.workload, one orchestrator per process; several processes
 * share the partitions of the topic (consumer group), and partition claims on hsm-* streams keep
 * them from handing one HSM partition to two clients.
 */
export async function startHsmRole(ctx: RoleContext, o: HsmRoleOptions = {}): Promise<RunningRole & { orchestrator: HsmOrchestrator }> {
  const log = ctx.log.child({ role: 'hsm' });
  const { file, pool, rules } = loadPool(ctx.config, o.poolFile);
  // Started before the scorer has ever written (its own process, a fresh namespace), the role
  // found no risk.workload and failed to start: the topics it reads and writes exist first.
  await ensureStreams(ctx.config, { namespace: o.namespace, topics: ['risk.workload', 'alerts.admin'], log });
  if (!o.hsmModule) useLocalSoftHsm(ctx.config); // SoftHSM2 reads SOFTHSM2_CONF at C_Initialize only
  const modules = new Map<string, HsmModule>();
  const opsMetrics = hsmOpsMetrics(ctx.metrics, poolTierOf(pool));
  const given = o.hsmModule && instrumentModule(o.hsmModule, opsMetrics);
  const moduleFor = (p: string) => {
    if (given) return given;
    let m = modules.get(p);
    if (!m) modules.set(p, (m = instrumentModule(openPkcs11Module(p), opsMetrics)));
    return m;
  };
  const ownStore = !o.store;
  const store = o.store ?? EsdbEventStore.connect(ctx.config.eventStore.connectionString);
  const kafka = ctx.config.kafka;
  const registryUrl = ctx.config.schemaRegistry.url;
  const producer = createProducer({ kafka, registryUrl, namespace: o.namespace, clientId: 'foresight-hsm', log });
  await producer.connect();
  const publishAlert = (a: AdminAlert) => producer.send('alerts.admin', [{ key: a.subject, value: a }]);
  const partitions = watchHsmOutages(pkcs11PartitionOps(moduleFor, pool), {
    rule: { poolId: pool.poolId, threshold: HSM_OUTAGE_ALERT_AFTER },
    clock: ctx.clock,
    log,
    publish: publishAlert,
  });
  const updatePool = poolMetrics(ctx.metrics, pool);
  const orchestrator = new HsmOrchestrator({
    config: pool,
    rules,
    store,
    partitions,
    log,
    publishAlert,
    onPoolAssignments: updatePool,
  });
  // Utilisation from the hsm-* streams at start; each decision refreshes it (onPoolAssignments).
  try {
    updatePool(await orchestrator.poolAssignments());
  } catch (err) {
    log.warn('pool utilisation not read at start; the first decision sets it', { error: err });
  }
  const handled = ctx.metrics.counter('foresight_hsm_workload_records_total', 'risk.workload records handled by the HSM orchestrator, by plan');

  const scheduler = new LeadTimeScheduler();
  const handle = async (r: WorkloadRisk) => {
    const out = await orchestrator.handle(r);
    handled.inc({ plan: out.plan.kind });
    scheduler.offer(r, out.plan);
  };
  const groupId = `${ctx.groupPrefix}foresight-hsm`;
  for (const r of await lastCommittedForecasts({ kafka, registryUrl, groupId, topic: physicalTopic('risk.workload', o.namespace), log })) {
    try {
      await handle(r);
    } catch (err) {
      log.warn('a waiting forecast was not resumed; the network\'s next forecast plans again', { clientNetworkId: r.clientNetworkId, error: err });
    }
  }
  if (scheduler.size) log.info('resumed forecasts waiting for their lead time', { waiting: scheduler.size });
  const timer = setInterval(() => {
    for (const r of scheduler.due(ctx.clock.now())) {
      handle(r).catch((err) => log.error('allocation at the start of the lead time failed', { clientNetworkId: r.clientNetworkId, error: err }));
    }
  }, o.tickMs ?? 5_000);
  timer.unref();

  const consumer = await runConsumer({
    kafka,
    registryUrl,
    groupId,
    topics: ['risk.workload'],
    namespace: o.namespace,
    fromBeginning: o.fromBeginning,
    clock: ctx.clock,
    producer,
    log,
    handle: async (rec) => {
      try {
        await handle(rec.value);
        return done();
      } catch (err) {
        // Retriable (HSM or event store down, a lost race): retried for as long as it takes; an
        // HSM outage alerts once per episode (watchHsmOutages).
        // Anything else (a missing partition token, a pool file that no longer fits) is retried a
        // few times by the consumer and then DLQ'd as retries-exhausted, with the message.
        if (!isRetriable(err)) log.error('workload record failed', { clientNetworkId: rec.value.clientNetworkId, error: err });
        return retry(err);
      }
    },
  });
  log.info('hsm role started', { pool: file, hsms: pool.hsms.length, rules: rules.length });

  return {
    name: 'hsm',
    orchestrator,
    async health(): Promise<Health> {
      const h: Health = {};
      try {
        for await (const _ of store.readStream('foresight-health')) break;
        h.eventStore = { ok: true };
      } catch (err) {
        h.eventStore = { ok: false, detail: err instanceof Error ? err.message : String(err) };
      }
      try {
        const labels = new Set((await moduleFor(ctx.config.hsm.module).listTokens()).map((t) => t.label));
        const missing = pool.hsms.filter((x) => x.adminToken && !labels.has(x.adminToken)).map((x) => x.adminToken);
        h.hsm = missing.length ? { ok: false, detail: `tokens missing: ${missing.join(', ')}` } : { ok: true };
      } catch (err) {
        h.hsm = { ok: false, detail: err instanceof Error ? err.message : String(err) };
      }
      return h;
    },
    async stop() {
      clearInterval(timer);
      await consumer.stop();
      await producer.disconnect();
      await partitions.close();
      for (const m of modules.values()) await m.close();
      if (ownStore) await (store as EsdbEventStore).close();
    },
  };
}
