import { resolveOptions, createTables } from '../../projections/engines';
import { Task, type InputRecord, type InputTopic, type FeatureOutput } from '../../projections/task';
import { simulate } from '../../models/sim/simulate';
import type { VmAccess, UserActivity } from '../../schemas/types';

/** A tiny deterministic PRNG so the "random" crash points are the same on every run. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

type Log = Map<string, Buffer | null>;

/** Splits records by (topic, partition) the way a producer would, with offsets. */
function partitionsOf(recs: Array<{ topic: InputTopic; key: string; value: VmAccess | UserActivity }>, n: number) {
  const parts = new Map<string, InputRecord[]>();
  for (const r of recs) {
    let h = 0;
    for (const c of r.key) h = (h * 31 + c.charCodeAt(0)) | 0;
    const p = Math.abs(h) % n;
    const k = `${r.topic}|${p}`;
    const list = parts.get(k) ?? parts.set(k, []).get(k)!;
    list.push({ offset: String(list.length), topic: r.topic, value: r.value });
  }
  return parts;
}

/**
 * Runs the access tasks over the partitions in batches of random size, interleaving inputs;
 * with `crashes`, state is thrown away at random points and rebuilt from the committed
 * changelog, and input resumes at the committed offsets (uncommitted work is lost, as in Kafka).
 */
function run(parts: Map<string, InputRecord[]>, n: number, seed: number, crashes: boolean, staleOffsets = false, stats = { late: 0, duplicates: 0 }): FeatureOutput[] {
  const rnd = lcg(seed);
  const o = resolveOptions();
  const tables = createTables();
  const committedLog: Log = new Map();
  const committedOffsets = new Map<string, number>();
  const previousOffsets = new Map<string, number>();
  const committedOut: FeatureOutput[] = [];
  const mk = (p: number) => Task.restore('access', p, committedLog, o, tables, { idleMs: Infinity, now: 0 });
  let tasks = new Map<number, Task>();
  const task = (p: number) => tasks.get(p) ?? tasks.set(p, mk(p)).get(p)!;
  for (;;) {
    const pending = [...parts.entries()].filter(([k, l]) => (committedOffsets.get(k) ?? 0) < l.length);
    if (!pending.length) break;
    const [k, list] = pending[Math.floor(rnd() * pending.length)];
    const [topic, pStr] = k.split('|') as [InputTopic, string];
    let from = committedOffsets.get(k) ?? 0;
    // A new owner that read the group offset from before the last commit's markers landed
    // (no KIP-447 require_stable in kafkajs): the batch starts before the changelog state.
    const stale = staleOffsets && previousOffsets.has(k) && rnd() < 0.3;
    if (stale) {
      from = previousOffsets.get(k)!;
      tasks = new Map();
    }
    const batch = list.slice(from, from + 1 + Math.floor(rnd() * 40));
    const t = task(Number(pStr));
    const res = t.process(topic, t.unapplied(topic, batch), 0);
    if (crashes && rnd() < 0.15) {
      tasks = new Map(); // killed before the commit: outputs and state of this batch are lost
      continue;
    }
    committedOut.push(...res.outputs);
    stats.late += res.late.length;
    stats.duplicates += res.duplicates;
    for (const c of res.changelog) committedLog.set(c.key, c.value);
    previousOffsets.set(k, committedOffsets.get(k) ?? 0);
    committedOffsets.set(k, Math.max(from + batch.length, committedOffsets.get(k) ?? 0));
  }
  return committedOut;
}

describe('Task (changelog-backed state)', () => {
  const sim = simulate({ users: 12, vms: 8, networks: 1, days: 3, seed: 7 });
  const recs = sim.records.filter((r) => r.topic === 'telemetry.vm-access' || r.topic === 'telemetry.user-activity') as Array<{
    topic: InputTopic; key: string; value: VmAccess | UserActivity;
  }>;
  const parts = partitionsOf(recs, 3);
  const sortById = (xs: FeatureOutput[]) => [...xs].sort((a, b) => (a.value.eventId < b.value.eventId ? -1 : 1));

  it('given random batch boundaries and interleavings, then the features are the same set', () => {
    const a = run(parts, 3, 1, false);
    const b = run(parts, 3, 2, false);
    expect(a.length).toBeGreaterThan(100);
    expect(sortById(b)).toEqual(sortById(a));
  });

  it('given kills at random points and restarts from the changelog, then the features equal an uninterrupted run, without duplicates', () => {
    const clean = sortById(run(parts, 3, 1, false));
    for (const seed of [3, 4, 5]) {
      const crashed = run(parts, 3, seed, true);
      const ids = crashed.map((f) => f.value.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(sortById(crashed)).toEqual(clean);
    }
  });

  it('given a new owner whose batch starts before the committed changelog state, then the records already applied are skipped: the same features, none of them counted late or duplicate', () => {
    const cleanStats = { late: 0, duplicates: 0 };
    const clean = sortById(run(parts, 3, 1, false, false, cleanStats));
    for (const seed of [6, 7]) {
      const stats = { late: 0, duplicates: 0 };
      const redelivered = run(parts, 3, seed, false, true, stats);
      // Folded again, they would count as duplicates, or as late once their windows closed.
      expect(stats).toEqual(cleanStats);
      const ids = redelivered.map((f) => f.value.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(sortById(redelivered)).toEqual(clean);
    }
  });

  it('given a fresh task, then its watermark waits for both co-partitioned inputs', () => {
    const t = Task.restore('access', 0, new Map(), resolveOptions(), createTables(), { idleMs: Infinity, now: 0 });
    const v: VmAccess = { eventId: 'a', timestamp: Date.UTC(2026, 0, 5, 5), userId: 'u', vmId: 'v', action: 'CONNECT', success: true, source: 's' };
    t.process('telemetry.vm-access', [{ offset: '0', topic: 'telemetry.vm-access', value: v }], 0);
    expect(t.watermark).toBe(-Infinity);
  });

  it('given an input idle for longer than idleMs, then it stops holding the watermark back', () => {
    const t = Task.restore('access', 0, new Map(), resolveOptions(), createTables(), { idleMs: 1000, now: 0 });
    const v = (id: string, h: number): InputRecord => ({
      offset: id, topic: 'telemetry.vm-access',
      value: { eventId: id, timestamp: Date.UTC(2026, 0, 5, h), userId: 'u', vmId: 'v', action: 'CONNECT', success: true, source: 's' },
    });
    t.process('telemetry.vm-access', [v('0', 1)], 500);
    const out = t.process('telemetry.vm-access', [v('1', 3)], 2000);
    expect(t.watermark).toBe(Date.UTC(2026, 0, 5, 3));
    expect(out.outputs.map((f) => f.value.windowStart)).toEqual([Date.UTC(2026, 0, 5, 1)]);
  });
});
