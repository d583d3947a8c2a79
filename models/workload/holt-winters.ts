/**
 * Additive Holt-Winters on log1p(ops/s) with a daily season: the forecaster's baseline. Online:
 * `update` folds one window in, `forecast` gives the next steps. Smoothing constants are chosen
 * on the training period by a small grid search.
 */
export interface HwParams {
  alpha: number;
  beta: number;
  gamma: number;
}

export interface HwState {
  season: number[];
  level: number | null;
  trend: number;
  t: number;
  warm: number[];
}

export function newHw(period: number): HwState {
  return { season: new Array(period).fill(0), level: null, trend: 0, t: 0, warm: [] };
}

export function hwUpdate(s: HwState, p: HwParams, y: number): void {
  const m = s.season.length;
  if (s.level === null) {
    // The first period initialises level and season.
    s.warm.push(y);
    s.t++;
    if (s.warm.length === m) {
      const mean = s.warm.reduce((a, b) => a + b, 0) / m;
      s.level = mean;
      s.season = s.warm.map((v) => v - mean);
      s.warm = [];
    }
    return;
  }
  const i = s.t % m;
  const prevLevel = s.level;
  s.level = p.alpha * (y - s.season[i]) + (1 - p.alpha) * (s.level + s.trend);
  s.trend = p.beta * (s.level - prevLevel) + (1 - p.beta) * s.trend;
  s.season[i] = p.gamma * (y - s.level) + (1 - p.gamma) * s.season[i];
  s.t++;
}

/** The next `steps` values; null until a full season has been seen. */
export function hwForecast(s: HwState, steps: number): number[] | null {
  if (s.level === null) return null;
  const m = s.season.length;
  const out: number[] = [];
  for (let k = 1; k <= steps; k++) out.push(s.level + k * s.trend + s.season[(s.t + k - 1) % m]);
  return out;
}

export const HW_GRID: HwParams[] = [];
for (const alpha of [0.05, 0.15, 0.3]) for (const beta of [0, 0.005]) for (const gamma of [0.05, 0.15, 0.3]) HW_GRID.push({ alpha, beta, gamma });
