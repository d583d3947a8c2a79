import { canonicalJson } from '../../eventstore/canonical-json';
import { GENESIS_HASH, computeHash, sealEvents, verifyNext, EMPTY_HEAD, type ChainHead } from '../../eventstore/hash-chain';
import { commandIdFromRecord, eventId, isUuid, uuidV5 } from '../../eventstore/ids';

const DNS_NS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

describe('deterministic ids', () => {
  it('given the RFC 4122 example name, then uuidV5 matches the published v5 value', () => {
    expect(uuidV5('www.example.com', DNS_NS)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('given the same stream, command and index, then the id is the same; any part changed, it differs', () => {
    const a = eventId('credential-u1_vm1', 'cmd-1', 0);
    expect(isUuid(a)).toBe(true);
    expect(eventId('credential-u1_vm1', 'cmd-1', 0)).toBe(a);
    expect(new Set([a, eventId('credential-u1_vm1', 'cmd-1', 1), eventId('credential-u1_vm2', 'cmd-1', 0), eventId('credential-u1_vm1', 'cmd-2', 0)]).size).toBe(4);
  });

  it('given Kafka coordinates, then the command id names topic, partition and offset', () => {
    expect(commandIdFromRecord('risk.access', 3, 42n)).toBe('kafka:risk.access/3/42');
  });
});

describe('canonical JSON', () => {
  it('given objects with keys in different orders, then the text is the same', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: true } })).toBe(canonicalJson({ a: { c: true, d: [1, 'x', null] }, b: 1 }));
    expect(canonicalJson({ b: 1, a: undefined })).toBe('{"b":1}');
  });

  it('given a value JSON cannot hold, then it refuses', () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/not representable/);
    expect(() => canonicalJson({ x: 1n })).toThrow(/bigint/);
  });
});

const ctx = {
  stream: 'credential-u1_vm1',
  lastRevision: -1,
  lastHash: GENESIS_HASH,
  commandId: 'cmd-1',
  correlationId: 'corr-1',
  causationId: 'cause-1',
  occurredAt: '2026-01-02T03:04:05.000Z',
};
const decided = [
  { type: 'CredentialPreProvisioned', data: { userId: 'u1', vmId: 'vm1', expiresAt: new Date('2026-01-03T00:00:00Z') } },
  { type: 'UserNotified', data: { userId: 'u1' } },
];

describe('hash chain', () => {
  it('given two decided events on a new stream, then ids, revisions and hashes chain from genesis', () => {
    const sealed = sealEvents(decided, ctx);
    expect(sealed.map((e) => e.revision)).toEqual([0, 1]);
    expect(sealed[0].metadata.prevHash).toBe(GENESIS_HASH);
    expect(sealed[1].metadata.prevHash).toBe(sealed[0].metadata.hash);
    expect(sealed[0].id).toBe(eventId(ctx.stream, 'cmd-1', 0));
    // data is held in its stored (JSON) form, so the hash is over what the store gives back
    expect(sealed[0].data.expiresAt).toBe('2026-01-03T00:00:00.000Z');
    expect(sealed[0].metadata).toMatchObject({ correlationId: 'corr-1', causationId: 'cause-1', commandId: 'cmd-1', schemaVersion: 1, occurredAt: ctx.occurredAt });
  });

  it('given the same inputs twice, then the hashes are identical (nothing reads a clock)', () => {
    expect(sealEvents(decided, ctx)).toEqual(sealEvents(decided, ctx));
  });

  it('given sealed events read back after a JSON round trip with reordered keys, then every event verifies', () => {
    const sealed = sealEvents(decided, ctx);
    let head: ChainHead = EMPTY_HEAD;
    for (const e of sealed) {
      const stored = JSON.parse(JSON.stringify({ ...e, data: Object.fromEntries(Object.entries(e.data).reverse()) }));
      const r = verifyNext(head, stored);
      if (!('head' in r)) throw new Error(JSON.stringify(r.break));
      head = r.head;
    }
    expect(head).toEqual({ revision: 1, hash: sealed[1].metadata.hash });
  });

  it('given a modified data field, then verify reports a hash mismatch at that revision', () => {
    const [first] = sealEvents(decided, ctx);
    const forged = { ...first, data: { ...first.data, vmId: 'vm-other' } };
    const r = verifyNext(EMPTY_HEAD, forged);
    expect('break' in r && r.break).toMatchObject({ reason: 'hash-mismatch', revision: 0, found: first.metadata.hash });
  });

  it('given an event copied to another position, then its prevHash no longer matches', () => {
    const sealed = sealEvents(decided, ctx);
    const head = { revision: 1, hash: sealed[1].metadata.hash };
    const copy = { ...sealed[0], revision: 2 };
    const r = verifyNext(head, copy);
    expect('break' in r && r.break.reason).toBe('prev-hash-mismatch');
  });

  it('given an event with a recomputed prevHash but a changed revision, then the hash does not match', () => {
    const [first] = sealEvents(decided, ctx);
    const moved = { ...first, revision: 1, metadata: { ...first.metadata } };
    const r = verifyNext({ revision: 0, hash: first.metadata.prevHash }, moved);
    expect('break' in r && r.break.reason).toBe('hash-mismatch');
  });

  it('given an event without our metadata, or a gap in revisions, then it names the break', () => {
    const e = { id: 'x', stream: 's-1', revision: 0, type: 'Forged', data: {}, metadata: undefined };
    expect(verifyNext(EMPTY_HEAD, e)).toMatchObject({ break: { reason: 'missing-metadata', found: 'none' } });
    expect(verifyNext(EMPTY_HEAD, { ...e, revision: 3 })).toMatchObject({ break: { reason: 'revision-gap', expected: '0', found: '3' } });
  });

  it('given a hash input, then computeHash is a 64-hex sha256', () => {
    const [first] = sealEvents(decided, ctx);
    expect(computeHash(first)).toMatch(/^[0-9a-f]{64}$/);
    expect(computeHash(first)).toBe(first.metadata.hash);
  });
});
