/** A domain event: a past-tense fact with a type tag and a JSON-serialisable payload. */
export type Event<Type extends string, Data extends Record<string, unknown>> = {
  readonly type: Type;
  readonly data: Data;
};

/** Compile-time exhaustiveness check for switches over discriminated unions. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
