import { ScaledClock } from '../../roles/clock';
import { mergeHealth, pipelineHealth } from '../../roles/health';
import { parseRoles, START_ORDER } from '../../roles/registry';
import type { RunningRole } from '../../core/role';

describe('parseRoles', () => {
  it('given all, then every role in start order', () => {
    expect(parseRoles('all')).toEqual([...START_ORDER]);
  });
  it('given a list in any order, then the same roles in start order', () => {
    expect(parseRoles('api,scorer')).toEqual(['scorer', 'api']);
  });
  it('given an unknown role, then the error names it and the valid ones', () => {
    expect(() => parseRoles('scorer,oracle')).toThrow(/unknown role "oracle"; use all or one or more of projections, scorer, provisioner, hsm, api/);
  });
});

describe('ScaledClock', () => {
  it('given a speed-up, then simulated time runs that much faster than the wall clock', () => {
    let wall = 1000;
    const c = new ScaledClock(5_000_000, 360, { wall: () => wall });
    wall += 10_000;
    expect(c.now()).toBe(5_000_000 + 3_600_000);
    expect(c.wallMsUntil(5_000_000 + 7_200_000)).toBe(10_000);
  });
  it('given a paused clock, then it stays at its start until started', () => {
    let wall = 0;
    const c = new ScaledClock(42, 100, { running: false, wall: () => wall });
    wall = 50_000;
    expect(c.now()).toBe(42);
    c.start();
    wall += 10;
    expect(c.now()).toBe(1042);
  });
});

describe('health', () => {
  it('given two roles reporting one dependency differently, then the failing report wins', () => {
    const h = mergeHealth([{ eventStore: { ok: true } }, { eventStore: { ok: false, detail: 'down' }, hsm: { ok: true } }]);
    expect(h).toEqual({ ok: false, dependencies: { eventStore: { ok: false, detail: 'down' }, hsm: { ok: true } } });
  });
  it('given a role whose health check throws, then it counts as down with the reason', async () => {
    const bad: RunningRole = { name: 'hsm', health: () => Promise.reject(new Error('module gone\nstack')), stop: async () => undefined };
    const good: RunningRole = { name: 'api', health: async () => ({ eventStore: { ok: true } }), stop: async () => undefined };
    const h = await pipelineHealth([bad, good], [async () => ({ kafka: { ok: true } })]);
    expect(h.ok).toBe(false);
    expect(h.dependencies.hsm).toEqual({ ok: false, detail: 'module gone' });
    expect(h.dependencies.kafka).toEqual({ ok: true });
    expect(Object.keys(h.roles)).toEqual(['hsm', 'api']);
  });
});
