import { DashboardModel, type DeliverySample } from '../../dashboard/model';
import { BucketSeries, histogramQuantile, type HistogramCounts } from '../../dashboard/series';
import type { AllocationEvent } from '../../hsm/events';
import type { AccessRisk, AdminAlert, WorkloadRisk } from '../../schemas/types';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MIN = 60_000;

const risk = (userId: string, vmId: string, score: number, at = T0): AccessRisk => ({
  eventId: `${userId}:${vmId}:${at}`,
  timestamp: at,
  userId,
  vmId,
  riskScore: score,
  horizon: 'PT1H',
  horizonScores: { PT1H: score },
  predictedAccessTime: at + 30 * MIN,
  modelVersion: 'm1',
});

const workload = (net: string, peak: number, measured: number, at = T0): WorkloadRisk => ({
  eventId: `${net}:${at}`,
  timestamp: at,
  clientNetworkId: net,
  horizon: 'PT6H',
  predictedCryptoOps: peak * 3600,
  predictedPeakOpsPerSec: peak,
  predictedPeakTime: at + 60 * MIN,
  measuredOpsPerSec: measured,
  securityRisk: 0.3,
  threatIndicators: [],
  modelVersion: 'w1',
});

const alert = (id: string, at: number, over: Partial<AdminAlert> = {}): AdminAlert => ({
  eventId: id,
  timestamp: at,
  subject: 'pool',
  kind: 'POOL_EXHAUSTED',
  severity: 'CRITICAL',
  message: `alert ${id}`,
  details: {},
  ...over,
});

const allocated = (net: string, labels: string[], ops: number, at = T0): AllocationEvent => ({
  type: 'PartitionsAllocated',
  data: {
    clientNetworkId: net,
    partitions: labels.map((label) => ({ hsmId: 'h1', label, tier: 'gold', opsPerSecond: ops })),
    reason: 'predicted-peak',
    requiredOpsPerSecond: ops * labels.length,
    predictedPeakOpsPerSec: 700,
    predictedPeakTime: new Date(at + 60 * MIN).toISOString(),
    measuredOpsPerSec: 50,
    modelVersion: 'w1',
    at: new Date(at).toISOString(),
  },
});

const BOUNDS = [0.001, 0.01, 0.1, 1];
const counts = (values: number[]): HistogramCounts => ({
  buckets: BOUNDS,
  counts: BOUNDS.map((b) => values.filter((v) => v <= b).length),
  sum: values.reduce((a, b) => a + b, 0),
  count: values.length,
});
const sample = (pre: number, onDemand: number, latencies: number[]): DeliverySample => ({
  requests: { 'pre-provisioned': pre, refreshed: 0, 'on-demand': onDemand },
  hits: pre,
  hitRate: pre + onDemand === 0 ? 0 : pre / (pre + onDemand),
  latency: counts(latencies),
  wasteRate: 0.1,
  preProvisioned: pre + 1,
  wasted: 0,
  failures: 0,
});

describe('heat map', () => {
  it('given scores for many pairs, when viewed, then the hottest users and VMs come first and only the top ones are shown', () => {
    const m = new DashboardModel({ heatUsers: 2, heatVms: 2 });
    m.accessRisk(risk('alice', 'vm-a', 0.9));
    m.accessRisk(risk('bob', 'vm-b', 0.5));
    m.accessRisk(risk('carol', 'vm-c', 0.1));
    m.accessRisk(risk('bob', 'vm-a', 0.7));
    const h = m.view(T0).heat;
    expect(h.users).toEqual(['alice', 'bob']);
    expect(h.vms).toEqual(['vm-a', 'vm-b']);
    expect(h.cells.map((c) => [h.users[c.u], h.vms[c.v], c.score])).toEqual([
      ['alice', 'vm-a', 0.9],
      ['bob', 'vm-a', 0.7],
      ['bob', 'vm-b', 0.5],
    ]);
    expect(h.trackedPairs).toBe(4);
    expect(h.records).toBe(4);
  });

  it('given a newer score for a pair, when an older one arrives late, then the newer one stays', () => {
    const m = new DashboardModel();
    m.accessRisk(risk('alice', 'vm-a', 0.2, T0 + MIN));
    m.accessRisk(risk('alice', 'vm-a', 0.95, T0));
    expect(m.view(T0).heat.cells[0].score).toBe(0.2);
  });

  it('given more pairs than the limit, when more arrive, then the least recently scored are forgotten', () => {
    const m = new DashboardModel({ maxPairs: 3 });
    for (let i = 0; i < 10; i++) m.accessRisk(risk(`u${i}`, 'vm', i / 10));
    const h = m.view(T0).heat;
    expect(h.trackedPairs).toBe(3);
    expect(h.users).toEqual(['u9', 'u8', 'u7']);
  });
});

describe('alerts', () => {
  it('given more alerts than kept, when viewed, then the newest come first, each once, at most the limit', () => {
    const m = new DashboardModel({ alerts: 3 });
    for (let i = 0; i < 5; i++) m.alert(alert(`a${i}`, T0 + i * MIN));
    m.alert(alert('a4', T0 + 4 * MIN)); // redelivered
    expect(m.view(T0).alerts.map((a) => a.eventId)).toEqual(['a4', 'a3', 'a2']);
  });
});

describe('delivery series', () => {
  it('given cumulative samples, when viewed, then each bucket holds its own hit rate and latency quantiles', () => {
    const m = new DashboardModel({ bucketMs: MIN });
    m.deliverySample(T0, sample(0, 0, []));
    m.deliverySample(T0 + 30_000, sample(3, 1, [0.0005, 0.0005, 0.0005, 0.05]));
    m.deliverySample(T0 + MIN + 10_000, sample(3, 3, [0.0005, 0.0005, 0.0005, 0.05, 0.5, 0.5]));
    m.deliverySample(T0 + 2 * MIN, sample(3, 3, [0.0005, 0.0005, 0.0005, 0.05, 0.5, 0.5]));
    const d = m.view(T0).delivery;
    expect(d.series.map((p) => [p.t, p.requests, p.hitRate])).toEqual([
      [T0, 4, 0.75],
      [T0 + MIN, 2, 0],
      [T0 + 2 * MIN, 0, null],
    ]);
    expect(d.series[1].p50Ms).toBeGreaterThan(100);
    expect(d.series[1].p50Ms).toBeLessThanOrEqual(1000);
    expect(d.series[2].p99Ms).toBeNull();
    expect(d.hitRate).toBe(0.5);
    expect(d.requests['on-demand']).toBe(3);
  });

  it('given repeat deliveries of on-demand credentials, when viewed, then only hits count toward the hit rate', () => {
    const m = new DashboardModel({ bucketMs: MIN });
    m.deliverySample(T0, { ...sample(0, 0, []), hits: 0 });
    m.deliverySample(T0 + 1000, { ...sample(4, 0, [0.001]), hits: 1, hitRate: 0.25 });
    const d = m.view(T0).delivery;
    expect(d.series[0].hitRate).toBe(0.25);
    expect(d.hitRate).toBe(0.25);
  });

  it('given the counters went down (a restart), when sampled, then the new totals count from zero instead of going negative', () => {
    const m = new DashboardModel({ bucketMs: MIN });
    m.deliverySample(T0, sample(10, 0, [0.001]));
    m.deliverySample(T0 + MIN, sample(2, 0, [0.001]));
    expect(m.view(T0).delivery.series.map((p) => p.requests)).toEqual([10, 2]);
  });
});

describe('HSM pool', () => {
  it('given forecasts and allocations, when viewed, then each network shows allocated capacity against predicted and measured demand', () => {
    const m = new DashboardModel({ bucketMs: MIN }, { capacityOpsPerSec: 4000, partitionsTotal: 8 });
    m.workloadRisk(workload('net-1', 800, 120));
    m.allocation(allocated('net-1', ['p1', 'p2'], 500, T0 + 1000), 'e1');
    m.workloadRisk(workload('net-2', 90, 80, T0 + MIN));
    const p = m.view(T0).pool;
    expect(p.networks.map((n) => [n.clientNetworkId, n.allocatedOpsPerSec, n.partitions, n.predictedPeakOpsPerSec, n.measuredOpsPerSec])).toEqual([
      ['net-1', 1000, 2, 700, 50],
      ['net-2', 0, 0, 90, 80],
    ]);
    expect(p.partitionsAllocated).toBe(2);
    expect(p.capacityOpsPerSec).toBe(4000);
    expect(p.series).toEqual([
      { t: T0, allocatedOpsPerSec: 1000, predictedPeakOpsPerSec: 700, measuredOpsPerSec: 50 },
      { t: T0 + MIN, allocatedOpsPerSec: 1000, predictedPeakOpsPerSec: 790, measuredOpsPerSec: 130 },
    ]);
    expect(p.recent[0]).toMatchObject({ eventId: 'e1', type: 'PartitionsAllocated', clientNetworkId: 'net-1' });
  });

  it('given partitions were allocated, when released and the event is replayed, then nothing is held and the note is listed once', () => {
    const m = new DashboardModel();
    const rel: AllocationEvent = { type: 'PartitionsReleased', data: { clientNetworkId: 'net-1', labels: ['p1'], reason: 'scale-in', predictedPeakOpsPerSec: 10, measuredOpsPerSec: 5, at: new Date(T0 + MIN).toISOString() } };
    m.allocation(allocated('net-1', ['p1', 'p2'], 500), 'e1');
    m.allocation(rel, 'e2');
    m.allocation(rel, 'e2');
    const p = m.view(T0).pool;
    expect(p.networks[0].allocatedOpsPerSec).toBe(500);
    expect(p.recent.map((r) => r.eventId)).toEqual(['e2', 'e1']);
    m.resetAllocations();
    expect(m.view(T0).pool.partitionsAllocated).toBe(0);
  });
});

describe('BucketSeries', () => {
  it('given more buckets than kept, when time moves on, then only the newest stay and older times are refused', () => {
    const s = new BucketSeries<{ n: number }>(10, 3, () => ({ n: 0 }));
    for (let t = 0; t < 100; t += 10) s.at(t)!.n++;
    expect(s.entries().map(([t]) => t)).toEqual([70, 80, 90]);
    expect(s.at(5)).toBeUndefined();
    expect(s.at(75)!.n).toBe(1);
  });
});

describe('histogramQuantile', () => {
  it('interpolates within the bucket that holds the rank', () => {
    expect(histogramQuantile(0.5, counts([0.02, 0.04, 0.06, 0.08]))).toBeCloseTo(0.055, 5); // all four in (0.01, 0.1]: halfway
    expect(histogramQuantile(0.99, counts([5]))).toBe(1);
    expect(histogramQuantile(0.5, counts([]))).toBeNull();
  });
});
