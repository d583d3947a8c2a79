import { DEMO_EPOCH, planScenario, remapRecord, splitScenario } from '../../demo/scenario';
import { metricValues, renderSummary, requestStats, sumMetric, type DemoSnapshot } from '../../demo/stats';
import type { RequestResult } from '../../demo/driver';
import type { JsonlRecord, TelemetryTopic } from '../../schemas/types';

const HOUR = 3_600_000;

describe('planScenario', () => {
  it('given run 2, then a fresh namespace, user tag and a week later, at the asked pace', () => {
    const p = planScenario({ users: 5, vms: 3, networks: 1, seed: 1, minutes: 2, hours: 12, fromHour: 6, warmupDays: 1, run: 2 });
    expect(p.namespace).toBe('demo-r2');
    expect(p.userTag).toBe('r2');
    expect(p.simStart).toBe(DEMO_EPOCH + 14 * 24 * HOUR);
    expect(p.liveStart).toBe(p.simStart + 30 * HOUR);
    expect(p.liveEnd - p.liveStart).toBe(12 * HOUR);
    expect(p.speedup).toBe(360);
    expect(p.simDays).toBe(2);
  });
});

describe('splitScenario', () => {
  const plan = planScenario({ users: 1, vms: 1, networks: 0, seed: 1, minutes: 1, hours: 1, fromHour: 0, warmupDays: 1, run: 0 });
  const rec = (ts: number, action: string, success = true): JsonlRecord<TelemetryTopic> => ({
    topic: 'telemetry.vm-access',
    key: 'user-0001',
    value: { eventId: `e${ts}`, timestamp: ts, userId: 'user-0001', vmId: 'vm-0001', action, success, source: 'bastion' } as never,
  });
  it('given records before, during and after the live hour, then warm-up, live and the successful requests in it', () => {
    const s = splitScenario(
      [rec(plan.liveStart - 1, 'ACCESS_REQUEST'), rec(plan.liveStart, 'ACCESS_REQUEST'), rec(plan.liveStart + 1, 'ACCESS_REQUEST', false), rec(plan.liveStart + 2, 'CONNECT'), rec(plan.liveEnd, 'ACCESS_REQUEST')],
      plan,
    );
    expect(s.warmup).toHaveLength(1);
    expect(s.live).toHaveLength(3);
    expect(s.requests).toEqual([{ at: plan.liveStart, userId: 'user-r0-0001', vmId: 'vm-0001', eventId: `e${plan.liveStart}` }]);
  });
  it('given a scheduled job, then its owner moves to the run\'s users too', () => {
    const r = remapRecord({ topic: 'telemetry.scheduled-jobs', key: 'vm-0001', value: { ownerId: 'user-0007', vmId: 'vm-0001' } as never }, 'r3');
    expect((r.value as unknown as { ownerId: string }).ownerId).toBe('user-r3-0007');
    expect(r.key).toBe('vm-0001');
  });
});

describe('stats', () => {
  const text = [
    '# HELP foresight_preprovisioning_skipped_total x',
    'foresight_preprovisioning_skipped_total{reason="stale"} 3',
    'foresight_preprovisioning_skipped_total{reason="below-threshold"} 4',
    'foresight_preprovisioning_skipped_total_extra 99',
    'foresight_credentials_wasted_total 2',
  ].join('\n');
  it('given Prometheus text, then sums by name and label without matching longer names', () => {
    expect(sumMetric(text, 'foresight_preprovisioning_skipped_total')).toBe(7);
    expect(sumMetric(text, 'foresight_preprovisioning_skipped_total', { reason: 'stale' })).toBe(3);
    expect(metricValues(text, 'foresight_credentials_wasted_total')).toEqual([{ labels: {}, value: 2 }]);
  });
  it('given answered and failed requests, then hit rate over answered ones and latency quantiles', () => {
    const r = (source: RequestResult['source'], ms: number): RequestResult => ({ at: 0, userId: 'u', vmId: 'v', eventId: 'e', source, ms, error: source ? undefined : 'x' });
    const s = requestStats([r('pre-provisioned', 10), r('on-demand', 900), r('pre-provisioned', 20), r('refreshed', 50), r(undefined, 1)]);
    expect(s.total).toBe(5);
    expect(s.errors).toBe(1);
    expect(s.hitRate).toBe(0.5);
    expect(s.p50).toBe(20);
    expect(s.p99).toBe(900);
    expect(s.latency['pre-provisioned']).toEqual({ p50: 10, p99: 20 });
  });
  it('given a snapshot, then the summary names hit rate, waste and where to look next', () => {
    const snap: DemoSnapshot = {
      simNow: 2 * HOUR, liveStart: 0, liveEnd: 2 * HOUR, speedup: 360, wallElapsedMs: 20_000, wallTotalMs: 20_000, published: 10, publishedByTopic: {},
      features: { access: 1, network: 1, late: 0 }, risk: { access: 5, live: 3, workload: 2, high: 1, threshold: 0.3, delayP50: 600_000 },
      credentials: { preProvisioned: 4, used: 3, wasted: 1, skipped: { stale: 2 } }, requests: requestStats([]), hsm: { allocate: 1, hold: 3 },
      alerts: { count: 0 }, notifications: 0, follow: false,
    };
    const out = renderSummary(snap, { namespace: 'demo-r0', dashboard: 'https://127.0.0.1:8443/', logFile: '/x.log', stackRunning: true }).join('\n');
    expect(out).toContain('waste 25% (1 expired unused of 4 resolved)');
    expect(out).toContain('stale 2');
    expect(out).toContain('10 simulated min after it ends');
    expect(out).toContain('HSM allocations   1 made ahead');
    expect(out).toContain('npx foresight stack down');
  });
});
