import * as fs from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { Config } from '../core/config';
import { silentLogger, type Logger } from '../core/log';

/** What the wrappers need from core/config: brokers and optional TLS. */
export type KafkaConnection = Pick<Config['kafka'], 'brokers' | 'ssl'>;

/**
 * The only place a kafkajs client is built. kafkajs's own logs go through our logger at WARN and
 * above; its internal retries stay short so our retry policy (core/retry.ts) decides.
 */
export function createKafka(conn: KafkaConnection, clientId: string, log: Logger = silentLogger): Kafka {
  const ssl = conn.ssl
    ? {
        rejectUnauthorized: true,
        ca: conn.ssl.ca ? [fs.readFileSync(conn.ssl.ca, 'utf8')] : undefined,
        cert: conn.ssl.cert ? fs.readFileSync(conn.ssl.cert, 'utf8') : undefined,
        key: conn.ssl.key ? fs.readFileSync(conn.ssl.key, 'utf8') : undefined,
        minVersion: 'TLSv1.3' as const,
      }
    : undefined;
  const cfg: KafkaConfig = {
    clientId,
    brokers: conn.brokers,
    ssl,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 200, retries: 5, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, label, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        // Transactional producers limit retries on purpose: an aborted attempt is redone whole.
        if (String(message).startsWith('Limiting retries for the idempotent producer')) return;
        const fields = { kafkajs: label, ...rest };
        if (level <= logLevel.ERROR) log.error(String(message), fields);
        else if (level === logLevel.WARN) log.warn(String(message), fields);
      },
  };
  return new Kafka(cfg);
}
