import { ACCESS_FEATURE_NAMES, SPEC_VERSION } from './feature-spec';
import { HORIZONS, HORIZON_HOURS, PRIMARY_HORIZON, REPORTED_HORIZONS } from './access/dataset';
import { createSeqNet } from './nn/seqnet';
import { FORECAST_HOURS, NET_FEATURES } from './workload/spec';
import { LoadedModels, ModelMetadata, MODEL_FORMAT } from './store';

/**
 * Untrained models of the real shapes, for tests and benchmarks of the scoring path (which must
 * not wait for training): the arithmetic is the same whatever the weights.
 */
export function randomModels(seed: number, units = 32): LoadedModels {
  const F = ACCESS_FEATURE_NAMES.length;
  const accessNet = createSeqNet({ inputs: F, units, hidden: 32, outputs: HORIZONS.length }, seed, { outputBias: -2 });
  const workNet = createSeqNet({ inputs: NET_FEATURES, units: 24, hidden: 32, outputs: FORECAST_HOURS }, seed + 1, { outputScale: 0.05 });
  const identity = (n: number) => ({ mean: new Array(n).fill(0), std: new Array(n).fill(1) });
  const hw = { alpha: 0.15, beta: 0, gamma: 0.3 };
  const metadata: ModelMetadata = {
    format: MODEL_FORMAT,
    version: `random-${seed}`,
    createdAt: '2026-01-01T00:00:00.000Z',
    backend: 'any',
    featureVersion: 1,
    access: {
      specVersion: SPEC_VERSION,
      featureNames: [...ACCESS_FEATURE_NAMES],
      horizons: HORIZONS,
      horizonHours: HORIZON_HOURS,
      primaryHorizon: PRIMARY_HORIZON,
      reportedHorizons: REPORTED_HORIZONS,
      shape: accessNet.shape,
      scaler: identity(F),
      epochs: 0,
      lossByEpoch: [],
      msByEpoch: [],
    },
    workload: { shape: workNet.shape, scaler: identity(NET_FEATURES), windowMs: 900_000, hw, residualScale: 0.5, forecastHours: FORECAST_HOURS, epochs: 0, lossByEpoch: [], msByEpoch: [] },
    baselines: { logistic: { weights: HORIZONS.map(() => new Array(F).fill(0)), bias: HORIZONS.map(() => -2) } },
    training: { dataHash: `random-${seed}`, records: 0, trainFrom: 0, trainUntil: 0, dataEnd: 0, accessWindows: 0, networkWindows: 0 },
    metrics: {},
  };
  return {
    metadata,
    access: { net: accessNet, scaler: metadata.access.scaler, horizons: HORIZONS, horizonHours: HORIZON_HOURS, featureNames: ACCESS_FEATURE_NAMES },
    workload: { net: workNet, scaler: identity(NET_FEATURES), windowMs: 900_000, hw, residualScale: 0.5 },
  };
}
