/**
 * The storage engine: decides each write against the in-memory index (in arrival order, so
 * optimistic concurrency is exact per stream), stages its records in the open frame, and group-
 * commits frames: one write + fdatasync covers every append that arrived meanwhile. A write is
 * acknowledged only once its frame is durable; readers only ever see durable positions.
 */
import { EventEmitter } from 'node:events';
import { Decision, Expected, StreamView, decideAppend, decideDelete } from './decide';
import { EventLog, RecoveryReport } from './log';
import { EventRecord, FRAME_HEADER_BYTES, StoredEvent, encodeFrame, encodeRecord } from './record';
import {
  METADATA_EVENT_TYPE,
  StreamIndex,
  TOMBSTONE_EVENT_TYPE,
  isSoftDeleted,
  metastreamOf,
} from './stream-index';

export interface ProposedEvent {
  id: string;
  type: string;
  isJson: boolean;
  data: Buffer;
  metadata: Buffer;
}

export type WriteResult =
  | { kind: 'ok'; lastRevision: number; position: number | null }
  | { kind: 'wrong_expected_version'; current: number }
  | { kind: 'stream_deleted' };

interface OpenFrame {
  start: number;
  size: number;
  records: Buffer[];
  events: StoredEvent[];
}

interface DurableWaiter {
  position: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

const SOFT_DELETE_TB_LITERAL = '9223372036854775807';

export class Store extends EventEmitter {
  readonly index = new StreamIndex();
  /** Every position below this is on disk and fsynced; readers never look past it. */
  durableEnd: number;
  readonly recovery: RecoveryReport;
  private readonly log: EventLog;
  private readonly pending = new Map<number, StoredEvent>();
  private open: OpenFrame | null = null;
  private nextOffset: number;
  private flushing: Promise<void> | null = null;
  private waiters: DurableWaiter[] = [];
  private failure: Error | null = null;
  private closed = false;

  constructor(dataDir: string, private readonly now: () => number = Date.now) {
    super();
    const { log, report } = EventLog.open(dataDir, (ev) => this.index.apply(ev));
    this.log = log;
    this.recovery = report;
    this.durableEnd = log.end;
    this.nextOffset = log.end;
  }

  /** The event at `position`, whether durable or still in the open frame. */
  eventAt(position: number): StoredEvent {
    return this.pending.get(position) ?? this.log.readAt(position);
  }

  view(stream: string): StreamView {
    const info = this.index.get(stream);
    const positions = info?.positions ?? [];
    return {
      lastRevision: positions.length - 1,
      softDeleted: isSoftDeleted(info),
      tombstoned: this.index.isTombstoned(stream),
      metadataExists: (this.index.get(metastreamOf(stream))?.positions.length ?? 0) > 0,
      idAt: (rev) => (rev >= 0 && rev < positions.length ? this.eventAt(positions[rev]).id : undefined),
      recentRevisionOf: (id) => this.index.recentRevisionOf(stream, id),
    };
  }

  async append(stream: string, expected: Expected, events: ProposedEvent[]): Promise<WriteResult> {
    this.assertUsable();
    const view = this.view(stream);
    const decision = decideAppend(view, expected, events.map((e) => e.id));
    if (decision.kind !== 'write') return this.settle(stream, decision);
    if (events.length === 0) return { kind: 'ok', lastRevision: view.lastRevision, position: null };
    const createdMs = this.now();
    let revision = view.lastRevision;
    const staged = events.map((e) => this.stage({ ...e, stream, revision: ++revision, tombstone: false, createdMs }));
    const last = staged[staged.length - 1];
    // Recreating a soft-deleted stream: reads start at the first new revision from now on. Same
    // frame as the events, so both survive a crash or neither does.
    const tail = view.softDeleted ? this.stage(this.metadataRecord(stream, view.lastRevision + 1, createdMs)) : last;
    await this.whenDurable(tail.position);
    return { kind: 'ok', lastRevision: last.revision, position: last.position };
  }

  /** Soft delete: a $metadata event on $$stream with $tb = long.MaxValue, other fields kept. */
  async softDelete(stream: string, expected: Expected): Promise<WriteResult> {
    this.assertUsable();
    const view = this.view(stream);
    const decision = decideDelete(view, expected);
    if (decision.kind !== 'write') return this.settle(stream, decision);
    const ev = this.stage(this.metadataRecord(stream, null, this.now()));
    await this.whenDurable(ev.position);
    return { kind: 'ok', lastRevision: view.lastRevision, position: ev.position };
  }

  /** Hard delete: a $streamDeleted tombstone; the stream and its metastream refuse all access after. */
  async tombstone(stream: string, expected: Expected): Promise<WriteResult> {
    this.assertUsable();
    const view = this.view(stream);
    const decision = decideDelete(view, expected);
    if (decision.kind !== 'write') return this.settle(stream, decision);
    const ev = this.stage({
      stream,
      revision: -1,
      tombstone: true,
      id: uuidFromPosition(this.nextStagePosition()),
      type: TOMBSTONE_EVENT_TYPE,
      isJson: false,
      createdMs: this.now(),
      data: Buffer.alloc(0),
      metadata: Buffer.alloc(0),
    });
    await this.whenDurable(ev.position);
    return { kind: 'ok', lastRevision: view.lastRevision, position: ev.position };
  }

  /** Waits for in-flight frames, then fsyncs and closes the log. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    this.log.close();
  }

  private async settle(stream: string, decision: Decision): Promise<WriteResult> {
    switch (decision.kind) {
      case 'idempotent': {
        const position = this.index.get(stream)?.positions[decision.lastRevision] ?? null;
        if (position !== null) await this.whenDurable(position);
        return { kind: 'ok', lastRevision: decision.lastRevision, position };
      }
      case 'wrong_expected_version':
        return { kind: 'wrong_expected_version', current: decision.current };
      case 'stream_deleted':
        return { kind: 'stream_deleted' };
      case 'write':
        throw new Error('settle() is only for decisions that write nothing');
    }
  }

  private metadataRecord(stream: string, truncateBefore: number | null, createdMs: number): EventRecord {
    const meta = this.index.get(stream)?.meta?.raw ?? {};
    const rest = Object.fromEntries(Object.entries(meta).filter(([k]) => k !== '$tb'));
    const body = JSON.stringify({ ...rest, $tb: 0 }).replace(
      /"\$tb":0}$/,
      `"$tb":${truncateBefore === null ? SOFT_DELETE_TB_LITERAL : truncateBefore}}`,
    );
    const metastream = metastreamOf(stream);
    return {
      stream: metastream,
      revision: (this.index.get(metastream)?.positions.length ?? 0),
      tombstone: false,
      id: uuidFromPosition(this.nextStagePosition()),
      type: METADATA_EVENT_TYPE,
      isJson: true,
      createdMs,
      data: Buffer.from(body, 'utf8'),
      metadata: Buffer.alloc(0),
    };
  }

  private nextStagePosition(): number {
    return this.open ? this.open.start + FRAME_HEADER_BYTES + this.open.size : this.nextOffset + FRAME_HEADER_BYTES;
  }

  private stage(rec: EventRecord): StoredEvent {
    if (!this.open) {
      this.open = { start: this.nextOffset, size: 0, records: [], events: [] };
    }
    const buf = encodeRecord(rec);
    const ev: StoredEvent = { ...rec, position: this.open.start + FRAME_HEADER_BYTES + this.open.size };
    this.open.size += buf.length;
    this.open.records.push(buf);
    this.open.events.push(ev);
    this.pending.set(ev.position, ev);
    this.index.apply(ev);
    if (!this.flushing) this.flushing = this.flushLoop();
    return ev;
  }

  private whenDurable(position: number): Promise<void> {
    if (position < this.durableEnd) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ position, resolve, reject }));
  }

  private async flushLoop(): Promise<void> {
    // Let every append that arrives in this turn of the event loop join the frame.
    await new Promise((r) => setImmediate(r));
    try {
      while (this.open) {
        const frame = this.open;
        this.open = null;
        this.nextOffset = frame.start + FRAME_HEADER_BYTES + frame.size;
        await this.log.writeFrame(frame.start, encodeFrame(frame.records));
        this.durableEnd = this.nextOffset;
        for (const ev of frame.events) this.pending.delete(ev.position);
        const ready = this.waiters.filter((w) => w.position < this.durableEnd);
        this.waiters = this.waiters.filter((w) => w.position >= this.durableEnd);
        for (const w of ready) w.resolve();
        this.emit('committed', frame.events);
      }
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      for (const w of this.waiters) w.reject(this.failure);
      this.waiters = [];
      // The index already holds the unwritten events: only a restart (recovery from disk) is safe.
      this.emit('fatal', this.failure);
    } finally {
      this.flushing = null;
    }
  }

  private assertUsable(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('store is closed');
  }
}

/** Ids for the server's own events ($metadata, $streamDeleted): unique and stable per position. */
function uuidFromPosition(position: number): string {
  const hex = position.toString(16).padStart(12, '0').slice(-12);
  return `00000000-0000-4000-8000-${hex}`;
}
