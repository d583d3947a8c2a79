/**
 * Pure optimistic-concurrency and idempotency rules, as EventStoreDB documents them:
 * - exact revision N (no_stream is N = -1): N == current writes; N > current is wrong expected
 *   version; N < current is idempotent if the events after N carry exactly these ids in order,
 *   otherwise wrong expected version (none or only some of them committed);
 * - any: idempotent if the first id was recently written to this stream and the following ids
 *   match, wrong expected version if only some match, otherwise writes;
 * - stream_exists: the stream (or its metadata) must exist;
 * - a soft-deleted stream may be recreated with no_stream, any or its last revision;
 * - a tombstoned stream refuses everything.
 */
import { assertNever } from '../core/event';

export type Expected =
  | { kind: 'any' }
  | { kind: 'no_stream' }
  | { kind: 'stream_exists' }
  | { kind: 'revision'; revision: number };

export interface StreamView {
  /** -1 when the stream has no events. */
  lastRevision: number;
  softDeleted: boolean;
  tombstoned: boolean;
  metadataExists: boolean;
  idAt(revision: number): string | undefined;
  recentRevisionOf(id: string): number | undefined;
}

export type Decision =
  | { kind: 'write' }
  | { kind: 'idempotent'; lastRevision: number }
  | { kind: 'wrong_expected_version'; current: number }
  | { kind: 'stream_deleted' };

const wrong = (view: StreamView): Decision => ({ kind: 'wrong_expected_version', current: view.lastRevision });

function matchesFrom(view: StreamView, first: number, ids: string[]): 'all' | 'some' | 'none' {
  let matched = 0;
  for (let k = 0; k < ids.length; k++) {
    if (view.idAt(first + k) === ids[k]) matched++;
    else break;
  }
  if (matched === ids.length) return 'all';
  return matched === 0 ? 'none' : 'some';
}

export function decideAppend(view: StreamView, expected: Expected, ids: string[]): Decision {
  if (view.tombstoned) return { kind: 'stream_deleted' };
  switch (expected.kind) {
    case 'any': {
      if (ids.length === 0) return { kind: 'write' };
      const at = view.recentRevisionOf(ids[0]);
      if (at === undefined) return { kind: 'write' };
      const m = matchesFrom(view, at, ids);
      if (m === 'all') return { kind: 'idempotent', lastRevision: at + ids.length - 1 };
      return m === 'some' ? wrong(view) : { kind: 'write' };
    }
    case 'stream_exists':
      return view.lastRevision >= 0 || view.metadataExists ? { kind: 'write' } : wrong(view);
    case 'no_stream':
      return decideExact(view, -1, ids);
    case 'revision':
      return decideExact(view, expected.revision, ids);
    default:
      return assertNever(expected, 'expected revision');
  }
}

function decideExact(view: StreamView, n: number, ids: string[]): Decision {
  if (n === view.lastRevision) return { kind: 'write' };
  if (view.softDeleted && n === -1) return { kind: 'write' };
  if (n > view.lastRevision || ids.length === 0) return wrong(view);
  const m = matchesFrom(view, n + 1, ids);
  return m === 'all' ? { kind: 'idempotent', lastRevision: n + ids.length } : wrong(view);
}

/** Soft delete and tombstone share the expected-revision rules (no idempotency). */
export function decideDelete(view: StreamView, expected: Expected): Decision {
  if (view.tombstoned) return { kind: 'stream_deleted' };
  switch (expected.kind) {
    case 'any':
      return { kind: 'write' };
    case 'no_stream':
      return view.lastRevision === -1 ? { kind: 'write' } : wrong(view);
    case 'stream_exists':
      return view.lastRevision >= 0 || view.metadataExists ? { kind: 'write' } : wrong(view);
    case 'revision':
      return view.lastRevision === expected.revision ? { kind: 'write' } : wrong(view);
    default:
      return assertNever(expected, 'expected revision');
  }
}

