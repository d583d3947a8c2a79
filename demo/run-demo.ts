import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Config } from '../core/config';
import { ConfigError } from '../core/errors';
import { createLogger, type Logger } from '../core/log';
import { MetricsRegistry } from '../core/metrics';
import { loadCredentialsConfig } from '../credentials/policy';
import type { RoleContext } from '../core/role';
import { simulate } from '../models/sim/simulate';
import { ScaledClock } from '../roles/clock';
import { startPipeline, untilShutdownSignal, type Pipeline } from '../roles/runner';
import { allHealthy, layout, up } from '../stack';
import { createProducer, ensureStreams } from '../streams';
import { AccessDriver, type RequestResult } from './driver';
import { DEMO_TRAINING, ensureDemoModel } from './model';
import { demoPolicyYaml } from './policy';
import { startObserver, type Observed } from './observer';
import { publishAll, replay, type TopicCounts } from './publisher';
import { planScenario, splitScenario, type DemoOptions, type ScenarioPlan } from './scenario';
import { byLabel, quantile, renderSummary, renderView, requestStats, sumMetric, type DemoSnapshot } from './stats';
import { liveView } from './view';

export interface DemoRunOptions extends Omit<DemoOptions, 'run'> {
  follow: boolean;
  apiPort?: number;
  threshold: number;
  /** Wall ms to wait for the pipeline to digest the warm-up before the live day starts. */
  catchUpMs?: number;
  out?: NodeJS.WriteStream;
}

export interface DemoResult {
  plan: ScenarioPlan;
  snapshot: DemoSnapshot;
  results: RequestResult[];
  interrupted: boolean;
}

/** This checkout's demo run number, bumped on every run (FORESIGHT_HOME/demo/runs.json). */
function nextRun(home: string): number {
  const dir = path.join(home, 'demo');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'runs.json');
  let n = 0;
  try {
    n = (JSON.parse(fs.readFileSync(file, 'utf8')) as { next: number }).next;
  } catch {
    n = 0;
  }
  fs.writeFileSync(file, JSON.stringify({ next: n + 1 }) + '\n');
  return n;
}

function demoPolicy(home: string, threshold: number): string {
  const file = path.join(home, 'demo', 'credentials.yaml');
  fs.writeFileSync(file, demoPolicyYaml(threshold));
  return file;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function runDemo(cfg: Config, o: DemoRunOptions): Promise<DemoResult> {
  const out = o.out ?? process.stdout;
  const say = (line: string) => out.write(line + '\n');
  const t0 = Date.now();

  say('Foresight demo: predicting who needs which VM, and which network needs HSM capacity, before anyone asks.');
  say('1/5 local stack (Kafka, schema registry, event store, SoftHSM2)…');
  const stack = await up(cfg, (l) => say(`    ${l}`));
  if (!allHealthy(stack.status)) throw new ConfigError(`the local stack is not healthy; see 'npx foresight stack status' and the logs in ${layout(cfg).logs}`);
  say(`    ready (${stack.started.length ? `started ${stack.started.join(', ')}` : 'already running'}) after ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  const run = nextRun(cfg.home);
  const plan = planScenario({ ...o, run });
  const logFile = path.join(layout(cfg).logs, `${plan.namespace}.log`);
  const logStream = fs.createWriteStream(logFile, { flags: 'a' });
  const log: Logger = createLogger({ service: 'foresight-demo', run: plan.namespace }, { write: (l) => logStream.write(l + '\n') });

  say(`2/5 topics and schemas under namespace ${plan.namespace}…`);
  await ensureStreams(cfg, { namespace: plan.namespace, log });

  say('3/5 model…');
  const model = await ensureDemoModel(cfg.home, DEMO_TRAINING, (l) => say(`    ${l}`));
  say(`    ${model.trained ? 'trained' : 'cached'} model ${model.version} (${model.dir})`);

  const sim = simulate({ users: o.users, vms: o.vms, networks: o.networks, days: plan.simDays, seed: o.seed, start: plan.simStart });
  const scenario = splitScenario(sim.records, plan);
  if (!process.env.FORESIGHT_CREDENTIALS_POLICY) process.env.FORESIGHT_CREDENTIALS_POLICY = demoPolicy(cfg.home, o.threshold);
  // Read as the provisioner will read it: a bad policy fails here, and the view counts high scores as it acts on them.
  const policy = loadCredentialsConfig(cfg.home).default;

  say(`4/5 starting every role (projections, scorer, provisioner, hsm, api) in this process…`);
  const clock = new ScaledClock(plan.liveStart, plan.speedup, { running: false });
  const metrics = new MetricsRegistry();
  const ctx: RoleContext = { config: cfg, log, metrics, clock, groupPrefix: '' };
  const shutdown = untilShutdownSignal(log, () => process.exit(130));
  let interrupted = false;
  void shutdown.signalled.then(() => (interrupted = true));
  const wantedApiPort = o.apiPort ?? cfg.ports.api;
  const apiPortToUse = wantedApiPort && !(await portFree(wantedApiPort)) ? 0 : wantedApiPort;
  if (apiPortToUse !== wantedApiPort) say(`    port ${wantedApiPort} is taken (another 'foresight run'?): the demo's API takes a free port instead`);
  const pipeline: Pipeline = await startPipeline({
    roles: ['projections', 'scorer', 'provisioner', 'hsm', 'api'],
    ctx,
    // The projections measure idleness on the clock they are given (simulated here): 2 s of wall time.
    options: { namespace: plan.namespace, modelDir: model.dir, apiPort: apiPortToUse, idleMs: Math.round(2000 * plan.speedup), sweepEveryMs: 2000, hsmTickMs: 1000 },
    opsPort: 0,
    lagEveryMs: 1000,
  });
  const apiPort = (pipeline.roles.find((r) => r.name === 'api') as unknown as { port: number }).port;
  const opsUrl = `http://127.0.0.1:${pipeline.opsPort}`;
  const observer = await startObserver({ config: cfg, namespace: plan.namespace, groupId: `${plan.namespace}-observer-${process.pid}`, policy, log, clock, liveStart: plan.liveStart });
  const producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: plan.namespace, clientId: 'foresight-demo', log });
  const driver = new AccessDriver({ config: cfg, baseUrl: `https://127.0.0.1:${apiPort}`, correlationPrefix: `${plan.namespace}.`, log });
  say(`    dashboard https://127.0.0.1:${apiPort}/   metrics ${opsUrl}/metrics   health ${opsUrl}/healthz   logs ${logFile}`);

  const published: TopicCounts = {};
  const lastRequest: RequestResult | undefined = undefined;
  const snapshot = (): DemoSnapshot => snapshotOf(plan, o, clock, t0Live, published, metrics.render(), observer.observed, driver.results, lastRequest);
  let t0Live = Date.now();
  // The vault is shared by every run: the first sweeps expire what earlier runs left unused and
  // count it as waste here. Counted from the live start, waste is this run's own.
  let wastedBefore = 0;
  try {
    say(`5/5 warm-up: ${scenario.warmup.length} records of history (${o.warmupDays} simulated day${o.warmupDays === 1 ? '' : 's'}) as fast as Kafka takes them…`);
    await producer.connect();
    await publishAll(producer, scenario.warmup, published);
    await catchUp(metrics, o.catchUpMs ?? 90_000, () => interrupted);

    const users = new Set(scenario.requests.map((r) => r.userId));
    driver.prepare(users);
    say(`    live: ${new Date(plan.liveStart).toISOString().slice(0, 16)}..${new Date(plan.liveEnd).toISOString().slice(11, 16)} UTC simulated at ×${Math.round(plan.speedup)}: ${scenario.live.length} records, ${scenario.requests.length} access requests from ${users.size} users${o.follow ? '' : ` (about ${o.minutes} min; --follow keeps going)`}; Ctrl-C stops`);
    say('');
    const view = liveView(out);
    wastedBefore = sumMetric(metrics.render(), 'foresight_credentials_wasted_total');
    t0Live = Date.now();
    clock.start();
    const timer = setInterval(() => view.draw(renderView(snapshot())), 500);
    try {
      const reqs = new Map(scenario.requests.map((r) => [r.eventId, r]));
      await replay(producer, scenario.live, clock, published, {
        stopped: () => interrupted,
        due: (r) => {
          const q = reqs.get(r.value.eventId);
          if (q) driver.request(q);
        },
      });
      if (o.follow && !interrupted) {
        view.draw(renderView(snapshot()));
        await shutdown.signalled;
      }
      await Promise.race([driver.drain(), sleep(20_000)]);
      await sleep(1500); // the last scores and sweeps land before the summary
    } finally {
      clearInterval(timer);
      view.draw(renderView(snapshot()));
      view.finish();
    }
    const final = snapshot();
    for (const l of renderSummary(final, { namespace: plan.namespace, dashboard: `https://127.0.0.1:${apiPort}/`, opsUrl: o.follow ? opsUrl : undefined, logFile, stackRunning: true })) say(l);
    return { plan, snapshot: final, results: driver.results, interrupted };
  } finally {
    say('stopping the roles (finishing in-flight work, committing)…');
    driver.close();
    await producer.disconnect().catch(() => undefined);
    await observer.stop().catch(() => undefined);
    await pipeline.stop().catch((err: unknown) => log.error('a role did not stop cleanly', { error: err }));
    shutdown.dispose();
    logStream.end();
  }

  function snapshotOf(p: ScenarioPlan, opts: DemoRunOptions, c: ScaledClock, wall0: number, pub: TopicCounts, text: string, obs: Observed, results: RequestResult[], last?: RequestResult): DemoSnapshot {
    const total = Object.values(pub).reduce((s, n) => s + (n ?? 0), 0);
    const requests = requestStats(results);
    return {
      simNow: c.now(),
      liveStart: p.liveStart,
      liveEnd: p.liveEnd,
      speedup: p.speedup,
      wallElapsedMs: Date.now() - wall0,
      wallTotalMs: opts.minutes * 60_000,
      published: total,
      publishedByTopic: pub as Record<string, number>,
      features: {
        access: sumMetric(text, 'foresight_projections_records', { kind: 'access-features' }),
        network: sumMetric(text, 'foresight_projections_records', { kind: 'network-features' }),
        late: sumMetric(text, 'foresight_projections_records', { kind: 'late' }),
      },
      risk: { access: obs.riskAccess, live: obs.riskLive, workload: obs.riskWorkload, high: obs.riskHigh, threshold: policy.threshold, horizon: policy.horizon, delayP50: quantile([...obs.scoreDelays].sort((a, b) => a - b), 0.5) },
      credentials: {
        preProvisioned: sumMetric(text, 'foresight_credentials_preprovisioned_total'),
        // Counted from the replies, not foresight_credentials_preprovisioned_used_total: that
        // counter pairs a delivery with a pre-provisioning seen by the same CredentialMetrics,
        // and the api and provisioner roles each have their own, so here it stays at 0.
        used: Math.max(sumMetric(text, 'foresight_credentials_preprovisioned_used_total'), requests.usedAhead),
        wasted: sumMetric(text, 'foresight_credentials_wasted_total') - wastedBefore,
        skipped: byLabel(text, 'foresight_preprovisioning_skipped_total', 'reason'),
      },
      requests,
      lastRequest: last ?? results[results.length - 1],
      hsm: byLabel(text, 'foresight_hsm_workload_records_total', 'plan'),
      alerts: { count: obs.alerts, last: obs.lastAlert },
      notifications: obs.notifications,
      follow: opts.follow,
    };
  }
}

/**
 * Waits until the pipeline has digested its input: lag zero, or steady and small (committed
 * transactions leave a marker per partition that no consumer ever commits past).
 */
async function catchUp(metrics: MetricsRegistry, maxMs: number, stopped: () => boolean): Promise<void> {
  const deadline = Date.now() + maxMs;
  let calm = 0;
  let prev = -1;
  while (Date.now() < deadline && !stopped()) {
    await sleep(1000);
    const text = metrics.render();
    if (!text.includes('foresight_consumer_lag{')) continue;
    const lag = sumMetric(text, 'foresight_consumer_lag');
    const progress = sumMetric(text, 'foresight_projections_records') + sumMetric(text, 'foresight_consumer_records_total');
    const key = lag * 1e9 + progress;
    calm = lag === 0 || (key === prev && lag <= 64) ? calm + 1 : 0;
    prev = key;
    if (calm >= 3) return;
  }
}
