/**
 * The handler and the adapter against the real local EventStoreDB-compatible server, through
 * @eventstore/db-client (a private instance, so forged or conflicting streams stay ours).
 */
import { randomUUID } from 'node:crypto';
import { jsonEvent } from '@eventstore/db-client';
import type { Decider } from '../../core/decider';
import { ConcurrencyError } from '../../core/errors';
import type { Event } from '../../core/event';
import { EsdbEventStore } from '../../eventstore/client';
import { StreamDeletedError } from '../../eventstore/errors';
import { handleCommand, loadStream } from '../../eventstore/handler';
import { GENESIS_HASH, sealEvents } from '../../eventstore/hash-chain';
import type { StoredEvent } from '../../eventstore/port';
import { verify } from '../../eventstore/audit';
import { startEsdbProcess, type EsdbProcess } from '../support/esdb-process';

type Ev = Event<'CreditGranted', { amount: number; at: string }>;
type Cmd = { amount: number; at: string; limit: number };
const ledger: Decider<Cmd, number, Ev> = {
  initialState: 0,
  decide: (c, total) => (total + c.amount > c.limit ? [] : [{ type: 'CreditGranted', data: { amount: c.amount, at: c.at } }]),
  evolve: (total, e) => total + e.data.amount,
};
const AT = '2026-02-01T09:00:00.000Z';

let server: EsdbProcess;
let store: EsdbEventStore;

beforeAll(async () => {
  server = await startEsdbProcess();
  store = EsdbEventStore.connect(server.connectionString);
});
afterAll(async () => {
  await store?.close();
  await server?.dispose();
});

const uniq = (cat: string) => `${cat}-${randomUUID().replace(/-/g, '').slice(0, 12)}`;
async function readAllOf(stream: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of store.readStream(stream)) out.push(e);
  return out;
}
const cmd = (stream: string, commandId: string, amount = 1, limit = 100) => ({
  stream,
  decider: ledger,
  command: { amount, at: AT, limit },
  commandId,
  now: AT,
});

describe('event-store handler on the real server', () => {
  it('given a new stream, when commands are handled, then events are stored with chained metadata that verifies', async () => {
    const s = uniq('allocation');
    const a = await handleCommand(store, { ...cmd(s, 'c1', 5), correlationId: 'flow-1', causationId: 'rec-1' });
    const b = await handleCommand(store, cmd(s, 'c2', 7));
    expect([a.revision, b.revision, b.state]).toEqual([0, 1, 12]);
    const stored = await readAllOf(s);
    expect(stored.map((e) => [e.revision, e.type, e.id])).toEqual([
      [0, 'CreditGranted', a.events[0].id],
      [1, 'CreditGranted', b.events[0].id],
    ]);
    expect(stored[0].metadata).toEqual(a.events[0].metadata);
    expect(stored[0].metadata).toMatchObject({ correlationId: 'flow-1', causationId: 'rec-1', commandId: 'c1', occurredAt: AT, prevHash: GENESIS_HASH });
    expect(await verify(store, { stream: s })).toEqual({ streams: 1, events: 2, breaks: [] });
  });

  it('given the same sealed batch appended twice at the same expected revision, then the server keeps one copy and reports the revision of that batch', async () => {
    const s = uniq('credential');
    const sealed = sealEvents([{ type: 'CreditGranted', data: { amount: 1, at: AT } }], {
      stream: s, lastRevision: -1, lastHash: GENESIS_HASH, commandId: 'k1', correlationId: 'k1', causationId: 'k1', occurredAt: AT,
    });
    const batch = sealed.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: { ...e.metadata } }));
    await store.append(s, batch, 'no_stream');
    expect(await store.append(s, batch, 'no_stream')).toEqual({ nextExpectedRevision: 0 });
    expect(await readAllOf(s)).toHaveLength(1);
    // Even after another writer moved the stream on, the duplicate reports its own batch's revision.
    await store.append(s, [{ id: randomUUID(), type: 'CreditGranted', data: {}, metadata: {} }], 0);
    expect(await store.append(s, batch, 'no_stream')).toEqual({ nextExpectedRevision: 0 });
    expect(await readAllOf(s)).toHaveLength(2);
  });

  it('given a command redelivered after the stream moved on, then nothing is appended twice', async () => {
    const s = uniq('hsm');
    await handleCommand(store, cmd(s, 'rec/0/1'));
    await handleCommand(store, cmd(s, 'rec/0/2'));
    const again = await handleCommand(store, cmd(s, 'rec/0/1'));
    expect(again).toMatchObject({ alreadyApplied: true, events: [], revision: 1 });
    expect(await readAllOf(s)).toHaveLength(2);
  });

  it('given many writers racing on one stream, then every command lands once, in a chain that verifies', async () => {
    const s = uniq('allocation');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => handleCommand(store, cmd(s, `w${i}`, 1), { retries: 20, initialBackoffMs: 5, maxBackoffMs: 50 })),
    );
    expect(results.every((r) => r.events.length === 1)).toBe(true);
    const stored = await readAllOf(s);
    expect(stored.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(stored.map((e) => (e.metadata as { commandId: string }).commandId)).size).toBe(6);
    expect((await verify(store, { stream: s })).breaks).toEqual([]);
    expect((await loadStream(store, s, ledger)).state).toBe(6);
  });

  it('given a stale expected revision, then the adapter raises our ConcurrencyError, marked retriable', async () => {
    const s = uniq('userkey');
    await handleCommand(store, cmd(s, 'c1'));
    const err = await store
      .append(s, [{ id: randomUUID(), type: 'CreditGranted', data: {}, metadata: {} }], 'no_stream')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect((err as ConcurrencyError).retriable).toBe(true);
  });

  it('given a tombstoned stream, then appending raises our StreamDeletedError, not retriable', async () => {
    const s = uniq('credential');
    await handleCommand(store, cmd(s, 'c1'));
    await store.raw.tombstoneStream(s);
    const err = await store.append(s, [{ id: randomUUID(), type: 'CreditGranted', data: {}, metadata: {} }], 'any').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamDeletedError);
    expect((err as StreamDeletedError).retriable).toBe(false);
  });

  it('given a soft-deleted stream written again, then the handler says the chain cannot hold and verify flags the gap', async () => {
    const s = uniq('credential');
    await handleCommand(store, cmd(s, 'c1'));
    await store.raw.deleteStream(s);
    await expect(handleCommand(store, cmd(s, 'c2'))).rejects.toMatchObject({ code: 'CHAIN_POSITION' });
    expect((await verify(store, { stream: s })).breaks).toEqual([expect.objectContaining({ reason: 'revision-gap', expected: '0', found: '1' })]);
  });

  it('given a stream that does not exist, then reading it yields nothing', async () => {
    expect(await readAllOf(uniq('credential'))).toEqual([]);
  });

  it('given events written by the raw client, then the adapter reads them back with revisions as numbers', async () => {
    const s = uniq('raw');
    await store.raw.appendToStream(s, [jsonEvent({ type: 'Thing', data: { a: 1 } }), jsonEvent({ type: 'Thing', data: { a: 2 } })]);
    const got = await readAllOf(s);
    expect(got.map((e) => [e.revision, e.type, e.data])).toEqual([
      [0, 'Thing', { a: 1 }],
      [1, 'Thing', { a: 2 }],
    ]);
    expect(got[0].recordedAt).toBeInstanceOf(Date);
  });
});
