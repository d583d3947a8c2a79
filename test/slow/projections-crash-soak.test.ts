import { startProjections } from '../../projections/role';
import {
  byEventId,
  cfg,
  collectFeatures,
  isStreamInput,
  lcg,
  publish,
  runWithKills,
  uniqueNamespace,
  waitFor,
} from '../integration/projections-support';
import { simulate } from '../../models/sim/simulate';

jest.setTimeout(1_200_000);

describe('projections role soak: many kills', () => {
  it('given six SIGKILLs at random points over a larger stream, then the features equal an uninterrupted run, with no duplicates', async () => {
    const records = simulate({ users: 40, vms: 20, networks: 4, days: 4, seed: 33 }).records;
    const inputs = records.filter(isStreamInput).length;

    const ref = uniqueNamespace('proj-soak-ref');
    await publish(ref, records);
    const role = await startProjections({ config: cfg, namespace: ref, groupId: `${ref}-g`, instanceId: 'ref', idleMs: 3_600_000 });
    const refOut = await collectFeatures(ref);
    try {
      await waitFor('reference run', () => role.counters().records >= inputs, 300_000);
      const c = role.counters();
      await waitFor('reference features', () => refOut.features.length >= c.accessFeatures + c.networkFeatures, 120_000);
    } finally {
      await role.stop();
      await refOut.consumer.stop();
    }

    const ns = uniqueNamespace('proj-soak');
    await publish(ns, records);
    const out = await collectFeatures(ns);
    try {
      const { killedAfterFeatures } = await runWithKills(ns, 6, lcg(Date.now() & 0xffff), refOut.features.length, out, inputs);
      process.stderr.write(`projections soak: features committed at each kill ${JSON.stringify(killedAfterFeatures)} of ${refOut.features.length}\n`);
      const ids = out.features.map((f) => f.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(byEventId(out.features)).toEqual(byEventId(refOut.features));
    } finally {
      await out.consumer.stop();
    }
  });
});
