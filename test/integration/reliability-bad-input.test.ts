/**
 * Issue 10 item 3, bad input at volume: 10,000 malformed records mixed into valid telemetry on
 * the real Kafka + registry, through the projections role (the real consumer of telemetry).
 * Every valid record is processed (the features equal the offline computation over the valid
 * records alone), every bad one is in `<topic>.dlq` with the reason its kind calls for, the
 * counts balance and the role keeps running.
 */
import { computeFeatures } from '../../projections/offline';
import { startProjections } from '../../projections/role';
import type { JsonlRecord } from '../../schemas/types';
import { createProducer, DLQ_HEADERS, dlqTopic, physicalTopic, readTopic, type RawMessage, type RawRecord } from '../../streams';
import { EXPECTED_REASON, malformed, seeded, type BadKind } from '../support/chaos';
import { byEventId, capturedLog, cfg, collectFeatures, isStreamInput, publish, smallTelemetry, uniqueNamespace, waitFor, within } from './projections-support';

jest.setTimeout(480_000);

const BAD_TOTAL = 10_000;
const OVERSIZED = 100;
const KINDS: BadKind[] = ['wrong-magic-byte', 'unknown-schema-id', 'truncated-avro', 'timestamp-far-future', 'timestamp-before-2000', 'missing-event-id', 'missing-entity-id'];
const INPUTS = ['telemetry.vm-access', 'telemetry.user-activity', 'telemetry.network'] as const;
const KIND_HEADER = 'test.bad-kind';

async function readDlqs(ns: string): Promise<RawMessage[]> {
  const out: RawMessage[] = [];
  for (const t of INPUTS) out.push(...(await readTopic(cfg.kafka, dlqTopic(physicalTopic(t, ns)), { fromBeginning: true, idleMs: 2500, timeoutMs: 30_000 })));
  return out;
}

describe('reliability: bad input at volume through the projections role', () => {
  it('given 10,000 malformed records mixed into valid telemetry, then every valid one is processed, every bad one is in the DLQ with its reason, and the counts balance', async () => {
    const ns = uniqueNamespace('rel-bad');
    const random = seeded(10);
    const records = smallTelemetry();
    const valid = records.filter(isStreamInput);
    // Global tables first, as a real deployment has them.
    await publish(ns, records.filter((r) => !isStreamInput(r)));

    const producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
    const now = Date.now();
    const expectedByKind = new Map<BadKind, number>();
    try {
      const badByTopic = new Map<string, Array<{ template: JsonlRecord; kind: BadKind; n: number }>>(INPUTS.map((t) => [t, []]));
      for (let n = 0; n < BAD_TOTAL; n++) {
        const kind = n < OVERSIZED ? 'oversized-value' : KINDS[n % KINDS.length];
        expectedByKind.set(kind, (expectedByKind.get(kind) ?? 0) + 1);
        const template = valid[Math.floor(random() * valid.length)];
        badByTopic.get(template.topic)!.push({ template, kind, n });
      }
      for (const topic of INPUTS) {
        const physical = physicalTopic(topic, ns);
        const good: RawRecord[] = [];
        for (const r of valid.filter((x) => x.topic === topic)) good.push({ key: r.key, value: await producer.serde.encode(topic, r.value as never, physical) });
        const bad: RawRecord[] = [];
        for (const b of badByTopic.get(topic)!) bad.push({ key: b.template.key, value: await malformed(producer.serde, physical, b.template, b.kind, b.n, now), headers: { [KIND_HEADER]: b.kind } });
        // Interleave at random, keeping the valid records in their order (no late records).
        const mixed: RawRecord[] = [];
        let g = 0;
        let k = 0;
        while (g < good.length || k < bad.length) {
          const takeBad = k < bad.length && (g >= good.length || random() < bad.length / (bad.length + good.length));
          mixed.push(takeBad ? bad[k++] : good[g++]);
        }
        // Flush before a request nears the broker's 1 MB batch limit (the oversized records).
        let chunk: RawRecord[] = [];
        let bytes = 0;
        for (const m of mixed) {
          if (chunk.length && (chunk.length >= 500 || bytes + m.value!.length > 400_000)) {
            await producer.sendRaw(physical, chunk);
            chunk = [];
            bytes = 0;
          }
          chunk.push(m);
          bytes += m.value!.length;
        }
        if (chunk.length) await producer.sendRaw(physical, chunk);
      }
    } finally {
      await producer.disconnect();
    }

    const { log, dump } = capturedLog();
    const role = await within('the role starting', startProjections({ config: cfg, namespace: ns, groupId: `${ns}-g`, instanceId: 'a', idleMs: 3_600_000, log }), 60_000);
    let crashed: unknown;
    role.finished.catch((e) => (crashed = e));
    const out = await within('the feature collector joining', collectFeatures(ns), 60_000);
    try {
      await within('the role joining its group', role.ready, 60_000);
      await waitFor(`every valid record processed (${valid.length})`, () => role.counters().records >= valid.length || crashed !== undefined, 120_000);
      expect(crashed).toBeUndefined();

      let dlq: RawMessage[] = [];
      const deadline = Date.now() + 60_000;
      while ((dlq = await readDlqs(ns)).length < BAD_TOTAL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1000));

      const c = role.counters();
      // Counts balance: valid in = processed, bad in = DLQ'd, nothing late, nothing extra.
      expect(c.records).toBe(valid.length);
      expect(c.late).toBe(0);
      expect(dlq.length).toBe(BAD_TOTAL);
      expect(dlq.every((m) => m.headers[KIND_HEADER] !== undefined)).toBe(true);
      expect(new Set(dlq.map((m) => `${m.headers[DLQ_HEADERS.topic]}/${m.headers[DLQ_HEADERS.partition]}/${m.headers[DLQ_HEADERS.offset]}`)).size).toBe(BAD_TOTAL);

      // Every bad record with the reason its kind calls for.
      const got = new Map<string, number>();
      const wrong: string[] = [];
      for (const m of dlq) {
        const kind = m.headers[KIND_HEADER] as BadKind;
        got.set(kind, (got.get(kind) ?? 0) + 1);
        if (m.headers[DLQ_HEADERS.reason] !== EXPECTED_REASON[kind]) wrong.push(`${kind} → ${m.headers[DLQ_HEADERS.reason]}: ${m.headers[DLQ_HEADERS.detail]}`);
        // The detail says what was wrong, never the value itself.
        expect((m.headers[DLQ_HEADERS.detail] ?? '').length).toBeLessThanOrEqual(500);
      }
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expectedByKind));

      // Every valid record processed as if the bad ones were never there.
      await waitFor('all features read', () => out.features.length >= c.accessFeatures + c.networkFeatures, 60_000);
      const ids = out.features.map((f) => f.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(c.accessFeatures).toBeGreaterThan(100);
      const offline = computeFeatures(records);
      const byId = new Map([...offline.access, ...offline.network].map((f) => [f.eventId, f]));
      const mismatched = out.features.filter((f) => JSON.stringify(byEventId([f])[0]) !== JSON.stringify(byId.get(f.eventId)));
      expect(mismatched.slice(0, 3)).toEqual([]);
      expect(crashed).toBeUndefined();
    } catch (err) {
      dump(`counters ${JSON.stringify(role.counters())}`);
      throw err;
    } finally {
      await out.consumer.stop();
      await role.stop();
    }
  });
});
