import { loadConfig } from '../../core/config';
import { UsageError, has, parseArgs } from '../args';
import { allHealthy, down, ensureDepsLocked, status, up, type StackStatus } from '../../stack';

export const summary = 'the local real stack: Kafka, schema registry, event store, SoftHSM2 tokens (up|down|status)';

const usage = 'foresight stack up | down [--purge] | status [--json] | ensure-deps';

export const help = `usage: ${usage}

  up            start what is not running (Kafka 3.9 KRaft with a TLS 1.3 listener, Apicurio
                Registry, the local event store, SoftHSM2 tokens) and wait until each answers;
                idempotent. A component whose variable (KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
                EVENTSTORE_CONNECTION_STRING, PKCS11_MODULE) points elsewhere is not started.
  down          stop what 'stack up' started in this checkout; data is kept
    --purge     also delete data, tokens, PIN files, keys and certificates (logs are kept)
  status        health of each component; exit 1 if one is unhealthy
    --json      {"kafka":{"brokers":[..]},"schemaRegistry":{"url":..},"eventStore":{"connectionString":..},
                 "hsm":{"module":..}} each with healthy, managed, external, pid
  ensure-deps   install missing system packages (as root) and download Kafka and the registry
                into the cache; what 'npm test' runs first

Ports: FORESIGHT_KAFKA_PORT (9092), FORESIGHT_KAFKA_CONTROLLER_PORT (9093),
FORESIGHT_KAFKA_SSL_PORT (9094), FORESIGHT_REGISTRY_PORT (8081), FORESIGHT_EVENTSTORE_PORT (2113).
State and logs: FORESIGHT_HOME (default .foresight/ in the checkout); downloads: FORESIGHT_CACHE.`;

const say = (line: string) => console.log(line);

function line(name: string, c: { healthy: boolean; managed: boolean; external: boolean; pid?: number; error?: string }, where: string): string {
  const state = c.healthy ? 'healthy' : 'DOWN';
  const who = c.external ? 'external' : c.managed ? `managed${c.pid ? `, pid ${c.pid}` : ''}` : 'not started here';
  return `${name.padEnd(16)} ${state.padEnd(8)} ${where} (${who})${c.healthy || !c.error ? '' : ` - ${c.error}`}`;
}

export function formatStatus(s: StackStatus): string {
  return [
    line('kafka', s.kafka, s.kafka.brokers.join(',') + (s.kafka.ssl ? `, TLS 1.3 on ${s.kafka.ssl.port}` : '')),
    line('schema registry', s.schemaRegistry, s.schemaRegistry.url),
    s.eventStore.available || s.eventStore.external ? line('event store', s.eventStore, s.eventStore.connectionString) : `${'event store'.padEnd(16)} n/a      not available yet (esdb-local/main.ts missing)`,
    line('hsm', s.hsm, `${s.hsm.module}${s.hsm.tokens.length ? ` [${s.hsm.tokens.join(', ')}]` : ''}`),
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { switches: ['json', 'purge'] }, usage);
  const [sub, ...extra] = args.positional;
  if (!sub) throw new UsageError(`which one? usage: ${usage}`);
  if (extra.length) throw new UsageError(`unexpected "${extra.join(' ')}"; usage: ${usage}`);
  if (has(args, 'json') && sub !== 'status') throw new UsageError(`--json goes with status; usage: ${usage}`);
  if (has(args, 'purge') && sub !== 'down') throw new UsageError(`--purge goes with down; usage: ${usage}`);
  const cfg = loadConfig();
  switch (sub) {
    case 'up': {
      const t0 = Date.now();
      const r = await up(cfg, say);
      console.log(formatStatus(r.status));
      console.log(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s${r.started.length ? ` (started ${r.started.join(', ')})` : ' (all already running)'}`);
      return allHealthy(r.status) ? 0 : 1;
    }
    case 'down': {
      const stopped = await down(cfg, { purge: has(args, 'purge') }, say);
      if (!stopped.length) console.log('nothing of ours was running');
      return 0;
    }
    case 'status': {
      const s = await status(cfg);
      console.log(has(args, 'json') ? JSON.stringify(s) : formatStatus(s));
      return allHealthy(s) ? 0 : 1;
    }
    case 'ensure-deps':
      await ensureDepsLocked(cfg, say);
      console.log('stack dependencies present');
      return 0;
    default:
      throw new UsageError(`unknown subcommand "${sub}"; usage: ${usage}`);
  }
}
