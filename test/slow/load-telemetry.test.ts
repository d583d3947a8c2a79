/**
 * Issue 10 item 5, load: telemetry at 10× the demo rate (the demo replays about 1,000 records
 * of 25 users in 2 minutes, ≈ 8 records/s; here 80/s) for LOAD_MINUTES (default 10) through the
 * projections role on the real Kafka + registry. Heap is sampled every 10 s and consumer lag
 * (records produced − records processed) every second. Memory must be flat (the last third's
 * median heap within 1.5× the second third's) and lag bounded (never more than 30 s of input).
 * The figures are printed as one JSON line for README's Reliability section.
 */
import { startProjections } from '../../projections/role';
import { simulate } from '../../models/sim/simulate';
import type { TelemetryTopic } from '../../schemas/types';
import { createProducer } from '../../streams';
import { cfg, isStreamInput, publish, uniqueNamespace, waitFor } from '../integration/projections-support';

const MINUTES = Number(process.env.LOAD_MINUTES ?? 10);
const RATE = 80;
const TICK_MS = 250;
jest.setTimeout((MINUTES * 60 + 300) * 1000);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('load: 10× the demo rate', () => {
  it(`sustains ${RATE} records/s for ${MINUTES} min with flat memory and bounded lag`, async () => {
    const ns = uniqueNamespace('load');
    const need = RATE * MINUTES * 60;
    const sim = simulate({ users: 250, vms: 150, networks: 30, days: Math.max(1, Math.ceil(need / 14_000)), seed: 5 }).records;
    const stream = sim.filter(isStreamInput).sort((a, b) => (a.value as { timestamp: number }).timestamp - (b.value as { timestamp: number }).timestamp).slice(0, need);
    await publish(ns, sim.filter((r) => !isStreamInput(r)));

    const role = await startProjections({ config: cfg, namespace: ns, groupId: `${ns}-g`, instanceId: 'load', idleMs: 3_600_000 });
    const producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
    const heap: number[] = [];
    const lag: number[] = [];
    let produced = 0;
    try {
      await role.ready;
      const startedAt = Date.now();
      let nextHeap = startedAt;
      let nextLag = startedAt;
      const perTick = (RATE * TICK_MS) / 1000;
      while (produced < stream.length) {
        const due = Math.min(stream.length, Math.floor(((Date.now() - startedAt) / TICK_MS + 1) * perTick));
        const batch = stream.slice(produced, due);
        const byTopic = new Map<string, typeof batch>();
        for (const r of batch) (byTopic.get(r.topic) ?? byTopic.set(r.topic, []).get(r.topic)!).push(r);
        for (const [t, rs] of byTopic) await producer.send(t as TelemetryTopic, rs.map((r) => ({ key: r.key, value: r.value as never })));
        produced = due;
        const now = Date.now();
        if (now >= nextLag) {
          lag.push(produced - role.counters().records);
          nextLag += 1000;
        }
        if (now >= nextHeap) {
          heap.push(process.memoryUsage().heapUsed);
          nextHeap += 10_000;
        }
        await new Promise((r) => setTimeout(r, Math.max(0, startedAt + (produced / perTick) * TICK_MS - Date.now())));
      }
      const elapsedS = (Date.now() - startedAt) / 1000;
      await waitFor('the role to catch up', () => role.counters().records >= produced, 300_000);
      const third = Math.max(1, Math.floor(heap.length / 3));
      const figures = {
        minutes: MINUTES,
        targetRate: RATE,
        achievedRate: Math.round(produced / elapsedS),
        records: produced,
        maxLagRecords: Math.max(...lag),
        p95LagRecords: [...lag].sort((a, b) => a - b)[Math.floor(lag.length * 0.95)],
        heapMiB: { secondThirdMedian: +(median(heap.slice(third, 2 * third)) / 2 ** 20).toFixed(1), lastThirdMedian: +(median(heap.slice(-third)) / 2 ** 20).toFixed(1), max: +(Math.max(...heap) / 2 ** 20).toFixed(1) },
        stateKeys: role.stateSize(),
      };
      process.stdout.write(`load figures ${JSON.stringify(figures)}\n`);
      expect(produced).toBe(need);
      expect(figures.achievedRate).toBeGreaterThanOrEqual(RATE * 0.9);
      expect(figures.maxLagRecords).toBeLessThanOrEqual(RATE * 30);
      expect(figures.heapMiB.lastThirdMedian).toBeLessThanOrEqual(figures.heapMiB.secondThirdMedian * 1.5);
    } finally {
      await producer.disconnect();
      await role.stop();
    }
  });
});
