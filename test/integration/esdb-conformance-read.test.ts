/**
 * Conformance (public client API only): reading a stream and $all, forwards and backwards, from
 * start, end, a revision or a position, with a count; stream metadata ($maxCount, custom fields).
 * Other writers may share a real server's $all, so $all checks look only at this file's streams.
 */
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  ResolvedEvent,
  START,
  StreamNotFoundError,
  jsonEvent,
} from '@eventstore/db-client';
import { ConformanceTarget, collect, conformanceTarget, uniqueName } from '../support/esdb-process';

const events = (n: number) => Array.from({ length: n }, (_, i) => jsonEvent({ type: 'Counted', data: { i } }));
const revisions = (xs: ResolvedEvent[]) => xs.map((e) => e.event?.revision);

let target: ConformanceTarget;
let client: EventStoreDBClient;
let stream: string;

beforeAll(async () => {
  target = await conformanceTarget();
  client = EventStoreDBClient.connectionString(target.connectionString);
  stream = uniqueName('conf-read');
  await client.appendToStream(stream, events(10));
});

afterAll(async () => {
  await client?.dispose();
  await target?.dispose();
});

describe('readStream', () => {
  test('forwards from start, with and without a count', async () => {
    expect(revisions(await collect(client.readStream(stream)))).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
    expect(revisions(await collect(client.readStream(stream, { fromRevision: START, maxCount: 3 })))).toEqual([0n, 1n, 2n]);
  });

  test('forwards from a revision includes that revision', async () => {
    expect(revisions(await collect(client.readStream(stream, { fromRevision: 7n, direction: FORWARDS })))).toEqual([7n, 8n, 9n]);
    expect(revisions(await collect(client.readStream(stream, { fromRevision: 4n, maxCount: 2 })))).toEqual([4n, 5n]);
  });

  test('forwards from end or past the end reads nothing', async () => {
    expect(await collect(client.readStream(stream, { fromRevision: END }))).toEqual([]);
    expect(await collect(client.readStream(stream, { fromRevision: 50n }))).toEqual([]);
  });

  test('backwards from end and from a revision', async () => {
    expect(revisions(await collect(client.readStream(stream, { direction: BACKWARDS, fromRevision: END, maxCount: 3 })))).toEqual([9n, 8n, 7n]);
    expect(revisions(await collect(client.readStream(stream, { direction: BACKWARDS, fromRevision: 2n })))).toEqual([2n, 1n, 0n]);
  });

  test('a stream that never existed is StreamNotFoundError', async () => {
    const missing = uniqueName('conf-read-missing');
    const err = await collect(client.readStream(missing)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamNotFoundError);
    expect((err as StreamNotFoundError).streamName).toBe(missing);
  });

  test('each event carries its $all position; positions rise with revisions', async () => {
    const read = await collect(client.readStream(stream));
    const commits = read.map((e) => e.event?.position?.commit as bigint);
    for (let i = 1; i < commits.length; i++) expect(commits[i] > commits[i - 1]).toBe(true);
  });
});

describe('readAll', () => {
  const mine = (xs: ResolvedEvent[], s: string) => xs.filter((e) => e.event?.streamId === s);

  test('forwards from a position starts at the event at that position', async () => {
    const [rev2] = await collect(client.readStream(stream, { fromRevision: 2n, maxCount: 1 }));
    const pos = rev2.event?.position as { commit: bigint; prepare: bigint };
    const all = await collect(client.readAll({ fromPosition: pos, maxCount: 200 }));
    expect(all[0].event?.id).toBe(rev2.event?.id);
    expect(revisions(mine(all, stream)).slice(0, 3)).toEqual([2n, 3n, 4n]);
  });

  test('forwards from start returns positions in rising order and honours the count', async () => {
    const all = await collect(client.readAll({ fromPosition: START, maxCount: 25 }));
    expect(all.length).toBeLessThanOrEqual(25);
    const commits = all.map((e) => e.event?.position?.commit as bigint);
    for (let i = 1; i < commits.length; i++) expect(commits[i] > commits[i - 1]).toBe(true);
  });

  test('backwards from end sees the latest writes first', async () => {
    const s = uniqueName('conf-read-all-back');
    await client.appendToStream(s, events(3));
    const back = await collect(client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 200 }));
    expect(revisions(mine(back, s))).toEqual([2n, 1n, 0n]);
    const commits = back.map((e) => e.event?.position?.commit as bigint);
    for (let i = 1; i < commits.length; i++) expect(commits[i] < commits[i - 1]).toBe(true);
  });

  test('backwards from a position returns only earlier events', async () => {
    const s = uniqueName('conf-read-all-back-pos');
    await client.appendToStream(s, events(4));
    const read = await collect(client.readStream(s));
    const pos = read[2].event?.position as { commit: bigint; prepare: bigint };
    const back = await collect(client.readAll({ direction: BACKWARDS, fromPosition: pos, maxCount: 100 }));
    for (const e of back) expect((e.event?.position?.commit as bigint) <= pos.commit).toBe(true);
    expect(revisions(mine(back, s)).slice(-2)).toEqual([1n, 0n]);
  });
});

describe('readers that stop early', () => {
  test('leave the server serving everyone else', async () => {
    const s = uniqueName('conf-read-early');
    for (let b = 0; b < 4; b++) {
      await client.appendToStream(s, Array.from({ length: 500 }, (_, i) => jsonEvent({ type: 'Padded', data: { i, pad: 'p'.repeat(400) } })));
    }
    for (let k = 0; k < 10; k++) {
      let n = 0;
      for await (const _ of client.readStream(s)) if (++n === 5) break;
      n = 0;
      for await (const _ of client.readAll({ direction: BACKWARDS, fromPosition: END })) if (++n === 5) break;
    }
    expect((await collect(client.readStream(s))).length).toBe(2000);
  });
});

describe('stream metadata', () => {
  test('set and get round-trip, with custom fields', async () => {
    const s = uniqueName('conf-meta');
    await client.appendToStream(s, events(1));
    await client.setStreamMetadata(s, { maxCount: 50, custom: 'value' });
    const got = await client.getStreamMetadata(s);
    expect(got.streamName).toBe(s);
    expect(got.metadata).toEqual({ maxCount: 50, custom: 'value' });
  });

  test('maxCount limits what a read returns', async () => {
    const s = uniqueName('conf-meta-maxcount');
    await client.appendToStream(s, events(5));
    await client.setStreamMetadata(s, { maxCount: 2 });
    expect(revisions(await collect(client.readStream(s)))).toEqual([3n, 4n]);
  });

  test('a stream without metadata has none', async () => {
    const got = await client.getStreamMetadata(uniqueName('conf-meta-none'));
    expect(got.metadata).toBeUndefined();
  });
});
