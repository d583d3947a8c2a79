/**
 * Models: what the incremental scorer buys, and what training costs, in one run.
 * - Access scoring throughput (windows/s): the incremental scorer (one GRU step per new window,
 *   batched across keys) vs rerunning each key's whole sequence for every new window, the same
 *   model and windows; and batched across keys vs one key per call.
 * - Training time per epoch of the access model on the backend in use (tfjs-node, else wasm) vs
 *   the plain tfjs cpu backend, same data, same seed.
 * Models here are untrained (random weights of the real shape) for scoring; the arithmetic per
 * window does not depend on the weights.
 */
import { initBackend, tf } from '../models/backend';
import { fitAccess } from '../models/access/fit';
import { dataStart, dataEnd } from '../models/access/dataset';
import { randomModels } from '../models/random-models';
import { Scorer } from '../models/scorer/core';
import { disposeModels } from '../models/store';
import { simulate } from '../models/sim/simulate';
import { computeFeatures } from '../projections/offline';
import type { AccessFeatures } from '../schemas/types';
import type { Benchmark, BenchResult } from './types';

function byTime(xs: AccessFeatures[]): AccessFeatures[] {
  return [...xs].sort((a, b) => a.windowEnd - b.windowEnd || (a.userId + a.vmId < b.userId + b.vmId ? -1 : 1));
}

export const benchmark: Benchmark = {
  id: 'models',
  needs: [],
  async run(ctx) {
    const backend = await initBackend();
    const results: BenchResult[] = [];
    const sim = simulate({ users: ctx.quick ? 10 : 30, vms: ctx.quick ? 8 : 20, networks: 0, days: ctx.quick ? 4 : 10, seed: 3 });
    const windows = byTime(computeFeatures(sim.records).access);
    const models = randomModels(1);
    try {
      // Incremental, batched across keys: windows arrive in event-time order, in batches.
      const warm = Math.floor(windows.length * 0.8);
      const timed = windows.slice(warm);
      const inc = new Scorer(models);
      for (let i = 0; i < warm; i += 256) inc.scoreAccess(windows.slice(i, Math.min(warm, i + 256)));
      let t = performance.now();
      for (let i = 0; i < timed.length; i += 256) inc.scoreAccess(timed.slice(i, i + 256));
      const incRate = timed.length / ((performance.now() - t) / 1000);

      // One key per call: incremental but not batched.
      const single = new Scorer(models);
      for (let i = 0; i < warm; i += 256) single.scoreAccess(windows.slice(i, Math.min(warm, i + 256)));
      const sample = timed.slice(0, ctx.quick ? 150 : 400);
      t = performance.now();
      for (const w of sample) single.scoreAccess([w]);
      const singleRate = sample.length / ((performance.now() - t) / 1000);

      // Full rerun: every new window reruns its key's whole history.
      const history = new Map<string, AccessFeatures[]>();
      for (const w of windows.slice(0, warm)) {
        const k = `${w.userId}|${w.vmId}`;
        history.set(k, [...(history.get(k) ?? []), w]);
      }
      const rerunSample = timed.slice(0, ctx.quick ? 20 : 60);
      t = performance.now();
      for (const w of rerunSample) {
        const k = `${w.userId}|${w.vmId}`;
        const h = [...(history.get(k) ?? []), w];
        history.set(k, h);
        Scorer.fullRerunAccess(models, h);
      }
      const rerunRate = rerunSample.length / ((performance.now() - t) / 1000);
      const meanHistory = rerunSample.reduce((s, w) => s + (history.get(`${w.userId}|${w.vmId}`)?.length ?? 0), 0) / rerunSample.length;
      ctx.log(`scoring on ${backend}: incremental ${incRate.toFixed(0)}/s, one key per call ${singleRate.toFixed(0)}/s, full rerun ${rerunRate.toFixed(1)}/s (mean history ${meanHistory.toFixed(0)} windows)`);
      results.push({
        name: `Access scoring throughput, incremental (${backend})`,
        baseline: `full-sequence rerun per window (mean history ${meanHistory.toFixed(0)} windows)`,
        baselineValue: rerunRate,
        subjectValue: incRate,
        unit: 'windows/s',
        ratio: incRate / rerunRate,
        higherIsBetter: true,
        note: 'same untrained model of the real shape, same windows in event-time order, batches of 256',
      });
      results.push({
        name: `Access scoring throughput, batched across keys (${backend})`,
        baseline: 'incremental, one key per call',
        baselineValue: singleRate,
        subjectValue: incRate,
        unit: 'windows/s',
        ratio: incRate / singleRate,
        higherIsBetter: true,
      });
    } finally {
      disposeModels(models);
    }

    // Training time per epoch: the chosen backend vs plain cpu, same data and seed.
    const small = computeFeatures(simulate({ users: ctx.quick ? 6 : 12, vms: ctx.quick ? 5 : 8, networks: 0, days: ctx.quick ? 5 : 7, seed: 4 }).records).access;
    const start = dataStart(small);
    const until = start + Math.floor((dataEnd(small) - start) * 0.7);
    const epochMs = async (): Promise<number> => {
      const fit = await fitAccess(small, { trainFrom: start, trainUntil: until, epochs: 1, seed: 1 });
      tf.dispose(Object.values(fit.model.net.vars));
      return fit.stats.msByEpoch[0];
    };
    const chosen = await epochMs();
    await initBackend('cpu');
    let cpu: number;
    try {
      cpu = await epochMs();
    } finally {
      await initBackend();
    }
    ctx.log(`training: ${chosen.toFixed(0)} ms/epoch on ${backend}, ${cpu.toFixed(0)} ms/epoch on cpu`);
    results.push({
      name: `Access-model training time per epoch (${backend})`,
      baseline: 'the same epoch on the plain tfjs cpu backend',
      baselineValue: cpu,
      subjectValue: chosen,
      unit: 'ms/epoch',
      ratio: cpu / chosen,
      higherIsBetter: false,
      note: `ratio = cpu / ${backend} (lower is better, so >1 means ${backend} is faster); ${small.length} windows`,
    });
    return results;
  },
};
