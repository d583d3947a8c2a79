/**
 * Projections benchmarks, each a ratio to a baseline measured in the same run:
 * - throughput: telemetry records per second through the projections role (decode, windows,
 *   features, changelog, one Kafka transaction per batch) against a plain consumer group on the
 *   same topics (decode only, at least once). Both are timed from joining the group to the last
 *   record, so the role's start-up restores are not counted.
 * - state bytes per key: JSON state the engines keep per key (accumulators, carry, dedup ids)
 *   at the end of a simulated stream, against a naive store that buffers every record of the
 *   key's open windows (lower is better; ratio = naive / ours).
 * - in-memory: records per second through the same tasks without Kafka (batches of 200, with
 *   their changelog deltas), against JSON-parsing the same records (the least any consumer does).
 */
import { loadConfig } from '../core/config';
import { simulate } from '../models/sim/simulate';
import { createTables, resolveOptions } from '../projections/engines';
import { startProjections } from '../projections/role';
import { Task, type InputRecord, type InputTopic } from '../projections/task';
import { TELEMETRY_TOPICS, type JsonlRecord, type TelemetryTopic } from '../schemas/types';
import { createProducer, done, ensureStreams, runConsumer } from '../streams';
import type { Benchmark, BenchResult } from './types';

const STREAM_INPUTS: readonly InputTopic[] = ['telemetry.vm-access', 'telemetry.user-activity', 'telemetry.network'];
const isInput = (r: JsonlRecord): boolean => (STREAM_INPUTS as readonly string[]).includes(r.topic);

async function publish(namespace: string, records: readonly JsonlRecord[]): Promise<void> {
  const cfg = loadConfig();
  await ensureStreams(cfg, { namespace, topics: [...TELEMETRY_TOPICS, 'features.access', 'features.network'] });
  const p = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace });
  try {
    for (const topic of TELEMETRY_TOPICS) {
      const mine = records.filter((r) => r.topic === topic);
      for (let i = 0; i < mine.length; i += 1000) await p.send(topic as TelemetryTopic, mine.slice(i, i + 1000).map((r) => ({ key: r.key, value: r.value as never })));
    }
  } finally {
    await p.disconnect();
  }
}

/** A plain consumer group on the same topics: decode, nothing else, at least once. */
async function rawRate(namespace: string, inputs: number): Promise<number> {
  const cfg = loadConfig();
  let n = 0;
  const c = await runConsumer({
    kafka: cfg.kafka,
    registryUrl: cfg.schemaRegistry.url,
    groupId: `${namespace}-raw`,
    topics: STREAM_INPUTS,
    namespace,
    fromBeginning: true,
    handle: async () => {
      n++;
      return done();
    },
  });
  try {
    await c.ready;
    const t0 = performance.now();
    while (n < inputs) await new Promise((res) => setTimeout(res, 10));
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await c.stop();
  }
}

/** The role, from joining its group to the last record folded (start-up restores excluded). */
async function roleRate(namespace: string, inputs: number): Promise<number> {
  const role = await startProjections({ config: loadConfig(), namespace, groupId: `${namespace}-g`, instanceId: 'bench', idleMs: 3_600_000 });
  try {
    await role.ready;
    const t0 = performance.now();
    while (role.counters().records < inputs) await new Promise((res) => setTimeout(res, 10));
    return inputs / ((performance.now() - t0) / 1000);
  } finally {
    await role.stop();
  }
}

/** The access tasks over a stream in memory, left open at the end: state size and speed. */
function inMemory(records: readonly JsonlRecord[]): { perSec: number; parsePerSec: number; oursPerKey: number; naivePerKey: number } {
  const o = resolveOptions();
  const tables = createTables();
  const tasks = new Map<string, Task>();
  const jsonSize = new Map<string, number>();
  const inputs = records.filter(isInput);
  const lines = inputs.map((r) => JSON.stringify(r.value));
  inputs.forEach((r, i) => jsonSize.set(r.value.eventId, lines[i].length));

  const tp = performance.now();
  let sink = 0;
  for (const l of lines) sink += (JSON.parse(l) as { timestamp: number }).timestamp & 1;
  const parsePerSec = lines.length / ((performance.now() - tp) / 1000);

  // Chunks of the time-ordered stream, split by topic as a consumer's per-partition batches are.
  const t0 = performance.now();
  const CHUNK = 200;
  for (let c = 0; c < inputs.length; c += CHUNK) {
    for (const topic of STREAM_INPUTS) {
      const kind = topic === 'telemetry.network' ? 'network' : 'access';
      const batch: InputRecord[] = [];
      for (let i = c; i < Math.min(inputs.length, c + CHUNK); i++) {
        if (inputs[i].topic === topic) batch.push({ offset: String(i), topic, value: JSON.parse(lines[i]) as InputRecord['value'] });
      }
      if (!batch.length) continue;
      const task = tasks.get(kind) ?? tasks.set(kind, Task.restore(kind, 0, new Map(), o, tables, { idleMs: Infinity, now: 0 })).get(kind)!;
      task.process(topic, batch, 0);
    }
  }
  const perSec = inputs.length / ((performance.now() - t0) / 1000);

  let ours = 0;
  let keys = 0;
  for (const t of tasks.values()) {
    const s = t.stateBytes();
    ours += s.bytes;
    keys += s.keys;
  }
  // Naive: every record of each key's open windows, as JSON. Ids still held for dedup are exactly those.
  let naive = 0;
  for (const t of tasks.values()) naive += t.openRecordIds().reduce((sum, id) => sum + (jsonSize.get(id) ?? 0), 0);
  return { perSec, parsePerSec: parsePerSec + sink * 0, oursPerKey: ours / Math.max(1, keys), naivePerKey: naive / Math.max(1, keys) };
}

export const benchmark: Benchmark = {
  id: 'projections',
  needs: ['kafka', 'registry'],
  async run(ctx) {
    const sim = simulate(ctx.quick ? { users: 20, vms: 10, networks: 2, days: 2, seed: 5 } : { users: 80, vms: 40, networks: 6, days: 4, seed: 5 });
    const records = sim.records;
    const inputs = records.filter(isInput).length;
    const ns = `bench-proj-${ctx.runId}`;
    ctx.log(`projections: publishing ${records.length} telemetry records`);
    await publish(ns, records);
    const raw = await rawRate(ns, inputs);
    ctx.log(`projections: raw read ${raw.toFixed(0)} records/s`);
    const role = await roleRate(ns, inputs);
    ctx.log(`projections: role ${role.toFixed(0)} records/s`);
    const mem = inMemory(records);
    const results: BenchResult[] = [
      {
        name: 'Projections throughput (Kafka, exactly once)',
        baseline: 'plain consumer group on the same topics (decode only, at least once)',
        baselineValue: raw,
        subjectValue: role,
        unit: 'records/s',
        ratio: role / raw,
        higherIsBetter: true,
        note: 'subject / baseline',
      },
      {
        name: 'Projections state per key',
        baseline: "a store buffering every record of the key's open windows (JSON)",
        baselineValue: mem.naivePerKey,
        subjectValue: mem.oursPerKey,
        unit: 'bytes/key',
        ratio: mem.naivePerKey / Math.max(1, mem.oursPerKey),
        higherIsBetter: false,
        note: 'baseline / subject: above 1 means our state is smaller',
      },
      {
        name: 'Projections in memory (same tasks, no Kafka)',
        baseline: 'JSON.parse of the same records',
        baselineValue: mem.parsePerSec,
        subjectValue: mem.perSec,
        unit: 'records/s',
        ratio: mem.perSec / mem.parsePerSec,
        higherIsBetter: true,
        note: 'subject / baseline',
      },
    ];
    return results;
  },
};
