import * as os from 'node:os';
import { systemClock, type Clock } from '../../core/clock';
import { loadConfig } from '../../core/config';
import { createLogger } from '../../core/log';
import { MetricsRegistry } from '../../core/metrics';
import type { RoleContext } from '../../core/role';
import { DEFAULT_IDLE_MS } from '../../projections/role';
import { ScaledClock } from '../../roles/clock';
import { parseRoles } from '../../roles/registry';
import { exitSoon, startPipeline, untilShutdownSignal } from '../../roles/runner';
import { UsageError, int, parseArgs, str } from '../args';

export const summary = 'runs the pipeline: one role, several, or all of them in this process';

const usage =
  'foresight run [--role all|projections|scorer|provisioner|hsm|api[,...]] [--namespace NS] [--group-prefix P] [--model DIR] [--ops-port N] [--api-port N] [--instance-id ID] [--speedup X --sim-start ISO]';

export const help = `usage: ${usage}

Runs pipeline roles until SIGINT/SIGTERM; then each stops fetching, finishes the work in hand,
commits and disconnects (a second signal exits at once). Processes started with the same role
share its work: each role's input is a Kafka consumer group, so run more processes to scale out.

  --role R         all (default) or a comma-separated list of projections, scorer,
                   provisioner, hsm, api
  --namespace NS   topics are <NS>.<topic> (an isolated pipeline for a demo or a test)
  --group-prefix P prefix of the consumer group ids (default none)
  --model DIR      the scorer's model (default FORESIGHT_MODEL_DIR, else
                   FORESIGHT_HOME/models/current)
  --ops-port N     plain HTTP GET /metrics (Prometheus) and GET /healthz (200 when every
                   dependency is ready, else 503, with each one's state) on 127.0.0.1:N;
                   default FORESIGHT_OPS_PORT, else 9464, else a free port; 0 picks one
  --api-port N     the delivery API's port (default FORESIGHT_API_PORT, else 8443; 0 picks one)
  --instance-id ID stable per instance, so a restarted instance fences its predecessor's
                   transactions (default host-pid)
  --speedup X      replays: run on simulated time, X times faster than the wall clock,
  --sim-start ISO  starting at this simulated instant (both or neither)

Logs are JSON lines on stderr (LOG_LEVEL=debug|info|warn|error).`;

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { values: ['role', 'namespace', 'group-prefix', 'model', 'ops-port', 'api-port', 'instance-id', 'speedup', 'sim-start'] }, usage);
  if (p.positional.length) throw new UsageError(`unexpected argument "${p.positional[0]}"; usage: ${usage}`);
  let roles;
  try {
    roles = parseRoles(str(p, 'role') ?? 'all');
  } catch (err) {
    throw new UsageError(`--role: ${(err as Error).message}`);
  }
  const namespace = str(p, 'namespace');
  if (namespace !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_-]*$/.test(namespace)) throw new UsageError(`--namespace must be letters, digits, _ or -, got "${namespace}"`);
  const clock = clockFrom(str(p, 'speedup'), str(p, 'sim-start'));
  const explicitOps = str(p, 'ops-port') !== undefined || Boolean(process.env.FORESIGHT_OPS_PORT);
  const opsPort = str(p, 'ops-port') !== undefined ? int(p, 'ops-port', usage, 0, 0) : envPort('FORESIGHT_OPS_PORT') ?? 9464;
  const apiPort = str(p, 'api-port') !== undefined ? int(p, 'api-port', usage, 0, 0) : undefined;

  const config = loadConfig();
  const instanceId = str(p, 'instance-id') ?? `${os.hostname()}-${process.pid}`;
  const log = createLogger({ service: 'foresight', instance: instanceId, roles: roles.join(',') });
  const ctx: RoleContext = { config, log, metrics: new MetricsRegistry(), clock, groupPrefix: str(p, 'group-prefix') ?? '' };
  // The projections measure idleness on their clock: on simulated time, 30 s of wall time.
  const idleMs = clock instanceof ScaledClock ? Math.round(DEFAULT_IDLE_MS * clock.speedup) : undefined;
  const options = { namespace, modelDir: str(p, 'model'), instanceId, apiPort, idleMs };

  const shutdown = untilShutdownSignal(log);
  let pipeline;
  try {
    pipeline = await startPipeline({ roles, ctx, options, opsPort });
  } catch (err) {
    // The default ops port taken (another `run` on this host): take any free one instead.
    if (!explicitOps && (err as Error).message?.startsWith(`ops port ${opsPort} is taken`)) {
      pipeline = await startPipeline({ roles, ctx, options, opsPort: 0 });
    } else {
      shutdown.dispose();
      throw err;
    }
  }
  console.error(`foresight run: ${roles.join(', ')} running; metrics http://127.0.0.1:${pipeline.opsPort}/metrics, health http://127.0.0.1:${pipeline.opsPort}/healthz; Ctrl-C stops`);
  const signal = await shutdown.signalled;
  await pipeline.stop();
  shutdown.dispose();
  log.info('stopped', { signal });
  exitSoon(0);
  return 0;
}

function envPort(name: string): number | undefined {
  const raw = process.env[name];
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${name}=${raw} is not a port; set it to 0-65535 or unset it`);
  return n;
}

function clockFrom(speedupRaw: string | undefined, startRaw: string | undefined): Clock {
  if (speedupRaw === undefined && startRaw === undefined) return systemClock;
  if (speedupRaw === undefined || startRaw === undefined) throw new UsageError('--speedup and --sim-start go together');
  const speedup = Number(speedupRaw);
  if (!(speedup > 0)) throw new UsageError(`--speedup must be a positive number, got "${speedupRaw}"`);
  const start = Date.parse(startRaw);
  if (!Number.isFinite(start)) throw new UsageError(`--sim-start must be an ISO instant such as 2026-01-12T06:00:00Z, got "${startRaw}"`);
  return new ScaledClock(start, speedup);
}
