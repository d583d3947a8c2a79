/**
 * The scorer role: features.access and features.network in, risk.access and risk.workload out,
 * through the transactional processor of streams/, so a batch's risks and its consumed offsets
 * commit together. Scoring is batched per partition batch and incremental per key (core.ts).
 *
 * Hot reload: between batches the role looks at the model directory's metadata.json (at most
 * every `reloadCheckMs`); a new version is loaded and swapped in before the next batch, so every
 * record is scored once, by exactly one version, named in its output.
 * An aborted transaction restores the keys its batch touched before the batch is redone.
 * State lives in memory; `run` warms it up from the feature topics at start, so after a restart
 * (even a kill -9) each key scores as if the process had never stopped. Without warm-up a key's
 * recurrent state starts again from its next window (outputs stay exactly-once, but colder).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../../core/config';
import { ConfigError } from '../../core/errors';
import type { MetricsRegistry } from '../../core/metrics';
import type { Health, RoleContext, RunningRole } from '../../core/role';
import { systemClock, type Clock } from '../../core/clock';
import { silentLogger, type Logger } from '../../core/log';
import type { AccessFeatures, NetworkFeatures } from '../../schemas/types';
import { committedOffsets, createSerde, ensureStreams, physicalTopic, readTopic, runTransactionalProcessor, type AnyRecord, type RunningProcessor, type TxOutput } from '../../streams';
import { initBackend } from '../backend';
import { disposeModels, loadModels, readMetadata } from '../store';
import { featurePendingKey, Scorer, Snapshot } from './core';

export const SCORER_GROUP = 'foresight-scorer';
type In = 'features.access' | 'features.network';
const INPUT: readonly In[] = ['features.access', 'features.network'];

export interface ScorerRoleOptions {
  config: Pick<Config, 'kafka' | 'schemaRegistry'>;
  /** A directory written by `foresight train`. */
  modelDir: string;
  namespace?: string;
  groupId?: string;
  instanceId?: string;
  reloadCheckMs?: number;
  clock?: Clock;
  log?: Logger;
  metrics?: MetricsRegistry;
  /**
   * Rebuild each key's state from the feature topics' history before consuming (after a
   * restart): read until `idleMs` without a message or `timeoutMs` in all. Off by default: it
   * reads every retained window.
   */
  warmUp?: { idleMs?: number; timeoutMs?: number };
}

export interface ScorerCounters {
  batches: number;
  records: number;
  accessRisks: number;
  workloadRisks: number;
  duplicates: number;
  reloads: number;
  aborts: number;
  /** Windows computed by other feature definitions than the model's: sent to the DLQ. */
  featureVersionMismatches: number;
  modelVersion: string;
}

export interface RunningScorer {
  readonly ready: Promise<void>;
  readonly finished: Promise<void>;
  counters(): ScorerCounters;
  /** Check the model directory now (tests; the role also does it between batches). */
  reloadIfChanged(): boolean;
  stop(): Promise<void>;
}

export async function startScorer(opts: ScorerRoleOptions): Promise<RunningScorer> {
  const log = (opts.log ?? silentLogger).child({ role: 'scorer' });
  const clock = opts.clock ?? systemClock;
  const backend = await initBackend();
  let models = loadModels(opts.modelDir);
  const scorer = new Scorer(models);
  log.info('scorer model loaded', { version: models.metadata.version, backend });
  const counters: ScorerCounters = { batches: 0, records: 0, accessRisks: 0, workloadRisks: 0, duplicates: 0, reloads: 0, aborts: 0, featureVersionMismatches: 0, modelVersion: scorer.modelVersion };
  const undo = new Map<string, Snapshot>();
  const scoredMetric = opts.metrics?.counter('foresight_scorer_scored_total', 'Windows scored, by kind (access, network).');
  const dupMetric = opts.metrics?.counter('foresight_scorer_duplicates_total', 'Windows not scored again because the key had seen a newer one.');
  const reloadMetric = opts.metrics?.counter('foresight_scorer_model_reloads_total', 'New model versions swapped in.');
  let lastCheck = clock.now();
  const reloadCheckMs = opts.reloadCheckMs ?? 10_000;

  const reloadIfChanged = (): boolean => {
    lastCheck = clock.now();
    let version: string;
    try {
      version = readMetadata(opts.modelDir).version;
    } catch (err) {
      log.warn('model directory unreadable; keeping the current model', { error: err });
      return false;
    }
    if (version === scorer.modelVersion) return false;
    try {
      const next = loadModels(opts.modelDir);
      const prev = scorer.swap(next);
      models = next;
      disposeModels(prev);
      counters.reloads++;
      reloadMetric?.inc({}, 1);
      counters.modelVersion = scorer.modelVersion;
      log.info('scorer model swapped', { from: prev.metadata.version, to: next.metadata.version });
      return true;
    } catch (err) {
      // Mid-write or damaged: try again at the next check.
      log.warn('new model not loadable yet; keeping the current one', { error: err });
      return false;
    }
  };

  const processBatch = async (records: Array<AnyRecord<In>>, ctx: { topic: In; partition: number }) => {
    if (clock.now() - lastCheck >= reloadCheckMs) reloadIfChanged();
    const before = scorer.stats().duplicates;
    // Features of other definitions would be read with the wrong meaning: their bytes go to the
    // DLQ, to be replayed once a model trained on them is in place.
    const want = models.metadata.featureVersion;
    const dlq: Array<{ offset: string; reason: string; detail: string }> = [];
    const fit = records.filter((r) => {
      const v = (r.value as { featureVersion: number }).featureVersion;
      if (v === want) return true;
      dlq.push({ offset: r.offset, reason: 'feature-version', detail: `featureVersion ${v}, model ${scorer.modelVersion} reads ${want}; train a model on these features` });
      return false;
    });
    counters.featureVersionMismatches += dlq.length;
    scorer.begin();
    const outputs: TxOutput[] = [];
    if (ctx.topic === 'features.access') {
      const risks = scorer.scoreAccess(fit.map((r) => r.value as AccessFeatures));
      for (const v of risks) outputs.push({ topic: 'risk.access', key: v.userId, value: v });
      counters.accessRisks += risks.length;
    } else {
      const risks = scorer.scoreNetwork(fit.map((r) => r.value as NetworkFeatures));
      for (const v of risks) outputs.push({ topic: 'risk.workload', key: v.clientNetworkId, value: v });
      counters.workloadRisks += risks.length;
    }
    undo.set(`${ctx.topic}/${ctx.partition}`, scorer.end());
    scoredMetric?.inc({ kind: ctx.topic === 'features.access' ? 'access' : 'network' }, outputs.length);
    dupMetric?.inc({}, scorer.stats().duplicates - before);
    counters.batches++;
    counters.records += records.length;
    counters.duplicates += scorer.stats().duplicates - before;
    return { outputs, dlq };
  };

  await ensureStreams(opts.config, { namespace: opts.namespace, topics: [...INPUT, 'risk.access', 'risk.workload'], log });
  const groupId = opts.groupId ?? SCORER_GROUP;
  if (opts.warmUp) {
    const serde = createSerde({ registryUrl: opts.config.schemaRegistry.url });
    const uncommitted = new Set<string>();
    const read = async <T extends In>(topic: T) => {
      const physical = physicalTopic(topic, opts.namespace);
      // Where the group's history ends: windows past it are folded in now and their outputs kept
      // for when the processor reaches them; windows before it were scored and committed already.
      const committed = await committedOffsets(opts.config.kafka, groupId, physical, log);
      const raw = await readTopic(opts.config.kafka, physical, { fromBeginning: true, idleMs: opts.warmUp?.idleMs ?? 2000, timeoutMs: opts.warmUp?.timeoutMs ?? 30_000, log });
      const out: Array<AccessFeatures | NetworkFeatures> = [];
      for (const m of raw) {
        try {
          const f = (await serde.decode(topic, m.value)).value as AccessFeatures | NetworkFeatures;
          out.push(f);
          if (BigInt(m.offset) >= (committed.get(m.partition) ?? 0n)) uncommitted.add(featurePendingKey(f));
        } catch {
          // an undecodable record is the processor's to DLQ, not the warm-up's
        }
      }
      return out;
    };
    const [a, n] = await Promise.all([read('features.access'), read('features.network')]);
    scorer.warmUp(a as AccessFeatures[], n as NetworkFeatures[], uncommitted);
    log.info('scorer warmed up', { accessWindows: a.length, networkWindows: n.length, uncommitted: uncommitted.size });
  }
  let processor: RunningProcessor;
  try {
    processor = await runTransactionalProcessor<In>({
      kafka: opts.config.kafka,
      registryUrl: opts.config.schemaRegistry.url,
      groupId,
      transactionalId: `${groupId}-${opts.instanceId ?? `${os.hostname()}-${process.pid}`}`,
      topics: INPUT,
      namespace: opts.namespace,
      fromBeginning: true,
      clock,
      log,
      processBatch,
      onAbort: async ({ topic, partition }) => {
        const u = undo.get(`${topic}/${partition}`);
        if (u) scorer.restore(u);
        counters.aborts++;
      },
    });
  } catch (err) {
    disposeModels(models);
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    ready: processor.ready,
    finished: processor.finished,
    counters: () => ({ ...counters }),
    reloadIfChanged,
    stop() {
      stopping ??= processor.stop().finally(() => disposeModels(models));
      return stopping;
    },
  };
}

/** Where `run --role scorer` finds its model: --model, else FORESIGHT_MODEL_DIR, else FORESIGHT_HOME/models/current. */
export function resolveModelDir(cfg: Pick<Config, 'home'>, explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(explicit ?? env.FORESIGHT_MODEL_DIR ?? path.join(cfg.home, 'models', 'current'));
}

/** The `foresight run` entry (roles/registry.ts looks for this export). */
export async function startScorerRole(
  ctx: RoleContext,
  o: { modelDir?: string; namespace?: string; instanceId?: string; warmUp?: ScorerRoleOptions['warmUp'] } = {},
): Promise<RunningRole & { scorer: RunningScorer }> {
  const dir = resolveModelDir(ctx.config, o.modelDir);
  try {
    readMetadata(dir);
  } catch (err) {
    throw new ConfigError(`no model in ${dir} (${err instanceof Error ? err.message.split(';')[0] : String(err)}); train one with 'foresight train --input FILE.jsonl --out ${dir}' or set FORESIGHT_MODEL_DIR`);
  }
  const scorer = await startScorer({
    config: ctx.config,
    modelDir: dir,
    namespace: o.namespace,
    groupId: `${ctx.groupPrefix}${SCORER_GROUP}`,
    instanceId: o.instanceId,
    clock: ctx.clock,
    log: ctx.log,
    metrics: ctx.metrics,
    // A restarted process (a deploy, a crash) rebuilds each key's recurrent state from the
    // feature history, so its scores are the ones an uninterrupted process would have given.
    warmUp: o.warmUp ?? { idleMs: 2000, timeoutMs: 120_000 },
  });
  return {
    name: 'scorer',
    scorer,
    async health(): Promise<Health> {
      const c = scorer.counters();
      return { model: { ok: true, detail: `${c.modelVersion} (${c.reloads} reloads)` } };
    },
    stop: () => scorer.stop(),
  };
}
