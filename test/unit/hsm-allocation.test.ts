import { fold } from '../../core/decider';
import { InvalidInputError } from '../../core/errors';
import { allocationDecider, hsmDecider, PartitionTakenError, type AllocationCommand } from '../../hsm/allocation';
import type { AllocationEvent, HsmEvent, KeyVersionRef } from '../../hsm/events';
import { hsmsToRestore, poolDecider, tierUsage } from '../../hsm/pool-watch';
import { PROFILES } from '../../hsm/risk-profile';
import { testPool } from './hsm-fixtures';

const at = '2026-03-01T10:00:00.000Z';
const p1 = { hsmId: 'silver-1', label: 'silver-1-p01', tier: 'silver', opsPerSecond: 500 };
const allocatedEvent: AllocationEvent = {
  type: 'PartitionsAllocated',
  data: {
    clientNetworkId: 'net-a',
    partitions: [p1],
    reason: 'predicted-peak',
    requiredOpsPerSecond: 375,
    predictedPeakOpsPerSec: 300,
    predictedPeakTime: '2026-03-01T10:30:00.000Z',
    measuredOpsPerSec: 0,
    modelVersion: 'wl-1',
    at,
  },
};
const wrapV1: KeyVersionRef = { family: 'root-wrap', version: 1, kind: 'aes-256', keyLabel: 'root-wrap/v1', keyId: 'aa' };
const configured: AllocationEvent = {
  type: 'PartitionConfigured',
  data: { clientNetworkId: 'net-a', label: 'silver-1-p01', keys: [wrapV1], profile: PROFILES.low, at },
};

/** given history, when command, then events */
function given(history: readonly AllocationEvent[]) {
  const state = fold(allocationDecider, history);
  return { when: (c: AllocationCommand) => allocationDecider.decide(c, state) };
}

describe('allocation Decider', () => {
  test('allocating a partition already held is refused', () => {
    const c: AllocationCommand = { kind: 'Allocate', ...allocatedEvent.data };
    expect(() => given([allocatedEvent]).when(c)).toThrow(InvalidInputError);
  });

  test('exhaustion: one AllocationFailed and one ScaleOutRecommended per episode', () => {
    const c: AllocationCommand = {
      kind: 'RecordExhaustion',
      clientNetworkId: 'net-a',
      tier: 'gold',
      requiredOpsPerSecond: 10000,
      missingPartitions: 3,
      shortfallOpsPerSecond: 6000,
      recommendedHsms: 2,
      at,
    };
    const first = given([]).when(c);
    expect(first.map((e) => e.type)).toEqual(['AllocationFailed', 'ScaleOutRecommended']);
    expect(first[1].data).toMatchObject({ tier: 'gold', shortfallPartitions: 3, shortfallOpsPerSecond: 6000, recommendedHsms: 2 });
    // the same shortage again: nothing new (no second alert)
    expect(given([...first]).when(c)).toEqual([]);
    // a successful allocation closes the episode; the next shortage is news again
    expect(given([...first, allocatedEvent]).when(c).length).toBe(2);
  });

  test('rotation records a new version and keeps the old one until it is retired', () => {
    const v2: KeyVersionRef = { ...wrapV1, version: 2, keyLabel: 'root-wrap/v2', keyId: 'bb' };
    const rotated = given([allocatedEvent, configured]).when({ kind: 'RecordRotation', clientNetworkId: 'net-a', label: 'silver-1-p01', key: v2, cause: 'interval', at });
    expect(rotated).toEqual([{ type: 'KeyRotated', data: { clientNetworkId: 'net-a', label: 'silver-1-p01', key: v2, previousVersion: 1, cause: 'interval', at } }]);
    const s = fold(allocationDecider, [allocatedEvent, configured, ...rotated]);
    expect(s.partitions[0].keys['root-wrap']?.current.version).toBe(2);
    expect(s.partitions[0].keys['root-wrap']?.versions.map((v) => v.version)).toEqual([1, 2]);
    // retiring the current version is refused; retiring v1 is recorded
    const retire = (version: number): AllocationCommand => ({ kind: 'RecordRetirement', clientNetworkId: 'net-a', label: 'silver-1-p01', family: 'root-wrap', version, at });
    expect(() => given([allocatedEvent, configured, ...rotated]).when(retire(2))).toThrow(/current/);
    expect(given([allocatedEvent, configured, ...rotated]).when(retire(1))[0].type).toBe('KeyVersionRetired');
    // a redelivered rotation of the same version records nothing
    expect(given([allocatedEvent, configured, ...rotated]).when({ kind: 'RecordRotation', clientNetworkId: 'net-a', label: 'silver-1-p01', key: v2, cause: 'interval', at })).toEqual([]);
  });

  test('a risk profile is applied only when it changes', () => {
    const apply = (level: keyof typeof PROFILES): AllocationCommand => ({ kind: 'ApplyRiskProfile', clientNetworkId: 'net-a', securityRisk: 0.9, profile: PROFILES[level], at });
    const e = given([]).when(apply('critical'));
    expect(e[0]).toMatchObject({ type: 'RiskProfileApplied', data: { previousLevel: null, profile: { level: 'critical' } } });
    expect(given(e).when(apply('critical'))).toEqual([]);
  });

  test('quarantine covers all the client partitions, once', () => {
    const q: AllocationCommand = { kind: 'Quarantine', clientNetworkId: 'net-a', ruleId: 'key-exfiltration', reason: 'threat indicators key-exfiltration', at };
    const e = given([allocatedEvent]).when(q);
    expect(e).toEqual([{ type: 'PartitionQuarantined', data: { clientNetworkId: 'net-a', labels: ['silver-1-p01'], ruleId: 'key-exfiltration', reason: 'threat indicators key-exfiltration', at } }]);
    expect(given([allocatedEvent, ...e]).when(q)).toEqual([]);
  });

  test('releasing frees only partitions the client holds', () => {
    const r = given([allocatedEvent]).when({ kind: 'Release', clientNetworkId: 'net-a', labels: ['silver-1-p01', 'gold-1-p01'], reason: 'scale-in', predictedPeakOpsPerSec: 10, measuredOpsPerSec: 0, at });
    expect(r[0].data).toMatchObject({ labels: ['silver-1-p01'] });
    expect(fold(allocationDecider, [allocatedEvent, ...r]).partitions).toEqual([]);
  });
});

describe('hsm Decider (partition ownership)', () => {
  const assigned: HsmEvent = { type: 'PartitionAssigned', data: { hsmId: 'silver-1', label: 'silver-1-p01', clientNetworkId: 'net-a', at } };
  test('a partition held by another client cannot be assigned', () => {
    const s = fold(hsmDecider, [assigned]);
    expect(() => hsmDecider.decide({ kind: 'AssignPartition', hsmId: 'silver-1', label: 'silver-1-p01', clientNetworkId: 'net-b', at }, s)).toThrow(PartitionTakenError);
    expect(hsmDecider.decide({ kind: 'AssignPartition', hsmId: 'silver-1', label: 'silver-1-p01', clientNetworkId: 'net-a', at }, s)).toEqual([]);
  });
  test('only the holder frees a partition', () => {
    const s = fold(hsmDecider, [assigned]);
    expect(hsmDecider.decide({ kind: 'FreePartition', hsmId: 'silver-1', label: 'silver-1-p01', clientNetworkId: 'net-b', at }, s)).toEqual([]);
    const freed = hsmDecider.decide({ kind: 'FreePartition', hsmId: 'silver-1', label: 'silver-1-p01', clientNetworkId: 'net-a', at }, s);
    expect(fold(hsmDecider, [assigned, ...freed]).assigned).toEqual({});
  });
});

describe('pool watch (hsm-pool)', () => {
  const assess = (used: number, state = poolDecider.initialState) =>
    poolDecider.decide({ kind: 'AssessPool', clientNetworkId: 'net-a', usage: [{ tier: 'silver', capacity: 10, used, partitionsPerHsm: 5 }], reserveFraction: 0.2, at }, state);

  test('low water once per episode, recovery once, with the HSMs that restore the reserve', () => {
    expect(assess(8)).toEqual([{ type: 'ClientNetworkSeen', data: { clientNetworkId: 'net-a', at } }]);
    const seen = fold(poolDecider, assess(8));
    const low = assess(9, seen);
    expect(low).toEqual([{ type: 'PoolLowWater', data: { tier: 'silver', capacity: 10, used: 9, free: 1, recommendedHsms: 1, at } }]);
    const s = fold(poolDecider, [...assess(8), ...low]);
    expect(assess(10, s)).toEqual([]);
    expect(assess(7, s).map((e) => e.type)).toEqual(['PoolRecovered']);
  });

  test('HSMs needed: enough that free >= reserve of the grown capacity', () => {
    expect(hsmsToRestore({ tier: 't', capacity: 10, used: 10, partitionsPerHsm: 5 }, 0.2)).toBe(1); // 5 free of 15
    expect(hsmsToRestore({ tier: 't', capacity: 10, used: 10, partitionsPerHsm: 1 }, 0.5)).toBe(10); // 10 free of 20
  });

  test('usage per tier from the pool file and the owners', () => {
    expect(tierUsage(testPool(), { 'gold-1-p01': 'x', 'silver-2-p02': 'y' })).toEqual([
      { tier: 'silver', capacity: 4, used: 1, partitionsPerHsm: 2 },
      { tier: 'gold', capacity: 2, used: 1, partitionsPerHsm: 2 },
    ]);
  });
});
