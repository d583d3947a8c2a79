import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../core/config';
import type { AdminAlert, VmAccess } from '../../schemas';
import { createProducer, dropNamespace, ensureStreams, readTopic, runTransactionalProcessor, type RunningProcessor } from '../../streams';

// Regression: a batch committed while a new member joins gets REBALANCE_IN_PROGRESS from the
// heartbeat after the commit. That is kafkajs's to handle (it rejoins); taken for a failed batch it
// stopped the processor, and the projections scale-out test waited in vain for its features.

jest.setTimeout(180_000);

const cfg = loadConfig();
const ns = `it-txrb-${randomUUID().slice(0, 8)}`;
afterAll(async () => {
  await dropNamespace(cfg, ns).catch(() => undefined);
});

const access = (n: number): VmAccess => ({
  eventId: `e${n}`,
  timestamp: Date.now() - 1000,
  userId: `u${n}`,
  vmId: 'vm',
  action: 'ACCESS_REQUEST',
  success: false,
  source: 'it',
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

async function until(cond: () => boolean | Promise<boolean>, what: string, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('given a member joining while a batch commits, then the processor rejoins and keeps processing instead of stopping', async () => {
  await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access', 'alerts.admin'] });
  const groupId = `${ns}-g`;
  const admin = new Kafka({ clientId: `${ns}-admin`, brokers: cfg.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const groupState = async () => (await admin.describeGroups([groupId])).groups[0]?.state;

  const send = async (from: number, count: number) => {
    const p = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
    await p.send('telemetry.vm-access', Array.from({ length: count }, (_, i) => ({ key: `u${from + i}`, value: access(from + i) })));
    await p.disconnect();
  };
  const procs: RunningProcessor[] = [];
  const errors: unknown[] = [];
  const start = async (id: string, onBatch?: () => Promise<void>) => {
    const proc = await runTransactionalProcessor({
      kafka: cfg.kafka,
      registryUrl: cfg.schemaRegistry.url,
      namespace: ns,
      groupId,
      transactionalId: `${groupId}-${id}`,
      topics: ['telemetry.vm-access'],
      processBatch: async (records) => {
        await onBatch?.();
        return { outputs: records.map((r) => ({ topic: 'alerts.admin' as const, key: r.value.userId, value: alertFor(r.value) })) };
      },
    });
    proc.finished.catch((e) => errors.push(e));
    procs.push(proc);
    return proc;
  };

  try {
    await send(0, 12);
    let joined = false;
    const first = await start('a', async () => {
      if (joined) return;
      joined = true;
      // A second member joins; the batch commits only once the group is rebalancing, and late
      // enough for the next heartbeat to go to the broker (kafkajs sends one per 3 s at most).
      // Not awaited: b's start returns once it has joined, which waits for this member to rejoin.
      const b = start('b');
      b.catch((e) => errors.push(e));
      await until(async () => (await groupState()) === 'PreparingRebalance', 'the group to start rebalancing');
      await new Promise((r) => setTimeout(r, 3_500));
    });
    await first.ready;
    await until(() => joined && procs.length === 2, 'the first batch and the second member');
    await until(async () => errors.length > 0 || (await groupState()) === 'Stable', 'the group to settle with both members', 90_000);
    expect(errors).toEqual([]);
    await send(12, 12);
    await until(() => procs.reduce((n, p) => n + p.counters().in, 0) >= 24 || errors.length > 0, 'every record processed', 90_000);
    expect(errors).toEqual([]);
    const alerts = await readTopic(cfg.kafka, `${ns}.alerts.admin`, { fromBeginning: true, max: 25, timeoutMs: 5_000 });
    expect(new Set(alerts.map((m) => m.key)).size).toBe(24);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await admin.disconnect();
  }
});
