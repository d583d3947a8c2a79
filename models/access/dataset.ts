import { AccessFeatures } from '../../schemas/types';
import { PairMemory, accessVector, howProbability, newPairMemory, remember } from '../feature-spec';

/**
 * From AccessFeatures records to per-pair sequences with labels. A window's label for a horizon
 * is whether the pair asks for access in [windowEnd, windowEnd + horizon); it is known only when
 * that interval ends by the end of the data.
 */
const HOUR = 3_600_000;

export const HORIZON_HOURS = [1, 2, 4, 8, 16, 24];
export const HORIZONS = ['PT1H', 'PT2H', 'PT4H', 'PT8H', 'PT16H', 'P1D'];
/** The horizons evaluated and reported; the others sharpen the predicted access time. */
export const REPORTED_HORIZONS = ['PT1H', 'PT4H', 'P1D'];
export const PRIMARY_HORIZON = 'PT1H';

export interface PairSequence {
  userId: string;
  vmId: string;
  windows: AccessFeatures[];
  /** Unscaled model inputs, one per window. */
  vectors: number[][];
  /** [T][horizon] 0/1. */
  labels: number[][];
  /** Next request after the window end (middle of its window), or null. */
  nextRequestAt: (number | null)[];
  /** The hour-of-week frequency baseline, per horizon, from the same pair memory. */
  howBaseline: number[][];
  /** Pair memory after the last window (the scorer's starting point). */
  memory: PairMemory;
}

export function pairKey(userId: string, vmId: string): string {
  return `${userId}\u0000${vmId}`;
}

/** Windows of each pair, deduplicated by eventId, in window order. */
export function groupPairs(features: readonly AccessFeatures[]): Map<string, AccessFeatures[]> {
  const byPair = new Map<string, Map<string, AccessFeatures>>();
  for (const f of features) {
    const k = pairKey(f.userId, f.vmId);
    let m = byPair.get(k);
    if (!m) byPair.set(k, (m = new Map()));
    m.set(f.eventId, f);
  }
  const out = new Map<string, AccessFeatures[]>();
  for (const [k, m] of byPair) out.set(k, [...m.values()].sort((a, b) => a.windowStart - b.windowStart));
  return out;
}

export function buildSequences(features: readonly AccessFeatures[]): PairSequence[] {
  const out: PairSequence[] = [];
  for (const windows of groupPairs(features).values()) {
    const memory = newPairMemory();
    const requestTimes = windows.filter((w) => w.accessRequests > 0).map((w) => w.windowStart);
    let next = 0;
    const seq: PairSequence = { userId: windows[0].userId, vmId: windows[0].vmId, windows, vectors: [], labels: [], nextRequestAt: [], howBaseline: [], memory };
    for (const w of windows) {
      remember(memory, w);
      seq.vectors.push(accessVector(w, memory));
      while (next < requestTimes.length && requestTimes[next] < w.windowEnd) next++;
      const nr = next < requestTimes.length ? requestTimes[next] : null;
      seq.labels.push(HORIZON_HOURS.map((h) => (nr !== null && nr < w.windowEnd + h * HOUR ? 1 : 0)));
      seq.nextRequestAt.push(nr === null ? null : nr + HOUR / 2);
      seq.howBaseline.push(HORIZON_HOURS.map((h) => howProbability(memory, w.windowEnd, h)));
    }
    out.push(seq);
  }
  return out.sort((a, b) => (a.userId + a.vmId < b.userId + b.vmId ? -1 : 1));
}

/** The latest window end in the data: labels reaching past it are unknown. */
export function dataEnd(features: readonly AccessFeatures[]): number {
  let end = -Infinity;
  for (const f of features) end = Math.max(end, f.windowEnd);
  return end;
}

export function dataStart(features: readonly AccessFeatures[]): number {
  let s = Infinity;
  for (const f of features) s = Math.min(s, f.windowStart);
  return s;
}

/** 1 where the label of horizon k at window t is known and ends by `until`. */
export function labelMask(seq: PairSequence, from: number, until: number): number[][] {
  return seq.windows.map((w) => HORIZON_HOURS.map((h) => (w.windowEnd >= from && w.windowEnd + h * HOUR <= until ? 1 : 0)));
}
