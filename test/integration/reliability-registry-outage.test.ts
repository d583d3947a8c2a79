/**
 * Issue 10 item 2, the schema registry unavailable for a while: the projections role, reaching
 * the real registry through a proxy the test cuts (the shared stack's registry keeps serving
 * everyone else), retries its batches — logging each retry as a warning — processes nothing and
 * dead-letters nothing while it is gone, and once it is back processes every record, exactly the
 * features an uninterrupted run gives.
 */
import { createLogger } from '../../core/log';
import { computeFeatures } from '../../projections/offline';
import { startProjections } from '../../projections/role';
import { dlqTopic, physicalTopic, readTopic } from '../../streams';
import { startProxy } from '../support/chaos';
import { byEventId, cfg, collectFeatures, isStreamInput, publish, smallTelemetry, uniqueNamespace, waitFor } from './projections-support';

jest.setTimeout(240_000);

const INPUTS = ['telemetry.vm-access', 'telemetry.user-activity', 'telemetry.network'] as const;

describe('reliability: schema registry outage under the projections role', () => {
  it('given the registry goes away while telemetry arrives, then the role retries and warns, loses and dead-letters nothing, and catches up once it is back', async () => {
    const ns = uniqueNamespace('rel-reg');
    const records = smallTelemetry(23);
    const valid = records.filter(isStreamInput);
    const target = new URL(cfg.schemaRegistry.url);
    const proxy = await startProxy(target.hostname, Number(target.port));
    const viaProxy = new URL(cfg.schemaRegistry.url);
    viaProxy.port = String(proxy.port);
    const logs: string[] = [];
    const log = createLogger({}, { write: (l) => logs.push(l), level: 'debug' });

    await publish(ns, records.filter((r) => !isStreamInput(r)));
    const role = await startProjections({
      config: { ...cfg, schemaRegistry: { ...cfg.schemaRegistry, url: viaProxy.toString().replace(/\/$/, '') } },
      namespace: ns,
      groupId: `${ns}-g`,
      instanceId: 'a',
      idleMs: 3_600_000,
      log,
    });
    let crashed: unknown;
    role.finished.catch((e) => (crashed = e));
    const out = await collectFeatures(ns);
    try {
      await role.ready;
      await proxy.cut();
      await publish(ns, valid);

      // While it is gone: retried with a warning, nothing processed, nothing dead-lettered.
      await waitFor('a retry warning', () => logs.some((l) => l.includes('batch will be retried')), 60_000);
      const warned = logs.filter((l) => l.includes('batch will be retried'));
      expect(warned[0]).toMatch(/"level":"warn"/);
      expect(warned[0]).toMatch(/registry|ECONNREFUSED|unavailable/i);
      await new Promise((r) => setTimeout(r, 3000));
      expect(role.counters().records).toBe(0);
      expect(crashed).toBeUndefined();

      await proxy.restore();
      await waitFor('every record processed after the registry is back', () => role.counters().records >= valid.length || crashed !== undefined, 120_000);
      expect(crashed).toBeUndefined();
      const c = role.counters();
      expect(c.records).toBe(valid.length);
      expect(c.late).toBe(0);
      let dlq = 0;
      for (const t of INPUTS) dlq += (await readTopic(cfg.kafka, dlqTopic(physicalTopic(t, ns)), { fromBeginning: true, idleMs: 2000, timeoutMs: 30_000 })).length;
      expect(dlq).toBe(0);

      await waitFor('all features read', () => out.features.length >= c.accessFeatures + c.networkFeatures, 60_000);
      const ids = out.features.map((f) => f.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      const offline = computeFeatures(records);
      const byId = new Map([...offline.access, ...offline.network].map((f) => [f.eventId, f]));
      const mismatched = out.features.filter((f) => JSON.stringify(byEventId([f])[0]) !== JSON.stringify(byId.get(f.eventId)));
      expect(mismatched.slice(0, 3)).toEqual([]);
      expect(c.accessFeatures).toBeGreaterThan(50);
    } finally {
      await out.consumer.stop();
      await role.stop();
      await proxy.close();
    }
  });
});
