/**
 * Catch-up subscriptions: confirmation, history from the (exclusive) start point, caught-up, then
 * live events. The switch to live happens in one synchronous step (history exhausted up to the
 * durable end, then the commit listener attached), so nothing is missed or sent twice. A reader
 * that falls too far behind live is sent fell-behind and goes back to reading history.
 */
import { randomUUID } from 'node:crypto';
import { ServerWritableStream } from '@grpc/grpc-js';
import type { ReadReq, ReadResp } from '@eventstore/db-client/generated/streams_pb';
import { caughtUpResp, checkpointResp, confirmationResp, eventResp, fellBehindResp } from './convert';
import { EventFilter, filterMatches } from './filters';
import { allEntryMatches, durableAllCount, durableCount, visibleStart } from './read';
import { StoredEvent } from './record';
import { streamDeleted } from './rpc-errors';
import { Store } from './store';

export type SubscriptionTarget =
  | { kind: 'stream'; stream: string; from: 'start' | 'end' | number }
  | { kind: 'all'; from: 'start' | 'end' | number; filter: EventFilter | null; checkpointEvery: number };

type Call = ServerWritableStream<ReadReq, ReadResp>;

const HISTORY_PAGE = 512;
/** A subscriber further behind live than this (events or bytes) reads history again. */
const MAX_LIVE_BACKLOG = 10_000;
const MAX_LIVE_BACKLOG_BYTES = 32 * 1024 * 1024;

class Pump {
  private done = false;
  private wake: (() => void) | null = null;
  private live: StoredEvent[] = [];
  private liveHead = 0;
  private liveBytes = 0;
  private listening = false;
  /** Next stream revision to consider (stream target). */
  private nextRevision = 0;
  /** Position of the last $all event considered (all target); -1 before the first. */
  private lastPosition = -1;
  private scanned = 0;

  constructor(
    private readonly store: Store,
    private readonly call: Call,
    private readonly target: SubscriptionTarget,
    private readonly structuredIds: boolean,
  ) {
    const stop = () => this.stop();
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
  }

  async run(): Promise<void> {
    if (!(await this.send(confirmationResp(randomUUID())))) return;
    this.initCursor();
    try {
      while (!this.done) {
        if (this.target.kind === 'stream' && this.store.index.isTombstoned(this.target.stream)) {
          this.call.emit('error', streamDeleted(this.target.stream));
          return;
        }
        const more = this.target.kind === 'stream' ? await this.streamHistoryPage(this.target.stream) : await this.allHistoryPage();
        if (this.done) return;
        if (more) continue;
        if (!(await this.send(caughtUpResp()))) return;
        const fellBehind = await this.liveLoop();
        if (!fellBehind) return;
        if (!(await this.send(fellBehindResp()))) return;
      }
    } finally {
      this.stopListening();
    }
  }

  private initCursor(): void {
    const t = this.target;
    if (t.kind === 'stream') {
      const info = this.store.index.get(t.stream);
      const n = info ? durableCount(this.store, info) : 0;
      this.nextRevision = t.from === 'start' ? 0 : t.from === 'end' ? n : t.from + 1;
    } else {
      const n = durableAllCount(this.store);
      if (t.from === 'start') this.lastPosition = -1;
      else if (t.from === 'end') this.lastPosition = n > 0 ? this.store.index.allPositions[n - 1] : -1;
      else this.lastPosition = t.from;
    }
  }

  /**
   * Sends up to a page of history; true if there may be more. When there is none it starts
   * listening before returning, in the same synchronous step as the final check: an await in
   * between would let a commit slip past unseen.
   */
  private async streamHistoryPage(stream: string): Promise<boolean> {
    const info = this.store.index.get(stream);
    if (!info) return this.caughtUpOr(true);
    const n = durableCount(this.store, info);
    const vs = Math.min(visibleStart(info, n), n);
    if (this.nextRevision < vs) this.nextRevision = vs;
    const end = Math.min(n, this.nextRevision + HISTORY_PAGE);
    for (; this.nextRevision < end; this.nextRevision++) {
      const ev = this.store.eventAt(info.positions[this.nextRevision]);
      if (!(await this.send(eventResp(ev, this.structuredIds)))) return false;
    }
    return this.caughtUpOr(this.nextRevision >= durableCount(this.store, info));
  }

  /** Starts listening and returns false if `atEnd`; otherwise returns true (more history). */
  private caughtUpOr(atEnd: boolean): boolean {
    if (!atEnd) return true;
    this.startListening();
    return false;
  }

  private async allHistoryPage(): Promise<boolean> {
    const t = this.target;
    if (t.kind !== 'all') return false;
    const idx = this.store.index;
    const n = durableAllCount(this.store);
    let i = idx.firstAtOrAfter(this.lastPosition + 1);
    const end = Math.min(n, i + HISTORY_PAGE);
    for (; i < end; i++) {
      const position = idx.allPositions[i];
      if (allEntryMatches(this.store, i, t.filter)) {
        if (!(await this.send(eventResp(this.store.eventAt(position), this.structuredIds)))) return false;
      }
      this.lastPosition = position;
      if (!(await this.countForCheckpoint())) return false;
    }
    return this.caughtUpOr(idx.firstAtOrAfter(this.lastPosition + 1) >= durableAllCount(this.store));
  }

  private async countForCheckpoint(): Promise<boolean> {
    const t = this.target;
    if (t.kind !== 'all' || !t.filter) return true;
    if (++this.scanned < t.checkpointEvery) return true;
    this.scanned = 0;
    return this.send(checkpointResp(this.lastPosition));
  }

  private readonly onCommitted = (events: StoredEvent[]) => {
    for (const ev of events) {
      this.live.push(ev);
      this.liveBytes += ev.data.length + ev.metadata.length;
    }
    this.wake?.();
  };

  private startListening(): void {
    if (this.listening) return;
    this.listening = true;
    this.store.on('committed', this.onCommitted);
  }

  private stopListening(): void {
    if (!this.listening) return;
    this.listening = false;
    this.store.off('committed', this.onCommitted);
    this.live = [];
    this.liveHead = 0;
    this.liveBytes = 0;
  }

  /** Delivers live events until the call ends (false) or the backlog overflows (true). */
  private async liveLoop(): Promise<boolean> {
    while (!this.done) {
      if (this.live.length - this.liveHead > MAX_LIVE_BACKLOG || this.liveBytes > MAX_LIVE_BACKLOG_BYTES) {
        this.stopListening();
        return true;
      }
      const ev = this.nextLive();
      if (!ev) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      if (!(await this.deliverLive(ev))) return false;
    }
    return false;
  }

  private nextLive(): StoredEvent | undefined {
    if (this.liveHead >= this.live.length) {
      this.live = [];
      this.liveHead = 0;
      return undefined;
    }
    const ev = this.live[this.liveHead++];
    this.liveBytes -= ev.data.length + ev.metadata.length;
    if (this.liveHead > 1024 && this.liveHead * 2 > this.live.length) {
      this.live = this.live.slice(this.liveHead);
      this.liveHead = 0;
    }
    return ev;
  }

  private async deliverLive(ev: StoredEvent): Promise<boolean> {
    const t = this.target;
    if (t.kind === 'stream') {
      if (ev.stream !== t.stream) return true;
      if (ev.tombstone) {
        this.call.emit('error', streamDeleted(t.stream));
        this.done = true;
        return false;
      }
      if (ev.revision < this.nextRevision) return true;
      this.nextRevision = ev.revision + 1;
      return this.send(eventResp(ev, this.structuredIds));
    }
    if (ev.position <= this.lastPosition) return true;
    this.lastPosition = ev.position;
    if (!t.filter || filterMatches(t.filter, ev.stream, ev.type)) {
      if (!(await this.send(eventResp(ev, this.structuredIds)))) return false;
    }
    return this.countForCheckpoint();
  }

  /** Writes with backpressure; false once the call is over. */
  private async send(msg: ReadResp): Promise<boolean> {
    if (this.done) return false;
    if (!this.call.write(msg)) {
      await new Promise<void>((resolve) => {
        const finish = () => {
          this.call.off('drain', finish);
          this.call.off('cancelled', finish);
          this.call.off('close', finish);
          resolve();
        };
        this.call.on('drain', finish);
        this.call.on('cancelled', finish);
        this.call.on('close', finish);
      });
    }
    return !this.done;
  }

  stop(): void {
    this.done = true;
    this.wake?.();
  }
}

/** Runs a catch-up subscription until the client cancels or the server shuts down. */
export function subscribe(
  store: Store,
  call: Call,
  target: SubscriptionTarget,
  structuredIds: boolean,
  registry: Set<() => void>,
): Promise<void> {
  const pump = new Pump(store, call, target, structuredIds);
  const end = () => {
    pump.stop();
    call.end();
  };
  registry.add(end);
  return pump.run().finally(() => registry.delete(end));
}
