/**
 * A stream task, as in Kafka Streams: partition p of the co-partitioned user-keyed topics
 * (vm-access p + user-activity p → access task p), or partition p of telemetry.network. It owns
 * one engine, knows the next offset of each of its inputs, and turns its state into changelog
 * records that commit in the same transaction as its outputs and consumed offsets — so the
 * changelog always holds exactly the state of the committed offsets.
 *
 * Pure apart from `now` (processing time, passed in) for idleness.
 */
import type { AccessFeatures, NetworkFeatures, NetworkTelemetry, UserActivity, VmAccess } from '../schemas/types';
import type { AccessInput } from './access-features';
import { createAccessEngine, createNetworkEngine, type AccessEngine, type GlobalTables, type NetworkEngine, type ResolvedOptions } from './engines';
import type { ClockSnapshot, KeySnapshot, Outcome } from './window';

export type TaskKind = 'access' | 'network';
export type InputTopic = 'telemetry.vm-access' | 'telemetry.user-activity' | 'telemetry.network';

export const INPUTS: Record<TaskKind, readonly InputTopic[]> = {
  access: ['telemetry.vm-access', 'telemetry.user-activity'],
  network: ['telemetry.network'],
};

export const taskKindOf = (topic: InputTopic): TaskKind => (topic === 'telemetry.network' ? 'network' : 'access');
export const taskIdOf = (kind: TaskKind, partition: number): string => `${kind}/${partition}`;
export const inputName = (topic: InputTopic, partition: number): string => `${topic}/${partition}`;

export interface InputRecord {
  offset: string;
  topic: InputTopic;
  value: VmAccess | UserActivity | NetworkTelemetry;
}

export type FeatureOutput =
  | { topic: 'features.access'; key: string; value: AccessFeatures }
  | { topic: 'features.network'; key: string; value: NetworkFeatures };

export interface ChangelogRecord {
  key: string;
  value: Buffer | null;
}

export interface TaskBatchResult {
  outputs: FeatureOutput[];
  late: Array<{ offset: string; reason: string }>;
  changelog: ChangelogRecord[];
  duplicates: number;
}

interface ClockRecord {
  clock: ClockSnapshot;
  offsets: Record<string, string>;
}

const CLOCK = 'clock';
const keyPrefix = (taskId: string) => `${taskId}|key|`;
export const clockKey = (taskId: string) => `${taskId}|${CLOCK}`;

export class Task {
  private readonly offsets = new Map<string, bigint>();
  private readonly lastBatchAt = new Map<string, number>();

  private constructor(
    readonly id: string,
    readonly kind: TaskKind,
    readonly partition: number,
    private readonly engine: AccessEngine | NetworkEngine,
    private readonly idleMs: number,
  ) {}

  /** A task from the changelog entries (all tasks' entries may be given; others are ignored). */
  static restore(
    kind: TaskKind,
    partition: number,
    changelog: ReadonlyMap<string, Buffer | null>,
    o: ResolvedOptions,
    tables: GlobalTables,
    opts: { idleMs: number; now: number },
  ): Task {
    const id = taskIdOf(kind, partition);
    const engine = kind === 'access' ? createAccessEngine(o, tables) : createNetworkEngine(o);
    const task = new Task(id, kind, partition, engine, opts.idleMs);
    const clockBuf = changelog.get(clockKey(id));
    if (clockBuf) {
      const c = JSON.parse(clockBuf.toString('utf8')) as ClockRecord;
      engine.importClock(c.clock);
      for (const [input, off] of Object.entries(c.offsets)) task.offsets.set(input, BigInt(off));
    } else {
      for (const t of INPUTS[kind]) engine.expectPartition(inputName(t, partition));
    }
    const prefix = keyPrefix(id);
    for (const [k, v] of changelog) {
      if (v && k.startsWith(prefix)) engine.importKey(k.slice(prefix.length), JSON.parse(v.toString('utf8')) as KeySnapshot<never, never>);
    }
    engine.takeDirtyKeys();
    for (const t of INPUTS[kind]) task.lastBatchAt.set(inputName(t, partition), opts.now);
    return task;
  }

  /** The next offset this task's state expects from an input; undefined before its first batch. */
  expectedOffset(topic: InputTopic): bigint | undefined {
    return this.offsets.get(inputName(topic, this.partition));
  }

  /**
   * The records of a batch this task's state does not hold yet: those at or past the offset it
   * expects. Earlier ones were folded by a transaction that committed (the changelog is read
   * committed), so folding them again would emit their features twice.
   */
  unapplied<R extends { offset: string }>(topic: InputTopic, records: readonly R[]): R[] {
    const expected = this.expectedOffset(topic);
    return expected === undefined ? [...records] : records.filter((r) => BigInt(r.offset) >= expected);
  }

  get watermark(): number {
    return this.engine.currentWatermark;
  }

  keyCount(): number {
    return this.engine.keyCount();
  }

  /** Folds one partition's batch (offset order); returns outputs, late records and the changelog delta. */
  process(topic: InputTopic, records: readonly InputRecord[], now: number): TaskBatchResult {
    const input = inputName(topic, this.partition);
    const outputs: FeatureOutput[] = [];
    const late: TaskBatchResult['late'] = [];
    let duplicates = 0;
    const note = (offset: string, o: Outcome) => {
      if (o.status === 'late') late.push({ offset, reason: o.reason });
      else if (o.status === 'duplicate') duplicates++;
    };
    for (const r of records) {
      if (this.kind === 'access') {
        const res = (this.engine as AccessEngine).process(input, { topic: r.topic, value: r.value } as AccessInput);
        note(r.offset, res.outcome);
        for (const f of res.closed) outputs.push({ topic: 'features.access', key: f.userId, value: f });
      } else {
        const res = (this.engine as NetworkEngine).process(input, r.value as NetworkTelemetry);
        note(r.offset, res.outcome);
        for (const f of res.closed) outputs.push({ topic: 'features.network', key: f.clientNetworkId, value: f });
      }
      this.offsets.set(input, BigInt(r.offset) + 1n);
    }
    this.lastBatchAt.set(input, now);
    outputs.push(...this.forgetIdleInputs(now));
    return { outputs, late, changelog: this.changelogDelta(), duplicates };
  }

  /**
   * An input that has delivered nothing for idleMs while this task works stops holding the
   * watermark back (Kafka Streams' max.task.idle.ms); its later records may then be late.
   */
  private forgetIdleInputs(now: number): FeatureOutput[] {
    const out: FeatureOutput[] = [];
    const times = this.engine.partitionTimes();
    for (const [input, at] of this.lastBatchAt) {
      if (now - at < this.idleMs || !times.has(input) || times.size < 2) continue;
      for (const f of this.engine.forgetPartition(input)) {
        out.push(
          this.kind === 'access'
            ? { topic: 'features.access', key: (f as AccessFeatures).userId, value: f as AccessFeatures }
            : { topic: 'features.network', key: (f as NetworkFeatures).clientNetworkId, value: f as NetworkFeatures },
        );
      }
    }
    return out;
  }

  private changelogDelta(): ChangelogRecord[] {
    const prefix = keyPrefix(this.id);
    const out: ChangelogRecord[] = this.engine.takeDirtyKeys().map((k) => {
      const snap = this.engine.exportKey(k);
      return { key: prefix + k, value: snap === null ? null : Buffer.from(JSON.stringify(snap)) };
    });
    const clock: ClockRecord = {
      clock: this.engine.exportClock(),
      offsets: Object.fromEntries([...this.offsets.entries()].sort().map(([k, v]) => [k, v.toString()])),
    };
    out.push({ key: clockKey(this.id), value: Buffer.from(JSON.stringify(clock)) });
    return out;
  }

  openRecordIds(): string[] {
    return this.engine.openRecordIds();
  }

  /** Bytes of JSON state per key, for the benchmark. */
  stateBytes(): { keys: number; bytes: number } {
    let bytes = 0;
    const keys = this.engine.allKeys();
    for (const k of keys) bytes += Buffer.byteLength(JSON.stringify(this.engine.exportKey(k)));
    return { keys: keys.length, bytes };
  }
}
