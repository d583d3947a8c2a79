import { ConcurrencyError, ForesightError } from '../core/errors';
import type { AppendOutcome, EventStorePort, ExpectedRevision, NewEvent, StoredEvent } from './port';

/**
 * An in-process EventStorePort with EventStoreDB's append semantics (expected revision,
 * idempotent re-append of the same ids), for unit tests of code built on the handler.
 * Never a stand-in in integration tests: those run against the real server.
 */
export class MemoryEventStore implements EventStorePort {
  private readonly log: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  /** Test hook: runs before each append is applied, e.g. to simulate a concurrent writer. */
  beforeAppend?: (stream: string) => Promise<void> | void;

  constructor(private readonly now: () => Date = () => new Date(0)) {}

  async *readStream(stream: string): AsyncIterable<StoredEvent> {
    for (const e of [...(this.streams.get(stream) ?? [])]) yield e;
  }

  async *readAll(): AsyncIterable<StoredEvent> {
    for (const e of [...this.log]) yield e;
  }

  async append(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendOutcome> {
    if (this.beforeAppend) await this.beforeAppend(stream);
    const existing = this.streams.get(stream) ?? [];
    const current = existing.length - 1;
    const from = expected === 'no_stream' ? -1 : expected;
    if (typeof from === 'number' && from < current) {
      // Idempotency as the server does it: the same ids right after the expected revision.
      const slice = existing.slice(from + 1, from + 1 + events.length);
      if (slice.length === events.length && slice.every((e, i) => e.id === events[i].id)) {
        // Like the server: the revision of the batch's last event, not the stream's head.
        return { nextExpectedRevision: from + events.length };
      }
    }
    const ok = expected === 'any' || (expected === 'no_stream' ? current === -1 : expected === current);
    if (!ok) throw new ConcurrencyError(stream, String(expected), current < 0 ? 'no_stream' : String(current));
    if (events.some((e) => !e.type)) throw new ForesightError('INVALID_EVENT', 'event type is empty');
    const recorded = events.map((e, i) => ({
      stream,
      id: e.id,
      revision: current + 1 + i,
      type: e.type,
      data: JSON.parse(JSON.stringify(e.data)) as unknown,
      metadata: JSON.parse(JSON.stringify(e.metadata)) as unknown,
      recordedAt: this.now(),
      commitPosition: BigInt(this.log.length + i),
    }));
    this.streams.set(stream, [...existing, ...recorded]);
    this.log.push(...recorded);
    return { nextExpectedRevision: current + events.length };
  }

  /** Test hook: writes a raw event as a forger with store access would (no checks at all). */
  forge(stream: string, e: Omit<StoredEvent, 'stream' | 'revision' | 'recordedAt'> & { revision?: number }): void {
    const existing = this.streams.get(stream) ?? [];
    const rec: StoredEvent = { ...e, stream, revision: e.revision ?? existing.length, recordedAt: this.now() };
    this.streams.set(stream, [...existing, rec]);
    this.log.push(rec);
  }
}
