import type { Decider } from '../core/decider';
import { assertNever } from '../core/event';
import type { PoolEvent } from './events';
import type { PoolConfig } from './pool-config';

/**
 * "Say when the pool itself must grow", pure: per tier, partitions in use vs capacity; a tier
 * whose free share drops below the reserve raises one PoolLowWater (with how many HSMs would
 * restore the reserve) until it recovers. Stream hsm-pool.<poolId>.
 */
export interface TierUsage {
  tier: string;
  capacity: number;
  used: number;
  /** Partitions one more HSM of this tier would add (the largest HSM of the tier). */
  partitionsPerHsm: number;
}

export function tierUsage(config: PoolConfig, assigned: Readonly<Record<string, string>>): TierUsage[] {
  return config.tiers.map((t) => {
    const hsms = config.hsms.filter((h) => h.tier === t.name);
    const labels = hsms.flatMap((h) => h.partitionLabels);
    return {
      tier: t.name,
      capacity: labels.length,
      used: labels.filter((l) => assigned[l]).length,
      partitionsPerHsm: Math.max(1, ...hsms.map((h) => h.partitionCapacity)),
    };
  });
}

/** Fewest HSMs that bring the free share back to the reserve. */
export function hsmsToRestore(u: TierUsage, reserveFraction: number): number {
  for (let k = 1; k < 1000; k++) {
    const cap = u.capacity + k * u.partitionsPerHsm;
    if (cap - u.used >= reserveFraction * cap) return k;
  }
  return 1000;
}

export type PoolCommand = { kind: 'AssessPool'; clientNetworkId: string; usage: TierUsage[]; reserveFraction: number; at: string };
export interface PoolState {
  low: Record<string, true>;
  /** Every client network the pool has decided for, in order of first appearance. */
  clients: string[];
}

export const poolDecider: Decider<PoolCommand, PoolState, PoolEvent> = {
  initialState: { low: {}, clients: [] },
  decide(c, s) {
    const out: PoolEvent[] = [];
    if (!s.clients.includes(c.clientNetworkId)) out.push({ type: 'ClientNetworkSeen', data: { clientNetworkId: c.clientNetworkId, at: c.at } });
    for (const u of c.usage) {
      if (u.capacity === 0) continue;
      const free = u.capacity - u.used;
      const isLow = free < c.reserveFraction * u.capacity;
      if (isLow && !s.low[u.tier]) {
        out.push({ type: 'PoolLowWater', data: { tier: u.tier, capacity: u.capacity, used: u.used, free, recommendedHsms: hsmsToRestore(u, c.reserveFraction), at: c.at } });
      } else if (!isLow && s.low[u.tier]) {
        out.push({ type: 'PoolRecovered', data: { tier: u.tier, capacity: u.capacity, free, at: c.at } });
      }
    }
    return out;
  },
  evolve(s, e) {
    switch (e.type) {
      case 'PoolLowWater':
        return { ...s, low: { ...s.low, [e.data.tier]: true } };
      case 'PoolRecovered': {
        const { [e.data.tier]: _gone, ...rest } = s.low;
        return { ...s, low: rest };
      }
      case 'ClientNetworkSeen':
        return { ...s, clients: [...s.clients, e.data.clientNetworkId] };
      default:
        return assertNever(e, 'pool event');
    }
  },
};
