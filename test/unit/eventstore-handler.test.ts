import type { Decider } from '../../core/decider';
import { ConcurrencyError } from '../../core/errors';
import type { Event } from '../../core/event';
import { assertNever } from '../../core/event';
import { TamperError } from '../../eventstore/errors';
import { handleCommand } from '../../eventstore/handler';
import { GENESIS_HASH } from '../../eventstore/hash-chain';
import { eventId } from '../../eventstore/ids';
import { MemoryEventStore } from '../../eventstore/memory-store';
import type { StoredEvent } from '../../eventstore/port';

// A small credential-like aggregate, enough to exercise the handler.
type Cmd = { kind: 'Issue'; at: string; copies?: number } | { kind: 'Revoke'; at: string };
type Ev = Event<'CredentialIssued', { at: string; n: number }> | Event<'CredentialRevoked', { at: string }>;
type St = { active: boolean; issued: number };
const decider: Decider<Cmd, St, Ev> = {
  initialState: { active: false, issued: 0 },
  decide(c, s) {
    switch (c.kind) {
      case 'Issue':
        if (s.active) return [];
        return Array.from({ length: c.copies ?? 1 }, (_, i) => ({ type: 'CredentialIssued' as const, data: { at: c.at, n: s.issued + i } }));
      case 'Revoke':
        return s.active ? [{ type: 'CredentialRevoked', data: { at: c.at } }] : [];
      default:
        return assertNever(c, 'command');
    }
  },
  evolve(s, e) {
    switch (e.type) {
      case 'CredentialIssued':
        return { active: true, issued: s.issued + 1 };
      case 'CredentialRevoked':
        return { ...s, active: false };
      default:
        return assertNever(e, 'event');
    }
  },
};

const S = 'credential-u1_vm1';
const T = '2026-03-01T10:00:00.000Z';
const noSleep = { sleep: async () => {}, random: () => 0 };
const issue = (commandId: string, extra: Partial<{ copies: number }> = {}) => ({
  stream: S,
  decider,
  command: { kind: 'Issue' as const, at: T, ...extra },
  commandId,
  now: T,
});
const revoke = (commandId: string) => ({ stream: S, decider, command: { kind: 'Revoke' as const, at: T }, commandId, now: T });

async function all(store: MemoryEventStore, stream = S): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of store.readStream(stream)) out.push(e);
  return out;
}

describe('handleCommand', () => {
  it('given a new stream, when a command decides two events, then both are appended as one chained batch', async () => {
    const store = new MemoryEventStore();
    const r = await handleCommand(store, { ...issue('c1', { copies: 2 }), correlationId: 'corr', causationId: 'rec-9' });
    expect(r).toMatchObject({ revision: 1, alreadyApplied: false, state: { active: true, issued: 2 } });
    const stored = await all(store);
    expect(stored.map((e) => [e.revision, e.type, e.id])).toEqual([
      [0, 'CredentialIssued', eventId(S, 'c1', 0)],
      [1, 'CredentialIssued', eventId(S, 'c1', 1)],
    ]);
    expect(stored[0].metadata).toMatchObject({ commandId: 'c1', correlationId: 'corr', causationId: 'rec-9', occurredAt: T, prevHash: GENESIS_HASH });
    expect((stored[1].metadata as { prevHash: string }).prevHash).toBe((stored[0].metadata as { hash: string }).hash);
  });

  it('given no correlation or causation id, then both default to the command id', async () => {
    const store = new MemoryEventStore();
    await handleCommand(store, issue('c1'));
    expect((await all(store))[0].metadata).toMatchObject({ correlationId: 'c1', causationId: 'c1' });
  });

  it('given a command already applied, when it is redelivered, then nothing is appended and it says so', async () => {
    const store = new MemoryEventStore();
    await handleCommand(store, issue('c1'));
    const again = await handleCommand(store, issue('c1'));
    expect(again).toMatchObject({ events: [], revision: 0, alreadyApplied: true });
    expect(await all(store)).toHaveLength(1);
  });

  it('given the stream moved on after a command, when that command is redelivered, then it is still recognised', async () => {
    const store = new MemoryEventStore();
    await handleCommand(store, issue('c1'));
    await handleCommand(store, revoke('c2'));
    // Re-deciding 'Issue' on the revoked state would issue again; the commandId in history prevents it.
    const again = await handleCommand(store, issue('c1'));
    expect(again.alreadyApplied).toBe(true);
    expect((await all(store)).map((e) => e.type)).toEqual(['CredentialIssued', 'CredentialRevoked']);
  });

  it('given the same command handled twice concurrently, then the second append is an idempotent no-op', async () => {
    const store = new MemoryEventStore();
    let arrived = 0;
    let release!: () => void;
    const bothRead = new Promise<void>((r) => (release = r));
    store.beforeAppend = async () => {
      if (++arrived === 2) release();
      await bothRead;
    };
    const [a, b] = await Promise.all([handleCommand(store, issue('c1')), handleCommand(store, issue('c1'))]);
    expect(a.events.map((e) => e.id)).toEqual(b.events.map((e) => e.id));
    expect(await all(store)).toHaveLength(1);
  });

  it('given the same command twice and a third writer in between, then the late duplicate is a no-op, not an error', async () => {
    const store = new MemoryEventStore();
    await handleCommand(store, issue('c0'));
    await handleCommand(store, revoke('r0'));
    let arrivals = 0;
    let bothRead!: () => void;
    const bothReadP = new Promise<void>((r) => (bothRead = r));
    let firstDone!: () => void;
    const firstDoneP = new Promise<void>((r) => (firstDone = r));
    store.beforeAppend = async () => {
      if (++arrivals === 1) return bothReadP; // the first waits until the duplicate has read too
      bothRead();
      await firstDoneP; // the duplicate waits for the first to land, then a third writer lands
      store.beforeAppend = undefined;
      await handleCommand(store, revoke('r1'));
    };
    const a = handleCommand(store, issue('c1')).finally(() => firstDone());
    const b = handleCommand(store, issue('c1'));
    const [ra, rb] = await Promise.all([a, b]);
    expect([ra.revision, rb.revision]).toEqual([2, 2]);
    expect(rb.events.map((e) => e.id)).toEqual(ra.events.map((e) => e.id));
    expect((await all(store)).map((e) => e.type)).toEqual(['CredentialIssued', 'CredentialRevoked', 'CredentialIssued', 'CredentialRevoked']);
  });

  it('given a concurrent writer wins the race, then the handler re-reads, re-decides and appends nothing stale', async () => {
    const store = new MemoryEventStore();
    await handleCommand(store, issue('c1'));
    let raced = false;
    store.beforeAppend = async () => {
      if (raced) return;
      raced = true;
      store.beforeAppend = undefined;
      await handleCommand(store, revoke('other-writer'));
    };
    const r = await handleCommand(store, revoke('c2'), noSleep);
    // On the second attempt the credential is already revoked, so 'Revoke' decides nothing.
    expect(r).toMatchObject({ events: [], revision: 1, alreadyApplied: false, state: { active: false } });
    expect((await all(store)).map((e) => e.metadata && (e.metadata as { commandId: string }).commandId)).toEqual(['c1', 'other-writer']);
  });

  it('given conflicts on every attempt, then it gives up with a ConcurrencyError after the retries', async () => {
    const store = new MemoryEventStore();
    let n = 0;
    store.beforeAppend = async (stream) => {
      const saved = store.beforeAppend;
      store.beforeAppend = undefined;
      await handleCommand(store, { ...issue(`intruder-${n}`), stream }, noSleep);
      await handleCommand(store, { ...revoke(`intruder-r-${n++}`), stream }, noSleep);
      store.beforeAppend = saved;
    };
    await expect(handleCommand(store, issue('c1'), { ...noSleep, retries: 2 })).rejects.toBeInstanceOf(ConcurrencyError);
    expect(n).toBe(3);
  });

  it('given a forged event in the stream, then the handler refuses to build on it', async () => {
    const store = new MemoryEventStore();
    await handleCommand(store, issue('c1'));
    store.forge(S, { id: 'f0000000-0000-4000-8000-000000000000', type: 'CredentialRevoked', data: { at: T }, metadata: { hash: 'x', prevHash: 'y' } });
    await expect(handleCommand(store, issue('c2'))).rejects.toBeInstanceOf(TamperError);
    expect(await all(store)).toHaveLength(2);
    // An operator who has looked into it can still run with verification off.
    const r = await handleCommand(store, issue('c2'), { verifyChain: false });
    expect(r.events).toHaveLength(1);
  });

  it('given a command that decides nothing, then nothing is appended and the revision is unchanged', async () => {
    const store = new MemoryEventStore();
    const r = await handleCommand(store, revoke('c1'));
    expect(r).toMatchObject({ events: [], revision: -1, alreadyApplied: false });
  });

  it('given an invalid command time, then it fails before touching the store', async () => {
    const store = new MemoryEventStore();
    await expect(handleCommand(store, { ...issue('c1'), now: 'not a time' })).rejects.toThrow(/not a time/);
  });

  it('given an upcaster, then stored events are converted before they are folded', async () => {
    const store = new MemoryEventStore();
    await handleCommand(store, issue('c1'));
    const seen: number[] = [];
    await handleCommand(store, {
      ...revoke('c2'),
      upcast: (s) => {
        seen.push(s.metadata.schemaVersion);
        return { type: s.type, data: s.data } as Ev;
      },
    });
    expect(seen).toEqual([1]);
  });
});
