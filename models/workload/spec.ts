import { NetworkFeatures } from '../../schemas/types';
import { HwParams, HwState, hwForecast, hwUpdate, newHw } from './holt-winters';

/**
 * Network features (from projections/) to the forecaster's inputs and targets. Like the access
 * side, a network carries memory across windows (its demand level, the last week of demand,
 * the usual ratios of flows and handshakes to crypto operations, decayed threat indicators); it
 * is per-key state that training, evaluation and the scorer update the same way.
 */
export const FORECAST_HOURS = 24;
const HISTORY = 7 * 96; // a week of 15-minute windows; shorter windows keep proportionally more

export interface NetMemory {
  windowMs: number;
  /** log1p(ops/s) of past windows, oldest first, at most a week. */
  history: number[];
  level: number | null;
  flowMean: number;
  flowVar: number;
  hsMean: number;
  hsVar: number;
  seen: number;
  threat: number;
  /** Holt-Winters on log1p(ops/s): the forecast the recurrent net corrects. */
  hwParams: HwParams;
  hw: HwState;
}

export const DEFAULT_HW: HwParams = { alpha: 0.15, beta: 0, gamma: 0.3 };

export function newNetMemory(windowMs: number, hwParams: HwParams = DEFAULT_HW): NetMemory {
  const ph = Math.max(1, Math.round(3_600_000 / windowMs));
  return { windowMs, history: [], level: null, flowMean: 0, flowVar: 0.05, hsMean: 0, hsVar: 0.05, seen: 0, threat: 0, hwParams, hw: newHw(24 * ph) };
}

export function cloneNetMemory(m: NetMemory): NetMemory {
  return { ...m, history: m.history.slice(), hw: { ...m.hw, season: m.hw.season.slice(), warm: m.hw.warm.slice() } };
}

/** Holt-Winters' next 24 hourly log1p(mean ops/s), or null before a full day is seen. */
export function hwHourlyLog(m: NetMemory): number[] | null {
  const ph = perHour(m);
  const f = hwForecast(m.hw, FORECAST_HOURS * ph);
  if (!f) return null;
  const out: number[] = [];
  for (let h = 0; h < FORECAST_HOURS; h++) {
    let sum = 0;
    for (let i = h * ph; i < (h + 1) * ph; i++) sum += Math.max(0, Math.expm1(f[i]));
    out.push(Math.log1p(sum / ph));
  }
  return out;
}

/** What the net's outputs are added to: Holt-Winters when warm, else the current level. */
export function forecastBase(m: NetMemory): number[] {
  return hwHourlyLog(m) ?? new Array(FORECAST_HOURS).fill(m.level ?? 0);
}

export const THREAT_WEIGHTS: Record<string, number> = { VOLUMETRIC: 1.2, BRUTE_FORCE: 1.2, MALWARE_BEACON: 0.8, PORT_SCAN: 0.3, TLS_DOWNGRADE: 0.3 };

export function threatWeight(f: NetworkFeatures): number {
  let s = 0;
  for (const [k, n] of Object.entries(f.threatIndicators ?? {})) s += (THREAT_WEIGHTS[k] ?? 0.3) * n;
  return s;
}

function perHour(m: NetMemory): number {
  return Math.max(1, Math.round(3_600_000 / m.windowMs));
}

/** Mean of log1p-rates of the hourly blocks starting `back` windows ago; null if not yet seen. */
function hourlyProfile(m: NetMemory, back: number): (number | null)[] {
  const ph = perHour(m);
  const out: (number | null)[] = [];
  const n = m.history.length;
  for (let h = 0; h < FORECAST_HOURS; h++) {
    const from = n - back + h * ph;
    if (from < 0 || from + ph > n) {
      out.push(null);
      continue;
    }
    let s = 0;
    for (let i = from; i < from + ph; i++) s += Math.expm1(m.history[i]);
    out.push(Math.log1p(s / ph));
  }
  return out;
}

export interface Anomaly {
  flowZ: number;
  hsZ: number;
}

/** Folds one window in; returns how unusual its flow and handshake ratios were beforehand. */
export function rememberNet(m: NetMemory, f: NetworkFeatures): Anomaly {
  const y = Math.log1p(f.cryptoOpsRate);
  const fr = Math.log((f.flows + 1) / (f.cryptoOps + 1));
  const hr = Math.log((f.tlsHandshakes + 1) / (f.cryptoOps + 1));
  const flowZ = m.seen < 8 ? 0 : (fr - m.flowMean) / Math.sqrt(m.flowVar + 1e-4);
  const hsZ = m.seen < 8 ? 0 : (hr - m.hsMean) / Math.sqrt(m.hsVar + 1e-4);
  const a = m.seen < 8 ? 0.3 : 0.02;
  // Windows already flagged as unusual barely move the baseline, so an attack does not teach it.
  const w = Math.abs(flowZ) > 4 || Math.abs(hsZ) > 4 ? a * 0.05 : a;
  m.flowVar = (1 - w) * m.flowVar + w * (fr - m.flowMean) ** 2;
  m.flowMean += w * (fr - m.flowMean);
  m.hsVar = (1 - w) * m.hsVar + w * (hr - m.hsMean) ** 2;
  m.hsMean += w * (hr - m.hsMean);
  const alpha = 1 / (24 * perHour(m));
  m.level = m.level === null ? y : m.level + Math.max(alpha, 1 / (m.seen + 1)) * (y - m.level);
  m.history.push(y);
  hwUpdate(m.hw, m.hwParams, y);
  const cap = Math.round((HISTORY * 900_000) / m.windowMs);
  if (m.history.length > cap) m.history.splice(0, m.history.length - cap);
  m.threat = 0.7 * m.threat + threatWeight(f);
  m.seen++;
  return { flowZ, hsZ };
}

const clip = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, x));

/** Inputs after `rememberNet` folded the window in. */
export function netVector(f: NetworkFeatures, m: NetMemory, an: Anomaly): number[] {
  const L = m.level ?? 0;
  const day = hourlyProfile(m, 24 * perHour(m));
  const week = hourlyProfile(m, 7 * 24 * perHour(m));
  const hw = hwHourlyLog(m);
  return [
    Math.log1p(f.cryptoOpsRate) - L,
    Math.log1p(f.cryptoOpsPeak) - L,
    clip(an.flowZ, -10, 10) / 5,
    clip(an.hsZ, -10, 10) / 5,
    Math.log1p(f.threatIndicatorCount),
    Math.log1p(m.threat),
    f.hourSin,
    f.hourCos,
    f.dowSin,
    f.dowCos,
    L / 10,
    day[0] === null ? 0 : 1,
    week[0] === null ? 0 : 1,
    hw === null ? 0 : 1,
    ...(hw ?? new Array(FORECAST_HOURS).fill(L)).map((v) => v - L),
    ...day.map((v) => (v === null ? 0 : v - L)),
    ...week.map((v) => (v === null ? 0 : v - L)),
  ];
}

export const NET_FEATURES = 14 + 3 * FORECAST_HOURS;

/** Security risk (0..1): decayed, weighted threat indicators plus unusual flow and handshake ratios. */
export function securityRisk(m: NetMemory, an: Anomaly): number {
  const anomaly = 0.35 * Math.max(0, an.flowZ - 3) + 0.35 * Math.max(0, an.hsZ - 3);
  return 1 - Math.exp(-(m.threat + anomaly));
}

export function activeIndicators(f: NetworkFeatures): string[] {
  return Object.keys(f.threatIndicators ?? {}).filter((k) => (f.threatIndicators[k] ?? 0) > 0).sort();
}
