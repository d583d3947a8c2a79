import type { Clock } from '../core/clock';

/**
 * Simulated time for replays: t0 + speedup × (wall time since the start). Every role of a demo
 * gets the same one, so validity windows, window closes and lead times behave like a real day,
 * only faster. This is an edge (it reads the wall clock); what decides only sees `now()`.
 * Created paused (`running: false`) it stays at t0 until start(): a demo's warm-up happens
 * "before" the live day begins.
 */
export class ScaledClock implements Clock {
  private wallStart: number | null;
  constructor(
    readonly simStart: number,
    readonly speedup: number,
    o: { running?: boolean; wall?: () => number } = {},
  ) {
    if (!(speedup > 0)) throw new RangeError(`speedup must be positive, got ${speedup}`);
    this.wall = o.wall ?? Date.now;
    this.wallStart = o.running === false ? null : this.wall();
  }
  private readonly wall: () => number;

  /** Starts (or restarts) the simulated time at t0 from this wall instant. */
  start(): void {
    this.wallStart = this.wall();
  }
  now(): number {
    if (this.wallStart === null) return this.simStart;
    return Math.round(this.simStart + this.speedup * (this.wall() - this.wallStart));
  }
  /** Wall milliseconds until the simulated time `t` (0 when it has passed). */
  wallMsUntil(t: number): number {
    return Math.max(0, (t - this.now()) / this.speedup);
  }
}
