/**
 * Conformance (public client API only): appends with every expected revision, idempotent
 * re-appends, a 1,000-event batch, the append size limit, and optimistic concurrency under many
 * concurrent clients. Runs against EVENTSTORE_CONNECTION_STRING when set, else a private esdb-local.
 */
import {
  ANY,
  EventStoreDBClient,
  MaxAppendSizeExceededError,
  NO_STREAM,
  STREAM_EXISTS,
  WrongExpectedVersionError,
  binaryEvent,
  jsonEvent,
} from '@eventstore/db-client';
import { ConformanceTarget, collect, conformanceTarget, uniqueName } from '../support/esdb-process';

const events = (n: number, type = 'ThingHappened') => Array.from({ length: n }, (_, i) => jsonEvent({ type, data: { i } }));

// A private esdb-local is tested both ways the client can append: Append, and BatchAppend (used
// when the server advertises it, as EventStoreDB does). An external server is tested as it is.
const modes: Array<[string, string[]]> = process.env.EVENTSTORE_CONNECTION_STRING
  ? [['as the server advertises', []]]
  : [
      ['Streams.Append', []],
      ['Streams.BatchAppend', ['--batch-append']],
    ];

describe.each(modes)('appends via %s', (_mode, serverArgs) => {
  let target: ConformanceTarget;
  let client: EventStoreDBClient;

  beforeAll(async () => {
    target = await conformanceTarget(serverArgs);
    client = EventStoreDBClient.connectionString(target.connectionString);
  });

  afterAll(async () => {
    await client?.dispose();
    await target?.dispose();
  });

  async function expectWrongVersion(p: Promise<unknown>): Promise<WrongExpectedVersionError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    return err as WrongExpectedVersionError;
  }

  describe('append with expected revision', () => {
    test('no_stream creates the stream; revisions count from 0', async () => {
      const s = uniqueName('conf-append-new');
      const r = await client.appendToStream(s, events(3), { expectedRevision: NO_STREAM });
      expect(r.success).toBe(true);
      expect(r.nextExpectedRevision).toBe(2n);
      expect(r.position).toBeDefined();
      const read = await collect(client.readStream(s));
      expect(read.map((e) => e.event?.revision)).toEqual([0n, 1n, 2n]);
      expect(read.map((e) => (e.event?.data as { i: number }).i)).toEqual([0, 1, 2]);
    });

    test('no_stream on an existing stream is a wrong expected version naming the stream', async () => {
      const s = uniqueName('conf-append-exists');
      await client.appendToStream(s, events(2));
      const err = await expectWrongVersion(client.appendToStream(s, events(1), { expectedRevision: NO_STREAM }));
      expect(err.streamName).toBe(s);
      expect(err.expectedVersion).toBe(NO_STREAM);
      expect(err.actualVersion).toBe(1n);
    });

    test('an exact revision must equal the last revision', async () => {
      const s = uniqueName('conf-append-exact');
      await client.appendToStream(s, events(2));
      const ok = await client.appendToStream(s, events(1), { expectedRevision: 1n });
      expect(ok.nextExpectedRevision).toBe(2n);
      const behind = await expectWrongVersion(client.appendToStream(s, events(1), { expectedRevision: 0n }));
      expect(behind.expectedVersion).toBe(0n);
      expect(behind.actualVersion).toBe(2n);
      await expectWrongVersion(client.appendToStream(s, events(1), { expectedRevision: 5n }));
    });

    test('stream_exists fails on a missing stream and succeeds on an existing one', async () => {
      const s = uniqueName('conf-append-stream-exists');
      const err = await expectWrongVersion(client.appendToStream(s, events(1), { expectedRevision: STREAM_EXISTS }));
      expect(err.expectedVersion).toBe(STREAM_EXISTS);
      await client.appendToStream(s, events(1), { expectedRevision: NO_STREAM });
      const ok = await client.appendToStream(s, events(1), { expectedRevision: STREAM_EXISTS });
      expect(ok.nextExpectedRevision).toBe(1n);
    });

    test('any appends whatever the stream state', async () => {
      const s = uniqueName('conf-append-any');
      expect((await client.appendToStream(s, events(1), { expectedRevision: ANY })).nextExpectedRevision).toBe(0n);
      expect((await client.appendToStream(s, events(2), { expectedRevision: ANY })).nextExpectedRevision).toBe(2n);
    });

    test('throwOnAppendFailure=false reports a failed append in-band', async () => {
      const s = uniqueName('conf-append-inband');
      const sep = target.connectionString.includes('?') ? '&' : '?';
      const lenient = EventStoreDBClient.connectionString(`${target.connectionString}${sep}throwOnAppendFailure=false`);
      try {
        await lenient.appendToStream(s, events(2));
        const r = await lenient.appendToStream(s, events(1), { expectedRevision: NO_STREAM });
        expect(r.success).toBe(false);
        expect(r.nextExpectedRevision).toBe(1n);
      } finally {
        await lenient.dispose();
      }
    });
  });

  describe('idempotent re-append of the same event ids', () => {
    test('with the same expected revision: success, no duplicates', async () => {
      const s = uniqueName('conf-idem-exact');
      const batch = events(3);
      const first = await client.appendToStream(s, batch, { expectedRevision: NO_STREAM });
      const again = await client.appendToStream(s, batch, { expectedRevision: NO_STREAM });
      expect(again.success).toBe(true);
      expect(again.nextExpectedRevision).toBe(first.nextExpectedRevision);
      const more = events(2);
      await client.appendToStream(s, more, { expectedRevision: 2n });
      const againAtTwo = await client.appendToStream(s, more, { expectedRevision: 2n });
      expect(againAtTwo.nextExpectedRevision).toBe(4n);
      const read = await collect(client.readStream(s));
      expect(read.map((e) => e.event?.id)).toEqual([...batch, ...more].map((e) => e.id));
    });

    test('with expected revision any: success, no duplicates', async () => {
      const s = uniqueName('conf-idem-any');
      const batch = events(2);
      await client.appendToStream(s, events(1));
      await client.appendToStream(s, batch, { expectedRevision: ANY });
      const again = await client.appendToStream(s, batch, { expectedRevision: ANY });
      expect(again.nextExpectedRevision).toBe(2n);
      expect((await collect(client.readStream(s))).length).toBe(3);
    });

    test('a batch of which only some events were committed is a wrong expected version', async () => {
      const s = uniqueName('conf-idem-partial');
      const batch = events(2);
      await client.appendToStream(s, batch, { expectedRevision: NO_STREAM });
      await expectWrongVersion(client.appendToStream(s, [batch[0], ...events(1)], { expectedRevision: NO_STREAM }));
      expect((await collect(client.readStream(s))).length).toBe(2);
    });
  });

  describe('payloads and batches', () => {
    test('json, binary data and custom metadata round-trip', async () => {
      const s = uniqueName('conf-payload');
      const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
      await client.appendToStream(s, [
        jsonEvent({ type: 'Json', data: { a: 'é', n: [1, 2] }, metadata: { correlationId: 'c-1' } }),
        binaryEvent({ type: 'Bin', data: bytes, metadata: Uint8Array.from([9, 8]) }),
      ]);
      const [j, b] = await collect(client.readStream(s));
      expect(j.event?.isJson).toBe(true);
      expect(j.event?.type).toBe('Json');
      expect(j.event?.data).toEqual({ a: 'é', n: [1, 2] });
      expect(j.event?.metadata).toEqual({ correlationId: 'c-1' });
      expect(j.event?.streamId).toBe(s);
      expect(j.event?.created).toBeInstanceOf(Date);
      expect(Number.isNaN(j.event?.created.getTime())).toBe(false);
      expect(b.event?.isJson).toBe(false);
      expect(Buffer.from(b.event?.data as Uint8Array)).toEqual(Buffer.from(bytes));
      expect(Buffer.from(b.event?.metadata as Uint8Array)).toEqual(Buffer.from([9, 8]));
    });

    test('a 1,000-event batch is appended atomically and read back in order', async () => {
      const s = uniqueName('conf-batch-1000');
      const r = await client.appendToStream(s, events(1000), { expectedRevision: NO_STREAM });
      expect(r.nextExpectedRevision).toBe(999n);
      const read = await collect(client.readStream(s));
      expect(read.length).toBe(1000);
      read.forEach((e, i) => {
        expect(e.event?.revision).toBe(BigInt(i));
        expect((e.event?.data as { i: number }).i).toBe(i);
      });
      const positions = read.map((e) => e.event?.position?.commit as bigint);
      for (let i = 1; i < positions.length; i++) expect(positions[i] > positions[i - 1]).toBe(true);
    });

    test('an append over the maximum append size fails with MaxAppendSizeExceededError', async () => {
      const s = uniqueName('conf-too-big');
      const big = binaryEvent({ type: 'Big', data: new Uint8Array(1536 * 1024) });
      const err = await client.appendToStream(s, big).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MaxAppendSizeExceededError);
      expect(typeof (err as MaxAppendSizeExceededError).maxAppendSize).toBe('number');
    });
  });

  describe('many concurrent clients', () => {
    test('optimistic concurrency: of many writers at the same revision exactly one wins', async () => {
      const s = uniqueName('conf-race');
      await client.appendToStream(s, events(1), { expectedRevision: NO_STREAM });
      const clients = Array.from({ length: 8 }, () => EventStoreDBClient.connectionString(target.connectionString));
      try {
        const results = await Promise.allSettled(
          clients.flatMap((c) => [0, 1, 2].map(() => c.appendToStream(s, events(1), { expectedRevision: 0n }))),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
        expect(won.length).toBe(1);
        for (const l of lost) expect(l.reason).toBeInstanceOf(WrongExpectedVersionError);
        expect((await collect(client.readStream(s))).length).toBe(2);
      } finally {
        await Promise.all(clients.map((c) => c.dispose()));
      }
    });

    test('concurrent appends from many clients to many streams all land, each stream gap-free', async () => {
      const prefix = uniqueName('conf-fanout');
      const clients = Array.from({ length: 6 }, () => EventStoreDBClient.connectionString(target.connectionString));
      try {
        await Promise.all(
          clients.map(async (c, k) => {
            for (let i = 0; i < 20; i++) await c.appendToStream(`${prefix}-${i % 4}`, events(2, `W${k}`));
          }),
        );
        for (let i = 0; i < 4; i++) {
          const read = await collect(client.readStream(`${prefix}-${i}`));
          expect(read.length).toBe(60);
          read.forEach((e, r) => expect(e.event?.revision).toBe(BigInt(r)));
        }
      } finally {
        await Promise.all(clients.map((c) => c.dispose()));
      }
    });
  });
});
