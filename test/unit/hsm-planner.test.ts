import { fold } from '../../core/decider';
import { allocationDecider, initialAllocationState, type AllocationState } from '../../hsm/allocation';
import type { AllocationEvent, PartitionRef } from '../../hsm/events';
import { chooseTier, freePartitions, plan, type Forecast } from '../../hsm/planner';
import { testPool } from './hsm-fixtures';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const MIN = 60_000;
const iso = (t: number) => new Date(t).toISOString();
const config = testPool();

function allocated(partitions: PartitionRef[], at = T0): AllocationState {
  const e: AllocationEvent = {
    type: 'PartitionsAllocated',
    data: {
      clientNetworkId: 'net-a',
      partitions,
      reason: 'predicted-peak',
      requiredOpsPerSecond: 0,
      predictedPeakOpsPerSec: 0,
      predictedPeakTime: iso(at),
      measuredOpsPerSec: 0,
      modelVersion: 'm1',
      at: iso(at),
    },
  };
  return fold(allocationDecider, [e]);
}
const silver = (hsm: string, n: number): PartitionRef => ({ hsmId: hsm, label: `${hsm}-p0${n}`, tier: 'silver', opsPerSecond: 500 });
const gold = (n: number): PartitionRef => ({ hsmId: 'gold-1', label: `gold-1-p0${n}`, tier: 'gold', opsPerSecond: 2000 });
const forecast = (peak: number, peakAt: number, measured = 0): Forecast => ({
  predictedPeakOpsPerSec: peak,
  predictedPeakTime: peakAt,
  measuredOpsPerSec: measured,
  modelVersion: 'm1',
});

describe('planner: tier choice and lead time', () => {
  test('the cheapest tier whose single partition covers the peak with headroom', () => {
    expect(chooseTier(config, 300 * 1.25).name).toBe('silver');
    expect(chooseTier(config, 1000 * 1.25).name).toBe('gold');
    expect(chooseTier(config, 9000).name).toBe('gold'); // beyond every tier: the top one, several partitions
  });

  test('given a peak 2 h away and a 30 min lead time, when planning now, then wait until 30 min before the peak', () => {
    const p = plan({ config, assigned: {}, current: initialAllocationState, forecast: forecast(300, T0 + 120 * MIN), now: T0 });
    expect(p).toEqual({ kind: 'wait', until: T0 + 90 * MIN, reason: expect.any(String) });
  });

  test('given the same forecast 29 min before the peak, then allocate one silver partition', () => {
    const p = plan({ config, assigned: {}, current: initialAllocationState, forecast: forecast(300, T0 + 120 * MIN), now: T0 + 91 * MIN });
    expect(p).toEqual({ kind: 'allocate', partitions: [silver('silver-1', 1)], requiredOpsPerSecond: 375, reason: 'predicted-peak' });
  });

  test('given measured demand already above capacity, then allocate at once regardless of the lead time', () => {
    const p = plan({ config, assigned: {}, current: initialAllocationState, forecast: forecast(300, T0 + 600 * MIN, 400), now: T0 });
    expect(p).toMatchObject({ kind: 'allocate', reason: 'measured-demand', requiredOpsPerSecond: 500 });
  });

  test('given a peak of 1500 ops/s, then one gold partition, not three silver ones', () => {
    const p = plan({ config, assigned: {}, current: initialAllocationState, forecast: forecast(1500, T0), now: T0 });
    expect(p).toMatchObject({ kind: 'allocate', partitions: [gold(1)] });
  });

  test('given a client on silver whose peak grows, then it scales up within silver, across HSMs', () => {
    const current = allocated([silver('silver-1', 1)]);
    const p = plan({ config, assigned: { 'silver-1-p01': 'net-a' }, current, forecast: forecast(1100, T0), now: T0 });
    // 1100 * 1.25 = 1375 needed, 500 held: two more silver partitions, spread over both HSMs
    expect(p).toEqual({ kind: 'allocate', partitions: [silver('silver-2', 1), silver('silver-1', 2)], requiredOpsPerSecond: 1375, reason: 'scale-up' });
  });

  test('given silver is full, then the next tier up supplies the partitions', () => {
    const assigned = { 'silver-1-p01': 'x', 'silver-1-p02': 'x', 'silver-2-p01': 'y', 'silver-2-p02': 'y' };
    const p = plan({ config, assigned, current: initialAllocationState, forecast: forecast(300, T0), now: T0 });
    expect(p).toMatchObject({ kind: 'allocate', partitions: [gold(1)] });
  });
});

describe('planner: exhaustion', () => {
  test('given every tier is full, then exhausted, naming the tier, the shortfall and the HSMs to add', () => {
    const assigned = Object.fromEntries(config.hsms.flatMap((h) => h.partitionLabels).map((l) => [l, 'other']));
    const p = plan({ config, assigned, current: initialAllocationState, forecast: forecast(300, T0), now: T0 });
    expect(p).toEqual({
      kind: 'exhausted',
      tier: 'silver',
      requiredOpsPerSecond: 375,
      partial: [],
      missingPartitions: 1,
      shortfallOpsPerSecond: 375,
      recommendedHsms: 1,
    });
  });

  test('given a peak bigger than what is free, then the free partitions are taken and the rest is the shortfall', () => {
    const p = plan({ config, assigned: {}, current: initialAllocationState, forecast: forecast(8000, T0), now: T0 });
    // 10,000 ops/s needed on gold: 5 partitions, 2 exist
    expect(p).toMatchObject({ kind: 'exhausted', tier: 'gold', partial: [gold(1), gold(2)], missingPartitions: 3, shortfallOpsPerSecond: 6000, recommendedHsms: 2 });
  });
});

describe('planner: scale-in with hysteresis', () => {
  const two = () => allocated([silver('silver-1', 1), silver('silver-2', 1)], T0);
  const later = T0 + 120 * MIN;

  test('given forecast and measured demand both low, after the hold time, then release the newest partition', () => {
    const p = plan({ config, assigned: {}, current: two(), forecast: forecast(200, later, 100), now: later });
    expect(p).toEqual({ kind: 'release', labels: ['silver-2-p01'], reason: 'scale-in' });
  });

  test('given a low forecast but high measured demand, then hold: never scale in on the forecast alone', () => {
    const p = plan({ config, assigned: {}, current: two(), forecast: forecast(100, later, 700), now: later });
    expect(p).toMatchObject({ kind: 'hold', reason: expect.stringMatching(/forecast alone/) });
  });

  test('given demand just under capacity, then hold (no flapping between up and down)', () => {
    const p = plan({ config, assigned: {}, current: two(), forecast: forecast(600, later, 300), now: later });
    expect(p.kind).toBe('hold');
  });

  test('given low demand within the minimum hold after the last change, then hold', () => {
    const p = plan({ config, assigned: {}, current: two(), forecast: forecast(50, later, 10), now: T0 + 30 * MIN });
    expect(p).toMatchObject({ kind: 'hold', reason: expect.stringMatching(/minimum hold/) });
  });

  test('given no demand at all, then release everything', () => {
    const p = plan({ config, assigned: {}, current: two(), forecast: forecast(0, later, 0), now: later });
    expect(p).toEqual({ kind: 'release', labels: ['silver-1-p01', 'silver-2-p01'], reason: 'release' });
  });

  test('given a quarantined client, then hold', () => {
    const q = allocationDecider.evolve(two(), { type: 'PartitionQuarantined', data: { clientNetworkId: 'net-a', labels: [], ruleId: 'r', reason: 'x', at: iso(T0) } });
    expect(plan({ config, assigned: {}, current: q, forecast: forecast(5000, T0), now: T0 }).kind).toBe('hold');
  });
});

test('free partitions are spread round-robin over the emptiest HSMs of the tier', () => {
  const f = freePartitions(config, { 'silver-1-p01': 'x' }, config.tiers[0]);
  expect(f.map((p) => p.label)).toEqual(['silver-2-p01', 'silver-1-p02', 'silver-2-p02']);
});
