import { isRetriable } from './errors';

export interface RetryOptions {
  retries: number;
  initialMs: number;
  maxMs: number;
  /** Injected so tests are deterministic; defaults to Math.random. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Defaults to the error's own `retriable` property. */
  shouldRetry?: (err: unknown) => boolean;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Full-jitter exponential backoff: delay = random(0, min(max, initial * 2^attempt)). */
export function backoffDelay(attempt: number, o: Pick<RetryOptions, 'initialMs' | 'maxMs' | 'random'>): number {
  const cap = Math.min(o.maxMs, o.initialMs * 2 ** attempt);
  return Math.round((o.random ?? Math.random)() * cap);
}

/** Retries only errors that say they are retriable (or what `shouldRetry` accepts). */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const should = o.shouldRetry ?? isRetriable;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= o.retries || !should(err)) throw err;
      const delay = backoffDelay(attempt, o);
      o.onRetry?.(err, attempt + 1, delay);
      await (o.sleep ?? sleep)(delay);
    }
  }
}
