/**
 * The adapter to EventStoreDB (or our local compatible server) over @eventstore/db-client. The
 * only file that imports the library: its errors become ours here, its bigints become numbers.
 */
import {
  DeadlineExceededError,
  EventStoreDBClient,
  NotLeaderError,
  StreamDeletedError as EsdbStreamDeletedError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError as EsdbUnavailableError,
  WrongExpectedVersionError,
  jsonEvent,
  START,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { ConcurrencyError, ConfigError, ForesightError, UnavailableError } from '../core/errors';
import { StreamDeletedError } from './errors';
import type { AppendOutcome, EventStorePort, ExpectedRevision, NewEvent, StoredEvent } from './port';

const COMPONENT = 'event store';

/** Library error → ours. Unknown errors keep their message, marked non-retriable. */
export function mapEsdbError(err: unknown, stream: string): Error {
  if (err instanceof ForesightError) return err;
  if (err instanceof WrongExpectedVersionError) {
    return new ConcurrencyError(err.streamName || stream, String(err.expectedVersion), String(err.actualVersion), err);
  }
  if (err instanceof EsdbStreamDeletedError) return new StreamDeletedError(err.streamName || stream, err);
  if (err instanceof EsdbUnavailableError || err instanceof DeadlineExceededError || err instanceof TimeoutError || err instanceof NotLeaderError) {
    return new UnavailableError(COMPONENT, `${err.message} (stream ${stream})`, err);
  }
  const e = err as { code?: unknown; message?: unknown };
  // grpc status 14 UNAVAILABLE / 4 DEADLINE_EXCEEDED can surface unconverted from the channel.
  if (e && (e.code === 14 || e.code === 4)) return new UnavailableError(COMPONENT, String(e.message), err);
  return new ForesightError('EVENTSTORE', `${COMPONENT}: ${e && typeof e.message === 'string' ? e.message : String(err)} (stream ${stream})`, {
    cause: err,
  });
}

function toStored(r: ResolvedEvent | AllStreamResolvedEvent): StoredEvent | undefined {
  const e = r.event;
  if (!e) return undefined;
  return {
    stream: e.streamId,
    id: e.id,
    revision: Number(e.revision),
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    recordedAt: e.created,
    commitPosition: e.position?.commit ?? r.commitPosition,
  };
}

function toExpected(x: ExpectedRevision): AppendExpectedRevision {
  return typeof x === 'number' ? BigInt(x) : x;
}

export class EsdbEventStore implements EventStorePort {
  constructor(private readonly client: EventStoreDBClient) {}

  /** Validates the connection string; the connection itself opens lazily on first use. */
  static connect(connectionString: string): EsdbEventStore {
    try {
      return new EsdbEventStore(EventStoreDBClient.connectionString(connectionString));
    } catch (err) {
      throw new ConfigError(`EVENTSTORE_CONNECTION_STRING is not a valid connection string (${(err as Error).message}); use e.g. esdb://127.0.0.1:2113?tls=false`);
    }
  }

  /** The underlying client, for tests and tools that must talk to the server raw. */
  get raw(): EventStoreDBClient {
    return this.client;
  }

  async *readStream(stream: string): AsyncIterable<StoredEvent> {
    try {
      for await (const r of this.client.readStream(stream)) {
        const s = toStored(r);
        if (s) yield s;
      }
    } catch (err) {
      if (err instanceof StreamNotFoundError) return;
      throw mapEsdbError(err, stream);
    }
  }

  async *readAll(): AsyncIterable<StoredEvent> {
    try {
      for await (const r of this.client.readAll()) {
        const s = toStored(r);
        if (s) yield s;
      }
    } catch (err) {
      throw mapEsdbError(err, '$all');
    }
  }

  async append(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendOutcome> {
    try {
      const res = await this.client.appendToStream(
        stream,
        events.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })),
        { expectedRevision: toExpected(expected) },
      );
      return { nextExpectedRevision: Number(res.nextExpectedRevision) };
    } catch (err) {
      throw mapEsdbError(err, stream);
    }
  }

  /**
   * Catch-up subscription to $all from the start, only streams whose names start with one of
   * `prefixes` (filtered on the server), then live. Errors arrive mapped to ours once, through
   * onError; the caller decides whether to subscribe again.
   */
  subscribeByStreamPrefix(prefixes: string[], h: { onEvent(e: StoredEvent): void; onError(err: Error): void; onCaughtUp?(): void }): { stop(): Promise<void> } {
    const sub = this.client.subscribeToAll({ fromPosition: START, filter: streamNameFilter({ prefixes }) });
    let stopped = false;
    sub.on('data', (r: AllStreamResolvedEvent) => {
      const s = toStored(r);
      if (s) h.onEvent(s);
    });
    sub.on('caughtUp', () => h.onCaughtUp?.());
    const fail = (err: Error) => {
      if (stopped) return;
      stopped = true;
      h.onError(err);
    };
    sub.on('error', (err: Error) => fail(mapEsdbError(err, '$all')));
    sub.on('end', () => fail(new UnavailableError(COMPONENT, 'subscription to $all ended by the server')));
    return {
      async stop() {
        stopped = true;
        await sub.unsubscribe().catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}
