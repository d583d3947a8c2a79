/** Time arithmetic of the simulator, in epoch milliseconds, UTC. */
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const WEEK = 7 * DAY;

/** Monday 2026-01-05 00:00 UTC: a default start, so a seed alone reproduces a run. */
export const DEFAULT_START = Date.UTC(2026, 0, 5);

/** 0 = Monday … 6 = Sunday. */
export function dayOfWeek(t: number): number {
  return (new Date(t).getUTCDay() + 6) % 7;
}

export function hourOfDay(t: number): number {
  return new Date(t).getUTCHours();
}

export function startOfDay(t: number): number {
  return Math.floor(t / DAY) * DAY;
}
