/**
 * An event-time windowing engine with Kafka Streams semantics (tumbling and hopping windows,
 * keyed state, grace), except that nothing is dropped: a record later than the grace comes back
 * as `late` with a reason for the caller to route to `<topic>.late`.
 *
 * Pure: time is event time and the watermark, never a clock. The watermark is the minimum of the
 * per-partition high-water event times (a lagging partition holds windows open rather than
 * making its records late), and never goes back.
 */
import { closesAt, validateSpec, windowStartsFor, type Window, type WindowSpec } from './spec';

/** What a projection plugs into the engine. Acc and Carry must be plain JSON (they are snapshotted). */
export interface Aggregation<R, Acc, Carry, Out, Ctx> {
  key(r: R): string;
  eventId(r: R): string;
  eventTime(r: R): number;
  empty(w: Window): Acc;
  /** Folds a record into a window's accumulator; may mutate and return it. */
  add(acc: Acc, r: R, w: Window): Acc;
  /**
   * A key's window closed (in window order per key). `acc` is undefined for a window with no
   * records, which is still closed while the key has carry, so outputs can be dense. Returns
   * the outputs and the carry into the next window (undefined: forget the key).
   */
  close(key: string, w: Window, acc: Acc | undefined, carry: Carry | undefined, ctx: Ctx): { out: Out[]; carry: Carry | undefined };
  /** Early (not final) outputs of a still-open window, when the engine runs with earlyUpdates. */
  preview?(key: string, w: Window, acc: Acc, carry: Carry | undefined, ctx: Ctx): Out[];
}

export interface EngineOptions {
  /** Also return previews of the windows a record touched. */
  earlyUpdates?: boolean;
  /**
   * Most eventIds remembered per open window (default 100 000). Past it, records still count
   * but their ids are not remembered, so a duplicate of one would count twice; `dedupOverflow`
   * says how often. Keeps one pathological key from taking the process's memory.
   */
  maxDedupPerWindow?: number;
}

export const DEFAULT_MAX_DEDUP_PER_WINDOW = 100_000;

/** What happened to one record. */
export type Outcome =
  | { status: 'added'; missed: Window[] } // missed: closed windows it belonged to (hopping only)
  | { status: 'duplicate' }
  | { status: 'late'; reason: string; missed: Window[] };

export interface ProcessResult<Out> {
  outcome: Outcome;
  /** Final outputs of windows the watermark closed, ordered by window start then key. */
  closed: Out[];
  early: Out[];
}

export interface EngineCounters {
  records: number;
  duplicates: number;
  late: number;
  partiallyLate: number;
  windowsClosed: number;
  outputs: number;
  dedupOverflow: number;
}

interface OpenWindow<Acc> {
  acc: Acc;
  seen: Set<string>; // dedup memory lives only as long as its window: bounded by design
}

interface KeyState<Acc, Carry> {
  next: number; // start of the next window to close for this key
  open: Map<number, OpenWindow<Acc>>;
  carry: Carry | undefined;
}

/** A key's state as JSON, for a changelog record or a snapshot. */
export interface KeySnapshot<Acc, Carry> {
  next: number;
  open: Array<{ start: number; acc: Acc; seen: string[] }>;
  carry?: Carry;
}

export interface ClockSnapshot {
  watermark: number | null;
  /** null: expected but nothing read from it yet (JSON has no -Infinity). */
  partitions: Record<string, number | null>;
}

export class WindowEngine<R, Acc, Carry, Out, Ctx> {
  private readonly keys = new Map<string, KeyState<Acc, Carry>>();
  private readonly partitions = new Map<string, number>();
  private watermark = -Infinity;
  private dirty = new Set<string>();
  readonly counters: EngineCounters = { records: 0, duplicates: 0, late: 0, partiallyLate: 0, windowsClosed: 0, outputs: 0, dedupOverflow: 0 };

  constructor(
    readonly spec: WindowSpec,
    private readonly agg: Aggregation<R, Acc, Carry, Out, Ctx>,
    private readonly ctx: Ctx,
    private readonly opts: EngineOptions = {},
  ) {
    validateSpec(spec);
  }

  /** The current watermark (event time); -Infinity before any record. */
  get currentWatermark(): number {
    return this.watermark;
  }

  /** Folds one record read from `partition` (any stable name, e.g. "telemetry.vm-access/3"). */
  process(partition: string, r: R): ProcessResult<Out> {
    this.counters.records++;
    const t = this.agg.eventTime(r);
    const outcome = this.assign(r, t);
    const prev = this.partitions.get(partition);
    if (prev === undefined || t > prev) this.partitions.set(partition, t);
    const closed = this.advance(this.minPartitionTime());
    const early =
      this.opts.earlyUpdates && outcome.status === 'added' ? this.previews(this.agg.key(r), t) : [];
    return { outcome, closed, early };
  }

  /**
   * Moves the watermark to at least t and closes what that closes. For the end of a batch
   * (offline) and for idle inputs; records older than the new watermark's windows become late.
   */
  advanceTo(t: number): Out[] {
    return this.advance(t);
  }

  /**
   * Declares an input partition before any record of it is read, so the watermark waits for it
   * (as Kafka Streams waits for every partition of a task) instead of racing ahead on the first
   * partition that delivers and making the other's records late.
   */
  expectPartition(partition: string): void {
    if (!this.partitions.has(partition)) this.partitions.set(partition, -Infinity);
  }

  /** Input partitions and their highest event time so far (-Infinity: none yet). */
  partitionTimes(): Map<string, number> {
    return new Map(this.partitions);
  }

  /** Stops a partition holding the watermark back (revoked, or idle and caught up). */
  forgetPartition(partition: string): Out[] {
    this.partitions.delete(partition);
    return this.partitions.size ? this.advance(this.minPartitionTime()) : [];
  }

  private minPartitionTime(): number {
    let m = Infinity;
    for (const v of this.partitions.values()) if (v < m) m = v;
    return m === Infinity ? -Infinity : m;
  }

  private isClosed(start: number): boolean {
    return closesAt(start, this.spec) <= this.watermark;
  }

  private assign(r: R, t: number): Outcome {
    const starts = windowStartsFor(t, this.spec);
    const open = starts.filter((s) => !this.isClosed(s));
    const missed = starts.filter((s) => this.isClosed(s)).map((s) => ({ start: s, end: s + this.spec.sizeMs }));
    if (open.length === 0) {
      this.counters.late++;
      const w = missed[missed.length - 1];
      const reason =
        `event time ${new Date(t).toISOString()} is later than the grace: window ` +
        `[${new Date(w.start).toISOString()}, ${new Date(w.end).toISOString()}) closed at watermark ` +
        `${new Date(this.watermark).toISOString()} (grace ${this.spec.graceMs} ms)`;
      return { status: 'late', reason, missed };
    }
    const key = this.agg.key(r);
    const id = this.agg.eventId(r);
    let ks = this.keys.get(key);
    if (!ks) {
      ks = { next: open[0], open: new Map(), carry: undefined };
      this.keys.set(key, ks);
    }
    let added = false;
    for (const s of open) {
      let ow = ks.open.get(s);
      if (!ow) {
        ow = { acc: this.agg.empty({ start: s, end: s + this.spec.sizeMs }), seen: new Set() };
        ks.open.set(s, ow);
      }
      if (ow.seen.has(id)) continue;
      if (ow.seen.size < (this.opts.maxDedupPerWindow ?? DEFAULT_MAX_DEDUP_PER_WINDOW)) ow.seen.add(id);
      else this.counters.dedupOverflow++;
      ow.acc = this.agg.add(ow.acc, r, { start: s, end: s + this.spec.sizeMs });
      added = true;
      if (s < ks.next) ks.next = s;
    }
    if (!added) {
      this.counters.duplicates++;
      return { status: 'duplicate' };
    }
    this.dirty.add(key);
    if (missed.length) this.counters.partiallyLate++;
    return { status: 'added', missed };
  }

  private advance(candidate: number): Out[] {
    const before = this.watermark;
    if (candidate <= before) return [];
    this.watermark = candidate;
    // Sweep only when the watermark crosses a window's close point: windows align to the advance.
    const throughBefore = this.closedThrough(before);
    const throughNow = this.closedThrough(candidate);
    if (throughNow <= throughBefore) return [];
    return this.sweep(throughNow);
  }

  /** Start of the newest window closed at watermark w. */
  private closedThrough(w: number): number {
    if (w === -Infinity) return -Infinity;
    const { sizeMs, graceMs, advanceMs } = this.spec;
    return Math.floor((w - sizeMs - graceMs) / advanceMs) * advanceMs;
  }

  private sweep(through: number): Out[] {
    const batches: Array<{ start: number; key: string; out: Out[] }> = [];
    const keys = [...this.keys.keys()].sort();
    for (const key of keys) {
      const ks = this.keys.get(key)!;
      let touched = false;
      while (ks.next <= through) {
        const ow = ks.open.get(ks.next);
        if (ow === undefined && ks.carry === undefined) {
          if (ks.open.size === 0) break;
          ks.next = Math.min(...ks.open.keys());
          continue;
        }
        const w = { start: ks.next, end: ks.next + this.spec.sizeMs };
        const { out, carry } = this.agg.close(key, w, ow?.acc, ks.carry, this.ctx);
        ks.open.delete(ks.next);
        ks.carry = carry;
        this.counters.windowsClosed++;
        if (out.length) batches.push({ start: w.start, key, out });
        ks.next += this.spec.advanceMs;
        touched = true;
      }
      if (touched) this.dirty.add(key);
      if (ks.open.size === 0 && ks.carry === undefined) {
        this.keys.delete(key);
        this.dirty.add(key);
      }
    }
    // Keys were visited in sorted order; a stable sort by start gives (start, key) order.
    batches.sort((a, b) => a.start - b.start);
    const out = batches.flatMap((b) => b.out);
    this.counters.outputs += out.length;
    return out;
  }

  private previews(key: string, t: number): Out[] {
    const ks = this.keys.get(key);
    if (!ks || !this.agg.preview) return [];
    const out: Out[] = [];
    for (const s of windowStartsFor(t, this.spec)) {
      const ow = ks.open.get(s);
      if (ow) out.push(...this.agg.preview(key, { start: s, end: s + this.spec.sizeMs }, ow.acc, ks.carry, this.ctx));
    }
    return out;
  }

  // --- state for changelogs and snapshots -------------------------------------------------

  /** Keys whose state changed since the last call (deleted keys included), and forgets them. */
  takeDirtyKeys(): string[] {
    const out = [...this.dirty].sort();
    this.dirty = new Set();
    return out;
  }

  /** A key's state as JSON; null when the engine holds nothing for it (a changelog tombstone). */
  exportKey(key: string): KeySnapshot<Acc, Carry> | null {
    const ks = this.keys.get(key);
    if (!ks) return null;
    const open = [...ks.open.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([start, ow]) => ({ start, acc: ow.acc, seen: [...ow.seen] }));
    return ks.carry === undefined ? { next: ks.next, open } : { next: ks.next, open, carry: ks.carry };
  }

  importKey(key: string, snap: KeySnapshot<Acc, Carry> | null): void {
    if (snap === null) {
      this.keys.delete(key);
      return;
    }
    const open = new Map<number, OpenWindow<Acc>>();
    for (const o of snap.open) open.set(o.start, { acc: o.acc, seen: new Set(o.seen) });
    this.keys.set(key, { next: snap.next, open, carry: snap.carry });
  }

  /** Drops every key for which `owned` is false (e.g. after a rebalance took its partition). */
  retainKeys(owned: (key: string) => boolean): void {
    for (const k of [...this.keys.keys()]) if (!owned(k)) this.keys.delete(k);
  }

  /** eventIds of the records in open windows (what a record-buffering store would hold). */
  openRecordIds(): string[] {
    const out: string[] = [];
    for (const ks of this.keys.values()) for (const ow of ks.open.values()) out.push(...ow.seen);
    return out;
  }

  keyCount(): number {
    return this.keys.size;
  }

  allKeys(): string[] {
    return [...this.keys.keys()].sort();
  }

  exportClock(): ClockSnapshot {
    return {
      watermark: this.watermark === -Infinity ? null : this.watermark,
      partitions: Object.fromEntries([...this.partitions.entries()].sort().map(([p, t]) => [p, t === -Infinity ? null : t])),
    };
  }

  importClock(c: ClockSnapshot): void {
    this.watermark = c.watermark ?? -Infinity;
    this.partitions.clear();
    for (const [p, t] of Object.entries(c.partitions)) this.partitions.set(p, t ?? -Infinity);
  }
}
