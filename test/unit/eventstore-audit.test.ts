import { categoryOf, replay, verify } from '../../eventstore/audit';
import { breakLine, jsonLine, tableRow, verifySummary } from '../../eventstore/audit-format';
import { sealEvents, GENESIS_HASH } from '../../eventstore/hash-chain';
import { MemoryEventStore } from '../../eventstore/memory-store';
import type { RecordedEnvelope } from '../../eventstore/envelope';
import { safeConnectionString } from '../../cli/commands/audit';

async function seed(store: MemoryEventStore, stream: string, types: string[], at: string, commandId = 'c-' + stream): Promise<void> {
  let head = { revision: -1, hash: GENESIS_HASH };
  for await (const e of store.readStream(stream)) head = { revision: e.revision, hash: (e.metadata as { hash: string }).hash };
  const sealed = sealEvents(
    types.map((t, i) => ({ type: t, data: { i } })),
    { stream, lastRevision: head.revision, lastHash: head.hash, commandId, correlationId: 'corr', causationId: commandId, occurredAt: at },
  );
  await store.append(stream, sealed.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: { ...e.metadata } })), head.revision < 0 ? 'no_stream' : head.revision);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function fixture(): Promise<MemoryEventStore> {
  const store = new MemoryEventStore(() => new Date('2030-01-01T00:00:00Z'));
  await seed(store, 'credential-alice_vm1', ['CredentialPreProvisioned', 'CredentialDelivered'], '2026-01-01T08:00:00Z');
  await seed(store, 'hsm-h1', ['PartitionAllocated'], '2026-01-02T08:00:00Z');
  await seed(store, 'credential-bob_vm2', ['CredentialPreProvisioned'], '2026-01-03T08:00:00Z');
  await seed(store, 'credential-alice_vm1', ['CredentialRevoked'], '2026-01-04T08:00:00Z', 'c-later');
  store.forge('$$credential-alice_vm1', { id: '00000000-0000-4000-8000-000000000001', type: '$metadata', data: {}, metadata: undefined });
  return store;
}

const key = (e: RecordedEnvelope) => `${e.stream}@${e.revision}`;

describe('audit replay', () => {
  it('given no filter, then every non-system event comes oldest first', async () => {
    const got = (await collect(replay(await fixture()))).map(key);
    expect(got).toEqual(['credential-alice_vm1@0', 'credential-alice_vm1@1', 'hsm-h1@0', 'credential-bob_vm2@0', 'credential-alice_vm1@2']);
  });

  it('given a category, a type or a stream, then only matching events come', async () => {
    const store = await fixture();
    expect((await collect(replay(store, { category: 'credential' }))).length).toBe(4);
    expect((await collect(replay(store, { type: 'CredentialPreProvisioned' }))).map(key)).toEqual(['credential-alice_vm1@0', 'credential-bob_vm2@0']);
    expect((await collect(replay(store, { stream: 'credential-alice_vm1' }))).map(key)).toEqual([
      'credential-alice_vm1@0',
      'credential-alice_vm1@1',
      'credential-alice_vm1@2',
    ]);
  });

  it('given a time range, then it filters on the event time from metadata, since inclusive, until exclusive', async () => {
    const got = await collect(replay(await fixture(), { since: new Date('2026-01-02T08:00:00Z'), until: new Date('2026-01-04T08:00:00Z') }));
    expect(got.map(key)).toEqual(['hsm-h1@0', 'credential-bob_vm2@0']);
  });

  it('given both a stream and a category, then it refuses', async () => {
    await expect(collect(replay(await fixture(), { stream: 'a-1', category: 'a' }))).rejects.toThrow(/not both/);
  });

  it('categoryOf takes the part before the first dash', () => {
    expect(categoryOf('credential-alice_vm-1')).toBe('credential');
    expect(categoryOf('plain')).toBe('plain');
  });
});

describe('audit verify', () => {
  it('given untouched streams, then all verify', async () => {
    const r = await verify(await fixture());
    expect(r).toEqual({ streams: 3, events: 5, breaks: [] });
    expect(verifySummary(r)).toBe('ok: 3 streams, 5 events verified');
  });

  it('given a modified copy of an event appended raw, then verify names that stream and revision', async () => {
    const store = await fixture();
    const [last] = await collect(replay(store, { stream: 'hsm-h1' }));
    store.forge('hsm-h1', { id: '00000000-0000-4000-8000-000000000002', type: last.type, data: { i: 99 }, metadata: last.metadata });
    await seed(store, 'allocation-n1', ['HsmCapacityAllocated'], '2026-01-05T00:00:00Z');
    const r = await verify(store);
    expect(r.breaks).toEqual([
      expect.objectContaining({ stream: 'hsm-h1', revision: 1, reason: 'prev-hash-mismatch', expected: last.metadata.hash, found: last.metadata.prevHash }),
    ]);
    expect(r.streams).toBe(4);
    expect(breakLine(r.breaks[0])).toMatch(/^BROKEN hsm-h1 at revision 1 .*prev-hash-mismatch/);
    expect(verifySummary(r)).toMatch(/1 of 4 streams broken/);
  });

  it('given a forged event with the right prevHash but a made-up hash, then the hash mismatch is caught', async () => {
    const store = await fixture();
    const [last] = await collect(replay(store, { stream: 'credential-bob_vm2' }));
    store.forge('credential-bob_vm2', {
      id: '00000000-0000-4000-8000-000000000003',
      type: 'CredentialDelivered',
      data: {},
      metadata: { ...last.metadata, prevHash: last.metadata.hash, hash: 'f'.repeat(64) },
    });
    const r = await verify(store, { stream: 'credential-bob_vm2' });
    expect(r.breaks).toEqual([expect.objectContaining({ revision: 1, reason: 'hash-mismatch', found: 'f'.repeat(64) })]);
  });

  it('given a category scope, then other categories are not checked', async () => {
    const store = await fixture();
    store.forge('hsm-h1', { id: '00000000-0000-4000-8000-000000000004', type: 'X', data: {}, metadata: undefined });
    expect((await verify(store, { category: 'credential' })).breaks).toEqual([]);
    expect((await verify(store, { category: 'hsm' })).breaks).toHaveLength(1);
  });
});

describe('audit output', () => {
  const e: RecordedEnvelope = {
    id: 'id-1',
    stream: 'credential-alice_vm1',
    revision: 3,
    type: 'CredentialPreProvisioned',
    data: { userId: 'alice', long: 'x'.repeat(200) },
    metadata: { correlationId: 'c', causationId: 'c', commandId: 'c', schemaVersion: 1, occurredAt: '2026-01-01T00:00:00.000Z', prevHash: 'p', hash: 'h' },
    recordedAt: new Date('2030-01-01T00:00:00Z'),
    commitPosition: 12n,
  };

  it('a table row shows event time, stream, revision, type and a clipped data summary', () => {
    const row = tableRow(e);
    expect(row.startsWith('2026-01-01T00:00:00.000Z  credential-alice_vm1')).toBe(true);
    expect(row).toContain('    3  CredentialPreProvisioned');
    expect(row.endsWith('…')).toBe(true);
  });

  it('a JSON line carries everything, positions as strings', () => {
    expect(JSON.parse(jsonLine(e))).toMatchObject({ time: '2026-01-01T00:00:00.000Z', recordedAt: '2030-01-01T00:00:00.000Z', commitPosition: '12', metadata: { hash: 'h' } });
  });

  it('a connection string printed in an error hides credentials', () => {
    expect(safeConnectionString('esdb://admin:changeit@host:2113?tls=true')).toBe('esdb://***@host:2113?tls=true');
  });
});
