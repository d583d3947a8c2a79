/**
 * What became of one consumed record. Every record ends in exactly one of these:
 * - done: processed; its offset may be committed.
 * - retry: not now (a dependency is down, a race was lost). Retried with backoff; retriable
 *   errors are retried for as long as the consumer runs (never DLQ'd because a dependency is
 *   down); a non-retriable error is retried `maxAttempts` times, then DLQ'd as retries-exhausted.
 * - dlq: will never succeed; raw bytes go to `<topic>.dlq` with the reason in headers.
 * - late: past the window's grace period; raw bytes go to `<topic>.late`.
 */
export type Outcome =
  | { kind: 'done' }
  | { kind: 'retry'; error: unknown }
  | { kind: 'dlq'; reason: string; detail?: string }
  | { kind: 'late'; reason?: string };

export const done = (): Outcome => ({ kind: 'done' });
export const retry = (error: unknown): Outcome => ({ kind: 'retry', error });
export const toDlq = (reason: string, detail?: string): Outcome => ({ kind: 'dlq', reason, detail });
export const late = (reason?: string): Outcome => ({ kind: 'late', reason });

/** Counts kept by a consumer. Invariant once idle: in = processed + dlq + late. */
export interface Counters {
  in: number;
  processed: number;
  dlq: number;
  late: number;
  /** Retry attempts (not records). */
  retried: number;
  dlqByReason: Record<string, number>;
}

export const newCounters = (): Counters => ({ in: 0, processed: 0, dlq: 0, late: 0, retried: 0, dlqByReason: {} });
