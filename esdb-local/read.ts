/**
 * Which log positions a read returns. Stream reads honour the stream's metadata ($tb, $maxCount;
 * a soft delete is $tb = long.MaxValue and reads as "not found"); $all reads return every event,
 * system ones included, as EventStoreDB does. Only durable positions are ever returned.
 */
import { EventFilter, filterMatches } from './filters';
import { Store } from './store';
import { StreamInfo, isSoftDeleted } from './stream-index';

export type From = 'start' | 'end' | number;
export type Direction = 'forwards' | 'backwards';

export type StreamReadPlan =
  | { kind: 'revisions'; first: number; last: number; direction: Direction; info: StreamInfo }
  | { kind: 'not_found' }
  | { kind: 'deleted' };

/** Number of revisions of `info` that are durable. */
export function durableCount(store: Store, info: StreamInfo): number {
  let n = info.positions.length;
  while (n > 0 && info.positions[n - 1] >= store.durableEnd) n--;
  return n;
}

/** First revision a reader may see, given $tb and $maxCount. */
export function visibleStart(info: StreamInfo, count: number): number {
  const meta = info.meta;
  let start = 0;
  if (meta?.truncateBefore != null) start = Math.max(start, meta.truncateBefore);
  if (meta?.maxCount != null) start = Math.max(start, count - meta.maxCount);
  return start;
}

export function planStreamRead(store: Store, stream: string, from: From, direction: Direction, maxCount: number): StreamReadPlan {
  if (store.index.isTombstoned(stream)) return { kind: 'deleted' };
  const info = store.index.get(stream);
  if (!info || isSoftDeleted(info)) return { kind: 'not_found' };
  const n = durableCount(store, info);
  if (n === 0) return { kind: 'not_found' };
  const last = n - 1;
  const vs = visibleStart(info, n);
  const empty: StreamReadPlan = { kind: 'revisions', first: 0, last: -1, direction, info };
  if (maxCount <= 0) return empty;
  if (direction === 'forwards') {
    const first = from === 'start' ? vs : from === 'end' ? last + 1 : Math.max(from, vs);
    if (first > last) return empty;
    return { kind: 'revisions', first, last: Math.min(last, first + maxCount - 1), direction, info };
  }
  const top = from === 'end' ? last : from === 'start' ? 0 : Math.min(from, last);
  if (top < vs) return empty;
  return { kind: 'revisions', first: top, last: Math.max(vs, top - maxCount + 1), direction, info };
}

export function* planPositions(plan: StreamReadPlan): Generator<number> {
  if (plan.kind !== 'revisions') return;
  if (plan.direction === 'forwards') {
    for (let r = plan.first; r <= plan.last; r++) yield plan.info.positions[r];
  } else {
    for (let r = plan.first; r >= plan.last && plan.last >= 0; r--) yield plan.info.positions[r];
  }
}

/** Number of $all entries that are durable. */
export function durableAllCount(store: Store): number {
  return store.index.firstAtOrAfter(store.durableEnd);
}

export function allEntryMatches(store: Store, i: number, filter: EventFilter | null): boolean {
  if (!filter) return true;
  const idx = store.index;
  return filterMatches(filter, idx.nameOf(idx.allStreamIds[i]), idx.nameOf(idx.allTypeIds[i]));
}

/**
 * $all positions. Forwards from P includes the event at P; backwards from P returns only events
 * before P (P names the boundary after which the backward read starts).
 */
export function* readAllPositions(
  store: Store,
  from: From,
  direction: Direction,
  maxCount: number,
  filter: EventFilter | null,
): Generator<number> {
  const idx = store.index;
  const n = durableAllCount(store);
  let left = maxCount;
  if (direction === 'forwards') {
    const i0 = from === 'start' ? 0 : from === 'end' ? n : idx.firstAtOrAfter(from);
    for (let i = i0; i < n && left > 0; i++) {
      if (!allEntryMatches(store, i, filter)) continue;
      left--;
      yield idx.allPositions[i];
    }
    return;
  }
  const i0 = from === 'end' ? n - 1 : from === 'start' ? -1 : Math.min(n, idx.firstAtOrAfter(from)) - 1;
  for (let i = i0; i >= 0 && left > 0; i--) {
    if (!allEntryMatches(store, i, filter)) continue;
    left--;
    yield idx.allPositions[i];
  }
}
