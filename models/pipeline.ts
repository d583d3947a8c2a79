import { InvalidInputError } from '../core/errors';
import { FEATURE_VERSION } from '../projections/spec';
import { computeFeatures } from '../projections/offline';
import { JsonlRecord, AccessFeatures, NetworkFeatures } from '../schemas/types';
import { ACCESS_FEATURE_NAMES, SPEC_VERSION } from './feature-spec';
import { fitAccess } from './access/fit';
import { buildSequences, dataEnd, dataStart, HORIZONS, HORIZON_HOURS, PRIMARY_HORIZON, REPORTED_HORIZONS } from './access/dataset';
import { evaluateAccess, AccessEvaluation } from './eval/access-eval';
import { evaluateWorkload, WorkloadEvaluation } from './eval/workload-eval';
import { buildNetSequences, fitWorkload } from './workload/forecaster';
import { FORECAST_HOURS } from './workload/spec';
import { LoadedModels, ModelMetadata } from './store';
import { SimAttack } from './sim/population';

/**
 * Train and evaluate from telemetry: features come from projections/offline (the projections'
 * own code), the split is by time, and everything measured is on windows after the split.
 */
const DAY = 86_400_000;

export interface Features {
  access: AccessFeatures[];
  network: NetworkFeatures[];
}

/** Feature records may also come straight from the file (features.* lines), e.g. a capture of the topics. */
export function featuresOf(records: readonly JsonlRecord[]): Features {
  const access = records.filter((r) => r.topic === 'features.access').map((r) => r.value as AccessFeatures);
  const network = records.filter((r) => r.topic === 'features.network').map((r) => r.value as NetworkFeatures);
  const telemetry = records.filter((r) => r.topic.startsWith('telemetry.'));
  if (telemetry.length) {
    const f = computeFeatures(telemetry);
    access.push(...f.access);
    network.push(...f.network);
  }
  if (!access.length) throw new InvalidInputError('the input has no access features and no telemetry to compute them from; generate some with foresight simulate');
  return { access, network };
}

export interface Split {
  start: number;
  trainUntil: number;
  end: number;
}

/** The first (1 - holdout) of the days, cut at a midnight UTC. */
export function timeSplit(f: Features, holdout: number): Split {
  const start = dataStart(f.access);
  const end = dataEnd(f.access);
  const first = Math.floor(start / DAY) * DAY;
  // The last window ends an hour before the data's last midnight: round, not floor, the span.
  const days = Math.round((end - first) / DAY);
  if (days < 3) throw new InvalidInputError(`the input spans ${days} day(s); training needs at least 3 (simulate --days 7 or more)`);
  const trainDays = Math.max(2, Math.min(days - 1, Math.round(days * (1 - holdout))));
  return { start, trainUntil: first + trainDays * DAY, end };
}

export interface TrainOptions {
  holdout: number;
  epochs: number;
  workloadEpochs: number;
  seed: number;
  onProgress?: (phase: 'access' | 'workload', epoch: number, epochs: number, fraction: number, loss: number) => void;
}

export interface Evaluation {
  period: { from: number; until: number; sameDataAsTraining: boolean };
  access: AccessEvaluation;
  workload: WorkloadEvaluation | null;
}

export async function trainModels(f: Features, o: TrainOptions) {
  const split = timeSplit(f, o.holdout);
  const access = await fitAccess(f.access, {
    trainFrom: split.start,
    trainUntil: split.trainUntil,
    epochs: o.epochs,
    seed: o.seed,
    onProgress: (e, frac, loss) => o.onProgress?.('access', e, o.epochs, frac, loss),
  });
  const workload = f.network.length
    ? await fitWorkload(f.network, {
        trainFrom: split.start,
        trainUntil: split.trainUntil,
        epochs: o.workloadEpochs,
        seed: o.seed,
        onProgress: (e, frac, loss) => o.onProgress?.('workload', e, o.workloadEpochs, frac, loss),
      })
    : null;
  return { split, access, workload };
}

export function metadataOf(
  t: Awaited<ReturnType<typeof trainModels>>,
  f: Features,
  extra: { createdAt: string; backend: string; dataHash: string; records: number },
): Omit<ModelMetadata, 'version' | 'format' | 'metrics'> {
  const { access, workload, split } = t;
  return {
    createdAt: extra.createdAt,
    backend: extra.backend,
    featureVersion: FEATURE_VERSION,
    access: {
      specVersion: SPEC_VERSION,
      featureNames: [...ACCESS_FEATURE_NAMES],
      horizons: HORIZONS,
      horizonHours: HORIZON_HOURS,
      primaryHorizon: PRIMARY_HORIZON,
      reportedHorizons: REPORTED_HORIZONS,
      shape: access.model.net.shape,
      scaler: access.model.scaler,
      epochs: access.stats.epochs,
      lossByEpoch: access.stats.lossByEpoch,
      msByEpoch: access.stats.msByEpoch,
    },
    workload: workload
      ? {
          shape: workload.model.net.shape,
          scaler: workload.model.scaler,
          windowMs: workload.model.windowMs,
          hw: workload.model.hw,
          residualScale: workload.model.residualScale ?? 1,
          forecastHours: FORECAST_HOURS,
          epochs: workload.stats.epochs,
          lossByEpoch: workload.stats.lossByEpoch,
          msByEpoch: workload.stats.msByEpoch,
        }
      : null,
    baselines: { logistic: access.logistic },
    training: {
      dataHash: extra.dataHash,
      records: extra.records,
      trainFrom: split.start,
      trainUntil: split.trainUntil,
      dataEnd: split.end,
      accessWindows: f.access.length,
      networkWindows: f.network.length,
    },
  };
}

/**
 * On the training file, the evaluation period is what training held out. On any other file,
 * every window after a warm-up (the first 30% of its days, which only feed the pair memories and
 * the recurrent state) is unseen data.
 */
export function evaluationPeriod(meta: Pick<ModelMetadata, 'training'>, f: Features, dataHash: string): Evaluation['period'] {
  const end = dataEnd(f.access);
  if (dataHash === meta.training.dataHash) return { from: meta.training.trainUntil, until: end, sameDataAsTraining: true };
  const start = dataStart(f.access);
  const from = Math.floor(start / DAY) * DAY + Math.max(1, Math.round(((end - start) / DAY) * 0.3)) * DAY;
  return { from, until: end, sameDataAsTraining: false };
}

export function evaluateModels(m: Pick<LoadedModels, 'access' | 'workload'> & { metadata: Pick<ModelMetadata, 'training' | 'baselines'> }, f: Features, dataHash: string, attacks: SimAttack[] | null): Evaluation {
  const period = evaluationPeriod(m.metadata, f, dataHash);
  if (period.from >= period.until) throw new InvalidInputError('the input has no windows after the training period; evaluate on a later or longer simulation');
  const access = evaluateAccess(m.access, m.metadata.baselines.logistic, buildSequences(f.access), period.from, period.until);
  const workload = m.workload && f.network.length ? evaluateWorkload(m.workload, buildNetSequences(f.network, m.workload.hw), period.from, period.until, attacks) : null;
  return { period, access, workload };
}

/** The `--json` shape of CONTRACT.md, plus calibration, access-time error and workload detail. */
export function evaluationJson(e: Evaluation, modelVersion: string): Record<string, unknown> {
  const access: Record<string, unknown> = {};
  for (const [h, byScorer] of Object.entries(e.access.metrics)) {
    access[h] = Object.fromEntries(Object.entries(byScorer).map(([k, v]) => [k, { rocAuc: v.rocAuc, prAuc: v.prAuc, brier: v.brier, ece: v.ece, n: v.n, positives: v.positives, calibration: v.calibration }]));
  }
  const workload = e.workload ? { model: e.workload.model, holtWinters: e.workload.holtWinters, security: e.workload.security } : null;
  return {
    modelVersion,
    period: { from: new Date(e.period.from).toISOString(), until: new Date(e.period.until).toISOString(), sameDataAsTraining: e.period.sameDataAsTraining },
    access,
    accessTime: e.access.accessTime,
    workload,
  };
}
