/**
 * Given/when/then specs for esdb-local's pure rules: expected revisions and idempotency on append,
 * delete/tombstone checks, and $all filters.
 */
import { Decision, Expected, StreamView, decideAppend, decideDelete } from '../../esdb-local/decide';
import { checkpointEvery, filterMatches, makeFilter } from '../../esdb-local/filters';

/** A stream holding `ids` at revisions 0..n-1. */
function given(ids: string[], flags: Partial<Pick<StreamView, 'softDeleted' | 'tombstoned' | 'metadataExists'>> = {}): StreamView {
  return {
    lastRevision: ids.length - 1,
    softDeleted: flags.softDeleted ?? false,
    tombstoned: flags.tombstoned ?? false,
    metadataExists: flags.metadataExists ?? false,
    idAt: (r) => ids[r],
    recentRevisionOf: (id) => {
      const r = ids.indexOf(id);
      return r < 0 ? undefined : r;
    },
  };
}

const any: Expected = { kind: 'any' };
const noStream: Expected = { kind: 'no_stream' };
const exists: Expected = { kind: 'stream_exists' };
const rev = (revision: number): Expected => ({ kind: 'revision', revision });
const write: Decision = { kind: 'write' };
const wrong = (current: number): Decision => ({ kind: 'wrong_expected_version', current });

describe('decideAppend', () => {
  test.each([
    ['no_stream on a missing stream', [], noStream, ['x'], write],
    ['no_stream on an existing stream', ['a'], noStream, ['x'], wrong(0)],
    ['exact revision equal to the last', ['a', 'b'], rev(1), ['x'], write],
    ['exact revision ahead of the last', ['a'], rev(3), ['x'], wrong(0)],
    ['exact revision behind, new ids', ['a', 'b'], rev(0), ['x'], wrong(1)],
    ['stream_exists on a missing stream', [], exists, ['x'], wrong(-1)],
    ['stream_exists on an existing stream', ['a'], exists, ['x'], write],
    ['any on a missing stream', [], any, ['x'], write],
    ['any on an existing stream with new ids', ['a'], any, ['x'], write],
  ] as Array<[string, string[], Expected, string[], Decision]>)('%s', (_name, ids, expected, proposed, decision) => {
    expect(decideAppend(given(ids), expected, proposed)).toEqual(decision);
  });

  test('given the same ids already after the expected revision, when re-appended, then idempotent', () => {
    expect(decideAppend(given(['a', 'b', 'c']), noStream, ['a', 'b', 'c'])).toEqual({ kind: 'idempotent', lastRevision: 2 });
    expect(decideAppend(given(['a', 'b', 'c']), rev(0), ['b', 'c'])).toEqual({ kind: 'idempotent', lastRevision: 2 });
  });

  test('given only some of the ids committed, when re-appended, then wrong expected version', () => {
    expect(decideAppend(given(['a', 'b']), noStream, ['a', 'x'])).toEqual(wrong(1));
    expect(decideAppend(given(['a', 'b']), any, ['a', 'x'])).toEqual(wrong(1));
  });

  test('given ids recently written, when re-appended with any, then idempotent', () => {
    expect(decideAppend(given(['a', 'b', 'c']), any, ['b', 'c'])).toEqual({ kind: 'idempotent', lastRevision: 2 });
  });

  test('given a soft-deleted stream, when appended with no_stream, any or its last revision, then it is recreated', () => {
    const deleted = given(['a', 'b'], { softDeleted: true });
    expect(decideAppend(deleted, noStream, ['x'])).toEqual(write);
    expect(decideAppend(deleted, any, ['x'])).toEqual(write);
    expect(decideAppend(deleted, rev(1), ['x'])).toEqual(write);
    expect(decideAppend(deleted, rev(0), ['x'])).toEqual(wrong(1));
  });

  test('given a tombstoned stream, when appended with anything, then stream deleted', () => {
    for (const e of [any, noStream, exists, rev(0)]) {
      expect(decideAppend(given(['a'], { tombstoned: true }), e, ['x'])).toEqual({ kind: 'stream_deleted' });
    }
  });

  test('given only metadata, stream_exists holds', () => {
    expect(decideAppend(given([], { metadataExists: true }), exists, ['x'])).toEqual(write);
  });
});

describe('decideDelete', () => {
  test.each([
    ['any', ['a'], any, write],
    ['exact last revision', ['a', 'b'], rev(1), write],
    ['stale revision', ['a', 'b'], rev(0), wrong(1)],
    ['no_stream on an existing stream', ['a'], noStream, wrong(0)],
    ['no_stream on a missing stream', [], noStream, write],
    ['stream_exists on a missing stream', [], exists, wrong(-1)],
  ] as Array<[string, string[], Expected, Decision]>)('%s', (_name, ids, expected, decision) => {
    expect(decideDelete(given(ids), expected)).toEqual(decision);
  });

  test('given a tombstoned stream, then stream deleted', () => {
    expect(decideDelete(given(['a'], { tombstoned: true }), any)).toEqual({ kind: 'stream_deleted' });
  });
});

describe('$all filters', () => {
  test('stream-name prefixes match any prefix', () => {
    const f = makeFilter('stream', ['order-', 'user-'], '');
    expect(filterMatches(f, 'order-1', 'X')).toBe(true);
    expect(filterMatches(f, 'user-9', 'X')).toBe(true);
    expect(filterMatches(f, 'vm-1', 'order-')).toBe(false);
  });

  test('an event-type regex wins over prefixes and searches anywhere', () => {
    const f = makeFilter('type', ['ignored'], 'Created$');
    expect(filterMatches(f, 's', 'UserCreated')).toBe(true);
    expect(filterMatches(f, 's', 'ignoredThing')).toBe(false);
    expect(filterMatches(makeFilter('type', [], '^[^$]'), 's', '$metadata')).toBe(false);
  });

  test('checkpoints come every window × multiplier events, window 32 by default', () => {
    expect(checkpointEvery(null, 1)).toBe(32);
    expect(checkpointEvery(8, 3)).toBe(24);
  });
});
