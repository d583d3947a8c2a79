import { SimAttack } from '../sim/population';
import { NetSequence } from '../workload/dataset';
import { WorkloadModel, hwHourly, modelHourly } from '../workload/forecaster';
import { FORECAST_HOURS } from '../workload/spec';
import { mae, smape } from './metrics';

/**
 * Forecast accuracy of the workload model and Holt-Winters at every window of the evaluation
 * period (next-24-hour hourly demand), and how the security risk catches the simulated attacks.
 */
const HOUR = 3_600_000;

export interface ForecastMetrics {
  smape: number;
  mase: number;
  peakTimeErrorHours: number;
  peakErrorPct: number;
  origins: number;
}

export interface SecurityMetrics {
  attacks: number;
  flagged: number;
  /** Minutes from the first flag to the attack's start (positive: flagged before it began). */
  meanLeadMinutes: number | null;
  falseAlarmsPerDay: number;
  threshold: number;
}

export interface WorkloadEvaluation {
  model: ForecastMetrics;
  holtWinters: ForecastMetrics;
  security: SecurityMetrics;
  /** For the report: one network's actual and forecast demand at each origin, next hour. */
  series: { clientNetworkId: string; at: number[]; actual: number[]; model: number[]; holtWinters: number[]; risk: number[] } | null;
}

function argmax(xs: number[]): number {
  let k = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[k]) k = i;
  return k;
}

function forecastMetrics(actual: number[][], pred: number[][], scale: number): ForecastMetrics {
  const a = actual.flat();
  const p = pred.flat();
  let peakT = 0;
  let peakE = 0;
  actual.forEach((row, i) => {
    peakT += Math.abs(argmax(row) - argmax(pred[i]));
    const pk = Math.max(...row);
    peakE += pk > 0 ? Math.abs(Math.max(...pred[i]) - pk) / pk : 0;
  });
  const n = Math.max(1, actual.length);
  return { smape: smape(a, p), mase: scale > 0 ? mae(a, p) / scale : NaN, peakTimeErrorHours: peakT / n, peakErrorPct: (100 * peakE) / n, origins: actual.length };
}

/** In-sample MAE of the seasonal naive forecast (same hour yesterday) before `until`: MASE's scale. */
function naiveScale(seqs: NetSequence[], until: number): number {
  const errs: number[] = [];
  for (const s of seqs) {
    const ph = Math.max(1, Math.round(HOUR / s.windowMs));
    const rates = s.windows.filter((w) => w.windowEnd <= until).map((w) => w.cryptoOpsRate);
    const hourly: number[] = [];
    for (let i = 0; i + ph <= rates.length; i += ph) hourly.push(rates.slice(i, i + ph).reduce((a, b) => a + b, 0) / ph);
    for (let i = 24; i < hourly.length; i++) errs.push(Math.abs(hourly[i] - hourly[i - 24]));
  }
  return errs.length ? errs.reduce((a, b) => a + b, 0) / errs.length : NaN;
}

export function evaluateWorkload(model: WorkloadModel, seqs: NetSequence[], from: number, until: number, attacks: SimAttack[] | null, threshold = 0.5): WorkloadEvaluation {
  const mh = modelHourly(model, seqs);
  const actual: number[][] = [];
  const pm: number[][] = [];
  const ph: number[][] = [];
  let series: WorkloadEvaluation['series'] = null;
  seqs.forEach((s, i) => {
    const hw = hwHourly(s, model.hw);
    const one = { clientNetworkId: s.clientNetworkId, at: [] as number[], actual: [] as number[], model: [] as number[], holtWinters: [] as number[], risk: [] as number[] };
    s.windows.forEach((w, t) => {
      const a = s.actualHourly[t];
      const h = hw[t];
      if (w.windowEnd < from || !a || !h || w.windowEnd + FORECAST_HOURS * HOUR > until) return;
      actual.push(a);
      pm.push(mh[i][t]);
      ph.push(h);
      one.at.push(w.windowEnd);
      one.actual.push(a[0]);
      one.model.push(mh[i][t][0]);
      one.holtWinters.push(h[0]);
      one.risk.push(s.risks[t]);
    });
    if (!series && one.at.length) series = one;
  });
  const scale = naiveScale(seqs, from);
  return { model: forecastMetrics(actual, pm, scale), holtWinters: forecastMetrics(actual, ph, scale), security: securityMetrics(seqs, attacks, threshold), series };
}

function securityMetrics(seqs: NetSequence[], attacks: SimAttack[] | null, threshold: number): SecurityMetrics {
  let flagged = 0;
  let leadSum = 0;
  let falseAlarms = 0;
  let days = 0;
  const list = (attacks ?? []).filter((a) => seqs.some((s) => s.clientNetworkId === a.clientNetworkId && s.windows.length && s.windows[0].windowStart + 24 * HOUR <= a.precursorStart));
  for (const s of seqs) {
    if (!s.windows.length) continue;
    const mine = (attacks ?? []).filter((a) => a.clientNetworkId === s.clientNetworkId);
    days += (s.windows[s.windows.length - 1].windowEnd - s.windows[0].windowStart) / (24 * HOUR);
    s.windows.forEach((w, t) => {
      if (s.risks[t] < threshold) return;
      if (!mine.some((a) => w.windowEnd > a.precursorStart && w.windowStart < a.end + HOUR)) falseAlarms++;
    });
    for (const a of list.filter((x) => x.clientNetworkId === s.clientNetworkId)) {
      const first = s.windows.findIndex((w, t) => s.risks[t] >= threshold && w.windowEnd > a.precursorStart && w.windowStart < a.end);
      if (first < 0) continue;
      flagged++;
      leadSum += (a.start - s.windows[first].windowEnd) / 60_000;
    }
  }
  return { attacks: list.length, flagged, meanLeadMinutes: flagged ? leadSum / flagged : null, falseAlarmsPerDay: days ? falseAlarms / days : 0, threshold };
}
