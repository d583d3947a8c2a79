import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from './errors';

/** Ports of the local stack; each may be moved with an env var when the default is taken. */
export interface LocalPorts {
  kafka: number; // PLAINTEXT listener
  kafkaController: number;
  kafkaSsl: number; // TLS 1.3-only listener
  registry: number;
  eventStore: number;
  api: number;
}

export interface Config {
  /** Checkout-local state: data dirs, tokens, logs, pid files. */
  home: string;
  /** Downloads (jars, the registry) shared by every checkout on the machine. */
  cacheDir: string;
  ports: LocalPorts;
  kafka: {
    brokers: string[];
    /** True when KAFKA_BROKERS names someone else's cluster: the stack does not start Kafka. */
    external: boolean;
    ssl?: { ca?: string; cert?: string; key?: string };
  };
  schemaRegistry: { url: string; external: boolean };
  eventStore: { connectionString: string; external: boolean };
  hsm: { module: string; external: boolean };
}

export const DEFAULT_PKCS11_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

function port(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ConfigError(`${name}=${raw} is not a TCP port; set it to a number from 1 to 65535 or unset it`);
  }
  return n;
}

function readFileVar(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const p = env[name];
  if (!p) return undefined;
  if (!fs.existsSync(p)) throw new ConfigError(`${name}=${p}: no such file; point it at a PEM file or unset it`);
  return p;
}

/** The project root: the folder holding package.json above this file. */
export function projectRoot(): string {
  return path.resolve(__dirname, '..');
}

/** Validates the environment once, at start-up; every message names the variable and the fix. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const home = path.resolve(env.FORESIGHT_HOME || path.join(projectRoot(), '.foresight'));
  const cacheDir = path.resolve(
    env.FORESIGHT_CACHE || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'foresight'),
  );
  const ports: LocalPorts = {
    kafka: port(env, 'FORESIGHT_KAFKA_PORT', 9092),
    kafkaController: port(env, 'FORESIGHT_KAFKA_CONTROLLER_PORT', 9093),
    kafkaSsl: port(env, 'FORESIGHT_KAFKA_SSL_PORT', 9094),
    registry: port(env, 'FORESIGHT_REGISTRY_PORT', 8081),
    eventStore: port(env, 'FORESIGHT_EVENTSTORE_PORT', 2113),
    api: port(env, 'FORESIGHT_API_PORT', 8443),
  };

  const brokersRaw = env.KAFKA_BROKERS?.trim();
  const brokers = brokersRaw ? brokersRaw.split(',').map((b) => b.trim()).filter(Boolean) : [`127.0.0.1:${ports.kafka}`];
  for (const b of brokers) {
    if (!/^[^:\s]+:\d+$/.test(b)) throw new ConfigError(`KAFKA_BROKERS: "${b}" is not host:port; use e.g. KAFKA_BROKERS=broker1:9092,broker2:9092`);
  }
  const sslOn = env.KAFKA_SSL === 'true' || env.KAFKA_SSL === '1';
  if (env.KAFKA_SSL && !['true', '1', 'false', '0'].includes(env.KAFKA_SSL)) {
    throw new ConfigError(`KAFKA_SSL=${env.KAFKA_SSL}: use true or false`);
  }

  const registryUrl = env.SCHEMA_REGISTRY_URL?.trim() || `http://127.0.0.1:${ports.registry}/apis/ccompat/v7`;
  try {
    new URL(registryUrl);
  } catch {
    throw new ConfigError(`SCHEMA_REGISTRY_URL=${registryUrl} is not a URL; use e.g. http://registry:8081`);
  }

  const esdb = env.EVENTSTORE_CONNECTION_STRING?.trim() || `esdb://127.0.0.1:${ports.eventStore}?tls=false`;
  if (!/^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover|kdb|kdb\+discover):\/\//.test(esdb)) {
    throw new ConfigError(`EVENTSTORE_CONNECTION_STRING=${esdb} must start with esdb:// (or esdb+discover://)`);
  }

  return {
    home,
    cacheDir,
    ports,
    kafka: {
      brokers,
      external: Boolean(brokersRaw),
      ssl: sslOn
        ? { ca: readFileVar(env, 'KAFKA_SSL_CA'), cert: readFileVar(env, 'KAFKA_SSL_CERT'), key: readFileVar(env, 'KAFKA_SSL_KEY') }
        : undefined,
    },
    schemaRegistry: { url: registryUrl, external: Boolean(env.SCHEMA_REGISTRY_URL?.trim()) },
    eventStore: { connectionString: esdb, external: Boolean(env.EVENTSTORE_CONNECTION_STRING?.trim()) },
    hsm: { module: env.PKCS11_MODULE?.trim() || DEFAULT_PKCS11_MODULE, external: Boolean(env.PKCS11_MODULE?.trim()) },
  };
}
