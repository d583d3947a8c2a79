import type { Clock } from '../core/clock';

/**
 * Simulated time for replays: t0 + speedup × (wall time since the start). Every role of a demo
 * gets the same one, so validity windows, window closes and lead times behave like a real day,
 * only faster. This is an edge (it reads the wall clock); what decides only sees `now()`.
 */
export class ScaledClock implements Clock {
  constructor(
    readonly simStart: number,
    readonly speedup: number,
    private readonly wallStart: number = Date.now(),
    private readonly wall: () => number = Date.now,
  ) {
    if (!(speedup > 0)) throw new RangeError(`speedup must be positive, got ${speedup}`);
  }
  now(): number {
    return Math.round(this.simStart + this.speedup * (this.wall() - this.wallStart));
  }
  /** Wall milliseconds until the simulated time `t` (0 when it has passed). */
  wallMsUntil(t: number): number {
    return Math.max(0, (t - this.now()) / this.speedup);
  }
}
