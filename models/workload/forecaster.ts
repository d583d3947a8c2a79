import { NetworkFeatures } from '../../schemas/types';
import { fitScaler, scale, Scaler } from '../feature-spec';
import { smape } from '../eval/metrics';
import { createSeqNet, SeqNet } from '../nn/seqnet';
import { predictSeqNet, Sequence, sequenceLoss, trainSeqNet, TrainStats } from '../nn/train';
import { validationStart } from '../access/fit';
import { buildNetSequences, NetSequence } from './dataset';
import { HW_GRID, HwParams, hwForecast, hwUpdate, newHw } from './holt-winters';
import { FORECAST_HOURS, NET_FEATURES } from './spec';

/**
 * The workload forecaster: a GRU over each client network's windows that predicts the next 24
 * hourly demand levels relative to the network's current level, and its Holt-Winters baseline.
 */
export interface WorkloadModel {
  net: SeqNet;
  scaler: Scaler;
  windowMs: number;
  hw: HwParams;
  /** How much of the net's correction to Holt-Winters is applied (chosen on validation). */
  residualScale?: number;
}

export interface WorkloadFit {
  model: WorkloadModel;
  stats: TrainStats;
}

export interface WorkloadFitOptions {
  trainFrom: number;
  trainUntil: number;
  epochs: number;
  seed?: number;
  validation?: boolean;
  onProgress?: (epoch: number, fraction: number, loss: number) => void;
  onEpoch?: (epoch: number, loss: number, ms: number) => void;
}

const ZERO = new Array(FORECAST_HOURS).fill(0);
const DAY = 86_400_000;

function trainingSequences(seqs: NetSequence[], scaler: Scaler, from: number, until: number): Sequence[] {
  return seqs.map((s) => ({
    x: s.vectors.map((v) => scale(scaler, v)),
    y: s.targets.map((t) => t ?? ZERO),
    m: s.windows.map((w, i) => {
      const ok = s.targets[i] !== null && w.windowEnd >= from && w.windowEnd + FORECAST_HOURS * 3_600_000 <= until;
      return ok ? new Array(FORECAST_HOURS).fill(1) : ZERO;
    }),
  }));
}

function perHour(windowMs: number): number {
  return Math.max(1, Math.round(3_600_000 / windowMs));
}

/** Holt-Winters hourly forecasts (ops/s) at every window; null before a season is seen. */
export function hwHourly(s: NetSequence, p: HwParams): (number[] | null)[] {
  const ph = perHour(s.windowMs);
  const st = newHw(24 * ph);
  return s.windows.map((w) => {
    hwUpdate(st, p, Math.log1p(w.cryptoOpsRate));
    const f = hwForecast(st, FORECAST_HOURS * ph);
    if (!f) return null;
    const out: number[] = [];
    for (let h = 0; h < FORECAST_HOURS; h++) {
      let sum = 0;
      for (let i = h * ph; i < (h + 1) * ph; i++) sum += Math.max(0, Math.expm1(f[i]));
      out.push(sum / ph);
    }
    return out;
  });
}

function chooseHw(features: readonly NetworkFeatures[], from: number, until: number): HwParams {
  const seqs = buildNetSequences(features);
  let best = HW_GRID[0];
  let bestErr = Infinity;
  for (const p of HW_GRID) {
    const actual: number[] = [];
    const pred: number[] = [];
    for (const s of seqs) {
      const f = hwHourly(s, p);
      s.windows.forEach((w, i) => {
        const a = s.actualHourly[i];
        if (i % 4 || !a || !f[i] || w.windowEnd < from || w.windowEnd + FORECAST_HOURS * 3_600_000 > until) return;
        actual.push(...a);
        pred.push(...(f[i] as number[]));
      });
    }
    const err = actual.length ? smape(actual, pred) : Infinity;
    if (err < bestErr) [best, bestErr] = [p, err];
  }
  return best;
}

export async function fitWorkload(features: readonly NetworkFeatures[], o: WorkloadFitOptions): Promise<WorkloadFit> {
  const hw = chooseHw(features, o.trainFrom, o.trainUntil);
  const seqs = buildNetSequences(features, hw);
  const scaler = fitScaler(seqs.flatMap((s) => s.vectors.filter((_, i) => s.windows[i].windowEnd <= o.trainUntil)));
  if (!scaler.mean.length) scaler.mean = new Array(NET_FEATURES).fill(0);
  if (!scaler.std.length) scaler.std = new Array(NET_FEATURES).fill(1);
  const net = createSeqNet({ inputs: NET_FEATURES, units: 24, hidden: 32, outputs: FORECAST_HOURS }, (o.seed ?? 1) + 1, { outputScale: 0.05 });
  // A fixed number of epochs: one validation day proved too noisy a judge for early stopping or
  // for choosing the shrinkage (see chooseResidualScale), so both are opt-in.
  const valFrom = o.validation ? validationStart(o.trainFrom, o.trainUntil) : null;
  const fitPart = trainingSequences(seqs, scaler, o.trainFrom, valFrom ?? o.trainUntil);
  const valPart = valFrom === null ? null : trainingSequences(seqs, scaler, valFrom - DAY, o.trainUntil);
  const stats = await trainSeqNet(net, fitPart, {
    validate: valPart ? () => sequenceLoss(net, valPart, 'mse') : undefined,
    averageFrom: Math.ceil(o.epochs / 2) + 1,
    patience: 3,
    epochs: o.epochs,
    loss: 'mse',
    seed: o.seed,
    batchSize: 8,
    chunk: 96,
    learningRate: 0.003,
    onProgress: o.onProgress,
    onEpoch: o.onEpoch,
  });
  const model: WorkloadModel = { net, scaler, windowMs: seqs[0]?.windowMs ?? 900_000, hw, residualScale: 0.5 };
  if (valFrom !== null) model.residualScale = chooseResidualScale(model, seqs, valFrom, o.trainUntil);
  return { model, stats };
}

/**
 * The share of the net's correction that helps most on the validation day (sMAPE of the next-day
 * hourly forecasts whose hours end inside it): with a few weeks of data the full correction
 * overshoots, none of it is plain Holt-Winters.
 */
function chooseResidualScale(model: WorkloadModel, seqs: NetSequence[], valFrom: number, until: number): number {
  let best = 0.5;
  let bestErr = Infinity;
  for (const lambda of [0, 0.25, 0.5, 0.75, 1]) {
    const hourly = modelHourly({ ...model, residualScale: lambda }, seqs);
    const actual: number[] = [];
    const pred: number[] = [];
    seqs.forEach((s, i) =>
      s.windows.forEach((w, t) => {
        const a = s.actualHourly[t];
        const end = w.windowEnd + FORECAST_HOURS * 3_600_000;
        if (!a || end <= valFrom || end > until) return;
        actual.push(...a);
        pred.push(...hourly[i][t]);
      }),
    );
    const err = actual.length ? smape(actual, pred) : Infinity;
    if (err < bestErr) [best, bestErr] = [lambda, err];
  }
  return best;
}

/** Model forecasts (ops/s per hour) at every window of every sequence. */
export function modelHourly(model: WorkloadModel, seqs: NetSequence[]): number[][][] {
  const raw = predictSeqNet(model.net, seqs.map((s) => s.vectors.map((v) => scale(model.scaler, v))));
  return seqs.map((s, i) => raw[i].map((row, t) => row.map((d, h) => Math.max(0, Math.expm1(s.bases[t][h] + (model.residualScale ?? 1) * d)))));
}

/** Total ops, peak ops/s and the peak's time from hourly forecasts made at `windowEnd`. */
export function summariseForecast(windowEnd: number, hourly: number[]): { total: number; peak: number; peakTime: number } {
  let k = 0;
  for (let h = 1; h < hourly.length; h++) if (hourly[h] > hourly[k]) k = h;
  return { total: hourly.reduce((a, b) => a + b, 0) * 3600, peak: hourly[k], peakTime: windowEnd + k * 3_600_000 + 1_800_000 };
}

export { buildNetSequences };
