/**
 * Counting failures so that N of them within a window raise ONE alert, not one per failure.
 * Pure; used by the credential Decider (when the event store answers) and by the provisioner's
 * in-memory fallback (when it does not), so both alert on the same rule.
 */
export interface AlertRule {
  /** Failures within `windowMs` that raise an alert. */
  threshold: number;
  windowMs: number;
}

export interface FailureWindow {
  /** Failure times (epoch ms) inside the window, oldest first. */
  readonly times: readonly number[];
  /** When the last alert was raised; no new alert until a window has passed since. */
  readonly lastAlertAt?: number;
}

export const EMPTY_WINDOW: FailureWindow = { times: [] };

export function noteFailure(w: FailureWindow, at: number, rule: AlertRule): { window: FailureWindow; alert: boolean } {
  const times = [...w.times.filter((t) => t > at - rule.windowMs && t <= at), at];
  const quiet = w.lastAlertAt === undefined || at - w.lastAlertAt >= rule.windowMs;
  const alert = times.length >= rule.threshold && quiet;
  return { window: { times, lastAlertAt: alert ? at : w.lastAlertAt }, alert };
}

/** The window after an alert was recorded (for evolve, which sees the alert as its own event). */
export function noteAlert(w: FailureWindow, at: number): FailureWindow {
  return { ...w, lastAlertAt: at };
}

/** Prunes by time without adding a failure (for evolve, which replays PreProvisioningFailed). */
export function withFailure(w: FailureWindow, at: number, windowMs: number): FailureWindow {
  return { ...w, times: [...w.times.filter((t) => t > at - windowMs && t <= at), at] };
}
