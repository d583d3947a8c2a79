/**
 * Conformance (public client API only): soft delete (reads say not found; a new append recreates
 * the stream and revisions carry on) and tombstone (later appends and reads fail as stream
 * deleted), with their expected-revision checks and the errors the client raises.
 */
import {
  EventStoreDBClient,
  NO_STREAM,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
  jsonEvent,
} from '@eventstore/db-client';
import { ConformanceTarget, collect, conformanceTarget, uniqueName } from '../support/esdb-process';

const events = (n: number) => Array.from({ length: n }, (_, i) => jsonEvent({ type: 'Noted', data: { i } }));

let target: ConformanceTarget;
let client: EventStoreDBClient;

beforeAll(async () => {
  target = await conformanceTarget();
  client = EventStoreDBClient.connectionString(target.connectionString);
});

afterAll(async () => {
  await client?.dispose();
  await target?.dispose();
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('soft delete', () => {
  test('reads of a deleted stream say not found', async () => {
    const s = uniqueName('conf-del');
    await client.appendToStream(s, events(4));
    const r = await client.deleteStream(s);
    expect(r.position).toBeDefined();
    expect(await failure(collect(client.readStream(s)))).toBeInstanceOf(StreamNotFoundError);
  });

  test('a new append recreates the stream; revisions carry on', async () => {
    const s = uniqueName('conf-del-recreate');
    await client.appendToStream(s, events(2));
    await client.deleteStream(s, { expectedRevision: 1n });
    const again = events(3);
    const r = await client.appendToStream(s, again, { expectedRevision: NO_STREAM });
    expect(r.nextExpectedRevision).toBe(4n);
    const read = await collect(client.readStream(s));
    expect(read.map((e) => e.event?.revision)).toEqual([2n, 3n, 4n]);
    expect(read.map((e) => e.event?.id)).toEqual(again.map((e) => e.id));
    const meta = await client.getStreamMetadata(s);
    expect(meta.metadata?.truncateBefore).toBe(2);
  });

  test('recreating with no_stream works once; afterwards the stream exists', async () => {
    const s = uniqueName('conf-del-once');
    await client.appendToStream(s, events(2));
    await client.deleteStream(s);
    await client.appendToStream(s, events(1), { expectedRevision: NO_STREAM });
    expect(await failure(client.appendToStream(s, events(1), { expectedRevision: NO_STREAM }))).toBeInstanceOf(
      WrongExpectedVersionError,
    );
  });

  test('a wrong expected revision fails with WrongExpectedVersionError', async () => {
    const s = uniqueName('conf-del-wrong');
    await client.appendToStream(s, events(4));
    const err = (await failure(client.deleteStream(s, { expectedRevision: 2n }))) as WrongExpectedVersionError;
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect(err.streamName).toBe(s);
    expect(err.expectedVersion).toBe(2n);
    expect((await failure(client.deleteStream(s, { expectedRevision: NO_STREAM })))).toBeInstanceOf(WrongExpectedVersionError);
    expect((await collect(client.readStream(s))).length).toBe(4);
  });

  test('a soft-deleted stream can still be tombstoned', async () => {
    const s = uniqueName('conf-del-then-tombstone');
    await client.appendToStream(s, events(2));
    await client.deleteStream(s);
    await client.tombstoneStream(s);
    expect(await failure(collect(client.readStream(s)))).toBeInstanceOf(StreamDeletedError);
  });
});

describe('tombstone', () => {
  test('later reads and appends fail as stream deleted, naming the stream', async () => {
    const s = uniqueName('conf-tomb');
    await client.appendToStream(s, events(3));
    const r = await client.tombstoneStream(s);
    expect(r.position).toBeDefined();
    const readErr = (await failure(collect(client.readStream(s)))) as StreamDeletedError;
    expect(readErr).toBeInstanceOf(StreamDeletedError);
    expect(readErr.streamName).toBe(s);
    const appendErr = (await failure(client.appendToStream(s, events(1)))) as StreamDeletedError;
    expect(appendErr).toBeInstanceOf(StreamDeletedError);
    expect(appendErr.streamName).toBe(s);
    expect(await failure(client.appendToStream(s, events(1), { expectedRevision: NO_STREAM }))).toBeInstanceOf(
      StreamDeletedError,
    );
  });

  test('a second tombstone or a delete of a tombstoned stream fails as stream deleted', async () => {
    const s = uniqueName('conf-tomb-twice');
    await client.appendToStream(s, events(1));
    await client.tombstoneStream(s);
    expect(await failure(client.tombstoneStream(s))).toBeInstanceOf(StreamDeletedError);
    expect(await failure(client.deleteStream(s))).toBeInstanceOf(StreamDeletedError);
  });

  test('expected revision: exact and no_stream are checked', async () => {
    const s = uniqueName('conf-tomb-exact');
    await client.appendToStream(s, events(3));
    const err = (await failure(client.tombstoneStream(s, { expectedRevision: 1n }))) as WrongExpectedVersionError;
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect(err.streamName).toBe(s);
    expect(err.expectedVersion).toBe(1n);
    expect(await failure(client.tombstoneStream(s, { expectedRevision: NO_STREAM }))).toBeInstanceOf(WrongExpectedVersionError);
    await client.tombstoneStream(s, { expectedRevision: 2n });
    const fresh = uniqueName('conf-tomb-fresh');
    await client.tombstoneStream(fresh, { expectedRevision: NO_STREAM });
    expect(await failure(collect(client.readStream(fresh)))).toBeInstanceOf(StreamDeletedError);
  });

  test('the metadata of a tombstoned stream is gone too', async () => {
    const s = uniqueName('conf-tomb-meta');
    await client.appendToStream(s, events(1));
    await client.setStreamMetadata(s, { custom: 1 });
    await client.tombstoneStream(s);
    expect(await failure(client.getStreamMetadata(s))).toBeInstanceOf(StreamDeletedError);
  });
});
