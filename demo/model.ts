import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../models/backend';
import { featuresOf, metadataOf, trainModels } from '../models/pipeline';
import { progressBar } from '../models/progress';
import { simulate } from '../models/sim/simulate';
import { readMetadata, saveModels } from '../models/store';

/** The demo's training set: a fixed small population, a week of telemetry. */
export interface TrainingSpec {
  users: number;
  vms: number;
  networks: number;
  days: number;
  seed: number;
  epochs: number;
  workloadEpochs: number;
}

export const DEMO_TRAINING: TrainingSpec = { users: 20, vms: 12, networks: 3, days: 7, seed: 7, epochs: 3, workloadEpochs: 2 };

/** Where the model for a training spec is cached: FORESIGHT_HOME/models/demo-<hash of the spec>. */
export function modelDirFor(home: string, spec: TrainingSpec): string {
  const h = crypto.createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 10);
  return path.join(home, 'models', `demo-${h}`);
}

/**
 * The cached model when there is one; else simulates the training week and trains a small
 * model with a progress bar (seconds to a minute on two cores). Returns its directory.
 */
export async function ensureDemoModel(home: string, spec: TrainingSpec, say: (line: string) => void): Promise<{ dir: string; version: string; trained: boolean }> {
  const dir = modelDirFor(home, spec);
  if (fs.existsSync(path.join(dir, 'metadata.json'))) {
    const meta = readMetadata(dir);
    return { dir, version: meta.version, trained: false };
  }
  const backend = await initBackend();
  const sim = simulate({ users: spec.users, vms: spec.vms, networks: spec.networks, days: spec.days, seed: spec.seed });
  say(`no model yet: training one on ${spec.days} simulated days (${sim.records.length} records, ${backend} backend)`);
  const features = featuresOf(sim.records);
  const bar = progressBar();
  const trained = await trainModels(features, {
    holdout: 0.2,
    epochs: spec.epochs,
    workloadEpochs: spec.workloadEpochs,
    seed: spec.seed,
    onProgress: (phase, e, n, frac, loss) => bar.update(`  ${phase.padEnd(8)} epoch ${e}/${n}`, (e - 1 + frac) / n, `loss ${loss.toFixed(4)}`),
  });
  bar.done();
  const dataHash = crypto.createHash('sha256').update(JSON.stringify(spec)).digest('hex');
  const meta = metadataOf(trained, features, { createdAt: new Date().toISOString(), backend, dataHash, records: sim.records.length });
  const saved = await saveModels(dir, { ...meta, metrics: {} }, trained.access.model, trained.workload?.model ?? null);
  return { dir, version: saved.version, trained: true };
}
