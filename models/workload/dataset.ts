import { NetworkFeatures } from '../../schemas/types';
import { HwParams } from './holt-winters';
import { Anomaly, FORECAST_HOURS, NetMemory, forecastBase, netVector, newNetMemory, rememberNet, securityRisk } from './spec';

/** Per-network sequences with the next day's hourly demand as targets. */
export interface NetSequence {
  clientNetworkId: string;
  windowMs: number;
  windows: NetworkFeatures[];
  vectors: number[][];
  levels: number[];
  /** [T][24] log1p(ops/s) the net's outputs are added to (Holt-Winters). */
  bases: number[][];
  risks: number[];
  anomalies: Anomaly[];
  /** log1p(mean ops/s) of each of the next 24 hours minus the base; null when not all known. */
  targets: (number[] | null)[];
  /** Mean ops/s of each of the next 24 hours; null when not all known. */
  actualHourly: (number[] | null)[];
  memory: NetMemory;
}

export function windowMsOf(features: readonly NetworkFeatures[]): number {
  const f = features[0];
  return f ? f.windowEnd - f.windowStart : 900_000;
}

export function groupNetworks(features: readonly NetworkFeatures[]): Map<string, NetworkFeatures[]> {
  const by = new Map<string, Map<string, NetworkFeatures>>();
  for (const f of features) {
    let m = by.get(f.clientNetworkId);
    if (!m) by.set(f.clientNetworkId, (m = new Map()));
    m.set(f.eventId, f);
  }
  const out = new Map<string, NetworkFeatures[]>();
  for (const [k, m] of [...by].sort(([a], [b]) => (a < b ? -1 : 1))) out.set(k, [...m.values()].sort((a, b) => a.windowStart - b.windowStart));
  return out;
}

export function buildNetSequences(features: readonly NetworkFeatures[], hw?: HwParams): NetSequence[] {
  const windowMs = windowMsOf(features);
  const ph = Math.max(1, Math.round(3_600_000 / windowMs));
  const out: NetSequence[] = [];
  for (const [id, windows] of groupNetworks(features)) {
    const memory = newNetMemory(windowMs, hw);
    const s: NetSequence = { clientNetworkId: id, windowMs, windows, vectors: [], levels: [], bases: [], risks: [], anomalies: [], targets: [], actualHourly: [], memory };
    for (const w of windows) {
      const an = rememberNet(memory, w);
      s.anomalies.push(an);
      s.vectors.push(netVector(w, memory, an));
      s.levels.push(memory.level ?? 0);
      s.bases.push(forecastBase(memory));
      s.risks.push(securityRisk(memory, an));
    }
    windows.forEach((w, t) => {
      const last = t + FORECAST_HOURS * ph;
      if (last >= windows.length || windows[last].windowStart !== w.windowStart + FORECAST_HOURS * ph * windowMs) {
        s.targets.push(null);
        s.actualHourly.push(null);
        return;
      }
      const hourly: number[] = [];
      for (let h = 0; h < FORECAST_HOURS; h++) {
        let sum = 0;
        for (let i = t + 1 + h * ph; i <= t + (h + 1) * ph; i++) sum += windows[i].cryptoOpsRate;
        hourly.push(sum / ph);
      }
      s.actualHourly.push(hourly);
      s.targets.push(hourly.map((v, h) => Math.log1p(v) - s.bases[t][h]));
    });
    out.push(s);
  }
  return out;
}
