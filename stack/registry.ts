import * as path from 'node:path';
import type { Config } from '../core/config';
import { UnavailableError } from '../core/errors';
import { layout, mkdirp } from './layout';
import { StackError, isAlive, startDetached, tail, waitUntil, type PidRecord } from './process';

/**
 * Apicurio Registry 3.3 with its Confluent-compatible API at /apis/ccompat/v7. Schemas are kept
 * in an H2 file under FORESIGHT_HOME/data, so they live exactly as long as Kafka's records
 * that carry their ids (in-memory storage would make old records undecodable after a restart).
 */

export interface RegistryHealth {
  healthy: boolean;
  url: string;
  compatibility?: string;
  error?: string;
}

export function registryJvmArgs(o: { port: number; dataDir: string; cdsArchive?: string }): string[] {
  return [
    // Class-data sharing archive written on first run (JDK 19+): later starts load classes faster.
    ...(o.cdsArchive ? ['-XX:+AutoCreateSharedArchive', `-XX:SharedArchiveFile=${o.cdsArchive}`, '-Xlog:cds=off', '-Xlog:cds+dynamic=off'] : []),
    '-Xms128m',
    '-Xmx384m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    '-Dquarkus.http.host=127.0.0.1',
    `-Dquarkus.http.port=${o.port}`,
    // The management interface (health, metrics) would take port 9000; a free port avoids clashes.
    '-Dquarkus.management.host=127.0.0.1',
    '-Dquarkus.management.port=0',
    '-Dapicurio.storage.kind=sql',
    '-Dapicurio.storage.sql.kind=h2',
    `-Dapicurio.datasource.url=jdbc:h2:file:${path.join(o.dataDir, 'registry')}`,
    // Twenty pooled connections is a server default; two cores need few.
    '-Dapicurio.datasource.jdbc.initial-size=2',
    '-Dapicurio.datasource.jdbc.min-size=2',
    '-Dapicurio.datasource.jdbc.max-size=10',
    '-Dquarkus.http.access-log.enabled=false',
  ];
}

export function startRegistry(cfg: Config, java: string, jar: string): PidRecord {
  const l = layout(cfg);
  mkdirp(l.registryData);
  const cdsArchive = path.join(path.dirname(jar), 'app-cds.jsa');
  const args = [...registryJvmArgs({ port: cfg.ports.registry, dataDir: l.registryData, cdsArchive }), '-jar', jar];
  return startDetached({
    component: 'registry',
    command: java,
    args,
    cwd: l.registryData,
    runDir: l.run,
    logFile: path.join(l.logs, 'registry.log'),
    marker: l.registryData,
  });
}

async function fetchJson(url: string, init: RequestInit = {}, timeoutMs = 3000): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}

/** Healthy when the Confluent API answers a subject listing and the global config. */
export async function registryHealth(url: string): Promise<RegistryHealth> {
  try {
    const subjects = await fetchJson(`${url}/subjects`);
    if (subjects.status !== 200 || !Array.isArray(subjects.body)) {
      return { healthy: false, url, error: `GET /subjects answered ${subjects.status}` };
    }
    const cfg = await fetchJson(`${url}/config`);
    const c = cfg.body as { compatibilityLevel?: string; compatibility?: string };
    return { healthy: true, url, compatibility: c?.compatibilityLevel ?? c?.compatibility };
  } catch (e) {
    return { healthy: false, url, error: e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e) };
  }
}

/**
 * Apicurio answers 200 NONE for a subject without a rule where Confluent answers 404, which
 * makes @kafkajs/confluent-schema-registry's register() fail; a global BACKWARD rule (our
 * contract's level) avoids that.
 */
export async function setGlobalCompatibility(url: string, level = 'BACKWARD'): Promise<void> {
  const r = await fetchJson(`${url}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
  });
  if (r.status !== 200) throw new UnavailableError('schema registry', `PUT /config answered ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`);
}

export async function waitForRegistry(url: string, o: { timeoutMs?: number; rec?: PidRecord } = {}): Promise<RegistryHealth> {
  let last: RegistryHealth | undefined;
  const r = await waitUntil(
    async () => {
      last = await registryHealth(url);
      return last.healthy;
    },
    {
      timeoutMs: o.timeoutMs ?? 180_000,
      check: () => {
        if (o.rec && !isAlive(o.rec.pid)) throw new StackError(`schema registry exited during start-up: ${tail(o.rec.log, 3)}; see ${o.rec.log}`);
      },
    },
  );
  if (!r.ok || !last) throw new UnavailableError('schema registry', `${url} did not answer (${last?.error ?? r.lastError ?? 'timeout'})`);
  return last;
}
