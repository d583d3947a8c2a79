/**
 * Our own error family. Adapters convert library errors (kafkajs, grpc, graphene, http) into
 * these, so callers decide on `retriable` without knowing which library failed.
 */
export class ForesightError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  constructor(code: string, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = opts.retriable ?? false;
  }
}

/** A dependency (broker, registry, event store, HSM) did not answer; worth retrying. */
export class UnavailableError extends ForesightError {
  constructor(component: string, message: string, cause?: unknown) {
    super('UNAVAILABLE', `${component}: ${message}`, { retriable: true, cause });
  }
}

/** Optimistic concurrency lost a race; re-read and decide again. */
export class ConcurrencyError extends ForesightError {
  constructor(stream: string, expected: string, actual: string, cause?: unknown) {
    super('CONCURRENCY', `stream ${stream}: expected revision ${expected}, actual ${actual}`, { retriable: true, cause });
  }
}

/** Input that will never become valid by retrying (goes to a DLQ or back to the user). */
export class InvalidInputError extends ForesightError {
  constructor(message: string, cause?: unknown) {
    super('INVALID_INPUT', message, { retriable: false, cause });
  }
}

/** Bad configuration found at start-up; the message names the variable and the fix. */
export class ConfigError extends ForesightError {
  constructor(message: string) {
    super('CONFIG', message, { retriable: false });
  }
}

/** A caller is not allowed to do what it asked. */
export class ForbiddenError extends ForesightError {
  constructor(message: string) {
    super('FORBIDDEN', message, { retriable: false });
  }
}

export function isRetriable(err: unknown): boolean {
  return err instanceof ForesightError && err.retriable;
}
