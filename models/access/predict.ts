/**
 * From the net's raw outputs to what the product uses: a probability per horizon (a CDF over
 * time, so made non-decreasing) and the predicted time of the next access request.
 */
const HOUR = 3_600_000;

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

export function toProbabilities(raw: number[]): number[] {
  let best = 0;
  return raw.map((z) => (best = Math.max(best, sigmoid(z))));
}

/**
 * Where the CDF first reaches one half, interpolated linearly from (0, 0); null when it stays
 * below one half over the longest horizon.
 */
export function predictedAccessTime(windowEnd: number, probs: number[], hours: number[]): number | null {
  let prevH = 0;
  let prevP = 0;
  for (let k = 0; k < hours.length; k++) {
    if (probs[k] >= 0.5) {
      const frac = probs[k] === prevP ? 1 : (0.5 - prevP) / (probs[k] - prevP);
      return Math.round(windowEnd + (prevH + frac * (hours[k] - prevH)) * HOUR);
    }
    prevH = hours[k];
    prevP = probs[k];
  }
  return null;
}
