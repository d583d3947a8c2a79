import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../core/config';
import { done, runConsumer } from '../../streams';
import { simulate } from '../../models/sim/simulate';
import { publishRecords } from '../../models/sim/publish';
import { TELEMETRY_TOPICS } from '../../schemas/types';

jest.setTimeout(180_000);
const cfg = loadConfig();

describe('simulate --publish', () => {
  it('given a simulation, when published at a speed-up, then every record arrives as Avro on its topic with its key, paced by event time', async () => {
    const ns = `t-models-pub-${randomUUID().slice(0, 8)}`;
    const sim = simulate({ users: 3, vms: 2, networks: 1, days: 1, seed: 8, networkIntervalMs: 900_000 });
    const sleeps: number[] = [];
    let now = 0;
    const sent = await publishRecords(sim.records, {
      namespace: ns,
      speedup: 3600,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    expect(sent).toBe(sim.records.length);
    // A day at 3600x is 24 s of (driven) wall time.
    expect(now).toBeGreaterThan(20_000);
    expect(now).toBeLessThanOrEqual(24_000);

    const got = new Map<string, { key: string | null; eventId: string }>();
    const c = await runConsumer({
      kafka: cfg.kafka,
      registryUrl: cfg.schemaRegistry.url,
      groupId: `${ns}-read`,
      namespace: ns,
      topics: TELEMETRY_TOPICS,
      handle: async (r) => {
        got.set(r.value.eventId, { key: r.key, eventId: r.value.eventId });
        return done();
      },
    });
    try {
      const deadline = Date.now() + 90_000;
      while (got.size < sim.records.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    } finally {
      await c.stop();
    }
    expect(got.size).toBe(sim.records.length);
    for (const r of sim.records) expect(got.get(r.value.eventId)?.key).toBe(r.key);
  });
});
