import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, tf } from '../../models/backend';
import { simulate } from '../../models/sim/simulate';
import { computeFeatures } from '../../projections/offline';
import { ACCESS_FEATURE_NAMES } from '../../models/feature-spec';
import { HORIZONS, HORIZON_HOURS, groupPairs } from '../../models/access/dataset';
import { createSeqNet } from '../../models/nn/seqnet';
import { NET_FEATURES, FORECAST_HOURS } from '../../models/workload/spec';
import { LoadedModels, ModelMetadata, loadModels, saveModels, disposeModels } from '../../models/store';
import { featurePendingKey, Scorer, rounds } from '../../models/scorer/core';

function models(seed: number, version: string): LoadedModels {
  const F = ACCESS_FEATURE_NAMES.length;
  const access = { net: createSeqNet({ inputs: F, units: 8, hidden: 8, outputs: HORIZONS.length }, seed), scaler: { mean: new Array(F).fill(0), std: new Array(F).fill(1) }, horizons: HORIZONS, horizonHours: HORIZON_HOURS, featureNames: ACCESS_FEATURE_NAMES };
  const workload = { net: createSeqNet({ inputs: NET_FEATURES, units: 8, hidden: 8, outputs: FORECAST_HOURS }, seed + 1, { outputScale: 0.1 }), scaler: { mean: new Array(NET_FEATURES).fill(0), std: new Array(NET_FEATURES).fill(1) }, windowMs: 900_000, hw: { alpha: 0.15, beta: 0, gamma: 0.3 }, residualScale: 0.5 };
  const metadata = { version, access: { horizons: HORIZONS, horizonHours: HORIZON_HOURS, shape: access.net.shape, scaler: access.scaler }, workload: { ...workload, net: undefined, shape: workload.net.shape } } as unknown as ModelMetadata;
  return { metadata, access, workload };
}

describe('scorer core', () => {
  const sim = simulate({ users: 4, vms: 4, networks: 1, days: 3, seed: 2 });
  const features = computeFeatures(sim.records);
  const pairs = [...groupPairs(features.access).values()].filter((w) => w.length > 20).slice(0, 3);
  let a: LoadedModels;
  let b: LoadedModels;

  beforeAll(async () => {
    await initBackend('wasm');
    a = models(1, 'A');
    b = models(7, 'B');
  });
  afterAll(() => {
    disposeModels(a);
    disposeModels(b);
  });

  it('given windows one at a time, then each score equals a full rerun of the sequence so far', () => {
    const scorer = new Scorer(a);
    const seq = pairs[0];
    seq.forEach((f, t) => {
      const [risk] = scorer.scoreAccess([f]);
      if (t % 7 === 0 || t === seq.length - 1) {
        const full = Scorer.fullRerunAccess(a, seq.slice(0, t + 1));
        expect(risk.horizonScores.PT1H).toBeCloseTo(full[0], 4);
        expect(risk.horizonScores.P1D).toBeCloseTo(full[5], 4);
      }
    });
    expect(scorer.stats().steps).toBe(seq.length);
  });

  it('given several keys in one batch, then scores equal scoring each key alone, with one step per round', () => {
    const together = new Scorer(a);
    const interleaved = pairs.flatMap((p) => p.slice(0, 10).map((f, i) => ({ f, i }))).sort((x, y) => x.i - y.i).map((x) => x.f);
    const out = together.scoreAccess(interleaved);
    expect(together.stats().steps).toBe(10);
    for (const p of pairs) {
      const alone = new Scorer(a).scoreAccess(p.slice(0, 10));
      const mine = out.filter((r) => r.userId === p[0].userId && r.vmId === p[0].vmId);
      expect(mine.map((r) => r.riskScore)).toEqual(alone.map((r) => r.riskScore));
    }
  });

  it('given a redelivered window, then it is not scored twice', () => {
    const s = new Scorer(a);
    const p = pairs[0].slice(0, 5);
    expect(s.scoreAccess(p)).toHaveLength(5);
    expect(s.scoreAccess([p[3], p[4]])).toHaveLength(0);
    expect(s.stats().duplicates).toBe(2);
  });

  it('given an aborted batch, when rolled back and redone, then the outputs are the same as the first time', () => {
    const s = new Scorer(a);
    s.scoreAccess(pairs[0].slice(0, 5));
    s.begin();
    const first = s.scoreAccess(pairs[0].slice(5, 9));
    s.rollback();
    s.begin();
    const again = s.scoreAccess(pairs[0].slice(5, 9));
    s.commit();
    expect(again).toEqual(first);
  });

  it('given a model swap between batches, then later windows are scored by the new version as if it had run all along', () => {
    const s = new Scorer(a);
    const p = pairs[1];
    s.scoreAccess(p.slice(0, 15));
    s.swap(b);
    const [next] = s.scoreAccess([p[15]]);
    expect(next.modelVersion).toBe('B');
    expect(next.eventId).toContain('/B');
    expect(next.horizonScores.PT1H).toBeCloseTo(Scorer.fullRerunAccess(b, p.slice(0, 16))[0], 4);
  });

  it('given network windows, then workload risks carry a forecast, a peak in the next day and a risk in [0,1]', () => {
    const s = new Scorer(a);
    const out = s.scoreNetwork(features.network.slice(0, 200));
    expect(out.length).toBe(200);
    for (const r of out) {
      expect(r.securityRisk).toBeGreaterThanOrEqual(0);
      expect(r.securityRisk).toBeLessThanOrEqual(1);
      expect(r.predictedPeakTime).toBeGreaterThan(r.timestamp);
      expect(r.predictedPeakTime).toBeLessThan(r.timestamp + 24 * 3_600_000);
      expect(r.predictedCryptoOps).toBeGreaterThanOrEqual(0);
    }
  });

  it('given a batch, then rounds keep one record per key and each key in order', () => {
    const rs = rounds(['a1', 'b1', 'a2', 'a3', 'b2'], (s) => s[0]);
    expect(rs).toEqual([['a1', 'b1'], ['a2', 'b2'], ['a3']]);
  });

  it('given a model saved under wasm, when loaded under the cpu backend, then it scores the same', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foresight-model-'));
    const meta = { ...a.metadata, createdAt: '2026-01-01T00:00:00Z', training: { dataHash: 'abc123' }, access: { ...a.metadata.access } } as unknown as ModelMetadata;
    const { version: _v, format: _f, ...rest } = meta;
    const saved = await saveModels(dir, rest, a.access, a.workload);
    const want = new Scorer(a).scoreAccess(pairs[0].slice(0, 6)).map((r) => r.riskScore);
    await initBackend('cpu');
    try {
      const loaded = loadModels(dir);
      expect(loaded.metadata.version).toBe(saved.version);
      expect(tf.getBackend()).toBe('cpu');
      const got = new Scorer(loaded).scoreAccess(pairs[0].slice(0, 6)).map((r) => r.riskScore);
      got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 5));
      disposeModels(loaded);
    } finally {
      await initBackend('wasm');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});


describe('scorer warm-up after a restart', () => {
  const sim = simulate({ users: 3, vms: 3, networks: 0, days: 2, seed: 6 });
  const access = computeFeatures(sim.records).access.sort((x, y) => x.windowEnd - y.windowEnd);

  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('given history read past the committed point, when the group redelivers the uncommitted windows, then they are emitted once, as an uninterrupted scorer would', () => {
    const m = models(3, 'W');
    try {
      const committed = Math.floor(access.length * 0.6);
      const reference = new Scorer(m).scoreAccess(access);
      const restarted = new Scorer(m);
      restarted.warmUp(access.slice(0, committed + 10), []);
      // The group resumes at the committed offset: the 10 windows folded in but not committed come again.
      const out = restarted.scoreAccess(access.slice(committed));
      const byId = (xs: typeof out) => [...xs].sort((x, y) => (x.eventId < y.eventId ? -1 : 1));
      const want = reference.filter((r) => access.slice(committed).some((f) => f.userId === r.userId && f.vmId === r.vmId && f.windowEnd === r.timestamp));
      expect(byId(out)).toEqual(byId(want));
      // Delivered a second time, they are duplicates.
      expect(restarted.scoreAccess(access.slice(committed, committed + 10))).toHaveLength(0);
    } finally {
      disposeModels(m);
    }
  });

  it('given a batch of warmed-up windows whose transaction aborts, when it is redone, then their outputs come again (regression: the kept outputs were handed out once and the redo found none)', () => {
    const m = models(3, 'W');
    try {
      const committed = Math.floor(access.length * 0.6);
      const restarted = new Scorer(m);
      restarted.warmUp(access, [], new Set(access.slice(committed).map(featurePendingKey)));
      const batch = access.slice(committed, committed + 10);
      restarted.begin();
      const first = restarted.scoreAccess(batch);
      restarted.restore(restarted.end());
      restarted.begin();
      const redo = restarted.scoreAccess(batch);
      restarted.end();
      expect(first.length).toBeGreaterThan(0);
      expect(redo).toEqual(first);
    } finally {
      disposeModels(m);
    }
  });

  it('given the uncommitted windows named (the group offsets read before warm-up), when more than 48 per key come again, then none is lost as a duplicate', () => {
    const m = models(3, 'W');
    const access = computeFeatures(simulate({ users: 2, vms: 2, networks: 0, days: 4, seed: 6 }).records).access.sort((x, y) => x.windowEnd - y.windowEnd);
    try {
      const committed = Math.floor(access.length * 0.1);
      const perKey = new Map<string, number>();
      for (const f of access.slice(committed)) perKey.set(`${f.userId}/${f.vmId}`, (perKey.get(`${f.userId}/${f.vmId}`) ?? 0) + 1);
      expect(Math.max(...perKey.values())).toBeGreaterThan(48);
      const reference = new Scorer(m).scoreAccess(access);
      const restarted = new Scorer(m);
      restarted.warmUp(access, [], new Set(access.slice(committed).map(featurePendingKey)));
      const out = restarted.scoreAccess(access.slice(committed));
      const byId = (xs: typeof out) => [...xs].sort((x, y) => (x.eventId < y.eventId ? -1 : 1));
      const want = reference.filter((r) => access.slice(committed).some((f) => f.userId === r.userId && f.vmId === r.vmId && f.windowEnd === r.timestamp));
      expect(out.length).toBeGreaterThan(0);
      expect(byId(out)).toEqual(byId(want));
    } finally {
      disposeModels(m);
    }
  });
});
