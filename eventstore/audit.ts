/**
 * Audit over the store: replay (filtered history, oldest first, streamed so memory stays flat
 * however long the history) and verify (recompute every stream's hash chain).
 *
 * Category and type filters are applied client side over $all: v6 clients send no server-side
 * filter on reads and our local server has no projections (so no `$ce-` streams).
 */
import { InvalidInputError } from '../core/errors';
import type { RecordedEnvelope } from './envelope';
import { toEnvelope } from './handler';
import { EMPTY_HEAD, verifyNext, type ChainBreak, type ChainHead } from './hash-chain';
import type { EventStorePort, StoredEvent } from './port';

export interface ReplayFilter {
  stream?: string;
  /** The part of the stream name before its first '-'. */
  category?: string;
  type?: string;
  /** Inclusive lower / exclusive upper bound on the event's time (occurredAt, else recordedAt). */
  since?: Date;
  until?: Date;
}

/** System streams and events ($-prefixed) belong to the server, not to our history. */
export function isSystem(e: { stream: string; type: string }): boolean {
  return e.stream.startsWith('$') || e.type.startsWith('$');
}

export function categoryOf(stream: string): string {
  const i = stream.indexOf('-');
  return i < 0 ? stream : stream.slice(0, i);
}

/** The time an audit shows and filters on: when it happened (command time), else when stored. */
export function eventTime(e: RecordedEnvelope): Date {
  const t = e.metadata.occurredAt ? new Date(e.metadata.occurredAt) : undefined;
  return t && !Number.isNaN(t.getTime()) ? t : e.recordedAt;
}

export function matches(e: RecordedEnvelope, f: ReplayFilter): boolean {
  if (f.stream !== undefined && e.stream !== f.stream) return false;
  if (f.category !== undefined && categoryOf(e.stream) !== f.category) return false;
  if (f.type !== undefined && e.type !== f.type) return false;
  if (f.since || f.until) {
    const t = eventTime(e).getTime();
    if (f.since && t < f.since.getTime()) return false;
    if (f.until && t >= f.until.getTime()) return false;
  }
  return true;
}

export async function* replay(store: EventStorePort, f: ReplayFilter = {}): AsyncGenerator<RecordedEnvelope> {
  if (f.stream !== undefined && f.category !== undefined) throw new InvalidInputError('replay: give a stream or a category, not both');
  const source = f.stream !== undefined ? store.readStream(f.stream) : store.readAll();
  for await (const stored of source) {
    if (isSystem(stored)) continue;
    const env = toEnvelope(stored);
    if (matches(env, f)) yield env;
  }
}

export interface VerifyScope {
  stream?: string;
  category?: string;
}

export interface VerifyReport {
  streams: number;
  events: number;
  /** The first break of each broken stream, in the order found. */
  breaks: ChainBreak[];
}

const TOMBSTONE = '$streamDeleted';

/**
 * Recomputes chains. Over $all it keeps one head (revision + hash) per stream seen, so memory
 * grows with the number of streams, not events. After a stream's first break the rest of that
 * stream is not checked: every later hash depends on the broken one.
 */
export async function verify(store: EventStorePort, scope: VerifyScope = {}): Promise<VerifyReport> {
  if (scope.stream !== undefined && scope.category !== undefined) throw new InvalidInputError('verify: give a stream or a category, not both');
  const heads = new Map<string, ChainHead | 'broken'>();
  const breaks: ChainBreak[] = [];
  let events = 0;
  const source: AsyncIterable<StoredEvent> = scope.stream !== undefined ? store.readStream(scope.stream) : store.readAll();
  for await (const e of source) {
    if (e.stream.startsWith('$') || e.type === TOMBSTONE) continue;
    if (scope.category !== undefined && categoryOf(e.stream) !== scope.category) continue;
    const head = heads.get(e.stream) ?? EMPTY_HEAD;
    if (head === 'broken') continue;
    events++;
    const r = verifyNext(head, e);
    if ('break' in r) {
      breaks.push(r.break);
      heads.set(e.stream, 'broken');
    } else {
      heads.set(e.stream, r.head);
    }
  }
  return { streams: heads.size, events, breaks };
}
