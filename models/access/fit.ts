import { AccessFeatures } from '../../schemas/types';
import { fitLogistic, Logistic, LogisticRow } from '../baselines/logistic';
import { fitScaler, scale, Scaler, ACCESS_FEATURE_NAMES } from '../feature-spec';
import { createSeqNet, SeqNet } from '../nn/seqnet';
import { Sequence, trainSeqNet, TrainStats } from '../nn/train';
import { buildSequences, HORIZONS, HORIZON_HOURS, labelMask, PairSequence } from './dataset';

/** Trains the access-risk GRU and, on exactly the same rows, the logistic-regression baseline. */
export interface AccessFitOptions {
  trainFrom: number;
  trainUntil: number;
  epochs: number;
  seed?: number;
  units?: number;
  onProgress?: (epoch: number, fraction: number, loss: number) => void;
  onEpoch?: (epoch: number, loss: number, ms: number) => void;
}

export interface AccessModel {
  net: SeqNet;
  scaler: Scaler;
  horizons: string[];
  horizonHours: number[];
  featureNames: readonly string[];
}

export interface AccessFit {
  model: AccessModel;
  logistic: Logistic;
  stats: TrainStats;
  trainRows: number;
  positiveRate: number[];
}

export function toTrainingSequences(seqs: PairSequence[], scaler: Scaler, from: number, until: number): Sequence[] {
  return seqs.map((s) => ({ x: s.vectors.map((v) => scale(scaler, v)), y: s.labels, m: labelMask(s, from, until) }));
}

export async function fitAccess(features: readonly AccessFeatures[], o: AccessFitOptions): Promise<AccessFit> {
  const seqs = buildSequences(features);
  const trainVectors = seqs.flatMap((s) => s.vectors.filter((_, t) => s.windows[t].windowEnd <= o.trainUntil));
  const scaler = fitScaler(trainVectors);
  const train = toTrainingSequences(seqs, scaler, o.trainFrom, o.trainUntil);
  const rows: LogisticRow[] = [];
  for (const s of train) for (let t = 0; t < s.x.length; t++) if (s.m[t].some((v) => v > 0)) rows.push({ x: s.x[t], y: s.y[t], m: s.m[t] });
  const positiveRate = HORIZONS.map((_, k) => {
    const known = rows.filter((r) => r.m[k]);
    return known.reduce((a, r) => a + r.y[k], 0) / Math.max(1, known.length);
  });
  const meanRate = Math.min(0.99, Math.max(0.01, positiveRate.reduce((a, b) => a + b, 0) / positiveRate.length));
  const net = createSeqNet({ inputs: ACCESS_FEATURE_NAMES.length, units: o.units ?? 32, hidden: 32, outputs: HORIZONS.length }, o.seed ?? 1, Math.log(meanRate / (1 - meanRate)));
  const stats = await trainSeqNet(net, train, {
    epochs: o.epochs,
    loss: 'bce',
    seed: o.seed,
    batchSize: 16,
    chunk: 96,
    learningRate: 0.005,
    onProgress: o.onProgress,
    onEpoch: o.onEpoch,
  });
  const logistic = fitLogistic(rows, HORIZONS.length);
  return {
    model: { net, scaler, horizons: HORIZONS, horizonHours: HORIZON_HOURS, featureNames: ACCESS_FEATURE_NAMES },
    logistic,
    stats,
    trainRows: rows.length,
    positiveRate,
  };
}
