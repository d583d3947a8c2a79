import type { Event } from '../core/event';

export type AnyEvent = Event<string, Record<string, unknown>>;

/** Metadata every event we write carries. Field names are part of the stored format. */
export interface EnvelopeMetadata {
  /** The business flow this event belongs to (e.g. the Kafka record's eventId that started it). */
  correlationId: string;
  /** What directly caused it: the command id, or the id of the event that triggered the command. */
  causationId: string;
  /** Dedup key: the command that produced it. Redelivered commands are recognised by it. */
  commandId: string;
  /** Version of `data`'s shape for this type, for upcasting on read. */
  schemaVersion: number;
  /** ISO time from the command (event time), never the writer's clock. */
  occurredAt: string;
  /** Hash of the previous event in this stream (GENESIS_HASH for revision 0). */
  prevHash: string;
  /** sha256 over this event's content and prevHash; see hash-chain.ts. */
  hash: string;
}

/** An event with its identity, position and metadata: what is appended and what is read back. */
export interface EventEnvelope<E extends AnyEvent = AnyEvent> {
  id: string;
  stream: string;
  /** Position in the stream, 0-based. Intended revision before the append, actual after. */
  revision: number;
  type: E['type'];
  data: E['data'];
  metadata: EnvelopeMetadata;
}

/** An envelope as read back from the store, with what the server added. */
export interface RecordedEnvelope<E extends AnyEvent = AnyEvent> extends EventEnvelope<E> {
  /** Server's append time. */
  recordedAt: Date;
  /** Commit position in $all, when read from $all. */
  commitPosition?: bigint;
}

export const METADATA_KEYS = ['correlationId', 'causationId', 'commandId', 'schemaVersion', 'occurredAt', 'prevHash', 'hash'] as const;

/** Narrows untyped stored metadata; undefined when it is not ours (foreign or forged events). */
export function parseMetadata(raw: unknown): EnvelopeMetadata | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) return undefined;
  const m = raw as Record<string, unknown>;
  const strings = ['correlationId', 'causationId', 'commandId', 'occurredAt', 'prevHash', 'hash'] as const;
  for (const k of strings) if (typeof m[k] !== 'string') return undefined;
  if (typeof m.schemaVersion !== 'number' || !Number.isInteger(m.schemaVersion)) return undefined;
  return {
    correlationId: m.correlationId as string,
    causationId: m.causationId as string,
    commandId: m.commandId as string,
    schemaVersion: m.schemaVersion,
    occurredAt: m.occurredAt as string,
    prevHash: m.prevHash as string,
    hash: m.hash as string,
  };
}
