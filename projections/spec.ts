/**
 * The feature specification shared by training (projections/offline.ts) and serving
 * (projections/role.ts). Changing any number here changes what the models see: bump
 * FEATURE_VERSION with it.
 */
export const FEATURE_VERSION = 1;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Access features: one window per (userId, vmId) per hour. */
export const ACCESS_WINDOW_MS = HOUR;
/** Network features: finer, because HSM demand peaks are short. */
export const NETWORK_WINDOW_MS = 15 * MINUTE;
/** How long after its window ends a record may still arrive and count. */
export const DEFAULT_GRACE_MS = 5 * MINUTE;
/** `jobDueWithinHorizon`: a job is due in [windowEnd, windowEnd + horizon). */
export const DEFAULT_HORIZON_MS = 4 * HOUR;
/**
 * A (userId, vmId) pair emits a window every period, empty or not, from the window of its first
 * access until this long after its last one, so the model sees dense sequences with quiet windows.
 */
export const PAIR_ACTIVE_TTL_MS = 7 * DAY;
/** Same idea for client networks. */
export const NETWORK_ACTIVE_TTL_MS = DAY;
/** How much event-time history the global tables (vm-state, scheduled-jobs) keep for as-of lookups. */
export const TABLE_RETENTION_MS = 2 * DAY;

/** Tumbling when advanceMs === sizeMs, hopping when advanceMs < sizeMs. Windows align to epoch 0. */
export interface WindowSpec {
  sizeMs: number;
  advanceMs: number;
  graceMs: number;
}

export interface Window {
  start: number; // inclusive
  end: number; // exclusive
}

export function tumbling(sizeMs: number, graceMs = DEFAULT_GRACE_MS): WindowSpec {
  return { sizeMs, advanceMs: sizeMs, graceMs };
}

export function hopping(sizeMs: number, advanceMs: number, graceMs = DEFAULT_GRACE_MS): WindowSpec {
  return { sizeMs, advanceMs, graceMs };
}

/** Throws on a spec that cannot work; called once where a spec enters the engine. */
export function validateSpec(spec: WindowSpec): void {
  const ok = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!ok(spec.sizeMs) || spec.sizeMs === 0) throw new RangeError(`window size ${spec.sizeMs} must be a positive integer of ms`);
  if (!ok(spec.advanceMs) || spec.advanceMs === 0 || spec.advanceMs > spec.sizeMs) {
    throw new RangeError(`window advance ${spec.advanceMs} must be a positive integer no larger than the size ${spec.sizeMs}`);
  }
  if (!ok(spec.graceMs)) throw new RangeError(`grace ${spec.graceMs} must be a non-negative integer of ms`);
}

const floorTo = (t: number, step: number) => Math.floor(t / step) * step;

/** Starts of every window holding event time t, oldest first (one for tumbling windows). */
export function windowStartsFor(t: number, spec: WindowSpec): number[] {
  const last = floorTo(t, spec.advanceMs);
  const out: number[] = [];
  for (let s = floorTo(t - spec.sizeMs, spec.advanceMs) + spec.advanceMs; s <= last; s += spec.advanceMs) {
    if (t >= s && t < s + spec.sizeMs) out.push(s);
  }
  return out;
}

/** A window is closed, and emitted, once the watermark reaches its end plus the grace. */
export function closesAt(start: number, spec: WindowSpec): number {
  return start + spec.sizeMs + spec.graceMs;
}

/** Cyclical encodings of a time's UTC hour-of-day and day-of-week (0 = Sunday). */
export function cyclicalTime(t: number): { hourSin: number; hourCos: number; dowSin: number; dowCos: number } {
  const d = new Date(t);
  const hour = d.getUTCHours();
  const dow = d.getUTCDay();
  return {
    hourSin: Math.sin((2 * Math.PI * hour) / 24),
    hourCos: Math.cos((2 * Math.PI * hour) / 24),
    dowSin: Math.sin((2 * Math.PI * dow) / 7),
    dowCos: Math.cos((2 * Math.PI * dow) / 7),
  };
}
