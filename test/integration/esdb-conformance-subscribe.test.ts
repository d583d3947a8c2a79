/**
 * Conformance (public client API only): catch-up subscriptions to a stream and to $all — history,
 * then caught-up, then live; exclusive start points; $all filters on stream name and event type
 * (prefixes and regex) with checkpoints.
 */
import {
  END,
  EventStoreDBClient,
  Position,
  ResolvedEvent,
  START,
  StreamDeletedError,
  StreamSubscription,
  AllStreamSubscription,
  eventTypeFilter,
  jsonEvent,
  streamNameFilter,
} from '@eventstore/db-client';
import { ConformanceTarget, collect, conformanceTarget, uniqueName, waitFor } from '../support/esdb-process';

const events = (n: number, type = 'Ticked') => Array.from({ length: n }, (_, i) => jsonEvent({ type, data: { i } }));

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

interface Watched {
  events: ResolvedEvent[];
  caughtUp: () => boolean;
  errors: unknown[];
  stop(): Promise<void>;
}

function watch(sub: StreamSubscription | AllStreamSubscription): Watched {
  const seen: ResolvedEvent[] = [];
  const errors: unknown[] = [];
  let caughtUp = false;
  sub.on('data', (e: ResolvedEvent) => seen.push(e));
  sub.on('caughtUp', () => (caughtUp = true));
  sub.on('error', (e: unknown) => errors.push(e));
  return { events: seen, caughtUp: () => caughtUp, errors, stop: () => sub.unsubscribe() };
}

const ids = (xs: ResolvedEvent[]) => xs.map((e) => e.event?.id);

describe('subscribeToStream', () => {
  test('history, then caught-up, then live events, in order', async () => {
    const s = uniqueName('conf-sub-stream');
    const history = events(5);
    await client.appendToStream(s, history);
    const w = watch(client.subscribeToStream(s, { fromRevision: START }));
    try {
      await waitFor(() => w.caughtUp() && w.events.length >= 5, 'history and caught-up');
      expect(ids(w.events)).toEqual(history.map((e) => e.id));
      const live = events(3);
      await client.appendToStream(s, live);
      await waitFor(() => w.events.length >= 8, 'live events');
      expect(ids(w.events)).toEqual([...history, ...live].map((e) => e.id));
      expect(w.events.map((e) => e.event?.revision)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    } finally {
      await w.stop();
    }
  });

  test('the start revision is exclusive', async () => {
    const s = uniqueName('conf-sub-stream-from');
    await client.appendToStream(s, events(5));
    const w = watch(client.subscribeToStream(s, { fromRevision: 2n }));
    try {
      await waitFor(() => w.caughtUp() && w.events.length >= 2, 'events after revision 2');
      expect(w.events.map((e) => e.event?.revision)).toEqual([3n, 4n]);
    } finally {
      await w.stop();
    }
  });

  test('from end delivers only what is written after subscribing', async () => {
    const s = uniqueName('conf-sub-stream-end');
    await client.appendToStream(s, events(3));
    const w = watch(client.subscribeToStream(s, { fromRevision: END }));
    try {
      await waitFor(() => w.caughtUp(), 'caught-up');
      await client.appendToStream(s, events(2));
      await waitFor(() => w.events.length >= 2, 'live events');
      expect(w.events.map((e) => e.event?.revision)).toEqual([3n, 4n]);
    } finally {
      await w.stop();
    }
  });

  test('a stream that does not exist yet is waited for', async () => {
    const s = uniqueName('conf-sub-stream-later');
    const w = watch(client.subscribeToStream(s));
    try {
      await waitFor(() => w.caughtUp(), 'caught-up');
      await client.appendToStream(s, events(2));
      await waitFor(() => w.events.length >= 2, 'events of the new stream');
      expect(w.events.map((e) => e.event?.revision)).toEqual([0n, 1n]);
    } finally {
      await w.stop();
    }
  });

  test('subscribing while a writer is busy delivers every event once, in order', async () => {
    const s = uniqueName('conf-sub-busy');
    let written = 0;
    const writer = (async () => {
      for (let b = 0; b < 60; b++) {
        await client.appendToStream(s, events(5));
        written += 5;
      }
    })();
    while (written < 20) await new Promise((r) => setTimeout(r, 5));
    const w = watch(client.subscribeToStream(s));
    try {
      await writer;
      await waitFor(() => w.events.length >= 300, '300 events');
      expect(w.events.map((e) => e.event?.revision)).toEqual(Array.from({ length: 300 }, (_, i) => BigInt(i)));
    } finally {
      await w.stop();
    }
  });

  test('a soft-deleted stream is caught up at once and recreated events arrive live', async () => {
    const s = uniqueName('conf-sub-soft-deleted');
    await client.appendToStream(s, events(2));
    await client.deleteStream(s);
    const w = watch(client.subscribeToStream(s));
    try {
      await waitFor(() => w.caughtUp(), 'caught-up');
      await client.appendToStream(s, events(2));
      await waitFor(() => w.events.length >= 2, 'the recreated events');
      expect(w.events.map((e) => e.event?.revision)).toEqual([2n, 3n]);
    } finally {
      await w.stop();
    }
  });

  test('a tombstoned stream fails the subscription with StreamDeletedError', async () => {
    const s = uniqueName('conf-sub-stream-tombstoned');
    await client.appendToStream(s, events(1));
    await client.tombstoneStream(s);
    const w = watch(client.subscribeToStream(s));
    try {
      await waitFor(() => w.errors.length > 0, 'the subscription error');
      expect(w.errors[0]).toBeInstanceOf(StreamDeletedError);
    } finally {
      await w.stop();
    }
  });
});

describe('subscribeToAll', () => {
  test('stream-name prefix filter: history, caught-up, live, nothing else', async () => {
    const prefix = uniqueName('conf-sub-all');
    await client.appendToStream(`${prefix}-a`, events(2));
    await client.appendToStream(uniqueName('conf-other'), events(2));
    await client.appendToStream(`${prefix}-b`, events(1));
    const w = watch(client.subscribeToAll({ fromPosition: START, filter: streamNameFilter({ prefixes: [prefix] }) }));
    try {
      await waitFor(() => w.caughtUp() && w.events.length >= 3, 'history and caught-up');
      await client.appendToStream(`${prefix}-c`, events(2));
      await waitFor(() => w.events.length >= 5, 'live events');
      expect(w.events.map((e) => e.event?.streamId)).toEqual([
        `${prefix}-a`,
        `${prefix}-a`,
        `${prefix}-b`,
        `${prefix}-c`,
        `${prefix}-c`,
      ]);
      const commits = w.events.map((e) => e.event?.position?.commit as bigint);
      for (let i = 1; i < commits.length; i++) expect(commits[i] > commits[i - 1]).toBe(true);
    } finally {
      await w.stop();
    }
  });

  test('the start position is exclusive', async () => {
    const prefix = uniqueName('conf-sub-all-from');
    await client.appendToStream(`${prefix}-x`, events(4));
    const read = await collect(client.readStream(`${prefix}-x`));
    const from = read[1].event?.position as Position;
    const w = watch(client.subscribeToAll({ fromPosition: from, filter: streamNameFilter({ prefixes: [prefix] }) }));
    try {
      await waitFor(() => w.caughtUp() && w.events.length >= 2, 'events after the position');
      expect(w.events.map((e) => e.event?.revision)).toEqual([2n, 3n]);
    } finally {
      await w.stop();
    }
  });

  test('event-type filters by prefix and by regex', async () => {
    const tag = uniqueName('Tag').replace(/-/g, '');
    const s = uniqueName('conf-sub-type');
    await client.appendToStream(s, [
      ...events(1, `${tag}Created`),
      ...events(1, `Other${tag}`),
      ...events(1, `${tag}Deleted`),
    ]);
    const byPrefix = watch(client.subscribeToAll({ filter: eventTypeFilter({ prefixes: [tag] }) }));
    const byRegex = watch(client.subscribeToAll({ filter: eventTypeFilter({ regex: `^${tag}(Created)$` }) }));
    try {
      await waitFor(() => byPrefix.caughtUp() && byPrefix.events.length >= 2, 'prefix-filtered history');
      await waitFor(() => byRegex.caughtUp() && byRegex.events.length >= 1, 'regex-filtered history');
      expect(byPrefix.events.map((e) => e.event?.type)).toEqual([`${tag}Created`, `${tag}Deleted`]);
      expect(byRegex.events.map((e) => e.event?.type)).toEqual([`${tag}Created`]);
    } finally {
      await byPrefix.stop();
      await byRegex.stop();
    }
  });

  test('a filtered subscription reports checkpoints at rising positions', async () => {
    const prefix = uniqueName('conf-sub-ckpt');
    const noise = uniqueName('conf-noise');
    await client.appendToStream(noise, events(80));
    const checkpoints: bigint[] = [];
    const sub = client.subscribeToAll({
      fromPosition: START,
      filter: streamNameFilter({
        prefixes: [prefix],
        maxSearchWindow: 8,
        checkpointInterval: 1,
        checkpointReached: (_s, p) => {
          checkpoints.push(p.commit);
        },
      }),
    });
    const w = watch(sub);
    try {
      await waitFor(() => w.caughtUp(), 'caught-up');
      await client.appendToStream(`${prefix}-1`, events(1));
      await client.appendToStream(noise, events(40));
      await waitFor(() => w.events.length >= 1 && checkpoints.length >= 3, 'checkpoints');
      expect(w.events.map((e) => e.event?.streamId)).toEqual([`${prefix}-1`]);
      for (let i = 1; i < checkpoints.length; i++) expect(checkpoints[i] >= checkpoints[i - 1]).toBe(true);
    } finally {
      await w.stop();
    }
  });

  test('stream-name regex filter', async () => {
    const prefix = uniqueName('conf-sub-regex');
    await client.appendToStream(`${prefix}-keep-1`, events(1));
    await client.appendToStream(`${prefix}-drop-1`, events(1));
    await client.appendToStream(`${prefix}-keep-2`, events(1));
    const w = watch(client.subscribeToAll({ filter: streamNameFilter({ regex: `^${prefix}-keep-\\d+$` }) }));
    try {
      await waitFor(() => w.caughtUp() && w.events.length >= 2, 'regex-filtered history');
      expect(w.events.map((e) => e.event?.streamId)).toEqual([`${prefix}-keep-1`, `${prefix}-keep-2`]);
    } finally {
      await w.stop();
    }
  });

  test('resuming from a checkpoint delivers only what came after it', async () => {
    const prefix = uniqueName('conf-sub-resume');
    await client.appendToStream(`${prefix}-a`, events(3));
    const checkpoints: Position[] = [];
    const filter = streamNameFilter({
      prefixes: [prefix],
      maxSearchWindow: 1,
      checkpointInterval: 1,
      checkpointReached: (_s, p) => {
        checkpoints.push(p);
      },
    });
    const first = watch(client.subscribeToAll({ filter }));
    let resumeAt: Position;
    try {
      await waitFor(() => first.caughtUp() && first.events.length >= 3, 'history');
      // Events the filter skips still move checkpoints on.
      await client.appendToStream(uniqueName('conf-sub-resume-noise'), events(5));
      const last = first.events[2].event?.position?.commit as bigint;
      await waitFor(() => checkpoints.some((c) => c.commit > last), 'a checkpoint past the last matching event');
      resumeAt = checkpoints[checkpoints.length - 1];
    } finally {
      await first.stop();
    }
    await client.appendToStream(`${prefix}-b`, events(2));
    const second = watch(client.subscribeToAll({ fromPosition: resumeAt, filter: streamNameFilter({ prefixes: [prefix] }) }));
    try {
      await waitFor(() => second.caughtUp() && second.events.length >= 2, 'events after the checkpoint');
      expect(second.events.map((e) => e.event?.streamId)).toEqual([`${prefix}-b`, `${prefix}-b`]);
    } finally {
      await second.stop();
    }
  });

  test('a paused subscriber that falls far behind still gets every event once, in order', async () => {
    const prefix = uniqueName('conf-sub-slow');
    const sub = client.subscribeToAll({ fromPosition: END, filter: streamNameFilter({ prefixes: [prefix] }) });
    const w = watch(sub);
    try {
      await waitFor(() => w.caughtUp(), 'caught-up');
      sub.pause();
      const total = 12_000;
      for (let b = 0; b < total / 500; b++) {
        await client.appendToStream(`${prefix}-s`, Array.from({ length: 500 }, (_, i) => jsonEvent({ type: 'Bulk', data: { n: b * 500 + i } })));
      }
      sub.resume();
      await waitFor(() => w.events.length >= total, `${total} events`, 60_000);
      expect(w.events.length).toBe(total);
      w.events.forEach((e, i) => expect(e.event?.revision).toBe(BigInt(i)));
    } finally {
      await w.stop();
    }
  }, 120_000);

  test('many subscribers each see every live event once', async () => {
    const prefix = uniqueName('conf-sub-many');
    const watchers = Array.from({ length: 6 }, () =>
      watch(client.subscribeToAll({ fromPosition: END, filter: streamNameFilter({ prefixes: [prefix] }) })),
    );
    try {
      await waitFor(() => watchers.every((w) => w.caughtUp()), 'all caught up');
      await Promise.all(Array.from({ length: 10 }, (_, i) => client.appendToStream(`${prefix}-${i}`, events(3))));
      await waitFor(() => watchers.every((w) => w.events.length >= 30), 'every subscriber sees 30 events');
      for (const w of watchers) expect(new Set(ids(w.events)).size).toBe(30);
    } finally {
      await Promise.all(watchers.map((w) => w.stop()));
    }
  });
});
