/** Classification and forecast metrics; pure functions of scores and labels. */
export function rocAuc(scores: number[], labels: number[]): number {
  const idx = scores.map((s, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0;
  let neg = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j < idx.length && scores[idx[j]] === scores[idx[i]]) j++;
    const avgRank = (i + j + 1) / 2; // 1-based average rank of the tie group
    for (let k = i; k < j; k++) if (labels[idx[k]]) rankSum += avgRank;
    i = j;
  }
  for (const l of labels) {
    if (l) pos++;
    else neg++;
  }
  if (!pos || !neg) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Average precision (area under the precision-recall curve, step-wise), ties taken together. */
export function prAuc(scores: number[], labels: number[]): number {
  const idx = scores.map((s, i) => i).sort((a, b) => scores[b] - scores[a]);
  const pos = labels.reduce((s, l) => s + (l ? 1 : 0), 0);
  if (!pos) return NaN;
  let tp = 0;
  let seen = 0;
  let ap = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    let groupTp = 0;
    while (j < idx.length && scores[idx[j]] === scores[idx[i]]) groupTp += labels[idx[j++]] ? 1 : 0;
    seen += j - i;
    tp += groupTp;
    ap += (groupTp / pos) * (tp / seen);
    i = j;
  }
  return ap;
}

export function brier(scores: number[], labels: number[]): number {
  if (!scores.length) return NaN;
  let s = 0;
  for (let i = 0; i < scores.length; i++) s += (scores[i] - labels[i]) ** 2;
  return s / scores.length;
}

export interface CalibrationBin {
  lo: number;
  hi: number;
  count: number;
  meanScore: number;
  positiveRate: number;
}

export function calibration(scores: number[], labels: number[], bins = 10): { bins: CalibrationBin[]; ece: number } {
  const out: CalibrationBin[] = Array.from({ length: bins }, (_, i) => ({ lo: i / bins, hi: (i + 1) / bins, count: 0, meanScore: 0, positiveRate: 0 }));
  scores.forEach((s, i) => {
    const b = out[Math.min(bins - 1, Math.floor(s * bins))];
    b.count++;
    b.meanScore += s;
    b.positiveRate += labels[i];
  });
  let ece = 0;
  for (const b of out) {
    if (!b.count) continue;
    b.meanScore /= b.count;
    b.positiveRate /= b.count;
    ece += (b.count / scores.length) * Math.abs(b.meanScore - b.positiveRate);
  }
  return { bins: out, ece };
}

export interface ClassMetrics {
  rocAuc: number;
  prAuc: number;
  brier: number;
  ece: number;
  n: number;
  positives: number;
  calibration: CalibrationBin[];
}

export function classMetrics(scores: number[], labels: number[]): ClassMetrics {
  const cal = calibration(scores, labels);
  return {
    rocAuc: rocAuc(scores, labels),
    prAuc: prAuc(scores, labels),
    brier: brier(scores, labels),
    ece: cal.ece,
    n: scores.length,
    positives: labels.reduce((s, l) => s + l, 0),
    calibration: cal.bins,
  };
}

/** Symmetric MAPE in percent; pairs where both are zero count as zero error. */
export function smape(actual: number[], forecast: number[]): number {
  let s = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]) + Math.abs(forecast[i]);
    s += d === 0 ? 0 : (2 * Math.abs(forecast[i] - actual[i])) / d;
  }
  return (100 * s) / Math.max(1, actual.length);
}

export function mae(actual: number[], forecast: number[]): number {
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += Math.abs(forecast[i] - actual[i]);
  return s / Math.max(1, actual.length);
}
