import * as avro from 'avsc';
import { loadSchema, TELEMETRY_TOPICS, VmAccess, NetworkTelemetry, ScheduledJob } from '../../schemas';
import { simulate } from '../../models/sim/simulate';
import { Rng } from '../../models/sim/rng';
import { cronString, nextRun, runsBetween } from '../../models/sim/cron';
import { dayOfWeek, hourOfDay, DAY, HOUR } from '../../models/sim/time';

const small = { users: 20, vms: 15, networks: 3, days: 14, seed: 11 };

describe('simulator', () => {
  const run = simulate(small);

  it('given the same seed, when simulated twice, then the records are identical', () => {
    const again = simulate(small);
    expect(JSON.stringify(again.records)).toBe(JSON.stringify(run.records));
    const other = simulate({ ...small, seed: 12 });
    expect(JSON.stringify(other.records)).not.toBe(JSON.stringify(run.records));
  });

  it('then every telemetry topic is present and every value fits its Avro schema', () => {
    const types = new Map(TELEMETRY_TOPICS.map((t) => [t, avro.Type.forSchema(loadSchema(t) as avro.Schema)]));
    const seen = new Set<string>();
    for (const r of run.records) {
      seen.add(r.topic);
      const type = types.get(r.topic)!;
      if (!type.isValid(r.value)) throw new Error(`invalid ${r.topic}: ${JSON.stringify(r.value)}`);
    }
    expect([...seen].sort()).toEqual([...TELEMETRY_TOPICS].sort());
  });

  it('then records are in event-time order with unique ids and keys matching the contract', () => {
    const ids = new Set(run.records.map((r) => r.value.eventId));
    expect(ids.size).toBe(run.records.length);
    for (let i = 1; i < run.records.length; i++) expect(run.records[i].value.timestamp).toBeGreaterThanOrEqual(run.records[i - 1].value.timestamp);
    for (const r of run.records) {
      const v = r.value as unknown as Record<string, unknown>;
      const keyField = { 'telemetry.vm-access': 'userId', 'telemetry.user-activity': 'userId', 'telemetry.vm-state': 'vmId', 'telemetry.scheduled-jobs': 'vmId', 'telemetry.network': 'clientNetworkId' }[r.topic];
      expect(r.key).toBe(v[keyField]);
    }
  });

  it('then office workers ask for access on working days and in working hours', () => {
    const office = new Set(run.population.users.filter((u) => u.archetype === 'office').map((u) => u.id));
    const reqs = run.records
      .filter((r) => r.topic === 'telemetry.vm-access')
      .map((r) => r.value as VmAccess)
      .filter((v) => v.action === 'ACCESS_REQUEST' && office.has(v.userId) && v.source !== 'scheduler');
    expect(reqs.length).toBeGreaterThan(50);
    const inHours = reqs.filter((v) => dayOfWeek(v.timestamp) < 5 && hourOfDay(v.timestamp) >= 5 && hourOfDay(v.timestamp) <= 21);
    expect(inHours.length / reqs.length).toBeGreaterThan(0.9);
  });

  it('then shift workers rotate: their request hours differ from week to week', () => {
    const shift = run.population.users.find((u) => u.archetype === 'shift')!;
    const hoursOfWeek = (w: number) =>
      run.records
        .filter((r) => r.topic === 'telemetry.vm-access' && r.key === shift.id)
        .map((r) => r.value as VmAccess)
        .filter((v) => v.action === 'ACCESS_REQUEST' && v.source !== 'scheduler' && Math.floor((v.timestamp - run.truth.start) / (7 * DAY)) === w)
        .map((v) => hourOfDay(v.timestamp));
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    expect(median(hoursOfWeek(0))).not.toBe(median(hoursOfWeek(1)));
  });

  it('then each scheduled job run is preceded by its owner asking for a credential', () => {
    const started = run.records.filter((r) => r.topic === 'telemetry.scheduled-jobs' && (r.value as ScheduledJob).status === 'STARTED').map((r) => r.value as ScheduledJob);
    expect(started.length).toBeGreaterThan(5);
    const reqs = new Set(
      run.records
        .filter((r) => r.topic === 'telemetry.vm-access' && (r.value as VmAccess).source === 'scheduler' && (r.value as VmAccess).action === 'ACCESS_REQUEST')
        .map((r) => `${(r.value as VmAccess).userId}|${(r.value as VmAccess).vmId}|${r.value.timestamp}`),
    );
    for (const j of started) expect(reqs.has(`${j.ownerId}|${j.vmId}|${j.timestamp - 60_000}`)).toBe(true);
  });

  it('then attacks carry threat indicators and raise crypto operations above the usual', () => {
    expect(run.truth.attacks.length).toBeGreaterThan(0);
    const net = run.records.filter((r) => r.topic === 'telemetry.network').map((r) => r.value as NetworkTelemetry);
    for (const a of run.truth.attacks) {
      const during = net.filter((v) => v.clientNetworkId === a.clientNetworkId && v.timestamp > a.start && v.timestamp <= a.end);
      expect(during.some((v) => v.threatIndicators.includes(a.kind))).toBe(true);
      const dayBefore = net.filter((v) => v.clientNetworkId === a.clientNetworkId && v.timestamp > a.start - DAY && v.timestamp <= a.start - DAY + (a.end - a.start));
      const sum = (xs: NetworkTelemetry[], f: (v: NetworkTelemetry) => number) => xs.reduce((s, v) => s + f(v), 0);
      expect(sum(during, (v) => v.tlsHandshakes)).toBeGreaterThan(1.5 * sum(dayBefore, (v) => v.tlsHandshakes));
    }
  });

  it('then VMs go through their lifecycle and archived VMs get no successful access afterwards', () => {
    const archived = run.population.vms.filter((v) => v.archivedAt !== null);
    expect(archived.length).toBeGreaterThan(0);
    for (const vm of archived) {
      const after = run.records.filter((r) => r.topic === 'telemetry.vm-access' && (r.value as VmAccess).vmId === vm.id && r.value.timestamp >= vm.archivedAt! && (r.value as VmAccess).success);
      expect(after).toHaveLength(0);
    }
  });
});

describe('rng and cron', () => {
  it('given a seed, then forks are independent and reproducible', () => {
    const a = new Rng(5).fork('x');
    const b = new Rng(5).fork('x');
    const c = new Rng(5).fork('y');
    const xs = [a.next(), a.next()];
    expect([b.next(), b.next()]).toEqual(xs);
    expect(c.next()).not.toBe(xs[0]);
  });

  it('given a weekday cron, then runs fall on weekdays at the hour and the string is standard', () => {
    const cron = { minute: 30, hour: 6, hourStep: null, dows: [1, 2, 3, 4, 5] };
    expect(cronString(cron)).toBe('30 6 * * 1-5');
    const monday = Date.UTC(2026, 0, 5);
    const runs = runsBetween(cron, monday, monday + 7 * DAY);
    expect(runs).toHaveLength(5);
    expect(nextRun(cron, monday + 6 * HOUR + 30 * 60_000)).toBe(monday + DAY + 6.5 * HOUR);
    expect(nextRun({ minute: 5, hour: null, hourStep: 6, dows: null }, monday)).toBe(monday + 5 * 60_000);
  });
});
