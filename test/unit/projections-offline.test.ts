import { computeFeatures } from '../../projections/offline';
import { ACCESS_WINDOW_MS, NETWORK_WINDOW_MS } from '../../projections/spec';
import type { JsonlRecord, NetworkTelemetry, UserActivity, VmAccess, VmState, ScheduledJob } from '../../schemas/types';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0); // a Monday, 00:00 UTC

const access = (id: string, t: number, vmId = 'vm1', extra: Partial<VmAccess> = {}): JsonlRecord => ({
  topic: 'telemetry.vm-access',
  key: 'u1',
  value: { eventId: id, timestamp: t, userId: 'u1', vmId, action: 'CONNECT', success: true, source: 'bastion', ...extra },
});
const activity = (id: string, t: number, extra: Partial<UserActivity>): JsonlRecord => ({
  topic: 'telemetry.user-activity',
  key: 'u1',
  value: { eventId: id, timestamp: t, userId: 'u1', activity: 'LOGIN', application: null, durationMs: null, ...extra },
});
const net = (id: string, t: number, extra: Partial<NetworkTelemetry> = {}): JsonlRecord => ({
  topic: 'telemetry.network',
  key: 'n1',
  value: {
    eventId: id, timestamp: t, clientNetworkId: 'n1', intervalMs: 60_000, bytesIn: 10, bytesOut: 20, packets: 3, flows: 1,
    trafficType: 'CRYPTO', cryptoOps: 600, tlsHandshakes: 2, threatIndicators: [], ...extra,
  },
});

describe('computeFeatures (offline, same engine as the role)', () => {
  it('given accesses, activity, vm-state and a job over three hours, then it emits one dense row per pair per hour', () => {
    const vmState: JsonlRecord = { topic: 'telemetry.vm-state', key: 'vm1', value: { eventId: 's1', timestamp: T0 - H, vmId: 'vm1', state: 'RUNNING', ownerId: 'u1' } as VmState };
    const job: JsonlRecord = {
      topic: 'telemetry.scheduled-jobs', key: 'vm1',
      value: { eventId: 'j1', timestamp: T0, vmId: 'vm1', jobId: 'job1', ownerId: 'u1', schedule: 'once', nextRunAt: T0 + 5.5 * H, status: 'SCHEDULED' } as ScheduledJob,
    };
    const recs = [
      access('a2', T0 + 10 * 60_000, 'vm1', { action: 'ACCESS_REQUEST', success: false }),
      access('a1', T0 + 5 * 60_000),
      access('a1', T0 + 5 * 60_000), // duplicate
      activity('l1', T0 + 1000, { activity: 'LOGIN' }),
      activity('p1', T0 + 20 * 60_000, { activity: 'APP_USE', application: 'ide', durationMs: 10 * 60_000 }),
      vmState,
      job,
      access('a3', T0 + 3 * H + 1),
    ];
    const out = computeFeatures(recs);
    expect(out.duplicates).toBe(1);
    expect(out.late).toBe(0);
    expect(out.access.map((f) => f.windowStart)).toEqual([T0, T0 + H, T0 + 2 * H]);
    const [w0, w1, w2] = out.access;
    expect(w0).toMatchObject({
      eventId: `access/u1/vm1/${T0}`, timestamp: T0 + H, accesses: 2, successes: 1, failures: 1, accessRequests: 1,
      actionCounts: { ACCESS_REQUEST: 1, CONNECT: 1 }, logins: 1, applications: 1, vmState: 'RUNNING',
      minutesSinceLastAccess: 50, jobDueWithinHorizon: false, featureVersion: 1,
    });
    // minutes 0 (login), 5, 10 (accesses), 20..29 (app use)
    expect(w0.userActiveMinutes).toBe(13);
    expect(w1).toMatchObject({ accesses: 0, userActiveMinutes: 0, minutesSinceLastAccess: 110, jobDueWithinHorizon: true });
    expect(w2.jobDueWithinHorizon).toBe(true);
    expect(w0.hourSin).toBeCloseTo(Math.sin((2 * Math.PI) / 24));
  });

  it('given network telemetry, then windows are 15 minutes with sums, rate and peak', () => {
    const recs = [
      net('n1', T0 + 60_000),
      net('n2', T0 + 15 * 60_000, { cryptoOps: 1200, threatIndicators: ['PORT_SCAN'] }), // ends exactly at the window end
      net('n3', T0 + 31 * 60_000),
    ];
    const out = computeFeatures(recs);
    expect(out.network.map((f) => f.windowStart)).toEqual([T0, T0 + NETWORK_WINDOW_MS]);
    expect(out.network[0]).toMatchObject({ cryptoOps: 1800, cryptoOpsPeak: 20, cryptoOpsRate: 2, threatIndicatorCount: 1, threatIndicators: { PORT_SCAN: 1 } });
    expect(out.network[1]).toMatchObject({ cryptoOps: 0, bytesIn: 0 });
    expect(ACCESS_WINDOW_MS).toBe(H);
  });

  it('given the same records shuffled, then the features are identical', () => {
    const recs = Array.from({ length: 50 }, (_, i) => access(`x${i}`, T0 + i * 7 * 60_000, i % 2 ? 'vm1' : 'vm2'));
    const shuffled = [...recs].reverse();
    expect(computeFeatures(shuffled)).toEqual(computeFeatures(recs));
  });

  it('given arrival order with a record later than the grace, then it is counted late', () => {
    const recs = [access('a', T0 + 2 * H), access('old', T0 + 1000)];
    const out = computeFeatures(recs, { arrivalOrder: true });
    expect(out.late).toBe(1);
  });
});
