import { startProjections } from '../../projections/role';
import { byEventId, cfg, collectFeatures, isStreamInput, lcg, publish, runWithKills, smallTelemetry, uniqueNamespace, waitFor } from './projections-support';

jest.setTimeout(400_000);

describe('projections role killed at random points', () => {
  it('given SIGKILLs mid-run and restarts, then the features equal an uninterrupted run, with no duplicates', async () => {
    const records = smallTelemetry(21);
    const inputs = records.filter(isStreamInput).length;

    // The uninterrupted run.
    const ref = uniqueNamespace('proj-ref');
    await publish(ref, records);
    const role = await startProjections({ config: cfg, namespace: ref, groupId: `${ref}-g`, instanceId: 'ref', idleMs: 3_600_000 });
    const refOut = await collectFeatures(ref);
    try {
      await waitFor('reference run', () => role.counters().records >= inputs, 120_000);
      const c = role.counters();
      await waitFor('reference features', () => refOut.features.length >= c.accessFeatures + c.networkFeatures, 60_000);
    } finally {
      await role.stop();
      await refOut.consumer.stop();
    }

    // The same telemetry, with the role killed twice at random points.
    const ns = uniqueNamespace('proj-kill');
    await publish(ns, records);
    const out = await collectFeatures(ns);
    try {
      const { killedAfterFeatures } = await runWithKills(ns, 2, lcg(Date.now() & 0xffff), refOut.features.length, out, inputs);
      process.stderr.write(`projections crash test: features committed at each kill ${JSON.stringify(killedAfterFeatures)} of ${refOut.features.length}\n`);
      const ids = out.features.map((f) => f.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(byEventId(out.features)).toEqual(byEventId(refOut.features));
    } finally {
      await out.consumer.stop();
    }
  });
});
