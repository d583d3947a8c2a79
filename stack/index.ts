import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../core/config';
import { ensureTls, tlsPaths } from './certs';
import { ensureApicurio, ensureDeps, ensureKafkaJars, findJava, type Say } from './deps';
import { eventStoreAvailable, eventStoreHealth, startEventStore, waitForEventStore } from './eventstore';
import { kafkaHealth, startKafka, waitForKafka } from './kafka';
import { layout, mkdirp } from './layout';
import { StackError, portInUse, runningRecord, stopRecorded, withLock, type PidRecord } from './process';
import { registryHealth, setGlobalCompatibility, startRegistry, waitForRegistry } from './registry';
import { ensureTokens, hsmHealth, readHsmManifest } from './softhsm';

export { ensureTls, issueClientCert, tlsPaths, type ClientCert, type TlsMaterial } from './certs';
export { ensureDeps } from './deps';
export { eventStoreHealth, waitForEventStore } from './eventstore';
export { kafkaHealth, waitForKafka } from './kafka';
export { layout } from './layout';
export { registryHealth, setGlobalCompatibility, waitForRegistry } from './registry';
export { LOCAL_TOKENS, readHsmManifest, readTokenPin, useLocalSoftHsm, hsmHealth, type HsmManifest, type ManifestToken } from './softhsm';

/** Per component: `managed` = started by this checkout's `stack up` and still running. */
export interface ComponentStatus {
  healthy: boolean;
  managed: boolean;
  /** Pointed elsewhere by its environment variable; the stack leaves it alone. */
  external: boolean;
  pid?: number;
  error?: string;
}

export interface StackStatus {
  kafka: ComponentStatus & { brokers: string[]; ssl?: { port: number; ca: string } };
  schemaRegistry: ComponentStatus & { url: string; compatibility?: string };
  eventStore: ComponentStatus & { connectionString: string; available: boolean };
  hsm: ComponentStatus & { module: string; softhsm2Conf?: string; tokens: string[] };
}

/** Machine-wide note of which FORESIGHT_HOME runs the Kafka on a port, so a second checkout reusing it finds its CA. */
const ownerFile = (cfg: Config) => path.join(cfg.cacheDir, 'running', `kafka-${cfg.ports.kafka}.json`);

/** The CA that signs the certificate of the Kafka SSL listener on our port (ours or a reused stack's). */
export function kafkaSslCa(cfg: Config): string | undefined {
  const own = tlsPaths(cfg).caCert;
  if (runningRecord(layout(cfg).run, 'kafka')) return own;
  try {
    const { home } = JSON.parse(fs.readFileSync(ownerFile(cfg), 'utf8')) as { home: string };
    const ca = tlsPaths({ home, cacheDir: cfg.cacheDir }).caCert;
    if (fs.existsSync(ca)) return ca;
  } catch {
    /* nobody recorded */
  }
  return fs.existsSync(own) ? own : undefined;
}

/** TLS options for probing a user's own cluster (KAFKA_SSL*); the local stack's brokers are PLAINTEXT. */
function externalKafkaTls(cfg: Config): import('tls').ConnectionOptions | undefined {
  const ssl = cfg.kafka.ssl;
  if (!cfg.kafka.external || !ssl) return undefined;
  const read = (f?: string) => (f ? fs.readFileSync(f) : undefined);
  return { ca: read(ssl.ca), cert: read(ssl.cert), key: read(ssl.key) };
}

/** ensureDeps under a machine-wide lock, so two first runs do not download into one cache at once. */
export function ensureDepsLocked(cfg: Config, say: Say): Promise<void> {
  return withLock(path.join(cfg.cacheDir, 'deps.lock'), async () => ensureDeps(cfg, say));
}

function base(external: boolean, rec?: PidRecord): ComponentStatus {
  return { healthy: false, managed: Boolean(rec), external, pid: rec?.pid };
}

export async function status(cfg: Config): Promise<StackStatus> {
  const run = layout(cfg).run;
  const kRec = runningRecord(run, 'kafka');
  const rRec = runningRecord(run, 'registry');
  const eRec = runningRecord(run, 'eventstore');
  const [k, r, e] = await Promise.all([
    kafkaHealth(cfg.kafka.brokers, { ssl: externalKafkaTls(cfg) }),
    registryHealth(cfg.schemaRegistry.url),
    cfg.eventStore.external || eventStoreAvailable() || eRec ? eventStoreHealth(cfg.eventStore.connectionString) : Promise.resolve(undefined),
  ]);
  const h = hsmHealth(cfg);
  const ca = cfg.kafka.external ? undefined : kafkaSslCa(cfg);
  const available = cfg.eventStore.external || eventStoreAvailable();
  return {
    kafka: {
      brokers: cfg.kafka.brokers,
      ...base(cfg.kafka.external, kRec),
      healthy: k.healthy,
      ...(k.error ? { error: k.error } : {}),
      ...(ca ? { ssl: { port: cfg.ports.kafkaSsl, ca } } : {}),
    },
    schemaRegistry: { url: cfg.schemaRegistry.url, ...base(cfg.schemaRegistry.external, rRec), healthy: r.healthy, compatibility: r.compatibility, ...(r.error ? { error: r.error } : {}) },
    eventStore: {
      connectionString: cfg.eventStore.connectionString,
      ...base(cfg.eventStore.external, eRec),
      available,
      healthy: e?.healthy ?? false,
      ...(e?.error ? { error: e.error } : available ? {} : { error: 'not available yet (esdb-local/main.ts is not in this checkout)' }),
    },
    hsm: {
      module: cfg.hsm.module,
      ...base(cfg.hsm.external),
      managed: !cfg.hsm.external && Boolean(readHsmManifest(cfg)),
      softhsm2Conf: cfg.hsm.external ? undefined : layout(cfg).softhsmConf,
      tokens: h.tokens,
      healthy: h.healthy,
      ...(h.error ? { error: h.error } : {}),
    },
  };
}

/** Healthy enough to work on: every component that exists here answers. */
export function allHealthy(s: StackStatus): boolean {
  return s.kafka.healthy && s.schemaRegistry.healthy && s.hsm.healthy && (s.eventStore.healthy || !s.eventStore.available);
}

function taken(port: number, what: string, envVar: string): StackError {
  return new StackError(`port ${port} (${what}) is taken by another program; stop it or set ${envVar} to a free port`);
}

export interface UpResult {
  status: StackStatus;
  /** Components this call started, by pid-file name: kafka, registry, eventstore. */
  started: string[];
  /** Components found healthy on their ports but started by someone else (reused). */
  reused: string[];
}

async function upKafka(cfg: Config, say: Say, started: string[], reused: string[]): Promise<void> {
  if (cfg.kafka.external) return say(`kafka: external (${cfg.kafka.brokers.join(',')}), not started`);
  const l = layout(cfg);
  const rec = runningRecord(l.run, 'kafka');
  if (rec) {
    await waitForKafka(cfg.kafka.brokers, { rec });
    return say(`kafka: running (pid ${rec.pid})`);
  }
  if (await portInUse(cfg.ports.kafka)) {
    if ((await kafkaHealth(cfg.kafka.brokers)).healthy) {
      reused.push('kafka');
      return say(`kafka: a broker already answers on 127.0.0.1:${cfg.ports.kafka}; reusing it`);
    }
    throw taken(cfg.ports.kafka, 'Kafka', 'FORESIGHT_KAFKA_PORT');
  }
  if (await portInUse(cfg.ports.kafkaController)) throw taken(cfg.ports.kafkaController, 'Kafka controller', 'FORESIGHT_KAFKA_CONTROLLER_PORT');
  if (await portInUse(cfg.ports.kafkaSsl)) throw taken(cfg.ports.kafkaSsl, 'Kafka SSL', 'FORESIGHT_KAFKA_SSL_PORT');
  const java = findJava(17, 'FORESIGHT_KAFKA_JAVA_HOME');
  const tls = ensureTls(cfg, keytoolOf(java));
  const started1 = startKafka(cfg, java, ensureKafkaJars(cfg, say), tls);
  say(`kafka: starting (pid ${started1.pid}, log ${started1.log})`);
  await waitForKafka(cfg.kafka.brokers, { rec: started1 });
  mkdirp(path.dirname(ownerFile(cfg)));
  fs.writeFileSync(ownerFile(cfg), JSON.stringify({ home: cfg.home, pid: started1.pid }));
  started.push('kafka');
  say(`kafka: ready on 127.0.0.1:${cfg.ports.kafka} (TLS 1.3 on ${cfg.ports.kafkaSsl})`);
}

async function upRegistry(cfg: Config, say: Say, started: string[], reused: string[]): Promise<void> {
  const url = cfg.schemaRegistry.url;
  if (cfg.schemaRegistry.external) return say(`schema registry: external (${url}), not started`);
  const l = layout(cfg);
  let rec = runningRecord(l.run, 'registry');
  if (!rec && (await portInUse(cfg.ports.registry))) {
    if (!(await registryHealth(url)).healthy) throw taken(cfg.ports.registry, 'schema registry', 'FORESIGHT_REGISTRY_PORT');
    reused.push('registry');
    say(`schema registry: one already answers at ${url}; reusing it`);
  } else if (!rec) {
    rec = startRegistry(cfg, findJava(21, 'FORESIGHT_REGISTRY_JAVA_HOME'), ensureApicurio(cfg, say));
    say(`schema registry: starting (pid ${rec.pid}, log ${rec.log})`);
    started.push('registry');
  }
  const h = await waitForRegistry(url, { rec });
  if (h.compatibility !== 'BACKWARD') await setGlobalCompatibility(url, 'BACKWARD');
  say(`schema registry: ready at ${url} (global compatibility BACKWARD)`);
}

async function upEventStore(cfg: Config, say: Say, started: string[], reused: string[]): Promise<void> {
  const cs = cfg.eventStore.connectionString;
  if (cfg.eventStore.external) return say(`event store: external (${cs}), not started`);
  const l = layout(cfg);
  let rec = runningRecord(l.run, 'eventstore');
  if (!rec && (await portInUse(cfg.ports.eventStore))) {
    if (!(await eventStoreHealth(cs)).healthy) throw taken(cfg.ports.eventStore, 'event store', 'FORESIGHT_EVENTSTORE_PORT');
    reused.push('eventstore');
    say(`event store: one already answers at ${cs}; reusing it`);
  } else if (!rec) {
    if (!eventStoreAvailable()) return say('event store: not available yet (esdb-local/main.ts is not in this checkout); skipped');
    rec = startEventStore(cfg);
    say(`event store: starting (pid ${rec.pid}, log ${rec.log})`);
    started.push('eventstore');
  }
  await waitForEventStore(cs, { rec });
  say(`event store: ready at ${cs}`);
}

const keytoolOf = (java: string) => path.join(path.dirname(java), 'keytool');

/** The CA and server certificate exist whatever runs, since the delivery API serves with them too. */
function upTls(cfg: Config): void {
  let keytool: string | undefined;
  try {
    keytool = keytoolOf(findJava(17, 'FORESIGHT_KAFKA_JAVA_HOME'));
  } catch {
    keytool = undefined; // no JDK: no Java truststore, the PEM files still serve Node
  }
  ensureTls(cfg, keytool);
}

function upHsm(cfg: Config, say: Say): void {
  if (cfg.hsm.external) return say(`hsm: external module ${cfg.hsm.module}, no tokens created`);
  const m = ensureTokens(cfg);
  say(`hsm: tokens ${m.tokens.map((t) => t.label).join(', ')} ready (SOFTHSM2_CONF=${m.softhsm2Conf})`);
}

/**
 * Brings every local component up, idempotently: what runs is checked and kept, what is
 * missing is started, and the call returns once each answers for real.
 */
export async function up(cfg: Config, say: Say = () => undefined): Promise<UpResult> {
  await ensureDepsLocked(cfg, say);
  const l = layout(cfg);
  mkdirp(l.logs);
  return withLock(path.join(l.run, 'stack.lock'), async () => {
    const started: string[] = [];
    const reused: string[] = [];
    upTls(cfg);
    upHsm(cfg, say);
    const results = await Promise.allSettled([
      upKafka(cfg, say, started, reused),
      upRegistry(cfg, say, started, reused),
      upEventStore(cfg, say, started, reused),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { status: await status(cfg), started, reused };
  });
}

/** Stops only what this checkout's `stack up` started; `purge` also deletes data, tokens and keys. */
export async function down(cfg: Config, o: { purge?: boolean; only?: string[] } = {}, say: Say = () => undefined): Promise<string[]> {
  const l = layout(cfg);
  return withLock(path.join(l.run, 'stack.lock'), async () => {
    const stopped: string[] = [];
    await Promise.all(
      ['registry', 'eventstore', 'kafka'].filter((c) => !o.only || o.only.includes(c)).map(async (c) => {
        // Kafka may spend a while writing its class-data archive on its first exit.
        if (await stopRecorded(l.run, c, c === 'kafka' ? 90_000 : 30_000)) {
          stopped.push(c);
          say(`${c}: stopped`);
        }
      }),
    );
    try {
      const owner = JSON.parse(fs.readFileSync(ownerFile(cfg), 'utf8')) as { home: string };
      if (owner.home === cfg.home && !runningRecord(l.run, 'kafka')) fs.rmSync(ownerFile(cfg), { force: true });
    } catch {
      /* none */
    }
    if (o.purge) {
      for (const p of [l.data, l.softhsm, l.secrets, l.tls, l.kafkaConfigDir, l.hsmManifest]) fs.rmSync(p, { recursive: true, force: true });
      say(`purged data, tokens, keys and certificates under ${l.home} (logs kept)`);
    }
    return stopped;
  });
}
