import { loadConfig } from '../../core/config';
import { UnavailableError, InvalidInputError } from '../../core/errors';
import type { VmAccess } from '../../schemas';
import {
  createProducer,
  done,
  ensureStreams,
  frame,
  late,
  type Outcome,
  type Producer,
  readTopic,
  replayDlq,
  retry,
  runConsumer,
  type RunningConsumer,
  toDlq,
} from '../../streams';
import { testNamespaces } from '../support/namespaces';

// Each test gets its own namespace, dropped when the suite ends.
const newNs = testNamespaces('it-consumer');

// Real processes and brokers on a shared 2-core machine: generous, never asserted on.
jest.setTimeout(120_000);

// Real broker and registry (the stack globalSetup brings up); every test has its own namespace.
const cfg = loadConfig();
const conn = cfg.kafka;
const registryUrl = cfg.schemaRegistry.url;

const fast = { initialMs: 5, maxMs: 20 };

const access = (n: number, over: Partial<VmAccess> = {}): VmAccess => ({
  eventId: `e${n}`,
  timestamp: Date.now() - 1000,
  userId: `u${n % 7}`,
  vmId: `vm${n % 3}`,
  action: 'CONNECT',
  success: true,
  source: 'it',
  ...over,
});

async function until(cond: () => boolean, what: string, limitMs = 60_000): Promise<void> {
  for (let waited = 0; !cond(); waited += 50) {
    if (waited > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('consumer wrapper on a real broker', () => {
  const running: Array<RunningConsumer | Producer> = [];
  afterEach(async () => {
    for (const r of running.splice(0)) await ('stop' in r ? r.stop() : r.disconnect());
  });

  it('sends every kind of bad input to <topic>.dlq with raw bytes and reasons, and keeps going', async () => {
    const ns = newNs();
    const { schemaIds } = await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const id = schemaIds.get('telemetry.vm-access')!;
    const topic = `${ns}.telemetry.vm-access`;
    const p = createProducer({ kafka: conn, registryUrl, namespace: ns });
    running.push(p);
    const encoded = async (v: VmAccess) => p.serde.encode('telemetry.vm-access', v, topic);
    // All on one key so they land on one partition, in this order.
    const bad: Array<[string, Buffer | null]> = [
      ['no-magic-byte', Buffer.from('{"eventId":"json"}')],
      ['no-magic-byte', Buffer.from([1, 0, 0, 0, id, 2, 3])],
      ['unknown-schema-id', frame(987_654_321, Buffer.from([1, 2, 3]))],
      ['undecodable', frame(id, Buffer.from([0xff, 0xff, 0xff, 0xff]))],
      ['invalid', await encoded(access(90, { userId: '' }))],
      ['invalid', await encoded(access(91, { timestamp: Date.UTC(1990, 0, 1) }))],
    ];
    await p.send('telemetry.vm-access', [{ key: 'k', value: access(1) }]);
    await p.sendRaw(topic, bad.map(([, value]) => ({ key: 'k', value, headers: { origin: 'test' } })));
    await p.send('telemetry.vm-access', [{ key: 'k', value: access(2) }]);

    const seen: string[] = [];
    const c = await runConsumer({
      kafka: conn,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g`,
      topics: ['telemetry.vm-access'],
      fromBeginning: true,
      retry: fast,
      handle: async (r) => {
        seen.push(r.value.eventId);
        return done();
      },
    });
    running.push(c);
    await until(() => c.counters().in === 8, 'all 8 records settled');
    const counts = c.counters();
    expect(seen).toEqual(['e1', 'e2']);
    expect(counts).toMatchObject({ in: 8, processed: 2, dlq: 6, dlqByReason: { 'no-magic-byte': 2, 'unknown-schema-id': 1, undecodable: 1, invalid: 2 } });
    expect(counts.in).toBe(counts.processed + counts.dlq);

    const dlq = await readTopic(conn, `${topic}.dlq`, { fromBeginning: true, max: 6, timeoutMs: 20_000 });
    expect(dlq.map((m) => m.headers['dlq.reason'])).toEqual(bad.map(([reason]) => reason));
    expect(dlq.map((m) => m.value)).toEqual(bad.map(([, value]) => value));
    for (const m of dlq) {
      expect(m.headers).toMatchObject({ 'dlq.source.topic': topic, 'dlq.consumer.group': `${ns}-g`, origin: 'test' });
      expect(m.key).toBe('k');
    }
    expect(dlq.map((m) => Number(m.headers['dlq.source.offset']))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(dlq[4].headers['dlq.detail']).toMatch(/userId is empty/);
  });

  it('retries a dependency outage until it passes, and DLQs a non-retriable failure after its attempts', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const p = createProducer({ kafka: conn, registryUrl, namespace: ns });
    running.push(p);
    await p.send('telemetry.vm-access', [access(1), access(2), access(3)].map((value) => ({ key: 'k', value })));
    const attempts: Record<string, number> = {};
    const c = await runConsumer({
      kafka: conn,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g`,
      topics: ['telemetry.vm-access'],
      fromBeginning: true,
      retry: { ...fast, maxAttempts: 3 },
      handle: async (r): Promise<Outcome> => {
        const n = (attempts[r.value.eventId] = (attempts[r.value.eventId] ?? 0) + 1);
        if (r.value.eventId === 'e1' && n <= 10) return retry(new UnavailableError('event store', 'down'));
        if (r.value.eventId === 'e2') throw new InvalidInputError('a bug, every time');
        return done();
      },
    });
    running.push(c);
    await until(() => c.counters().in === 3, 'three records settled');
    expect(attempts).toEqual({ e1: 11, e2: 3, e3: 1 });
    expect(c.counters()).toMatchObject({ processed: 2, dlq: 1, retried: 12, dlqByReason: { 'retries-exhausted': 1 } });
  });

  it('sends records the handler calls late to <topic>.late with their source position', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const p = createProducer({ kafka: conn, registryUrl, namespace: ns });
    running.push(p);
    await p.send('telemetry.vm-access', [access(1), access(2)].map((value) => ({ key: 'k', value })));
    const c = await runConsumer({
      kafka: conn,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g`,
      topics: ['telemetry.vm-access'],
      handle: async (r) => (r.value.eventId === 'e2' ? late('window closed at 12:00') : done()),
    });
    running.push(c);
    await until(() => c.counters().in === 2, 'both settled');
    expect(c.counters()).toMatchObject({ processed: 1, late: 1, dlq: 0 });
    const [m] = await readTopic(conn, `${ns}.telemetry.vm-access.late`, { fromBeginning: true, max: 1, timeoutMs: 20_000 });
    expect(m.headers).toMatchObject({ 'late.reason': 'window closed at 12:00', 'late.source.topic': `${ns}.telemetry.vm-access`, 'late.source.offset': '1' });
  });

  it('replays the DLQ to the source topic once the cause is fixed, keeping the record as sent', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const p = createProducer({ kafka: conn, registryUrl, namespace: ns });
    running.push(p);
    await p.send('telemetry.vm-access', [access(1), access(2)].map((value) => ({ key: 'k', value, headers: { trace: 't-1' } })));
    let fixed = false;
    const accepted: Array<{ id: string; headers: Record<string, string> }> = [];
    const c = await runConsumer({
      kafka: conn,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g`,
      topics: ['telemetry.vm-access'],
      handle: async (r) => {
        if (r.value.eventId === 'e1' && !fixed) return toDlq('rejected', 'policy not loaded');
        accepted.push({ id: r.value.eventId, headers: r.headers });
        return done();
      },
    });
    running.push(c);
    await until(() => c.counters().in === 2, 'both settled');
    fixed = true;
    const dry = await replayDlq(conn, p, `${ns}.telemetry.vm-access`, { dryRun: true, idleMs: 1500 });
    expect(dry).toMatchObject({ read: 1, replayed: 0, byReason: { rejected: 1 } });
    const r = await replayDlq(conn, p, `${ns}.telemetry.vm-access`, { idleMs: 1500 });
    expect(r).toMatchObject({ read: 1, replayed: 1, skipped: 0 });
    await until(() => accepted.length === 2, 'the replayed record accepted');
    expect(accepted[1].id).toBe('e1');
    expect(accepted[1].headers).toMatchObject({ trace: 't-1', 'replayed.from': `${ns}.telemetry.vm-access.dlq[${accepted[1].headers['replayed.from'].match(/\[(\d+)\]/)![1]}]@0` });
    expect(Object.keys(accepted[1].headers).some((h) => h.startsWith('dlq.'))).toBe(false);
  });

  it('commits only settled records: a new member resumes at the record still being retried', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const p = createProducer({ kafka: conn, registryUrl, namespace: ns });
    running.push(p);
    await p.send('telemetry.vm-access', [1, 2, 3, 4].map((n) => ({ key: 'k', value: access(n) })));
    const first: string[] = [];
    const a = await runConsumer({
      kafka: conn,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g`,
      topics: ['telemetry.vm-access'],
      fromBeginning: true,
      retry: fast,
      handle: async (r) => {
        first.push(r.value.eventId);
        return r.value.eventId === 'e3' ? retry(new UnavailableError('hsm', 'down')) : done();
      },
    });
    await until(() => first.filter((e) => e === 'e3').length >= 3, 'e3 retried');
    await a.stop();
    expect(a.counters()).toMatchObject({ in: 2, processed: 2 });

    const second: string[] = [];
    const b = await runConsumer({
      kafka: conn,
      registryUrl,
      namespace: ns,
      groupId: `${ns}-g`,
      topics: ['telemetry.vm-access'],
      fromBeginning: true,
      handle: async (r) => {
        second.push(r.value.eventId);
        return done();
      },
    });
    running.push(b);
    await until(() => b.counters().in === 2, 'the rest');
    expect(second).toEqual(['e3', 'e4']);
  });

  it('shares the partitions among several members of a group without losing records', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const handled = [new Set<string>(), new Set<string>()];
    const member = (i: number) =>
      runConsumer({
        kafka: conn,
        registryUrl,
        namespace: ns,
        groupId: `${ns}-g`,
        topics: ['telemetry.vm-access'],
        fromBeginning: true,
        handle: async (r) => {
          handled[i].add(r.value.eventId);
          return done();
        },
      });
    const a = await member(0);
    running.push(a);
    await a.ready;
    const b = await member(1);
    running.push(b);
    await b.ready;
    const p = createProducer({ kafka: conn, registryUrl, namespace: ns });
    running.push(p);
    const n = 120;
    await p.send('telemetry.vm-access', Array.from({ length: n }, (_, i) => ({ key: `user-${i}`, value: access(i, { userId: `user-${i}` }) })));
    await until(() => new Set([...handled[0], ...handled[1]]).size === n, 'every record handled');
    expect(handled[0].size).toBeGreaterThan(0);
    expect(handled[1].size).toBeGreaterThan(0);
  });

  it('loses nothing across rebalances when members join and leave mid-stream', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const n = 300;
    const p = createProducer({ kafka: conn, registryUrl, namespace: ns });
    running.push(p);
    await p.send('telemetry.vm-access', Array.from({ length: n }, (_, i) => ({ key: `user-${i % 40}`, value: access(i, { userId: `user-${i % 40}` }) })));
    const handled: string[] = [];
    const member = () =>
      runConsumer({
        kafka: conn,
        registryUrl,
        namespace: ns,
        groupId: `${ns}-g`,
        topics: ['telemetry.vm-access'],
        fromBeginning: true,
        concurrency: 2,
        handle: async (r) => {
          await new Promise((res) => setTimeout(res, 5));
          handled.push(r.value.eventId);
          return done();
        },
      });
    const a = await member();
    await until(() => handled.length >= 40, 'a first share handled');
    const b = await member();
    running.push(b);
    await until(() => handled.length >= 120, 'more handled with two members');
    await a.stop();
    await until(() => new Set(handled).size === n, 'every record handled');
    const repeats = handled.length - n;
    // At least once: a record in flight during a rebalance may be handled twice, but never skipped.
    expect(repeats).toBeGreaterThanOrEqual(0);
    expect(a.counters().in + b.counters().in).toBe(handled.length);
  });

  it('treats an unreachable registry as an outage to retry, never as bad input', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const p = createProducer({ kafka: conn, registryUrl, namespace: ns });
    running.push(p);
    await p.send('telemetry.vm-access', [{ key: 'k', value: access(1) }]);
    const c = await runConsumer({
      kafka: conn,
      registryUrl: 'http://127.0.0.1:9/apis/ccompat/v7',
      namespace: ns,
      groupId: `${ns}-g`,
      topics: ['telemetry.vm-access'],
      fromBeginning: true,
      retry: fast,
      handle: async () => done(),
    });
    running.push(c);
    await until(() => c.counters().retried >= 3, 'retries');
    expect(c.counters()).toMatchObject({ in: 0, dlq: 0 });
  });

  it('reports an unreachable broker as a retriable UnavailableError', async () => {
    const p = createProducer({ kafka: { brokers: ['127.0.0.1:9'] }, registryUrl });
    const err = await p.connect().catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.retriable).toBe(true);
  });
});
