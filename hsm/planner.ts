import type { AllocationState } from './allocation';
import { capacityOf } from './allocation';
import type { PartitionRef } from './events';
import type { PoolConfig, Tier } from './pool-config';

/**
 * Predictive allocation, pure: given the pool, who holds which partition, one client's current
 * allocation and its latest forecast, say what to do. The rules, after AWS predictive scaling:
 *  - capacity is provided `leadTimeMs` before the predicted peak (or at once if measured demand
 *    already exceeds it);
 *  - the tier is the cheapest one whose single partition covers the peak (with headroom), else
 *    the top tier with as many partitions as it takes;
 *  - scale-in has hysteresis (only below `scaleInBelow` of capacity, and `minHoldMs` after the
 *    last change) and never happens on the forecast alone while measured demand is high;
 *  - when no tier can supply the partitions, what is free is taken and the shortfall is named.
 */
export interface Forecast {
  predictedPeakOpsPerSec: number;
  predictedPeakTime: number; // epoch ms
  measuredOpsPerSec: number;
  modelVersion: string;
}

export interface PlanInput {
  config: PoolConfig;
  /** partition label -> owning client network, across the whole pool (from hsm-* streams). */
  assigned: Readonly<Record<string, string>>;
  current: AllocationState;
  forecast: Forecast;
  now: number;
}

export type Plan =
  | { kind: 'hold'; reason: string }
  | { kind: 'wait'; until: number; reason: string }
  | {
      kind: 'allocate';
      partitions: PartitionRef[];
      requiredOpsPerSecond: number;
      reason: 'predicted-peak' | 'scale-up' | 'measured-demand';
    }
  | { kind: 'release'; labels: string[]; reason: 'scale-in' | 'release' }
  | {
      kind: 'exhausted';
      tier: string;
      requiredOpsPerSecond: number;
      /** Whatever could be had: allocate these too, they serve part of the demand. */
      partial: PartitionRef[];
      missingPartitions: number;
      shortfallOpsPerSecond: number;
      recommendedHsms: number;
    };

/** Free partitions of a tier, spread over its HSMs (emptiest HSM first, then by id). */
export function freePartitions(config: PoolConfig, assigned: Readonly<Record<string, string>>, tier: Tier): PartitionRef[] {
  const perHsm = config.hsms
    .filter((h) => h.tier === tier.name)
    .map((h) => ({ h, free: h.partitionLabels.filter((l) => !assigned[l]) }))
    .sort((a, b) => b.free.length - a.free.length || a.h.id.localeCompare(b.h.id));
  const out: PartitionRef[] = [];
  // Round-robin across HSMs so one client's partitions do not share a single box.
  for (let round = 0; perHsm.some((x) => x.free.length > round); round++) {
    for (const x of perHsm) {
      if (x.free.length > round) out.push({ hsmId: x.h.id, label: x.free[round], tier: tier.name, opsPerSecond: tier.partitionOpsPerSecond });
    }
  }
  return out;
}

/** Cheapest tier one partition of which covers `required`; else the top tier. */
export function chooseTier(config: PoolConfig, required: number): Tier {
  return config.tiers.find((t) => t.partitionOpsPerSecond >= required) ?? config.tiers[config.tiers.length - 1];
}

function grow(input: PlanInput, required: number, reason: 'predicted-peak' | 'scale-up' | 'measured-demand'): Plan {
  const { config, assigned, current } = input;
  const deficit = required - capacityOf(current);
  const ranks = current.partitions.map((p) => config.tiers.find((t) => t.name === p.tier)?.rank ?? 0);
  // A client keeps its tier when growing (its keys and latency class live there); a new client
  // gets the tier its whole peak fits.
  const preferred = ranks.length > 0 ? config.tiers[Math.max(...ranks)] : chooseTier(config, required);
  for (const tier of config.tiers.filter((t) => t.rank >= preferred.rank)) {
    const need = Math.ceil(deficit / tier.partitionOpsPerSecond);
    const free = freePartitions(config, assigned, tier);
    if (free.length >= need) return { kind: 'allocate', partitions: free.slice(0, need), requiredOpsPerSecond: required, reason };
  }
  // Not enough anywhere: take what is free, preferred tier first then up, to serve part of it.
  const partial: PartitionRef[] = [];
  let covered = 0;
  for (const tier of config.tiers.filter((t) => t.rank >= preferred.rank)) {
    for (const part of freePartitions(config, assigned, tier)) {
      if (covered >= deficit) break;
      partial.push(part);
      covered += part.opsPerSecond;
    }
  }
  const shortfallOps = deficit - covered;
  const missing = Math.ceil(shortfallOps / preferred.partitionOpsPerSecond);
  const tierHsms = config.hsms.filter((h) => h.tier === preferred.name);
  const perHsm = tierHsms.length > 0 ? Math.max(...tierHsms.map((h) => h.partitionCapacity)) : 1;
  return {
    kind: 'exhausted',
    tier: preferred.name,
    requiredOpsPerSecond: required,
    partial,
    missingPartitions: missing,
    shortfallOpsPerSecond: Math.round(shortfallOps * 100) / 100,
    recommendedHsms: Math.ceil(missing / perHsm),
  };
}

function shrink(input: PlanInput, required: number): Plan {
  const { config, current, forecast, now } = input;
  const p = config.planner;
  const capacity = capacityOf(current);
  const threshold = capacity * p.scaleInBelow;
  const forecastLow = forecast.predictedPeakOpsPerSec * p.headroom < threshold;
  if (!forecastLow) return { kind: 'hold', reason: 'capacity matches the forecast' };
  if (forecast.measuredOpsPerSec * p.headroom >= threshold) {
    return { kind: 'hold', reason: 'forecast is low but measured demand is high: no scale-in on the forecast alone' };
  }
  const since = current.lastChangeAt ? now - Date.parse(current.lastChangeAt) : Number.POSITIVE_INFINITY;
  if (since < p.minHoldMs) return { kind: 'hold', reason: `within the minimum hold after the last change` };
  if (forecast.predictedPeakOpsPerSec <= p.releaseBelowOps && forecast.measuredOpsPerSec <= p.releaseBelowOps) {
    return { kind: 'release', labels: current.partitions.map((x) => x.label), reason: 'release' };
  }
  // Newest first: the oldest partition holds the client's longest-lived keys.
  const labels: string[] = [];
  let left = capacity;
  for (const part of [...current.partitions].reverse()) {
    if (current.partitions.length - labels.length <= 1) break;
    if (left - part.opsPerSecond < required) break;
    left -= part.opsPerSecond;
    labels.push(part.label);
  }
  return labels.length > 0 ? { kind: 'release', labels, reason: 'scale-in' } : { kind: 'hold', reason: 'no partition can go without dropping below demand' };
}

export function plan(input: PlanInput): Plan {
  const { config, current, forecast, now } = input;
  const p = config.planner;
  if (current.quarantined) return { kind: 'hold', reason: 'client network is quarantined' };
  const peak = Math.max(0, forecast.predictedPeakOpsPerSec);
  const measured = Math.max(0, forecast.measuredOpsPerSec);
  const required = Math.max(peak, measured) * p.headroom;
  const capacity = capacityOf(current);

  if (required > capacity && Math.max(peak, measured) > p.releaseBelowOps) {
    if (measured * p.headroom > capacity) {
      // Demand is already here: no waiting for the lead time.
      return grow(input, required, current.partitions.length ? 'scale-up' : 'measured-demand');
    }
    const allocateAt = forecast.predictedPeakTime - p.leadTimeMs;
    if (now < allocateAt) return { kind: 'wait', until: allocateAt, reason: 'the predicted peak is further away than the lead time' };
    return grow(input, required, current.partitions.length ? 'scale-up' : 'predicted-peak');
  }
  if (capacity > 0) return shrink(input, required);
  return { kind: 'hold', reason: 'no demand' };
}
