/**
 * What the Decider handler costs over a bare append: per command it reads and folds the stream,
 * verifies the hash chain and seals new events. Baseline: raw appends of one event each through
 * @eventstore/db-client, same server, same run, same number of streams and events per stream.
 */
import { jsonEvent } from '@eventstore/db-client';
import type { Decider } from '../core/decider';
import { loadConfig } from '../core/config';
import type { Event } from '../core/event';
import { EsdbEventStore } from '../eventstore/client';
import { handleCommand } from '../eventstore/handler';
import { GENESIS_HASH, sealEvents } from '../eventstore/hash-chain';
import type { Benchmark, BenchResult } from './types';

type Ev = Event<'CounterIncremented', { by: number; at: string }>;
const counter: Decider<{ by: number; at: string }, number, Ev> = {
  initialState: 0,
  decide: (c) => [{ type: 'CounterIncremented', data: { by: c.by, at: c.at } }],
  evolve: (s, e) => s + e.data.by,
};

export const benchmark: Benchmark = {
  id: 'eventstore-handler',
  needs: ['eventstore'],
  async run(ctx) {
    const streams = ctx.quick ? 5 : 20;
    const perStream = ctx.quick ? 10 : 25;
    const store = EsdbEventStore.connect(loadConfig().eventStore.connectionString);
    try {
      const at = '2026-01-01T00:00:00.000Z';
      // Baseline events are sealed up front (outside the timing) so the shared store's chains still
      // verify after a bench run: `audit verify --all` must stay green.
      const baseline = Array.from({ length: streams }, (_, s) => {
        const stream = `benchraw-${ctx.runId}_${s}`;
        const decided = Array.from({ length: perStream }, () => ({ type: 'CounterIncremented', data: { by: 1, at } }));
        const sealed = sealEvents(decided, { stream, lastRevision: -1, lastHash: GENESIS_HASH, commandId: `raw-${ctx.runId}-${s}`, correlationId: ctx.runId, causationId: ctx.runId, occurredAt: at });
        return { stream, events: sealed.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data, metadata: { ...e.metadata } })) };
      });
      let t0 = performance.now();
      for (const { stream, events } of baseline) {
        for (let i = 0; i < events.length; i++) {
          await store.raw.appendToStream(stream, events[i], { expectedRevision: i === 0 ? 'no_stream' : BigInt(i - 1) });
        }
      }
      const rawPerSec = (streams * perStream) / ((performance.now() - t0) / 1000);
      t0 = performance.now();
      for (let s = 0; s < streams; s++) {
        const stream = `benchdecider-${ctx.runId}_${s}`;
        for (let i = 0; i < perStream; i++) {
          await handleCommand(store, { stream, decider: counter, command: { by: 1, at }, commandId: `${ctx.runId}-${s}-${i}`, now: at });
        }
      }
      const handlerPerSec = (streams * perStream) / ((performance.now() - t0) / 1000);
      ctx.log(`raw ${rawPerSec.toFixed(0)}/s, handler ${handlerPerSec.toFixed(0)}/s over ${streams}x${perStream}`);
      const result: BenchResult = {
        name: 'Event-store Decider handler throughput',
        baseline: 'raw @eventstore/db-client appends of one event with expected revision',
        baselineValue: rawPerSec,
        subjectValue: handlerPerSec,
        unit: 'commands/s',
        ratio: handlerPerSec / rawPerSec,
        higherIsBetter: true,
        note: `subject/baseline; each handled command re-reads its stream (up to ${perStream} events), verifies the chain and appends one event`,
      };
      return [result];
    } finally {
      await store.close();
    }
  },
};
