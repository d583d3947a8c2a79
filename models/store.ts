import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidInputError } from '../core/errors';
import { tf } from './backend';
import { Logistic } from './baselines/logistic';
import { Scaler } from './feature-spec';
import { AccessModel } from './access/fit';
import { SeqNetShape, seqNetFromTensors, seqNetTensors, disposeSeqNet } from './nn/seqnet';
import { HwParams } from './workload/holt-winters';
import { WorkloadModel } from './workload/forecaster';

/**
 * A model directory: metadata.json (version, feature spec, horizons, training-data hash,
 * metrics, backend), model.json (tf.io weight manifest) and weights.bin. Written through tf.io's
 * weight encoding, not a backend's file handler, so a directory saved under wasm loads under
 * tfjs-node and back. metadata.json is written last: a reader that sees it sees whole weights.
 */
export const MODEL_FORMAT = 'foresight-models/1';

export interface ModelMetadata {
  format: typeof MODEL_FORMAT;
  version: string;
  createdAt: string;
  backend: string;
  featureVersion: number;
  access: {
    specVersion: number;
    featureNames: string[];
    horizons: string[];
    horizonHours: number[];
    primaryHorizon: string;
    reportedHorizons: string[];
    shape: SeqNetShape;
    scaler: Scaler;
    epochs: number;
    lossByEpoch: number[];
    msByEpoch: number[];
  };
  workload: {
    shape: SeqNetShape;
    scaler: Scaler;
    windowMs: number;
    hw: HwParams;
    residualScale: number;
    forecastHours: number;
    epochs: number;
    lossByEpoch: number[];
    msByEpoch: number[];
  } | null;
  baselines: { logistic: Logistic };
  training: {
    dataHash: string;
    records: number;
    trainFrom: number;
    trainUntil: number;
    dataEnd: number;
    accessWindows: number;
    networkWindows: number;
  };
  /** Held-out metrics measured right after training (what `evaluate` prints for the same file). */
  metrics: Record<string, unknown>;
}

export interface LoadedModels {
  metadata: ModelMetadata;
  access: AccessModel;
  workload: WorkloadModel | null;
}

export function disposeModels(m: LoadedModels): void {
  disposeSeqNet(m.access.net);
  if (m.workload) disposeSeqNet(m.workload.net);
}

export function hashFile(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export async function saveModels(dir: string, meta: Omit<ModelMetadata, 'version' | 'format'>, access: AccessModel, workload: WorkloadModel | null): Promise<ModelMetadata> {
  const tensors = { ...seqNetTensors(access.net, 'access'), ...(workload ? seqNetTensors(workload.net, 'workload') : {}) };
  const { data, specs } = await tf.io.encodeWeights(tensors);
  const weights = Buffer.from(data);
  const weightsHash = crypto.createHash('sha256').update(weights).digest('hex');
  const version = `${meta.createdAt.slice(0, 10).replace(/-/g, '')}-${meta.training.dataHash.slice(0, 6)}-${weightsHash.slice(0, 8)}`;
  const full: ModelMetadata = { format: MODEL_FORMAT, version, ...meta };
  fs.mkdirSync(dir, { recursive: true });
  const write = (name: string, content: string | Buffer) => {
    const tmp = path.join(dir, `.${name}.tmp`);
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, path.join(dir, name));
  };
  write('weights.bin', weights);
  write('model.json', JSON.stringify({ format: MODEL_FORMAT, version, weightsManifest: [{ paths: ['weights.bin'], weights: specs }] }, null, 1));
  write('metadata.json', JSON.stringify(full, null, 1) + '\n');
  return full;
}

export function readMetadata(dir: string): ModelMetadata {
  const p = path.join(dir, 'metadata.json');
  if (!fs.existsSync(p)) throw new InvalidInputError(`${dir}: no model here (no metadata.json); make one with 'foresight train --input FILE.jsonl --out ${dir}'`);
  const meta = JSON.parse(fs.readFileSync(p, 'utf8')) as ModelMetadata;
  if (meta.format !== MODEL_FORMAT) throw new InvalidInputError(`${dir}: model format ${String(meta.format)} is not ${MODEL_FORMAT}; retrain with 'foresight train'`);
  return meta;
}

export function loadModels(dir: string): LoadedModels {
  const metadata = readMetadata(dir);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { version: string; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  if (manifest.version !== metadata.version) throw new InvalidInputError(`${dir}: model.json (${manifest.version}) and metadata.json (${metadata.version}) disagree; the directory is mid-write or damaged`);
  const group = manifest.weightsManifest[0];
  const buf = fs.readFileSync(path.join(dir, group.paths[0]));
  const tensors = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), group.weights);
  const access: AccessModel = {
    net: seqNetFromTensors(metadata.access.shape, tensors, 'access'),
    scaler: metadata.access.scaler,
    horizons: metadata.access.horizons,
    horizonHours: metadata.access.horizonHours,
    featureNames: metadata.access.featureNames,
  };
  const workload: WorkloadModel | null = metadata.workload
    ? { net: seqNetFromTensors(metadata.workload.shape, tensors, 'workload'), scaler: metadata.workload.scaler, windowMs: metadata.workload.windowMs, hw: metadata.workload.hw, residualScale: metadata.workload.residualScale }
    : null;
  for (const t of Object.values(tensors)) t.dispose();
  return { metadata, access, workload };
}
