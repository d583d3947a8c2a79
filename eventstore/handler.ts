/**
 * The generic Decider command handler: read the stream, fold, decide, append with the expected
 * revision; on a concurrency conflict, read again and decide again.
 *
 *   const r = await handleCommand(store, {
 *     stream: `credential-${userId}_${vmId}`,
 *     decider: credentialDecider,
 *     command,                       // carries its own time, scores, model version
 *     commandId: commandIdFromRecord(topic, partition, offset),
 *     correlationId: record.eventId, // optional, defaults to commandId
 *     causationId: record.eventId,   // optional, defaults to commandId
 *     now: command.at,               // event time: becomes metadata.occurredAt
 *   });
 *   // r.events: envelopes appended (empty when nothing was decided or alreadyApplied)
 *   // r.revision: the stream's last revision (-1: no stream), r.state: state after the events
 *
 * Exactly-once effect per commandId: ids are uuid-v5(stream, commandId, index), so the same
 * command re-appended at the same revision is a server-side no-op; and if the stream has moved on
 * since, the handler sees the commandId in the history and appends nothing (alreadyApplied). A
 * command that decided no events leaves no trace, so its redelivery is decided afresh.
 *
 * Errors: ConcurrencyError after `retries` conflicts, UnavailableError (retriable: the caller's
 * consumer loop decides retry vs DLQ), TamperError when the stream's hash chain does not verify
 * (never retriable), ForesightError CHAIN_POSITION when a soft-deleted stream was recreated under
 * it, StreamDeletedError for a tombstoned stream, or whatever `decide` throws (domain rejections).
 */
import { ConcurrencyError, ForesightError } from '../core/errors';
import type { Decider } from '../core/decider';
import { withRetry } from '../core/retry';
import type { AnyEvent, EventEnvelope, RecordedEnvelope } from './envelope';
import { parseMetadata } from './envelope';
import { TamperError } from './errors';
import { EMPTY_HEAD, sealEvents, verifyNext, type ChainHead } from './hash-chain';
import type { EventStorePort, StoredEvent } from './port';

export interface CommandInput<C, S, E extends AnyEvent> {
  stream: string;
  decider: Decider<C, S, E>;
  command: C;
  commandId: string;
  correlationId?: string;
  causationId?: string;
  /** Event time of the command (Date, ISO string or epoch ms). */
  now: Date | string | number;
  /** Schema version stored per event; default 1. */
  schemaVersion?: (e: E) => number;
  /** Stored event → domain event (upcasting by metadata.schemaVersion); default takes type and data as they are. */
  upcast?: (stored: RecordedEnvelope) => E;
}

export interface HandleOptions {
  /** Conflicts retried before giving up with ConcurrencyError. */
  retries?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Verify the hash chain while folding (default true): refuse to build on a tampered stream. */
  verifyChain?: boolean;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface CommandResult<S, E extends AnyEvent> {
  events: EventEnvelope<E>[];
  revision: number;
  state: S;
  alreadyApplied: boolean;
}

export interface LoadedStream<S> {
  state: S;
  head: ChainHead;
  commandIds: Set<string>;
}

/** Stored → envelope; metadata is left as stored (untyped fields become empty) for foreign events. */
export function toEnvelope(e: StoredEvent): RecordedEnvelope {
  const m = parseMetadata(e.metadata);
  return {
    id: e.id,
    stream: e.stream,
    revision: e.revision,
    type: e.type,
    data: (e.data ?? {}) as Record<string, unknown>,
    metadata: m ?? { correlationId: '', causationId: '', commandId: '', schemaVersion: 1, occurredAt: '', prevHash: '', hash: '' },
    recordedAt: e.recordedAt,
    commitPosition: e.commitPosition,
  };
}

/** Folds a stream into state, checking its chain and noting which commands produced it. */
export async function loadStream<C, S, E extends AnyEvent>(
  store: EventStorePort,
  stream: string,
  decider: Decider<C, S, E>,
  opts: { verifyChain?: boolean; upcast?: (stored: RecordedEnvelope) => E } = {},
): Promise<LoadedStream<S>> {
  const upcast = opts.upcast ?? ((s: RecordedEnvelope) => ({ type: s.type, data: s.data }) as E);
  let state = decider.initialState;
  let head = EMPTY_HEAD;
  const commandIds = new Set<string>();
  for await (const stored of store.readStream(stream)) {
    if (opts.verifyChain !== false) {
      const r = verifyNext(head, stored);
      if ('break' in r) throw new TamperError(r.break);
      head = r.head;
    } else {
      head = { revision: stored.revision, hash: parseMetadata(stored.metadata)?.hash ?? head.hash };
    }
    const env = toEnvelope(stored);
    if (env.metadata.commandId) commandIds.add(env.metadata.commandId);
    state = decider.evolve(state, upcast(env));
  }
  return { state, head, commandIds };
}

export async function handleCommand<C, S, E extends AnyEvent>(
  store: EventStorePort,
  input: CommandInput<C, S, E>,
  opts: HandleOptions = {},
): Promise<CommandResult<S, E>> {
  const occurredAt = new Date(input.now);
  if (Number.isNaN(occurredAt.getTime())) throw new TypeError(`handleCommand: now=${String(input.now)} is not a time`);
  return withRetry(
    async () => {
      const loaded = await loadStream(store, input.stream, input.decider, { verifyChain: opts.verifyChain, upcast: input.upcast });
      if (loaded.commandIds.has(input.commandId)) {
        return { events: [], revision: loaded.head.revision, state: loaded.state, alreadyApplied: true };
      }
      const decided = input.decider.decide(input.command, loaded.state);
      if (decided.length === 0) return { events: [], revision: loaded.head.revision, state: loaded.state, alreadyApplied: false };
      const sealed = sealEvents(decided, {
        stream: input.stream,
        lastRevision: loaded.head.revision,
        lastHash: loaded.head.hash,
        commandId: input.commandId,
        correlationId: input.correlationId ?? input.commandId,
        causationId: input.causationId ?? input.commandId,
        occurredAt,
        schemaVersion: input.schemaVersion,
      });
      const expected = loaded.head.revision < 0 ? 'no_stream' : loaded.head.revision;
      const out = await store.append(
        input.stream,
        sealed.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: { ...e.metadata } })),
        expected,
      );
      const chainedTo = sealed[sealed.length - 1].revision;
      if (out.nextExpectedRevision !== chainedTo) {
        // Only a soft-deleted stream reads as empty yet continues its revisions on append: the
        // events are stored, but hashed for positions they do not hold, so they will not verify.
        throw new ForesightError(
          'CHAIN_POSITION',
          `stream ${input.stream}: events were chained as revisions ${sealed[0].revision}..${chainedTo} but stored up to ${out.nextExpectedRevision}; ` +
            'the stream was deleted and recreated, which this application never does; audit it with `foresight audit verify --stream`',
        );
      }
      let state = loaded.state;
      for (const e of decided) state = input.decider.evolve(state, e);
      return { events: sealed, revision: out.nextExpectedRevision, state, alreadyApplied: false };
    },
    {
      retries: opts.retries ?? 5,
      initialMs: opts.initialBackoffMs ?? 10,
      maxMs: opts.maxBackoffMs ?? 500,
      random: opts.random,
      sleep: opts.sleep,
      shouldRetry: (err) => err instanceof ConcurrencyError,
    },
  );
}
