import { MetricsRegistry } from '../../core/metrics';
import { hsmOpsMetrics, instrumentModule, poolTierOf } from '../../hsm/instrumented';
import { poolMetrics, poolUtilisation } from '../../hsm/pool-metrics';
import type { HsmModule, HsmSession, KeyHandle } from '../../hsm/ports';
import { testPool } from './hsm-fixtures';

const key: KeyHandle = { tokenLabel: 'silver-1-p01', label: 'k', id: '01', kind: 'ec-p256', keyClass: 'private' };

/** A decorator spec: the fake answers, the wrapper counts. */
function fakeModule(): HsmModule {
  const session = {
    tokenLabel: 'silver-1-p01',
    sign: async () => Buffer.from('sig'),
    verify: async () => false,
    decrypt: async () => {
      throw new Error('CKR_ENCRYPTED_DATA_INVALID');
    },
    close: async () => undefined,
  } as unknown as HsmSession;
  return {
    modulePath: '/fake.so',
    listTokens: async () => [],
    openSession: async () => session,
    initToken: async () => {
      throw new Error('no');
    },
    reinitialize: async () => undefined,
    close: async () => undefined,
  };
}

describe('HSM operation metrics', () => {
  test('given an instrumented module, when a session signs, verifies (false) and fails to decrypt, then each is counted with its tier and outcome', async () => {
    const reg = new MetricsRegistry();
    const m = hsmOpsMetrics(reg, poolTierOf(testPool()));
    const s = await instrumentModule(fakeModule(), m).openSession('silver-1-p01', 'pin');
    await s.sign(key, Buffer.from('x'));
    await s.sign(key, Buffer.from('y'));
    expect(await s.verify(key, Buffer.from('x'), Buffer.from('sig'))).toBe(false);
    await expect(s.decrypt(key, Buffer.from('c'))).rejects.toThrow('CKR_ENCRYPTED_DATA_INVALID');
    const l = (op: string, outcome: string) => ({ op, token: 'silver-1-p01', tier: 'silver', outcome });
    expect(m.ops.get(l('open-session', 'ok'))).toBe(1);
    expect(m.ops.get(l('sign', 'ok'))).toBe(2);
    expect(m.ops.get(l('verify', 'ok'))).toBe(1);
    expect(m.ops.get(l('decrypt', 'error'))).toBe(1);
    expect(m.seconds.count({ op: 'sign', tier: 'silver' })).toBe(2);
    expect(reg.render()).toMatch(/^foresight_hsm_operations_total\{op="sign",outcome="ok",tier="silver",token="silver-1-p01"\} 2$/m);
  });

  test('tokens outside the pool get the fallback tier', () => {
    expect(poolTierOf(testPool(), 'vault')('foresight-vault')).toBe('vault');
    expect(poolTierOf(testPool())('gold-1-p02')).toBe('gold');
  });
});

describe('pool utilisation', () => {
  test('given partitions held on two HSMs, then allocated/capacity partitions and ops/s per HSM and the tier ratio follow', () => {
    const pool = testPool();
    const assigned = { 'silver-1-p01': 'net-a', 'silver-1-p02': 'net-b', 'gold-1-p01': 'net-c' };
    expect(poolUtilisation(pool, assigned)).toEqual([
      { hsm: 'silver-1', tier: 'silver', allocated: 2, capacity: 2, allocatedOpsPerSecond: 1000, capacityOpsPerSecond: 1000 },
      { hsm: 'silver-2', tier: 'silver', allocated: 0, capacity: 2, allocatedOpsPerSecond: 0, capacityOpsPerSecond: 1000 },
      { hsm: 'gold-1', tier: 'gold', allocated: 1, capacity: 2, allocatedOpsPerSecond: 2000, capacityOpsPerSecond: 4000 },
    ]);
    const reg = new MetricsRegistry();
    const update = poolMetrics(reg, pool);
    update(assigned);
    expect(reg.gauge('foresight_hsm_pool_utilisation_ratio', '').get({ tier: 'silver' })).toBe(0.5);
    expect(reg.gauge('foresight_hsm_allocated_ops_per_second', '').get({ hsm: 'gold-1', tier: 'gold' })).toBe(2000);
    update({});
    expect(reg.gauge('foresight_hsm_partitions_allocated', '').get({ hsm: 'silver-1', tier: 'silver' })).toBe(0);
    expect(reg.gauge('foresight_hsm_partitions_capacity', '').get({ hsm: 'silver-1', tier: 'silver' })).toBe(2);
  });
});
