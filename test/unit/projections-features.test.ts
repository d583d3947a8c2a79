import { nextFiring, parseCron } from '../../projections/cron';
import { JobTable, VmStateTable } from '../../projections/tables';
import { createAccessEngine, createNetworkEngine, createTables, resolveOptions } from '../../projections/engines';
import { cyclicalTime } from '../../projections/spec';
import type { AccessInput } from '../../projections/access-features';
import type { NetworkTelemetry, ScheduledJob, VmAccess } from '../../schemas/types';

const MIN = 60_000;
const H = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5); // Monday 00:00 UTC

const job = (over: Partial<ScheduledJob>): ScheduledJob => ({
  eventId: 'j', timestamp: T0, vmId: 'vm1', jobId: 'job1', ownerId: 'u1', schedule: 'once', nextRunAt: null, status: 'SCHEDULED', ...over,
});
const acc = (id: string, t: number, vmId: string, over: Partial<VmAccess> = {}): AccessInput => ({
  topic: 'telemetry.vm-access',
  value: { eventId: id, timestamp: t, userId: 'u1', vmId, action: 'CONNECT', success: true, source: 's', ...over },
});

describe('cron', () => {
  it('given common expressions, then the next firing in a range is found or null', () => {
    expect(nextFiring('0 2 * * *', T0, T0 + 4 * H)).toBe(T0 + 2 * H);
    expect(nextFiring('0 2 * * *', T0 + 3 * H, T0 + 4 * H)).toBeNull();
    expect(nextFiring('*/15 * * * *', T0 + MIN, T0 + H)).toBe(T0 + 15 * MIN);
    expect(nextFiring('30 9 * * 1-5', T0, T0 + 24 * H)).toBe(T0 + 9.5 * H); // Monday
    expect(nextFiring('0 0 * * 0', T0 + 1, T0 + 7 * 24 * H)).toBe(T0 + 6 * 24 * H); // next Sunday
    expect(nextFiring('0 0 1 * *', T0, T0 + 40 * 24 * H)).toBe(Date.UTC(2026, 1, 1));
  });

  it('given something that is not cron, then it is not parsed', () => {
    expect(parseCron('once')).toBeNull();
    expect(parseCron('61 * * * *')).toBeNull();
    expect(nextFiring('once', T0, T0 + H)).toBeNull();
  });
});

describe('global tables', () => {
  it('given vm-state transitions out of order, then the state as of a time is the latest strictly before it', () => {
    const t = new VmStateTable();
    t.apply({ eventId: 'b', timestamp: T0 + H, vmId: 'vm1', state: 'STOPPED', ownerId: null });
    t.apply({ eventId: 'a', timestamp: T0, vmId: 'vm1', state: 'RUNNING', ownerId: null });
    expect(t.stateAt('vm1', T0)).toBe('UNKNOWN');
    expect(t.stateAt('vm1', T0 + 1)).toBe('RUNNING');
    expect(t.stateAt('vm1', T0 + H)).toBe('RUNNING');
    expect(t.stateAt('vm1', T0 + H + 1)).toBe('STOPPED');
    t.prune(T0 + 10 * 24 * H, 24 * H);
    expect(t.stateAt('vm1', T0 + 10 * 24 * H)).toBe('STOPPED');
    const copy = new VmStateTable();
    copy.import(JSON.parse(JSON.stringify(t.export())));
    expect(copy.stateAt('vm1', T0 + 2 * H)).toBe('STOPPED');
  });

  it('given jobs, then dueWithin honours nextRunAt, the owner, cancellation and the cron schedule', () => {
    const t = new JobTable();
    t.apply(job({ eventId: 'j1', nextRunAt: T0 + 3 * H }));
    expect(t.dueWithin('u1', 'vm1', T0 + 1, T0 + 4 * H)).toBe(true);
    expect(t.dueWithin('u1', 'vm1', T0 + 1, T0 + 2 * H)).toBe(false);
    expect(t.dueWithin('u2', 'vm1', T0 + 1, T0 + 4 * H)).toBe(false);
    t.apply(job({ eventId: 'j2', timestamp: T0 + H, status: 'CANCELLED', nextRunAt: T0 + 3 * H }));
    expect(t.dueWithin('u1', 'vm1', T0 + H + 1, T0 + 4 * H)).toBe(false);
    expect(t.dueWithin('u1', 'vm1', T0 + 1, T0 + 4 * H)).toBe(true); // as of before the cancellation

    const cron = new JobTable();
    cron.apply(job({ eventId: 'c1', jobId: 'nightly', schedule: '0 2 * * *', nextRunAt: T0 + 2 * H }));
    // a day later the recorded nextRunAt is stale; the schedule still says 02:00
    expect(cron.dueWithin('u1', 'vm1', T0 + 24 * H, T0 + 28 * H)).toBe(true);
    expect(cron.dueWithin('u1', 'vm1', T0 + 27 * H, T0 + 31 * H)).toBe(false);
  });
});

describe('access features', () => {
  it('given a pair with one access, then it emits every window until the TTL passes, with minutes since last access', () => {
    const o = resolveOptions({ pairTtlMs: 3 * H });
    const e = createAccessEngine(o, createTables());
    e.process('p', acc('a', T0 + 30 * MIN, 'vm1'));
    const out = e.advanceTo(T0 + 24 * H);
    expect(out.map((f) => [f.windowStart, f.accesses, f.minutesSinceLastAccess])).toEqual([
      [T0, 1, 30],
      [T0 + H, 0, 90],
      [T0 + 2 * H, 0, 150],
    ]);
  });

  it('given two VMs of one user, then each pair gets its own counts but shares the user activity', () => {
    const e = createAccessEngine(resolveOptions(), createTables());
    e.process('p', acc('a', T0 + MIN, 'vm1', { success: false, action: 'ADMIN' }));
    e.process('p', acc('b', T0 + 2 * MIN, 'vm2'));
    e.process('p', { topic: 'telemetry.user-activity', value: { eventId: 'l', timestamp: T0 + 3 * MIN, userId: 'u1', activity: 'LOGIN', application: null, durationMs: null } });
    e.process('p', { topic: 'telemetry.user-activity', value: { eventId: 'i', timestamp: T0 + 4 * MIN, userId: 'u1', activity: 'IDLE', application: null, durationMs: 30 * MIN } });
    e.process('p', { topic: 'telemetry.user-activity', value: { eventId: 'x', timestamp: T0 + 50 * MIN, userId: 'u1', activity: 'ACTIVE', application: null, durationMs: 30 * MIN } });
    const [f1, f2] = e.advanceTo(T0 + 2 * H).filter((f) => f.windowStart === T0);
    expect(f1).toMatchObject({ vmId: 'vm1', accesses: 1, failures: 1, actionCounts: { ADMIN: 1 }, logins: 1 });
    expect(f2).toMatchObject({ vmId: 'vm2', accesses: 1, successes: 1, logins: 1 });
    // minutes 1, 2, 3 and 50..59 (ACTIVE clipped at the window end); IDLE does not count
    expect(f1.userActiveMinutes).toBe(13);
    expect(f2.userActiveMinutes).toBe(13);
  });

  it('given user activity but no VM access yet, then nothing is emitted for the user', () => {
    const e = createAccessEngine(resolveOptions(), createTables());
    e.process('p', { topic: 'telemetry.user-activity', value: { eventId: 'l', timestamp: T0, userId: 'u1', activity: 'LOGIN', application: null, durationMs: null } });
    expect(e.advanceTo(T0 + 5 * H)).toEqual([]);
  });

  it('given a window end, then the cyclical time is of the end hour and weekday, UTC', () => {
    const c = cyclicalTime(Date.UTC(2026, 0, 4, 6)); // Sunday 06:00
    expect(c.hourSin).toBeCloseTo(1);
    expect(c.hourCos).toBeCloseTo(0);
    expect(c.dowSin).toBeCloseTo(0);
    expect(c.dowCos).toBeCloseTo(1);
  });
});

describe('network features', () => {
  const n = (id: string, t: number, over: Partial<NetworkTelemetry> = {}): NetworkTelemetry => ({
    eventId: id, timestamp: t, clientNetworkId: 'n1', intervalMs: MIN, bytesIn: 1, bytesOut: 2, packets: 3, flows: 4,
    trafficType: 'CRYPTO', cryptoOps: 60, tlsHandshakes: 1, threatIndicators: [], ...over,
  });

  it('given intervals in a window, then sums, mean rate, peak rate and threat counts are computed', () => {
    const e = createNetworkEngine(resolveOptions({ networkTtlMs: 0 }));
    e.process('p', n('a', T0 + MIN));
    e.process('p', n('b', T0 + 2 * MIN, { cryptoOps: 600, threatIndicators: ['PORT_SCAN', 'BRUTE_FORCE'] }));
    e.process('p', n('c', T0 + 3 * MIN, { threatIndicators: ['PORT_SCAN'] }));
    const [f] = e.advanceTo(T0 + H);
    expect(f).toMatchObject({
      eventId: `network/n1/${T0}`, windowEnd: T0 + 15 * MIN, bytesIn: 3, bytesOut: 6, packets: 9, flows: 12, cryptoOps: 720,
      cryptoOpsPeak: 10, tlsHandshakes: 3, threatIndicatorCount: 3, threatIndicators: { BRUTE_FORCE: 1, PORT_SCAN: 2 },
    });
    expect(f.cryptoOpsRate).toBeCloseTo(720 / 900);
  });

  it('given a quiet network within its TTL, then empty windows keep coming', () => {
    const e = createNetworkEngine(resolveOptions({ networkTtlMs: H }));
    e.process('p', n('a', T0 + MIN));
    expect(e.advanceTo(T0 + 10 * H).map((f) => f.cryptoOps)).toEqual([60, 0, 0, 0]);
  });
});
