/**
 * Fixed-width time buckets keeping only the newest `max` of them: memory stays bounded however
 * long the process runs. Time is whatever the caller passes (event time or an injected clock).
 */
export class BucketSeries<T> {
  private readonly buckets = new Map<number, T>();
  private newest = -Infinity;

  constructor(
    readonly bucketMs: number,
    readonly max: number,
    private readonly empty: () => T,
  ) {
    if (!(bucketMs > 0) || !(max > 0)) throw new Error('bucketMs and max must be positive');
  }

  /** The bucket holding `t`, made on first use; undefined when `t` is older than the window. */
  at(t: number): T | undefined {
    const start = Math.floor(t / this.bucketMs) * this.bucketMs;
    if (start <= this.newest - this.max * this.bucketMs) return undefined;
    let b = this.buckets.get(start);
    if (!b) {
      this.buckets.set(start, (b = this.empty()));
      if (start > this.newest) {
        this.newest = start;
        const oldest = start - (this.max - 1) * this.bucketMs;
        for (const k of this.buckets.keys()) if (k < oldest) this.buckets.delete(k);
      }
    }
    return b;
  }

  /** Oldest first, bucket start times. */
  entries(): [number, T][] {
    return [...this.buckets].sort((a, b) => a[0] - b[0]);
  }

  get size(): number {
    return this.buckets.size;
  }

  clear(): void {
    this.buckets.clear();
    this.newest = -Infinity;
  }
}

/** Cumulative histogram counts: counts[i] observations were <= bounds[i]; `count` includes +Inf. */
export interface HistogramCounts {
  buckets: number[];
  counts: number[];
  sum: number;
  count: number;
}

export const emptyCounts = (buckets: number[]): HistogramCounts => ({ buckets: [...buckets], counts: buckets.map(() => 0), sum: 0, count: 0 });

/** b - a, per bucket; a counter that went down (restart) counts from zero. */
export function subtractCounts(b: HistogramCounts, a: HistogramCounts | undefined): HistogramCounts {
  if (!a || a.count > b.count || a.buckets.length !== b.buckets.length) return { ...b, buckets: [...b.buckets], counts: [...b.counts] };
  return { buckets: [...b.buckets], counts: b.counts.map((c, i) => Math.max(0, c - a.counts[i])), sum: b.sum - a.sum, count: b.count - a.count };
}

export function addCounts(a: HistogramCounts, b: HistogramCounts): HistogramCounts {
  if (a.count === 0) return { ...b, buckets: [...b.buckets], counts: [...b.counts] };
  return { buckets: a.buckets, counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)), sum: a.sum + b.sum, count: a.count + b.count };
}

/**
 * Quantile as Prometheus's histogram_quantile estimates it: linear within the bucket that holds
 * the rank. Beyond the last finite bound it answers that bound (the true value is unknown).
 */
export function histogramQuantile(q: number, h: HistogramCounts): number | null {
  if (h.count === 0) return null;
  const rank = q * h.count;
  for (let i = 0; i < h.buckets.length; i++) {
    if (h.counts[i] >= rank) {
      const lo = i === 0 ? 0 : h.buckets[i - 1];
      const below = i === 0 ? 0 : h.counts[i - 1];
      const inBucket = h.counts[i] - below;
      return inBucket === 0 ? h.buckets[i] : lo + (h.buckets[i] - lo) * ((rank - below) / inBucket);
    }
  }
  return h.buckets[h.buckets.length - 1];
}
