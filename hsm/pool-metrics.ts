import type { MetricsRegistry } from '../core/metrics';
import type { PoolConfig } from './pool-config';

/** One HSM's use, pure: partitions held by a client network and the ops/s they carry. */
export interface HsmUtilisation {
  hsm: string;
  tier: string;
  allocated: number;
  capacity: number;
  allocatedOpsPerSecond: number;
  capacityOpsPerSecond: number;
}

export function poolUtilisation(config: PoolConfig, assigned: Readonly<Record<string, string>>): HsmUtilisation[] {
  return config.hsms.map((h) => {
    const perPartition = config.tiers.find((t) => t.name === h.tier)?.partitionOpsPerSecond ?? 0;
    const allocated = h.partitionLabels.filter((l) => assigned[l]).length;
    const capacity = h.partitionLabels.length;
    return { hsm: h.id, tier: h.tier, allocated, capacity, allocatedOpsPerSecond: allocated * perPartition, capacityOpsPerSecond: capacity * perPartition };
  });
}

/**
 * Pool utilisation gauges, set from the partition ownership folded from the hsm-* streams (at
 * start and after every decision):
 *   foresight_hsm_partitions_allocated{hsm,tier}, foresight_hsm_partitions_capacity{hsm,tier}
 *   foresight_hsm_allocated_ops_per_second{hsm,tier}, foresight_hsm_capacity_ops_per_second{hsm,tier}
 *   foresight_hsm_pool_utilisation_ratio{tier}   allocated / capacity partitions of the tier
 */
export function poolMetrics(registry: MetricsRegistry, config: PoolConfig): (assigned: Readonly<Record<string, string>>) => void {
  const allocated = registry.gauge('foresight_hsm_partitions_allocated', 'HSM partitions allocated to client networks, per HSM and tier.');
  const capacity = registry.gauge('foresight_hsm_partitions_capacity', 'HSM partitions in the pool, per HSM and tier.');
  const allocOps = registry.gauge('foresight_hsm_allocated_ops_per_second', 'Crypto ops/s of the allocated partitions, per HSM and tier.');
  const capOps = registry.gauge('foresight_hsm_capacity_ops_per_second', 'Crypto ops/s of all partitions, per HSM and tier.');
  const ratio = registry.gauge('foresight_hsm_pool_utilisation_ratio', 'Share of a tier\'s partitions allocated.');
  return (assigned) => {
    const rows = poolUtilisation(config, assigned);
    for (const r of rows) {
      const labels = { hsm: r.hsm, tier: r.tier };
      allocated.set(r.allocated, labels);
      capacity.set(r.capacity, labels);
      allocOps.set(r.allocatedOpsPerSecond, labels);
      capOps.set(r.capacityOpsPerSecond, labels);
    }
    for (const t of config.tiers) {
      const of = rows.filter((r) => r.tier === t.name);
      const cap = of.reduce((n, r) => n + r.capacity, 0);
      ratio.set(cap === 0 ? 0 : of.reduce((n, r) => n + r.allocated, 0) / cap, { tier: t.name });
    }
  };
}
