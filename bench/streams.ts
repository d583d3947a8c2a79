/**
 * Kafka wrappers (streams/), in one run on the same topic:
 * - produce: createProducer().send (schema check, Avro, idempotent, acks=all) vs raw kafkajs
 *   sending the same Avro-framed bytes (acks=all), and vs kcat -P (librdkafka) as the native
 *   reference;
 * - consume: runConsumer (decode, validate, explicit outcome, commit) vs a raw kafkajs eachBatch
 *   that only decodes, and vs kcat -C;
 * - exactly once: runTransactionalProcessor vs runConsumer over the same records.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../core/config';
import type { VmAccess } from '../schemas';
import { createProducer, done, dropNamespace, ensureStreams, frame, runConsumer, runTransactionalProcessor, unframe } from '../streams';
import type { Benchmark, BenchContext, BenchResult } from './types';

const BATCH = 500;
const seconds = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

function records(n: number, tag: string): Array<{ key: string; value: VmAccess }> {
  const base = Date.now() - 3_600_000;
  const actions = ['CONNECT', 'EXEC', 'DISCONNECT', 'ACCESS_REQUEST'] as const;
  return Array.from({ length: n }, (_, i) => ({
    key: `user-${i % 500}`,
    value: { eventId: `${tag}-${i}`, timestamp: base + i, userId: `user-${i % 500}`, vmId: `vm-${i % 97}`, action: actions[i % 4], success: i % 13 !== 0, source: `10.0.${i % 255}.${i % 7}` },
  }));
}

async function until(cond: () => boolean, limitMs: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > limitMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function kcatAvailable(): boolean {
  return spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;
}

function runKcat(args: string[], limitMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('kcat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), limitMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`kcat ${args[0]} exited ${code}: ${err.trim().split('\n').pop()}`));
    });
  });
}

async function run(ctx: BenchContext): Promise<BenchResult[]> {
  const cfg = loadConfig();
  const n = ctx.quick ? 5_000 : 50_000;
  const ns = ctx.runId;
  const { schemaIds } = await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'], retries: 2 });
  const topic = `${ns}.telemetry.vm-access`;
  const registryUrl = cfg.schemaRegistry.url;
  const kafka = new Kafka({ clientId: 'bench-raw', brokers: cfg.kafka.brokers, logLevel: logLevel.NOTHING });
  const p = createProducer({ kafka: cfg.kafka, registryUrl, namespace: ns });
  const type = p.serde.readerType('telemetry.vm-access');
  const id = schemaIds.get('telemetry.vm-access')!;

  // Warm both paths (connections, metadata, schema ids) before timing.
  const warm = records(BATCH, 'warm');
  await p.send('telemetry.vm-access', warm);
  const raw = kafka.producer({ allowAutoTopicCreation: false });
  await raw.connect();
  await raw.send({ topic, acks: -1, messages: warm.map((r) => ({ key: r.key, value: frame(id, type.toBuffer(r.value)) })) });

  // Interleaved rounds, so neither side gains from going second (warm JIT, page cache, a
  // neighbour's load on a shared machine).
  ctx.log(`producing ${n} records each way, interleaved`);
  const rawRecs = records(n, 'raw');
  const ours = records(n, 'ours');
  const rounds = 5;
  const per = Math.ceil(n / rounds / BATCH) * BATCH;
  let rawSecs = 0;
  let ourSecs = 0;
  let t0: bigint;
  for (let start = 0; start < n; start += per) {
    t0 = process.hrtime.bigint();
    for (let i = start; i < Math.min(n, start + per); i += BATCH) {
      await raw.send({ topic, acks: -1, messages: rawRecs.slice(i, Math.min(i + BATCH, start + per)).map((r) => ({ key: r.key, value: frame(id, type.toBuffer(r.value)) })) });
    }
    rawSecs += seconds(t0);
    t0 = process.hrtime.bigint();
    for (let i = start; i < Math.min(n, start + per); i += BATCH) await p.send('telemetry.vm-access', ours.slice(i, Math.min(i + BATCH, start + per)));
    ourSecs += seconds(t0);
  }
  const rawProduce = n / rawSecs;
  const ourProduce = n / ourSecs;
  await raw.disconnect();
  await p.disconnect();

  let kcatProduce: number | undefined;
  const useKcat = kcatAvailable();
  const broker = cfg.kafka.brokers[0];
  if (useKcat) {
    const delim = Buffer.from([0x1e, 0x1d, 0x1c, 0x1b]);
    const kc = records(n, 'kcat').map((r) => Buffer.concat([Buffer.from(r.key + '\t'), frame(id, type.toBuffer(r.value))]));
    if (kc.some((b) => b.includes(delim))) throw new Error('delimiter occurs in a payload');
    const file = path.join(os.tmpdir(), `${ns}-kcat.bin`);
    fs.writeFileSync(file, Buffer.concat(kc.flatMap((b) => [b, delim])));
    t0 = process.hrtime.bigint();
    await runKcat(['-P', '-b', broker, '-t', topic, '-K', '\t', '-D', '\\x1e\\x1d\\x1c\\x1b', '-X', 'acks=all', '-l', file], 120_000);
    kcatProduce = n / seconds(t0);
    fs.rmSync(file, { force: true });
  }

  const total = 2 * BATCH + (useKcat ? 3 : 2) * n;
  ctx.log(`consuming ${total} records each way`);
  // Raw kafkajs: fetch and decode, nothing else.
  let rawSeen = 0;
  const rc = kafka.consumer({ groupId: `${ns}-raw`, maxWaitTimeInMs: 100 });
  await rc.connect();
  await rc.subscribe({ topic, fromBeginning: true });
  t0 = process.hrtime.bigint();
  await rc.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        type.fromBuffer(unframe(m.value).payload);
        rawSeen++;
      }
    },
  });
  await until(() => rawSeen >= total, 300_000);
  const rawConsume = total / seconds(t0);
  await rc.disconnect();

  t0 = process.hrtime.bigint();
  const c = await runConsumer({ kafka: cfg.kafka, registryUrl, namespace: ns, groupId: `${ns}-ours`, topics: ['telemetry.vm-access'], fromBeginning: true, handle: async () => done() });
  await until(() => c.counters().in >= total, 300_000);
  const ourConsume = total / seconds(t0);
  await c.stop();
  if (c.counters().dlq) throw new Error(`${c.counters().dlq} records went to the DLQ`);

  // Exactly once: the same records through a transactional processor (a transaction per batch
  // carrying the offsets) against the at-least-once consumer just measured.
  t0 = process.hrtime.bigint();
  const tx = await runTransactionalProcessor({
    kafka: cfg.kafka,
    registryUrl,
    namespace: ns,
    groupId: `${ns}-tx`,
    transactionalId: `${ns}-tx-1`,
    topics: ['telemetry.vm-access'],
    processBatch: async () => ({ outputs: [] }),
  });
  await until(() => tx.counters().in >= total, 300_000);
  const txConsume = total / seconds(t0);
  await tx.stop();

  let kcatConsume: number | undefined;
  if (useKcat) {
    t0 = process.hrtime.bigint();
    await runKcat(['-C', '-b', broker, '-t', topic, '-o', 'beginning', '-e', '-q', '-c', String(total), '-f', '%o\\n'], 120_000);
    kcatConsume = total / seconds(t0);
  }

  await dropNamespace(cfg, ns).catch((err) => ctx.log(`could not drop ${ns}: ${(err as Error).message}`));

  const rs = (name: string, baseline: string, b: number, s: number, note: string): BenchResult => ({ name, baseline, baselineValue: b, subjectValue: s, unit: 'records/s', ratio: s / b, higherIsBetter: true, note });
  const out: BenchResult[] = [
    rs('Produce: foresight producer (check + Avro + idempotent, acks=all)', 'raw kafkajs producer, same Avro bytes, acks=all, same topic', rawProduce, ourProduce, `${n} records in batches of ${BATCH}; ratio = subject / baseline`),
    rs('Consume: foresight consumer (decode + validate + outcome + commit)', 'raw kafkajs eachBatch with Avro decode, same topic', rawConsume, ourConsume, `${total} records from the beginning, one member; includes group join`),
  ];
  out.push(rs('Exactly-once processor (one transaction per batch, offsets inside)', 'foresight at-least-once consumer, same records', ourConsume, txConsume, 'both decode and validate every record; neither writes outputs'));
  if (kcatProduce && kcatConsume) {
    out.push(rs('Produce: foresight producer vs native client', 'kcat -P (librdkafka), acks=all, same bytes', kcatProduce, ourProduce, 'kcat time includes its process start'));
    out.push(rs('Consume: foresight consumer vs native client', 'kcat -C (librdkafka) to /dev/null', kcatConsume, ourConsume, 'kcat time includes its process start and group-less fetch'));
  }
  return out;
}

export const benchmark: Benchmark = { id: 'streams', needs: ['kafka', 'registry'], run };
