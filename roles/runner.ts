import type { Health, RoleContext, RoleName, RoleStarter, RunningRole } from '../core/role';
import type { Logger } from '../core/log';
import { withRetry } from '../core/retry';
import { ensureStreams } from '../streams';
import { pipelineHealth, type PipelineHealth, type Probe } from './health';
import { startLagSampler, type LagSampler } from './lag';
import { startOpsServer, type OpsServer } from './ops-server';
import { roleStarters, START_ORDER, type PipelineOptions } from './registry';

export interface Pipeline {
  readonly roles: readonly RunningRole[];
  /** Port of the plain-HTTP /metrics and /healthz endpoint, when one was asked for. */
  readonly opsPort?: number;
  health(): Promise<PipelineHealth>;
  /** Stops the sources first, then the stages behind them; idempotent. */
  stop(): Promise<void>;
}

export interface StartPipelineOptions {
  roles: readonly RoleName[];
  ctx: RoleContext;
  options?: PipelineOptions;
  /** Plain-HTTP ops endpoint port (0: any free one); undefined: none. */
  opsPort?: number;
  opsHost?: string;
  /** Override the starters (tests). */
  starters?: Partial<Record<RoleName, RoleStarter>>;
  /** Lag sampling period (wall ms). */
  lagEveryMs?: number;
}

/** Schema registry readiness: its subject list answers. */
export function registryProbe(url: string, timeoutMs = 3000): Probe {
  return async (): Promise<Health> => {
    try {
      const res = await fetch(`${url.replace(/\/$/, '')}/subjects`, { signal: AbortSignal.timeout(timeoutMs) });
      return { schemaRegistry: res.ok ? { ok: true } : { ok: false, detail: `GET /subjects answered ${res.status}` } };
    } catch (err) {
      return { schemaRegistry: { ok: false, detail: err instanceof Error ? err.message : String(err) } };
    }
  };
}

/**
 * Starts the roles (several in one process for `run --role all`), a lag sampler over their
 * consumer groups and optionally the ops endpoint. A role that fails to start stops the ones
 * already started, and the error goes to the caller.
 */
export async function startPipeline(o: StartPipelineOptions): Promise<Pipeline> {
  const { ctx } = o;
  const log = ctx.log;
  const starters = { ...roleStarters(o.options), ...o.starters };
  const up = ctx.metrics.gauge('foresight_role_up', '1 while the role runs in this process.');
  const names = START_ORDER.filter((r) => o.roles.includes(r));
  const lag: LagSampler = startLagSampler({ kafka: ctx.config.kafka, roles: names, groupPrefix: ctx.groupPrefix, namespace: o.options?.namespace, metrics: ctx.metrics, log, everyMs: o.lagEveryMs });
  const started: RunningRole[] = [];
  const stopAll = async (roles: readonly RunningRole[], l: Logger) => {
    const errors: unknown[] = [];
    for (const r of [...roles].reverse()) {
      try {
        await r.stop();
        up.set(0, { role: r.name });
        l.info('role stopped', { role: r.name });
      } catch (err) {
        errors.push(err);
        l.error('role did not stop cleanly', { role: r.name, error: err });
      }
    }
    await lag.stop();
    if (errors.length) throw errors[0];
  };
  const probes: Probe[] = [async () => lag.health(), registryProbe(ctx.config.schemaRegistry.url)];
  // Roles still starting are simply absent: /healthz answers from the first moment.
  const health = async () => {
    const h = await pipelineHealth(started, probes);
    const missing = names.filter((n) => !started.some((r) => r.name === n));
    return missing.length ? { ...h, ok: false, starting: missing } : h;
  };
  let ops: OpsServer | undefined;
  if (o.opsPort !== undefined) {
    try {
      ops = await startOpsServer({ port: o.opsPort, host: o.opsHost, metrics: ctx.metrics, health, log });
    } catch (err) {
      await lag.stop();
      throw err;
    }
  }
  try {
    // The start-up admin step: topics (with .dlq/.late) and schemas exist before any role reads.
    await ensureStreams(ctx.config, { namespace: o.options?.namespace, log });
    void lag.sampleNow();
    for (const name of names) {
      const t0 = Date.now();
      // A start can race topics created a moment ago (metadata not yet everywhere): retriable.
      const role = await withRetry(() => starters[name](ctx), {
        retries: 6,
        initialMs: 500,
        maxMs: 5000,
        onRetry: (err, n, delayMs) => log.warn('role start failed, retrying', { role: name, attempt: n + 1, delayMs, error: err }),
      });
      started.push(role);
      up.set(1, { role: name });
      log.info('role started', { role: name, startMs: Date.now() - t0 });
    }
  } catch (err) {
    await ops?.close();
    await stopAll(started, log).catch(() => undefined);
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    roles: started,
    opsPort: ops?.port,
    health,
    stop() {
      stopping ??= (async () => {
        await ops?.close();
        await stopAll(started, log);
      })();
      return stopping;
    },
  };
}

/**
 * Resolves on the first SIGINT/SIGTERM, so the caller can stop the roles (finish in-flight
 * work, commit) and print what it has to; a second signal exits at once.
 */
export function untilShutdownSignal(log: Logger, onSecond: () => void = () => process.exit(130)): { signalled: Promise<NodeJS.Signals>; dispose(): void } {
  let first = true;
  let resolve!: (s: NodeJS.Signals) => void;
  const signalled = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const handler = (s: NodeJS.Signals) => {
    if (first) {
      first = false;
      log.info('stopping: finishing in-flight work (a second Ctrl-C exits at once)', { signal: s });
      resolve(s);
    } else {
      log.warn('second signal: exiting without waiting', { signal: s });
      onSecond();
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signalled,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/**
 * Every role has stopped and committed by now; a library handle left open (a gRPC channel, a
 * PKCS#11 module) must not keep the terminal waiting. FORESIGHT_DEBUG names what lingers.
 */
export function exitSoon(code: number, graceMs = 3000): void {
  setTimeout(() => {
    if (process.env.FORESIGHT_DEBUG) console.error(`still open after stop: ${process.getActiveResourcesInfo().join(', ')}`);
    process.exit(code);
  }, graceMs).unref();
}
