import { parsePoolConfig, type PoolConfig } from '../../hsm/pool-config';

/** A small pool: silver (500 ops/s per partition) x2 HSMs of 2, gold (2000) x1 HSM of 2. */
export function testPool(overrides = ''): PoolConfig {
  return parsePoolConfig(
    `
tiers:
  - { name: silver, partitionOpsPerSecond: 500 }
  - { name: gold, partitionOpsPerSecond: 2000, latencyClass: low }
hsms:
  - { id: silver-1, tier: silver, partitionCapacity: 2 }
  - { id: silver-2, tier: silver, partitionCapacity: 2 }
  - { id: gold-1, tier: gold, partitionCapacity: 2 }
planner:
  leadTimeMinutes: 30
  headroom: 1.25
  scaleInBelow: 0.5
  minHoldMinutes: 60
  releaseBelowOps: 1
${overrides}`,
    'pool.yaml',
    { module: '/usr/lib/softhsm/libsofthsm2.so', home: '/tmp/fs-home' },
  );
}
