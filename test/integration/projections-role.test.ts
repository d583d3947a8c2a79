import { computeFeatures } from '../../projections/offline';
import { startProjections } from '../../projections/role';
import { byEventId, cfg, collectFeatures, isStreamInput, publish, smallTelemetry, uniqueNamespace, waitFor } from './projections-support';

jest.setTimeout(180_000);

describe('projections role on the real stack', () => {
  it('given published telemetry, then it emits the same features the offline computation gives, each once', async () => {
    const ns = uniqueNamespace('proj-role');
    const records = smallTelemetry();
    await publish(ns, records);
    const inputs = records.filter(isStreamInput).length;

    const role = await startProjections({ config: cfg, namespace: ns, groupId: `${ns}-g`, instanceId: 'a', idleMs: 3_600_000 });
    const out = await collectFeatures(ns);
    try {
      await role.ready;
      await waitFor('all telemetry processed', () => role.counters().records >= inputs, 120_000);
      const c = role.counters();
      await waitFor('all features read', () => out.features.length >= c.accessFeatures + c.networkFeatures, 60_000);
      await new Promise((r) => setTimeout(r, 1000));

      const ids = out.features.map((f) => f.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(c.late).toBe(0);
      expect(c.accessFeatures).toBeGreaterThan(100);
      expect(c.networkFeatures).toBeGreaterThan(50);
      // Serving closes windows per task as far as its slowest input; offline goes to the batch end.
      // Every feature the role emitted must be exactly the one training computes.
      const offline = computeFeatures(records);
      const byId = new Map([...offline.access, ...offline.network].map((f) => [f.eventId, f]));
      const mismatched = out.features.filter((f) => JSON.stringify(byEventId([f])[0]) !== JSON.stringify(byId.get(f.eventId)));
      expect(mismatched.slice(0, 3)).toEqual([]);
      expect(role.stateSize().access.keys).toBeGreaterThan(0);
    } finally {
      await out.consumer.stop();
      await role.stop();
    }
  });
});
