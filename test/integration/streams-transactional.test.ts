import { loadConfig } from '../../core/config';
import { withRetry } from '../../core/retry';
import type { AdminAlert, VmAccess } from '../../schemas';
import {
  type BatchResult,
  catalogue,
  createProducer,
  createSerde,
  ensureStreams,
  ensureTopics,
  readTopic,
  runTransactionalProcessor,
} from '../../streams';
import { testNamespaces } from '../support/namespaces';

// Each test gets its own namespace, dropped when the suite ends.
const newNs = testNamespaces('it-tx');

// Real processes and brokers on a shared 2-core machine: generous, never asserted on.
jest.setTimeout(120_000);

// Exactly-once consume-transform-produce on a real broker: outputs and offsets commit together.
const cfg = loadConfig();
const registryUrl = cfg.schemaRegistry.url;

const access = (n: number, over: Partial<VmAccess> = {}): VmAccess => ({
  eventId: `e${n}`,
  timestamp: Date.now() - 1000,
  userId: `u${n}`,
  vmId: 'vm',
  action: 'ACCESS_REQUEST',
  success: false,
  source: 'it',
  ...over,
});

const alertFor = (a: VmAccess): AdminAlert => ({
  eventId: `alert-${a.eventId}`,
  timestamp: a.timestamp,
  subject: `${a.userId}_${a.vmId}`,
  kind: 'POLICY_VIOLATION',
  severity: 'WARNING',
  message: `failed access by ${a.userId}`,
  details: {},
});

async function until(cond: () => boolean, what: string, limitMs = 60_000): Promise<void> {
  for (let waited = 0; !cond(); waited += 50) {
    if (waited > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('transactional processor', () => {
  it('commits outputs, DLQ records and offsets atomically; an aborted attempt leaves nothing behind', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access', 'alerts.admin'] });
    // A just-created topic can be briefly unknown to the broker (KRaft): that error is retriable, so retry as the roles do.
    await withRetry(() => ensureTopics(cfg.kafka, { specs: [{ ...catalogue(ns, ['alerts.admin'])[0], name: `${ns}.changelog`, cleanup: 'compact', retentionMs: -1 }] }), { retries: 8, initialMs: 250, maxMs: 5000 });
    const p = createProducer({ kafka: cfg.kafka, registryUrl, namespace: ns });
    const inputs = [access(1), access(2), access(3, { vmId: 'late-vm' }), access(4, { userId: '' }), access(5)];
    await p.send('telemetry.vm-access', inputs.map((value) => ({ key: 'k', value })));
    await p.disconnect();

    let failOnce = true;
    let aborts = 0;
    const state = new Map<string, number>();
    const proc = await runTransactionalProcessor({
      kafka: cfg.kafka,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g`,
      transactionalId: `${ns}-tx-1`,
      topics: ['telemetry.vm-access'],
      fromBeginning: true,
      retry: { initialMs: 5, maxMs: 20 },
      processBatch: async (records): Promise<BatchResult> => {
        const result: BatchResult = { outputs: [], late: [] };
        for (const r of records) {
          if (r.value.vmId === 'late-vm') {
            result.late!.push({ offset: r.offset, reason: 'past grace' });
            continue;
          }
          state.set(r.value.userId, (state.get(r.value.userId) ?? 0) + 1);
          result.outputs.push({ topic: 'alerts.admin', key: r.value.userId, value: alertFor(r.value) });
          result.outputs.push({ rawTopic: `${ns}.changelog`, key: r.value.userId, value: Buffer.from(String(state.get(r.value.userId))) });
        }
        if (failOnce) {
          // Fails inside the transaction, after the alerts were sent: the attempt must be aborted.
          failOnce = false;
          result.outputs.push({ rawTopic: `${ns}.no-such-topic`, key: 'x', value: Buffer.from('x') });
        }
        return result;
      },
      onAbort: async () => {
        aborts++;
        state.clear(); // a real processor reloads from its changelog here
      },
    });
    try {
      await until(() => proc.counters().in === 5, 'five records committed');
    } finally {
      await proc.stop();
    }
    expect(aborts).toBe(1);
    expect(proc.counters()).toMatchObject({ in: 5, processed: 3, dlq: 1, late: 1, dlqByReason: { invalid: 1 } });

    const serde = createSerde({ registryUrl });
    const alerts = await readTopic(cfg.kafka, `${ns}.alerts.admin`, { fromBeginning: true, timeoutMs: 3_000 });
    const decoded = await Promise.all(alerts.map((m) => serde.decode('alerts.admin', m.value)));
    expect(decoded.map((d) => d.value.eventId)).toEqual(['alert-e1', 'alert-e2', 'alert-e5']);
    const changelog = await readTopic(cfg.kafka, `${ns}.changelog`, { fromBeginning: true, timeoutMs: 2_000 });
    expect(changelog.map((m) => `${m.key}=${m.value}`)).toEqual(['u1=1', 'u2=1', 'u5=1']);
    const dlq = await readTopic(cfg.kafka, `${ns}.telemetry.vm-access.dlq`, { fromBeginning: true, max: 1, timeoutMs: 10_000 });
    expect(dlq[0].headers).toMatchObject({ 'dlq.reason': 'invalid', 'dlq.source.offset': '3' });
    const late = await readTopic(cfg.kafka, `${ns}.telemetry.vm-access.late`, { fromBeginning: true, max: 1, timeoutMs: 10_000 });
    expect(late[0].headers).toMatchObject({ 'late.reason': 'past grace', 'late.source.offset': '2' });

    // The offsets were committed with the outputs: a restarted processor has nothing left to do.
    const again = await runTransactionalProcessor({
      kafka: cfg.kafka,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g`,
      transactionalId: `${ns}-tx-1`,
      topics: ['telemetry.vm-access'],
      processBatch: async (records) => {
        throw new Error(`re-delivered ${records.length} records`);
      },
    });
    await again.ready;
    await new Promise((r) => setTimeout(r, 1500));
    await again.stop();
    expect(again.counters().in).toBe(0);
  });
  it('commits batches of several partitions processed at once, each output exactly once', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access', 'alerts.admin'] });
    const n = 90;
    const p = createProducer({ kafka: cfg.kafka, registryUrl, namespace: ns });
    await p.send('telemetry.vm-access', Array.from({ length: n }, (_, i) => ({ key: `user-${i}`, value: access(i, { userId: `user-${i}` }) })));
    await p.disconnect();
    const proc = await runTransactionalProcessor({
      kafka: cfg.kafka,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g`,
      transactionalId: `${ns}-tx-1`,
      topics: ['telemetry.vm-access'],
      concurrency: 3,
      processBatch: async (records) => {
        await new Promise((r) => setTimeout(r, 20)); // overlap the partitions' batches
        return { outputs: records.map((r) => ({ topic: 'alerts.admin' as const, key: r.value.userId, value: alertFor(r.value) })) };
      },
    });
    try {
      await until(() => proc.counters().in === n, 'every record committed');
    } finally {
      await proc.stop();
    }
    const alerts = await readTopic(cfg.kafka, `${ns}.alerts.admin`, { fromBeginning: true, max: n + 1, timeoutMs: 5_000 });
    expect(alerts).toHaveLength(n);
  });
});
