import { startProjections } from '../../projections/role';
import { readTopic, type RawMessage } from '../../projections/topic-reader';
import { createProducer, LATE_HEADERS } from '../../streams';
import type { UserActivity, VmAccess } from '../../schemas/types';
import { cfg, collectFeatures, publish, uniqueNamespace, waitFor } from './projections-support';

jest.setTimeout(120_000);

const H = 3_600_000;
const T = Date.UTC(2026, 0, 5);
const access = (eventId: string, timestamp: number): VmAccess => ({ eventId, timestamp, userId: 'u-late', vmId: 'vm-1', action: 'CONNECT', success: true, source: 'test' });
const activity = (eventId: string, timestamp: number): UserActivity => ({ eventId, timestamp, userId: 'u-late', activity: 'LOGIN', application: null, durationMs: null });

describe('projections role: late records and duplicates', () => {
  it('given a record later than the grace, then it goes to <topic>.late with the reason; a duplicate counts once', async () => {
    const ns = uniqueNamespace('proj-late');
    await publish(ns, []);
    const role = await startProjections({ config: cfg, namespace: ns, groupId: `${ns}-g`, instanceId: 'a', idleMs: 3_600_000 });
    const out = await collectFeatures(ns);
    const p = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
    try {
      await role.ready;
      await p.send('telemetry.vm-access', [{ key: 'u-late', value: access('a1', T + 10 * 60_000) }, { key: 'u-late', value: access('a1', T + 10 * 60_000) }]);
      await p.send('telemetry.user-activity', [{ key: 'u-late', value: activity('l1', T + 20 * 60_000) }]);
      await waitFor('first records', () => role.counters().records >= 3, 60_000);
      // Both inputs move past the first window's end + grace: it closes.
      await p.send('telemetry.vm-access', [{ key: 'u-late', value: access('a2', T + 2 * H) }]);
      await p.send('telemetry.user-activity', [{ key: 'u-late', value: activity('l2', T + 2 * H) }]);
      await waitFor('the first window', () => out.features.length >= 1, 60_000);
      await p.send('telemetry.vm-access', [{ key: 'u-late', value: access('too-late', T + 30 * 60_000) }]);
      await waitFor('the late record', () => role.counters().late >= 1, 60_000);

      const first = out.features.find((f) => f.windowStart === T)!;
      expect(first).toMatchObject({ userId: 'u-late', vmId: 'vm-1', accesses: 1, logins: 1 });
      expect(role.counters().duplicates).toBe(1);

      const late: RawMessage[] = [];
      const reader = await readTopic({ kafka: cfg.kafka, topic: `${ns}.telemetry.vm-access.late`, follow: true, onMessage: (m) => void late.push(m) });
      await waitFor('the .late record', () => late.length >= 1, 30_000);
      await reader.stop();
      expect(late).toHaveLength(1);
      expect(late[0].key?.toString()).toBe('u-late');
      expect(late[0].headers[LATE_HEADERS.reason]).toMatch(/later than the grace/);
      expect(late[0].headers[LATE_HEADERS.topic]).toBe(`${ns}.telemetry.vm-access`);
    } finally {
      await p.disconnect();
      await out.consumer.stop();
      await role.stop();
    }
  });
});
