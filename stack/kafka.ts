import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../core/config';
import { UnavailableError } from '../core/errors';
import type { TlsMaterial } from './certs';
import { layout, mkdirp, writePrivate } from './layout';
import { StackError, startDetached, tail, waitUntil, isAlive, type PidRecord } from './process';

/** A single combined broker+controller in KRaft mode, PLAINTEXT plus a TLS 1.3-only SSL listener. */

export interface KafkaHealth {
  healthy: boolean;
  brokers: string[];
  clusterId?: string;
  controller?: number | null;
  error?: string;
}

/** Pure: the broker's server.properties. Secrets (keystore password) are passed in, never logged. */
export function serverProperties(o: {
  port: number;
  controllerPort: number;
  sslPort: number;
  logDir: string;
  keystore: string;
  keystorePassword: string;
}): string {
  const host = '127.0.0.1';
  return [
    '# Written by `foresight stack up`; edits are overwritten on the next start.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${o.controllerPort}`,
    'controller.listener.names=CONTROLLER',
    `listeners=PLAINTEXT://${host}:${o.port},CONTROLLER://${host}:${o.controllerPort},SSL://${host}:${o.sslPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${o.port},SSL://${host}:${o.sslPort}`,
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL',
    `log.dirs=${o.logDir}`,
    'num.partitions=1',
    // One broker: every internal topic has one replica. Few partitions keep the first consumer
    // group's coordinator start fast on two cores.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=5',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'log.retention.hours=168',
    // TLS 1.3 only: a TLS 1.2 client is refused at the handshake.
    'ssl.enabled.protocols=TLSv1.3',
    'ssl.protocol=TLSv1.3',
    'ssl.client.auth=none',
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.location=${o.keystore}`,
    `ssl.keystore.password=${o.keystorePassword}`,
    `ssl.key.password=${o.keystorePassword}`,
    '',
  ].join('\n');
}

const LOG4J = [
  'log4j.rootLogger=INFO, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka.request.logger=WARN',
  'log4j.logger.state.change.logger=WARN',
  'log4j.logger.org.apache.kafka.clients=WARN',
  // Tests create many short-lived topics; per-partition lines would dwarf everything else.
  'log4j.logger.kafka.cluster.Partition=WARN',
  'log4j.logger.kafka.log=WARN',
  'log4j.logger.org.apache.kafka.storage.internals.log=WARN',
  'log4j.logger.org.apache.kafka.controller.ReplicationControlManager=WARN',
  'log4j.logger.org.apache.kafka.controller.ConfigurationControlManager=WARN',
  'log4j.logger.kafka.server.metadata.DynamicConfigPublisher=WARN',
  '',
].join('\n');

/** A KRaft cluster id: 16 random bytes, base64url without padding (what StorageTool makes). */
export function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

/** An archive is only valid for the JVM that wrote it. */
function javaTag(java: string): string {
  return fs.realpathSync(java).replace(/[^A-Za-z0-9]+/g, '_').slice(-60);
}

function classpath(libs: string): string {
  return path.join(libs, '*');
}

/** Writes config, formats storage on first start, starts the broker detached. */
export function startKafka(cfg: Config, java: string, libs: string, tls: TlsMaterial): PidRecord {
  const l = layout(cfg);
  mkdirp(l.kafkaConfigDir, 0o700);
  mkdirp(l.kafkaData);
  const propsFile = path.join(l.kafkaConfigDir, 'server.properties');
  // The file holds the keystore password, so only we may read it.
  writePrivate(
    propsFile,
    serverProperties({
      port: cfg.ports.kafka,
      controllerPort: cfg.ports.kafkaController,
      sslPort: cfg.ports.kafkaSsl,
      logDir: l.kafkaData,
      keystore: tls.keystore,
      keystorePassword: fs.readFileSync(tls.keystorePasswordFile, 'utf8').trim(),
    }),
  );
  const log4j = path.join(l.kafkaConfigDir, 'log4j.properties');
  fs.writeFileSync(log4j, LOG4J);
  // A dev stack lives for days and every test run leaves its namespaced topics: at ~15,000
  // partitions a 512 MiB heap ran out (OutOfMemoryError, the broker stopped answering).
  const jvm = ['-Xms256m', '-Xmx1536m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${log4j}`];
  // Class-data sharing: the first broker run dumps the classes it loaded at exit; later starts
  // map them instead of parsing ~60 jars again.
  const cds = path.join(path.dirname(libs), `cds-java${javaTag(java)}.jsa`);
  const cdsArgs = fs.existsSync(cds) ? [`-XX:SharedArchiveFile=${cds}`, '-Xlog:cds=off', '-Xlog:cds+dynamic=off'] : [`-XX:ArchiveClassesAtExit=${cds}`, '-Xlog:cds=off', '-Xlog:cds+dynamic=off'];

  if (!fs.existsSync(path.join(l.kafkaData, 'meta.properties'))) {
    const idFile = path.join(l.kafkaConfigDir, 'cluster.id');
    if (!fs.existsSync(idFile)) fs.writeFileSync(idFile, newClusterId());
    try {
      execFileSync(java, [...jvm, '-cp', classpath(libs), 'kafka.tools.StorageTool', 'format', '-t', fs.readFileSync(idFile, 'utf8').trim(), '-c', propsFile, '--ignore-formatted'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      const out = `${(e as { stdout?: Buffer }).stdout ?? ''}${(e as { stderr?: Buffer }).stderr ?? ''}`.trim().split('\n').slice(-2).join(' ');
      throw new StackError(`Kafka storage format failed (${out.slice(0, 300)}); remove ${l.kafkaData} or run 'foresight stack down --purge', then start again`);
    }
  }
  return startDetached({
    component: 'kafka',
    command: java,
    args: [...jvm, ...cdsArgs, '-cp', classpath(libs), 'kafka.Kafka', propsFile],
    cwd: l.kafkaConfigDir,
    runDir: l.run,
    logFile: path.join(l.logs, 'kafka.log'),
    marker: propsFile,
  });
}

/** Readiness is cluster metadata through the admin client, not an open port. */
export async function kafkaHealth(brokers: string[], opts: { timeoutMs?: number; ssl?: import('tls').ConnectionOptions } = {}): Promise<KafkaHealth> {
  const kafka = new Kafka({
    clientId: 'foresight-stack-probe',
    brokers,
    ssl: opts.ssl,
    logLevel: logLevel.NOTHING,
    connectionTimeout: opts.timeoutMs ?? 3000,
    requestTimeout: opts.timeoutMs ?? 3000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    return { healthy: c.brokers.length > 0, brokers, clusterId: c.clusterId, controller: c.controller };
  } catch (e) {
    return { healthy: false, brokers, error: e instanceof Error ? e.message : String(e) };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Waits until Kafka answers with cluster metadata. With `rec`, gives up as soon as that process
 * dies and quotes its log.
 */
export async function waitForKafka(brokers: string[], o: { timeoutMs?: number; rec?: PidRecord; ssl?: import('tls').ConnectionOptions } = {}): Promise<KafkaHealth> {
  let last: KafkaHealth | undefined;
  const r = await waitUntil(
    async () => {
      last = await kafkaHealth(brokers, { ssl: o.ssl });
      return last.healthy;
    },
    {
      timeoutMs: o.timeoutMs ?? 120_000,
      check: () => {
        if (o.rec && !isAlive(o.rec.pid)) throw new StackError(`Kafka exited during start-up: ${tail(o.rec.log, 3)}; see ${o.rec.log}`);
      },
    },
  );
  if (!r.ok || !last) throw new UnavailableError('kafka', `no cluster metadata from ${brokers.join(',')} (${last?.error ?? r.lastError ?? 'timeout'})`);
  return last;
}
