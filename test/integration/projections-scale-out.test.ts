import { startProjections, type RunningProjections } from '../../projections/role';
import { byEventId, cfg, collectFeatures, isStreamInput, publish, smallTelemetry, uniqueNamespace, waitFor } from './projections-support';

jest.setTimeout(300_000);

async function runAlone(ns: string, records: ReturnType<typeof smallTelemetry>) {
  const inputs = records.filter(isStreamInput).length;
  const role = await startProjections({ config: cfg, namespace: ns, groupId: `${ns}-g`, instanceId: 'solo', idleMs: 3_600_000 });
  const out = await collectFeatures(ns);
  try {
    await waitFor('the single instance', () => role.counters().records >= inputs, 120_000);
    const c = role.counters();
    await waitFor('its features', () => out.features.length >= c.accessFeatures + c.networkFeatures, 60_000);
    return out.features;
  } finally {
    await role.stop();
    await out.consumer.stop();
  }
}

describe('projections role scaled out', () => {
  it('given two instances in one group joining while work is under way, then together they emit what one instance emits, each once', async () => {
    const records = smallTelemetry(41);
    const ref = uniqueNamespace('proj-solo');
    await publish(ref, records);
    const expected = await runAlone(ref, records);

    const ns = uniqueNamespace('proj-pair');
    await publish(ns, records);
    const out = await collectFeatures(ns);
    const roles: RunningProjections[] = [];
    try {
      roles.push(await startProjections({ config: cfg, namespace: ns, groupId: `${ns}-g`, instanceId: 'one', idleMs: 3_600_000 }));
      await waitFor('the first instance to start', () => roles[0].counters().records > 0, 60_000);
      roles.push(await startProjections({ config: cfg, namespace: ns, groupId: `${ns}-g`, instanceId: 'two', idleMs: 3_600_000 }));
      await waitFor('every feature', () => out.features.length >= expected.length, 180_000);
      await new Promise((r) => setTimeout(r, 2000));
      const ids = out.features.map((f) => f.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(byEventId(out.features)).toEqual(byEventId(expected));
    } finally {
      await out.consumer.stop();
      await Promise.all(roles.map((r) => r.stop()));
    }
  });
});
