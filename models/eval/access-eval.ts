import { predictLogistic, Logistic } from '../baselines/logistic';
import { scale } from '../feature-spec';
import { predictSeqNet } from '../nn/train';
import { AccessModel } from '../access/fit';
import { HORIZONS, HORIZON_HOURS, PairSequence, REPORTED_HORIZONS } from '../access/dataset';
import { predictedAccessTime, toProbabilities } from '../access/predict';
import { classMetrics, ClassMetrics } from './metrics';

/**
 * Scores every window whose end falls in the evaluation period with the model and both
 * baselines. The model runs over each pair's whole history (as the scorer would), but only
 * windows ending at or after `from` are counted, and only horizons that end by `until`.
 */
const HOUR = 3_600_000;
export const BASELINES = ['hourOfWeek', 'logistic'] as const;
export type Scorer = 'model' | (typeof BASELINES)[number];
const SCORERS: Scorer[] = ['model', ...BASELINES];

export interface ScoredPoint {
  userId: string;
  vmId: string;
  at: number;
  horizon: string;
  model: number;
  hourOfWeek: number;
  logistic: number;
  label: 0 | 1;
}

export interface TimeError {
  /** Points with a request within a day of the window end. */
  n: number;
  /** Mean absolute error, hours; a missing prediction counts as predicting a day ahead. */
  maeHours: number;
  /** Share of those points with a prediction. */
  coverage: number;
}

export interface AccessEvaluation {
  points: ScoredPoint[];
  metrics: Record<string, Record<Scorer, ClassMetrics>>;
  accessTime: Record<Scorer, TimeError>;
}

export function evaluateAccess(model: AccessModel, logistic: Logistic, seqs: PairSequence[], from: number, until: number): AccessEvaluation {
  const raw = predictSeqNet(
    model.net,
    seqs.map((s) => s.vectors.map((v) => scale(model.scaler, v))),
  );
  const reported = REPORTED_HORIZONS.map((h) => HORIZONS.indexOf(h));
  const points: ScoredPoint[] = [];
  const timeErr: Record<Scorer, { sum: number; n: number; covered: number }> = {
    model: { sum: 0, n: 0, covered: 0 },
    hourOfWeek: { sum: 0, n: 0, covered: 0 },
    logistic: { sum: 0, n: 0, covered: 0 },
  };
  seqs.forEach((s, i) => {
    s.windows.forEach((w, t) => {
      const end = w.windowEnd;
      if (end < from) return;
      const probs: Record<Scorer, number[]> = {
        model: toProbabilities(raw[i][t]),
        hourOfWeek: s.howBaseline[t],
        logistic: cummax(predictLogistic(logistic, scale(model.scaler, s.vectors[t]))),
      };
      for (const k of reported) {
        if (end + HORIZON_HOURS[k] * HOUR > until) continue;
        points.push({ userId: s.userId, vmId: s.vmId, at: end, horizon: HORIZONS[k], model: probs.model[k], hourOfWeek: probs.hourOfWeek[k], logistic: probs.logistic[k], label: s.labels[t][k] as 0 | 1 });
      }
      const actual = s.nextRequestAt[t];
      if (actual !== null && actual < end + 24 * HOUR && end + 24 * HOUR <= until) {
        for (const sc of SCORERS) {
          const pred = predictedAccessTime(end, probs[sc], HORIZON_HOURS);
          const e = timeErr[sc];
          e.n++;
          if (pred !== null) e.covered++;
          e.sum += Math.abs((pred ?? end + 24 * HOUR) - actual) / HOUR;
        }
      }
    });
  });
  const metrics: AccessEvaluation['metrics'] = {};
  for (const h of REPORTED_HORIZONS) {
    const ps = points.filter((p) => p.horizon === h);
    const labels = ps.map((p) => p.label);
    metrics[h] = Object.fromEntries(SCORERS.map((sc) => [sc, classMetrics(ps.map((p) => p[sc]), labels)])) as Record<Scorer, ClassMetrics>;
  }
  const accessTime = Object.fromEntries(
    SCORERS.map((sc) => [sc, { n: timeErr[sc].n, maeHours: timeErr[sc].sum / Math.max(1, timeErr[sc].n), coverage: timeErr[sc].covered / Math.max(1, timeErr[sc].n) }]),
  ) as Record<Scorer, TimeError>;
  return { points, metrics, accessTime };
}

function cummax(xs: number[]): number[] {
  let m = 0;
  return xs.map((x) => (m = Math.max(m, x)));
}
