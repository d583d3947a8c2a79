/**
 * The small interface the handler and the audit need from an event store. The real adapter
 * (client.ts) implements it over @eventstore/db-client; memory-store.ts implements it for unit
 * tests of pure handler logic. Revisions are plain numbers: our streams never near 2^53 events.
 */
export type ExpectedRevision = 'no_stream' | 'any' | number;

export interface NewEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface StoredEvent {
  stream: string;
  id: string;
  revision: number;
  type: string;
  /** Parsed JSON for JSON events; raw bytes otherwise. */
  data: unknown;
  /** Parsed JSON metadata, raw bytes if not JSON, undefined if absent. */
  metadata: unknown;
  recordedAt: Date;
  commitPosition?: bigint;
}

export interface AppendOutcome {
  /** Revision of the stream's last event after the append. */
  nextExpectedRevision: number;
}

export interface EventStorePort {
  /** Oldest first; empty when the stream does not exist. Streams, so memory stays flat. */
  readStream(stream: string): AsyncIterable<StoredEvent>;
  /** Everything in commit order, oldest first, system events included. */
  readAll(): AsyncIterable<StoredEvent>;
  /**
   * Atomic batch append. Throws ConcurrencyError when the stream is not at `expected`; appending
   * the same event ids at the same expected revision again succeeds without duplicates.
   */
  append(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendOutcome>;
}
