import { createHash } from 'node:crypto';
import { canonicalJson, toJsonValue } from './canonical-json';
import type { AnyEvent, EnvelopeMetadata, EventEnvelope } from './envelope';
import { eventId } from './ids';

/** prevHash of every stream's first event. */
export const GENESIS_HASH = '0'.repeat(64);
/** Bumped if the hashed fields ever change; stored inside the hashed content. */
export const HASH_FORMAT = 1;

/** Everything stored about an event except its own hash. */
export type HashInput = Omit<EventEnvelope, 'metadata'> & { metadata: Omit<EnvelopeMetadata, 'hash'> };

/**
 * sha256 over canonical JSON of the event's identity, position, type, data, metadata and the
 * previous hash. All of it is stored, so a verifier recomputes it from a read alone; the id and
 * revision are included so a copy of an event at another place in a stream does not verify.
 */
export function computeHash(e: HashInput): string {
  const m = e.metadata;
  const content = canonicalJson({
    v: HASH_FORMAT,
    stream: e.stream,
    revision: e.revision,
    id: e.id,
    type: e.type,
    data: e.data,
    meta: {
      correlationId: m.correlationId,
      causationId: m.causationId,
      commandId: m.commandId,
      schemaVersion: m.schemaVersion,
      occurredAt: m.occurredAt,
    },
    prevHash: m.prevHash,
  });
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

export interface SealContext<E extends AnyEvent = AnyEvent> {
  stream: string;
  /** Revision of the stream's last event; -1 when the stream does not exist yet. */
  lastRevision: number;
  /** Hash of that last event; GENESIS_HASH when there is none. */
  lastHash: string;
  commandId: string;
  correlationId: string;
  causationId: string;
  /** Event time from the command. */
  occurredAt: Date | string;
  schemaVersion?: (e: E) => number;
}

/**
 * Turns decided events into envelopes ready to append as one batch: deterministic ids and hashes
 * chained from the stream's current head, each event's prevHash being the one before it in the batch.
 */
export function sealEvents<E extends AnyEvent>(events: readonly E[], ctx: SealContext<E>): EventEnvelope<E>[] {
  const occurredAt = typeof ctx.occurredAt === 'string' ? new Date(ctx.occurredAt) : ctx.occurredAt;
  if (Number.isNaN(occurredAt.getTime())) throw new TypeError(`sealEvents: occurredAt ${String(ctx.occurredAt)} is not a time`);
  let prevHash = ctx.lastHash;
  return events.map((e, i) => {
    const base = {
      id: eventId(ctx.stream, ctx.commandId, i),
      stream: ctx.stream,
      revision: ctx.lastRevision + 1 + i,
      type: e.type,
      data: toJsonValue(e.data),
      metadata: {
        correlationId: ctx.correlationId,
        causationId: ctx.causationId,
        commandId: ctx.commandId,
        schemaVersion: ctx.schemaVersion ? ctx.schemaVersion(e) : 1,
        occurredAt: occurredAt.toISOString(),
        prevHash,
      },
    };
    const hash = computeHash(base);
    prevHash = hash;
    return { ...base, metadata: { ...base.metadata, hash } } as EventEnvelope<E>;
  });
}

export type ChainBreakReason = 'missing-metadata' | 'hash-mismatch' | 'prev-hash-mismatch' | 'revision-gap';

export interface ChainBreak {
  stream: string;
  revision: number;
  eventId: string;
  type: string;
  reason: ChainBreakReason;
  expected: string;
  found: string;
}

/** What a verifier carries per stream between events: the last good revision and hash. */
export interface ChainHead {
  revision: number;
  hash: string;
}

export const EMPTY_HEAD: ChainHead = { revision: -1, hash: GENESIS_HASH };

/** A stored event as the verifier sees it: metadata untyped, since forged events can carry anything. */
export interface StoredForVerify {
  id: string;
  stream: string;
  revision: number;
  type: string;
  data: unknown;
  metadata: unknown;
}

/**
 * Checks one event against the chain head before it. Returns the new head, or the break. Revision
 * gaps are breaks too: a stream whose early history is gone (truncated, or events removed from
 * the store's files) cannot be vouched for.
 */
export function verifyNext(head: ChainHead, e: StoredForVerify): { head: ChainHead } | { break: ChainBreak } {
  const at = { stream: e.stream, revision: e.revision, eventId: e.id, type: e.type };
  if (e.revision !== head.revision + 1) {
    return { break: { ...at, reason: 'revision-gap', expected: String(head.revision + 1), found: String(e.revision) } };
  }
  const m = e.metadata;
  const meta = m !== null && typeof m === 'object' && !Array.isArray(m) ? (m as Record<string, unknown>) : undefined;
  if (!meta || typeof meta.hash !== 'string' || typeof meta.prevHash !== 'string') {
    return { break: { ...at, reason: 'missing-metadata', expected: 'metadata with hash and prevHash', found: describe(m) } };
  }
  if (meta.prevHash !== head.hash) {
    return { break: { ...at, reason: 'prev-hash-mismatch', expected: head.hash, found: meta.prevHash } };
  }
  let recomputed: string;
  try {
    recomputed = computeHash({
      id: e.id,
      stream: e.stream,
      revision: e.revision,
      type: e.type,
      data: e.data as Record<string, unknown>,
      metadata: meta as unknown as Omit<EnvelopeMetadata, 'hash'>,
    });
  } catch (err) {
    return { break: { ...at, reason: 'hash-mismatch', expected: 'JSON content', found: (err as Error).message } };
  }
  if (recomputed !== meta.hash) {
    return { break: { ...at, reason: 'hash-mismatch', expected: recomputed, found: meta.hash } };
  }
  return { head: { revision: e.revision, hash: meta.hash } };
}

function describe(m: unknown): string {
  if (m === undefined) return 'none';
  if (m instanceof Uint8Array) return `${m.length} bytes of non-JSON metadata`;
  const keys = m !== null && typeof m === 'object' ? Object.keys(m).join(',') : typeof m;
  return `fields: ${keys || 'none'}`;
}
