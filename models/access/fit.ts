import { AccessFeatures } from '../../schemas/types';
import { fitLogistic, Logistic, LogisticRow } from '../baselines/logistic';
import { fitScaler, scale, Scaler, ACCESS_FEATURE_NAMES } from '../feature-spec';
import { createSeqNet, SeqNet } from '../nn/seqnet';
import { Sequence, sequenceLoss, trainSeqNet, TrainStats } from '../nn/train';
import { buildSequences, HORIZONS, HORIZON_HOURS, labelMask, PairSequence } from './dataset';

/** Trains the access-risk GRU and, on exactly the same rows, the logistic-regression baseline. */
export interface AccessFitOptions {
  trainFrom: number;
  trainUntil: number;
  epochs: number;
  seed?: number;
  units?: number;
  /** Keep the last training day to pick the epoch (off by default: one day is a noisy judge). */
  validation?: boolean;
  /** Average the weights of the epochs from this one on (default: the last half). */
  averageFrom?: number;
  /** Start the net's linear path at a logistic regression fitted on the same rows. */
  linearInit?: boolean;
  batchSize?: number;
  chunk?: number;
  learningRate?: number;
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

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** The last day of a training period of at least four days is kept for validation. */
export function validationStart(from: number, until: number): number | null {
  return until - from >= 4 * DAY ? until - DAY : null;
}

export async function fitAccess(features: readonly AccessFeatures[], o: AccessFitOptions): Promise<AccessFit> {
  const seqs = buildSequences(features);
  const trainVectors = seqs.flatMap((s) => s.vectors.filter((_, t) => s.windows[t].windowEnd <= o.trainUntil));
  const scaler = fitScaler(trainVectors);
  const train = toTrainingSequences(seqs, scaler, o.trainFrom, o.trainUntil);
  // The net fits all but the last day of the training period; that day picks the epoch.
  const valFrom = o.validation ? validationStart(o.trainFrom, o.trainUntil) : null;
  const fitPart = valFrom === null ? train : toTrainingSequences(seqs, scaler, o.trainFrom, valFrom);
  // Validation labels: those whose horizon ends inside the validation day (none of them was fitted).
  const valPart =
    valFrom === null
      ? null
      : seqs.map((s, i) => ({
          ...train[i],
          m: s.windows.map((w) => HORIZON_HOURS.map((h) => (w.windowEnd + h * HOUR > valFrom && w.windowEnd + h * HOUR <= o.trainUntil ? 1 : 0))),
        }));
  const rows: LogisticRow[] = [];
  for (const s of train) for (let t = 0; t < s.x.length; t++) if (s.m[t].some((v) => v > 0)) rows.push({ x: s.x[t], y: s.y[t], m: s.m[t] });
  const positiveRate = HORIZONS.map((_, k) => {
    const known = rows.filter((r) => r.m[k]);
    return known.reduce((a, r) => a + r.y[k], 0) / Math.max(1, known.length);
  });
  const fitRows: LogisticRow[] = [];
  for (const s of fitPart) for (let t = 0; t < s.x.length; t++) if (s.m[t].some((v) => v > 0)) fitRows.push({ x: s.x[t], y: s.y[t], m: s.m[t] });
  const meanRate = Math.min(0.99, Math.max(0.01, positiveRate.reduce((a, b) => a + b, 0) / positiveRate.length));
  const start = o.linearInit ? fitLogistic(fitRows, HORIZONS.length) : null;
  const net = createSeqNet(
    { inputs: ACCESS_FEATURE_NAMES.length, units: o.units ?? 32, hidden: 32, outputs: HORIZONS.length },
    o.seed ?? 1,
    start ? { outputBias: start.bias, linear: start.weights, outputScale: 0.1 } : { outputBias: Math.log(meanRate / (1 - meanRate)) },
  );
  const stats = await trainSeqNet(net, fitPart, {
    validate: valPart ? () => sequenceLoss(net, valPart, 'bce') : undefined,
    averageFrom: o.averageFrom ?? Math.ceil(o.epochs / 2) + 1,
    patience: 3,
    epochs: o.epochs,
    loss: 'bce',
    seed: o.seed,
    batchSize: o.batchSize ?? 16,
    chunk: o.chunk ?? 96,
    learningRate: o.learningRate ?? 0.005,
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
