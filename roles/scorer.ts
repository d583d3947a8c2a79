/**
 * The scorer role (minimal composition until models/ ships its own): features.access and
 * features.network in, risk.access and risk.workload out, exactly once. One Kafka transaction
 * per partition batch holds the scores and the consumed offsets, so with several instances in
 * one group (and rebalances between them) every window is scored once in what readers see.
 * The scoring itself is models/scorer/core.ts; an aborted batch rolls the keys' state back.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../core/config';
import { ConfigError } from '../core/errors';
import type { Health, RoleContext, RunningRole } from '../core/role';
import { initBackend } from '../models/backend';
import { Scorer } from '../models/scorer/core';
import { disposeModels, loadModels, readMetadata } from '../models/store';
import type { AccessFeatures, NetworkFeatures } from '../schemas/types';
import { ensureStreams, runTransactionalProcessor, type TxOutput } from '../streams';

export interface ScorerRoleOptions {
  /** Model directory; default FORESIGHT_MODEL_DIR, else FORESIGHT_HOME/models/current. */
  modelDir?: string;
  namespace?: string;
  /** Unique per running instance; default host-pid. */
  instanceId?: string;
}

export function resolveModelDir(cfg: Pick<Config, 'home'>, explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(explicit ?? env.FORESIGHT_MODEL_DIR ?? path.join(cfg.home, 'models', 'current'));
}

const INPUTS = ['features.access', 'features.network'] as const;
type Input = (typeof INPUTS)[number];

export async function startScorerRole(ctx: RoleContext, o: ScorerRoleOptions = {}): Promise<RunningRole & { scorer: Scorer }> {
  const log = ctx.log.child({ role: 'scorer' });
  const dir = resolveModelDir(ctx.config, o.modelDir);
  try {
    readMetadata(dir);
  } catch (err) {
    throw new ConfigError(`no model in ${dir} (${err instanceof Error ? err.message.split(';')[0] : String(err)}); train one with 'foresight train --input FILE.jsonl --out ${dir}' or set FORESIGHT_MODEL_DIR`);
  }
  const backend = await initBackend();
  const models = loadModels(dir);
  const scorer = new Scorer(models);
  log.info('model loaded', { dir, version: scorer.modelVersion, backend });

  const scored = ctx.metrics.counter('foresight_scorer_scored_total', 'Windows scored, by kind (access, network).');
  const dups = ctx.metrics.counter('foresight_scorer_duplicates_total', 'Windows not scored again because the key had seen a newer one.');
  const batchSeconds = ctx.metrics.histogram('foresight_scorer_batch_seconds', 'Time to score one partition batch.');

  await ensureStreams(ctx.config, { namespace: o.namespace, topics: [...INPUTS, 'risk.access', 'risk.workload'], log });
  const groupId = `${ctx.groupPrefix}foresight-scorer`;
  const instanceId = o.instanceId ?? `${os.hostname()}-${process.pid}`;
  const processor = await runTransactionalProcessor<Input>({
    kafka: ctx.config.kafka,
    registryUrl: ctx.config.schemaRegistry.url,
    groupId,
    transactionalId: `${groupId}-${instanceId}`,
    topics: INPUTS,
    namespace: o.namespace,
    fromBeginning: true,
    clock: ctx.clock,
    log,
    processBatch: async (records, { topic }) => {
      const t0 = process.hrtime.bigint();
      const before = scorer.stats().duplicates;
      // A batch starts a new undo point; the previous one committed, or onAbort rolled it back.
      scorer.commit();
      scorer.begin();
      const outputs: TxOutput[] = [];
      if (topic === 'features.access') {
        for (const r of scorer.scoreAccess(records.map((x) => x.value as AccessFeatures))) outputs.push({ topic: 'risk.access', key: r.userId, value: r });
      } else {
        for (const r of scorer.scoreNetwork(records.map((x) => x.value as NetworkFeatures))) outputs.push({ topic: 'risk.workload', key: r.clientNetworkId, value: r });
      }
      scored.inc({ kind: topic === 'features.access' ? 'access' : 'network' }, outputs.length);
      dups.inc({}, scorer.stats().duplicates - before);
      batchSeconds.observe(Number(process.hrtime.bigint() - t0) / 1e9);
      return { outputs };
    },
    onAbort: async () => scorer.rollback(),
  });
  log.info('scorer started', { groupId, instanceId });

  return {
    name: 'scorer',
    scorer,
    async health(): Promise<Health> {
      return { model: { ok: true, detail: scorer.modelVersion } };
    },
    async stop() {
      await processor.stop();
      disposeModels(models);
    },
  };
}
