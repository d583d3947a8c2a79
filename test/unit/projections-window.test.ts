import { WindowEngine, type Aggregation } from '../../projections/window';
import { hopping, tumbling, windowStartsFor } from '../../projections/spec';

interface Rec {
  id: string;
  key: string;
  t: number;
}
interface Out {
  key: string;
  start: number;
  end: number;
  count: number;
  ids: string[];
}

/** Counts records per key and window; with `dense`, a key keeps emitting empty windows for `dense` windows. */
function counting(dense = 0): Aggregation<Rec, { ids: string[] }, { left: number }, Out, null> {
  return {
    key: (r) => r.key,
    eventId: (r) => r.id,
    eventTime: (r) => r.t,
    empty: () => ({ ids: [] }),
    add: (acc, r) => ({ ids: [...acc.ids, r.id] }),
    close(key, w, acc, carry) {
      const out = { key, start: w.start, end: w.end, count: acc?.ids.length ?? 0, ids: acc?.ids ?? [] };
      const left = acc ? dense : (carry?.left ?? 0) - 1;
      return { out: [out], carry: left > 0 ? { left } : undefined };
    },
    preview: (key, w, acc) => [{ key, start: w.start, end: w.end, count: acc.ids.length, ids: acc.ids }],
  };
}

const S = 1000; // window size used below
const rec = (id: string, t: number, key = 'k'): Rec => ({ id, key, t });

function engine(grace = 100, dense = 0) {
  return new WindowEngine(tumbling(S, grace), counting(dense), null);
}

describe('window arithmetic', () => {
  it('given tumbling windows, then a time belongs to exactly one window, start inclusive and end exclusive', () => {
    const spec = tumbling(S, 0);
    expect(windowStartsFor(0, spec)).toEqual([0]);
    expect(windowStartsFor(999, spec)).toEqual([0]);
    expect(windowStartsFor(1000, spec)).toEqual([1000]);
    expect(windowStartsFor(-1, spec)).toEqual([-1000]);
  });

  it('given hopping windows of 1000 advancing by 250, then a time belongs to four windows, oldest first', () => {
    expect(windowStartsFor(1100, hopping(1000, 250, 0))).toEqual([250, 500, 750, 1000]);
    expect(windowStartsFor(1000, hopping(1000, 250, 0))).toEqual([250, 500, 750, 1000]);
  });

  it('given an advance larger than the size, then the spec is refused', () => {
    expect(() => new WindowEngine(hopping(100, 200, 0), counting(), null)).toThrow(/advance/);
  });
});

describe('WindowEngine', () => {
  it('given records in one window, when the watermark passes end + grace, then the window is emitted once', () => {
    const e = engine(100);
    expect(e.process('p0', rec('a', 10)).closed).toEqual([]);
    expect(e.process('p0', rec('b', 999)).closed).toEqual([]);
    // watermark 1099 < 1000 + 100: still open
    expect(e.process('p0', rec('c', 1099)).closed).toEqual([]);
    const r = e.process('p0', rec('d', 1100));
    expect(r.closed).toEqual([{ key: 'k', start: 0, end: 1000, count: 2, ids: ['a', 'b'] }]);
    expect(e.process('p0', rec('e', 1500)).closed).toEqual([]);
  });

  it('given a record out of order but within the grace, then it counts in its window', () => {
    const e = engine(100);
    e.process('p0', rec('a', 500));
    e.process('p0', rec('b', 1050)); // watermark 1050, window [0,1000) still open until 1100
    expect(e.process('p0', rec('late-but-ok', 999)).outcome).toEqual({ status: 'added', missed: [] });
    const closed = e.process('p0', rec('c', 1100)).closed;
    expect(closed[0].ids).toEqual(['a', 'late-but-ok']);
  });

  it('given a record later than the grace, then it is returned late with a reason and never counted', () => {
    const e = engine(100);
    e.process('p0', rec('a', 500));
    const closed = e.process('p0', rec('b', 1100)).closed;
    const r = e.process('p0', rec('too-late', 999));
    expect(r.outcome.status).toBe('late');
    expect(r.outcome.status === 'late' && r.outcome.reason).toMatch(/later than the grace.*1970-01-01T00:00:00.000Z/);
    expect(e.counters.late).toBe(1);
    expect(closed).toHaveLength(1);
    expect(closed[0].ids).toEqual(['a']);
  });

  it('given the same eventId twice in a window, then it counts once and the second is a duplicate', () => {
    const e = engine(0);
    e.process('p0', rec('a', 1));
    expect(e.process('p0', rec('a', 2)).outcome).toEqual({ status: 'duplicate' });
    expect(e.process('p0', rec('z', 1000)).closed[0].count).toBe(1);
    expect(e.counters.duplicates).toBe(1);
  });

  it('given a window past its dedup cap, then records still count and the overflow is counted', () => {
    const e = new WindowEngine(tumbling(S, 0), counting(), null, { maxDedupPerWindow: 2 });
    for (const id of ['a', 'b', 'c', 'c']) e.process('p0', rec(id, 1));
    expect(e.counters.dedupOverflow).toBe(2);
    expect(e.advanceTo(5000)[0].count).toBe(4);
  });

  it('given windows close, then their dedup memory is released', () => {
    const e = engine(0);
    e.process('p0', rec('a', 1));
    e.process('p0', rec('b', 1000));
    expect(e.exportKey('k')!.open.map((o) => o.seen)).toEqual([['b']]);
  });

  it('given a record exactly at a window end, then it belongs to the next window', () => {
    const e = engine(0);
    e.process('p0', rec('a', 999));
    e.process('p0', rec('b', 1000));
    const out = e.advanceTo(2000);
    expect(out.map((o) => [o.start, o.ids])).toEqual([[1000, ['b']]]);
  });

  it('given a gap with no records, then no empty window is emitted for a key without carry', () => {
    const e = engine(0);
    e.process('p0', rec('a', 10));
    const out = [...e.process('p0', rec('b', 5010)).closed, ...e.advanceTo(10_000)];
    expect(out.map((o) => o.start)).toEqual([0, 5000]);
  });

  it('given a key with carry, then empty windows are emitted densely until the carry ends', () => {
    const e = new WindowEngine(tumbling(S, 0), counting(3), null);
    e.process('p0', rec('a', 10));
    const out = e.advanceTo(10_000);
    expect(out.map((o) => [o.start, o.count])).toEqual([[0, 1], [1000, 0], [2000, 0], [3000, 0]]);
    expect(e.keyCount()).toBe(0);
  });

  it('given several keys, then outputs come ordered by window start then key', () => {
    const e = engine(0);
    const out = [rec('2', 500, 'b'), rec('3', 600, 'a'), rec('1', 1500, 'b'), rec('4', 1600, 'a')].flatMap((r) => e.process('p0', r).closed);
    out.push(...e.advanceTo(5000));
    expect(out.map((o) => `${o.start}:${o.key}`)).toEqual(['0:a', '0:b', '1000:a', '1000:b']);
  });

  it('given two partitions, then the watermark is the slower one and its records are not late', () => {
    const e = engine(0);
    e.process('p0', rec('a', 100));
    e.process('p1', rec('b', 50));
    expect(e.process('p0', rec('c', 5000)).closed).toEqual([]); // p1 still at 50
    expect(e.process('p1', rec('d', 900)).outcome.status).toBe('added');
    const closed = e.process('p1', rec('e', 1000)).closed;
    expect(closed[0].ids).toEqual(['a', 'b', 'd']);
  });

  it('given a partition is forgotten, then the watermark moves on without it and never goes back', () => {
    const e = engine(0);
    e.process('p1', rec('b', 50));
    e.process('p0', rec('a', 100));
    e.process('p0', rec('x', 3000));
    expect(e.forgetPartition('p1').map((o) => o.start)).toEqual([0]);
    expect(e.currentWatermark).toBe(3000);
    e.process('p2', rec('c', 10)); // a new slow partition cannot reopen closed windows
    expect(e.currentWatermark).toBe(3000);
  });

  it('given hopping windows, then a record counts in each of its windows and each closes once', () => {
    const e = new WindowEngine(hopping(1000, 500, 0), counting(), null);
    e.process('p0', rec('a', 700)); // windows [0,1000) and [500,1500)
    const out = e.advanceTo(3000);
    expect(out.map((o) => [o.start, o.ids])).toEqual([[0, ['a']], [500, ['a']]]);
  });

  it('given hopping windows and a record that missed only its older window, then it is added and reports the miss', () => {
    const e = new WindowEngine(hopping(1000, 500, 0), counting(), null);
    e.process('p0', rec('a', 1000)); // watermark 1000 closes [0,1000)
    const r = e.process('p0', rec('b', 700));
    expect(r.outcome).toEqual({ status: 'added', missed: [{ start: 0, end: 1000 }] });
    expect(e.counters.partiallyLate).toBe(1);
  });

  it('given earlyUpdates, then each added record returns a preview of its open window', () => {
    const e = new WindowEngine(tumbling(S, 0), counting(), null, { earlyUpdates: true });
    expect(e.process('p0', rec('a', 1)).early).toEqual([{ key: 'k', start: 0, end: 1000, count: 1, ids: ['a'] }]);
    expect(e.process('p0', rec('b', 2)).early[0].count).toBe(2);
  });

  it('given a snapshot of keys and clock restored into a new engine, then it continues exactly as the original', () => {
    const recs = Array.from({ length: 200 }, (_, i) => rec(`r${i}`, i * 37 + ((i * 7919) % 300), `k${i % 5}`));
    const whole = engine(200, 2);
    const expected = recs.flatMap((r) => whole.process('p0', r).closed).concat(whole.advanceTo(20_000));

    const first = engine(200, 2);
    const got = recs.slice(0, 90).flatMap((r) => first.process('p0', r).closed);
    const snap = { clock: first.exportClock(), keys: first.allKeys().map((k) => [k, JSON.parse(JSON.stringify(first.exportKey(k)))] as const) };
    const second = engine(200, 2);
    second.importClock(snap.clock);
    for (const [k, s] of snap.keys) second.importKey(k, s);
    got.push(...recs.slice(90).flatMap((r) => second.process('p0', r).closed), ...second.advanceTo(20_000));
    expect(got).toEqual(expected);
  });

  it('given an expected partition with no records yet, then the watermark waits for it, also across a JSON snapshot', () => {
    const e = engine(0);
    e.expectPartition('ua/0');
    e.process('va/0', rec('a', 5000));
    expect(e.currentWatermark).toBe(-Infinity);
    const copy = engine(0);
    copy.importClock(JSON.parse(JSON.stringify(e.exportClock())));
    expect(copy.partitionTimes().get('ua/0')).toBe(-Infinity);
    expect(e.process('ua/0', rec('b', 100)).outcome.status).toBe('added');
    expect(e.currentWatermark).toBe(100);
  });

  it('given changes, then takeDirtyKeys names changed and deleted keys once', () => {
    const e = engine(0);
    e.process('p0', rec('a', 1, 'x'));
    e.process('p0', rec('b', 1, 'y'));
    expect(e.takeDirtyKeys()).toEqual(['x', 'y']);
    expect(e.takeDirtyKeys()).toEqual([]);
    e.advanceTo(5000);
    expect(e.takeDirtyKeys()).toEqual(['x', 'y']);
    expect(e.exportKey('x')).toBeNull();
  });
});
