import { randomBytes, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../core/config';
import { ConfigError } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import type { MetricsRegistry } from '../core/metrics';
import type { Health, RoleContext, RunningRole } from '../core/role';
import { EsdbEventStore } from '../eventstore/client';
import { commandIdFromRecord } from '../eventstore/ids';
import type { EventStorePort } from '../eventstore/port';
import { hsmOpsMetrics, instrumentModule } from '../hsm/instrumented';
import { openPkcs11Module } from '../hsm/pkcs11';
import type { HsmModule, HsmSession } from '../hsm/ports';
import { readHsmManifest, readTokenPin, useLocalSoftHsm } from '../stack/softhsm';
import { tlsPaths } from '../stack/certs';
import { startDashboard, type Dashboard, type StartDashboardOptions } from '../dashboard';
import { createProducer, ensureStreams, runConsumer, type Producer } from '../streams';
import { createDeliveryServer, listen } from './api';
import { DeliveryService } from './delivery';
import { KeyRevocation } from './key-revocation';
import { CredentialMetrics } from './metrics';
import { CredentialMinter } from './minter';
import { loadCredentialsConfig, type CredentialsConfig } from './policy';
import type { Notifier } from './ports';
import { Provisioner } from './provisioner';
import { loadTokenKeys } from './tokens';
import { HsmKeyCustodian } from './user-keys';
import { FileVault } from './vault';

/**
 * Composition of the credential roles over the real adapters: EventStoreDB, the vault token in
 * the HSM (PIN from its 0600 file), the file vault, Kafka for alerts and notifications.
 */
export interface CredentialsRuntime {
  config: CredentialsConfig;
  store: EventStorePort;
  hsm: HsmSession;
  custodian: HsmKeyCustodian;
  vault: FileVault;
  minter: CredentialMinter;
  metrics: CredentialMetrics;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Defaults: the stack manifest's vault token, its PIN file, FORESIGHT_HOME/vault. */
  tokenLabel?: string;
  pin?: string;
  vaultDir?: string;
  store?: EventStorePort;
  hsmModule?: HsmModule;
}

export const DEFAULT_VAULT_TOKEN = 'foresight-vault';

export async function openCredentialsRuntime(cfg: Config, registry: MetricsRegistry | undefined, o: RuntimeOptions = {}): Promise<CredentialsRuntime> {
  const config = loadCredentialsConfig(cfg.home);
  const tokenLabel = o.tokenLabel ?? readHsmManifest(cfg)?.tokens.find((t) => t.role === 'vault')?.label ?? DEFAULT_VAULT_TOKEN;
  const pin = o.pin ?? readTokenPin(tokenLabel, cfg);
  const ownModule = !o.hsmModule;
  if (ownModule) useLocalSoftHsm(cfg); // SoftHSM2 reads SOFTHSM2_CONF at C_Initialize only
  const raw = o.hsmModule ?? openPkcs11Module(cfg.hsm.module);
  // The vault token is not part of the HSM pool: its operations are counted under tier "vault".
  const mod = registry ? instrumentModule(raw, hsmOpsMetrics(registry, () => 'vault')) : raw;
  let hsm: HsmSession;
  try {
    hsm = await mod.openSession(tokenLabel, pin);
  } catch (err) {
    if (ownModule) await mod.close();
    throw err;
  }
  const ownStore = !o.store;
  const store = o.store ?? EsdbEventStore.connect(cfg.eventStore.connectionString);
  const vault = FileVault.open(o.vaultDir ?? path.join(cfg.home, 'vault'));
  const custodian = new HsmKeyCustodian(store, hsm);
  const minter = new CredentialMinter(custodian, vault, config.password, randomBytes);
  const metrics = new CredentialMetrics(registry);
  return {
    config,
    store,
    hsm,
    custodian,
    vault,
    minter,
    metrics,
    async close() {
      await hsm.close();
      if (ownModule) await mod.close();
      if (ownStore) await (store as EsdbEventStore).close();
    },
  };
}

/** alerts.admin / notifications.user through the Avro producer, keyed as CONTRACT.md says. */
export function kafkaNotifier(p: Producer): Notifier {
  return {
    alert: (a) => p.send('alerts.admin', [{ key: a.subject, value: a }]),
    notify: (n) => p.send('notifications.user', [{ key: n.userId, value: n }]),
  };
}

async function check(name: string, f: () => Promise<unknown>): Promise<Health> {
  try {
    await f();
    return { [name]: { ok: true } };
  } catch (err) {
    return { [name]: { ok: false, detail: err instanceof Error ? err.message.split('\n')[0] : String(err) } };
  }
}

async function runtimeHealth(rt: CredentialsRuntime): Promise<Health> {
  const es = await check('eventStore', async () => {
    for await (const _ of rt.store.readStream('foresight-health')) break;
  });
  const hsm = await check('hsm', () => rt.hsm.random(1));
  return { ...es, ...hsm };
}

export interface ProvisionerRoleOptions extends RuntimeOptions {
  namespace?: string;
  sweepEveryMs?: number;
  fromBeginning?: boolean;
}

/** `run --role provisioner`: consumes risk.access, sweeps expired credentials periodically. */
export async function startProvisionerRole(ctx: RoleContext, o: ProvisionerRoleOptions = {}): Promise<RunningRole & { provisioner: Provisioner; runtime: CredentialsRuntime }> {
  const log = ctx.log.child({ role: 'provisioner' });
  // Topics and schemas this role reads and writes exist first (idempotent, retried while Kafka starts).
  await ensureStreams(ctx.config, { namespace: o.namespace, topics: ['risk.access', 'alerts.admin', 'notifications.user'], log });
  const rt = await openCredentialsRuntime(ctx.config, ctx.metrics, o);
  const kafka = ctx.config.kafka;
  const registryUrl = ctx.config.schemaRegistry.url;
  const producer = createProducer({ kafka, registryUrl, namespace: o.namespace, clientId: 'foresight-provisioner', log });
  const provisioner = new Provisioner({ store: rt.store, minter: rt.minter, vault: rt.vault, notifier: kafkaNotifier(producer), config: rt.config, metrics: rt.metrics, log, clock: ctx.clock });
  let consumer: Awaited<ReturnType<typeof runConsumer>>;
  try {
    await producer.connect();
    consumer = await runConsumer({
      kafka,
      registryUrl,
      // groupPrefix isolates a demo's or a test's pipeline from the default one.
      groupId: `${ctx.groupPrefix}foresight-provisioner`,
      topics: ['risk.access'],
      namespace: o.namespace,
      fromBeginning: o.fromBeginning ?? true,
      clock: ctx.clock,
      producer,
      log,
      handle: (r) => provisioner.handleRisk(r.value, commandIdFromRecord(r.physicalTopic, r.partition, r.offset)),
    });
  } catch (err) {
    await producer.disconnect().catch(() => undefined);
    await rt.close();
    throw err;
  }
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    provisioner
      .sweep(ctx.clock.now())
      .then((s) => s.expired && log.info('expired credentials swept', s))
      .catch((err: unknown) => log.warn('sweep failed; will try again', { error: err }))
      .finally(() => (sweeping = false));
  }, o.sweepEveryMs ?? 30_000);
  timer.unref();
  return {
    name: 'provisioner',
    provisioner,
    runtime: rt,
    health: () => runtimeHealth(rt),
    async stop() {
      clearInterval(timer);
      await consumer.stop();
      await producer.disconnect();
      await rt.close();
    },
  };
}

export interface ApiRoleOptions extends RuntimeOptions {
  port?: number;
  host?: string;
  /** PEM paths; default the stack's server certificate and CA (FORESIGHT_HOME/tls). */
  tls?: { cert: string; key: string; ca: string };
  log?: Logger;
  /** Bearer-token issuer keys; default FORESIGHT_API_TOKEN_KEYS (none: certificates only). */
  tokenKeys?: KeyObject[];
  /** The operator dashboard's topic namespace, sampling period, limits; feeds: false serves the page without feeds. */
  dashboard?: Omit<StartDashboardOptions, 'metrics' | 'allocations'>;
}

function readPem(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch {
    throw new ConfigError(`${what} ${file} is missing; run 'npx foresight stack up' to create the local CA and server certificate`);
  }
}

/** `run --role api`: the delivery API on FORESIGHT_API_PORT (default 8443). */
export async function startApiRole(ctx: RoleContext, o: ApiRoleOptions = {}): Promise<RunningRole & { port: number; delivery: DeliveryService; runtime: CredentialsRuntime; dashboard: Dashboard }> {
  const log = (o.log ?? ctx.log ?? silentLogger).child({ role: 'api' });
  const t = o.tls ?? (() => {
    const p = tlsPaths(ctx.config);
    return { cert: p.serverCert, key: p.serverKey, ca: p.caCert };
  })();
  const tls = { cert: readPem(t.cert, 'server certificate'), key: readPem(t.key, 'server key'), ca: readPem(t.ca, 'CA certificate') };
  const tokenKeys = o.tokenKeys ?? loadTokenKeys(process.env, (f) => fs.readFileSync(f, 'utf8'));
  const rt = await openCredentialsRuntime(ctx.config, ctx.metrics, o);
  const delivery = new DeliveryService({ store: rt.store, minter: rt.minter, vault: rt.vault, config: rt.config, metrics: rt.metrics, log });
  const allocations = rt.store instanceof EsdbEventStore ? rt.store : undefined;
  const dashboard = startDashboard(ctx, { ...o.dashboard, metrics: rt.metrics, allocations });
  const keyRevocation = new KeyRevocation(rt.custodian, rt.vault, delivery);
  const server = createDeliveryServer({ tls, delivery, metrics: rt.metrics, clock: ctx.clock, log, health: () => runtimeHealth(rt), tokenKeys, dashboard, keyRevocation });
  let port: number;
  try {
    port = await listen(server, o.port ?? ctx.config.ports.api, o.host);
  } catch (err) {
    await dashboard.stop();
    await rt.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new ConfigError(`port ${o.port ?? ctx.config.ports.api} is taken; set FORESIGHT_API_PORT to a free port`);
    throw err;
  }
  log.info('delivery API listening', { port });
  return {
    name: 'api',
    port,
    delivery,
    runtime: rt,
    dashboard,
    health: () => runtimeHealth(rt),
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await dashboard.stop();
      await rt.close();
    },
  };
}
