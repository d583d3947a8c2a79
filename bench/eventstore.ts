/**
 * Raw event-store throughput through @eventstore/db-client (against esdb-local in the local stack).
 * Baseline for every figure: sequential single-event appends (one fsync each, no batching
 * possible) measured in the same run against the same server.
 * - batch appends: 100 events per append call;
 * - concurrent single-event appends from 8 clients (esdb-local group-commits them);
 * - forward stream reads.
 */
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { loadConfig } from '../core/config';
import type { Benchmark, BenchResult } from './types';

const payload = (i: number) => jsonEvent({ type: 'BenchEventAppended', data: { i, pad: 'x'.repeat(200) } });

async function timed(fn: () => Promise<number>): Promise<number> {
  const t0 = performance.now();
  const n = await fn();
  return n / ((performance.now() - t0) / 1000);
}

export const benchmark: Benchmark = {
  id: 'eventstore',
  needs: ['eventstore'],
  async run(ctx) {
    const singles = ctx.quick ? 200 : 1000;
    const batches = ctx.quick ? 10 : 50;
    const writers = 8;
    const cs = loadConfig().eventStore.connectionString;
    const client = EventStoreDBClient.connectionString(cs);
    const extra = Array.from({ length: writers }, () => EventStoreDBClient.connectionString(cs));
    try {
      const single = await timed(async () => {
        const stream = `bench-single-${ctx.runId}`;
        for (let i = 0; i < singles; i++) {
          await client.appendToStream(stream, payload(i), { expectedRevision: i === 0 ? 'no_stream' : BigInt(i - 1) });
        }
        return singles;
      });
      const batch = await timed(async () => {
        const stream = `bench-batch-${ctx.runId}`;
        for (let b = 0; b < batches; b++) {
          const evs = Array.from({ length: 100 }, (_, i) => payload(b * 100 + i));
          await client.appendToStream(stream, evs, { expectedRevision: b === 0 ? 'no_stream' : BigInt(b * 100 - 1) });
        }
        return batches * 100;
      });
      const concurrent = await timed(async () => {
        const per = Math.ceil(singles / writers);
        await Promise.all(
          extra.map(async (c, w) => {
            for (let i = 0; i < per; i++) await c.appendToStream(`bench-conc-${ctx.runId}-${w}`, payload(i));
          }),
        );
        return per * writers;
      });
      const reads = await timed(async () => {
        let n = 0;
        for (let pass = 0; pass < 3; pass++) {
          for await (const _ of client.readStream(`bench-batch-${ctx.runId}`)) n++;
        }
        return n;
      });
      ctx.log(`single ${single.toFixed(0)}/s, batch ${batch.toFixed(0)}/s, concurrent ${concurrent.toFixed(0)}/s, reads ${reads.toFixed(0)}/s`);
      const baseline = 'sequential single-event appends with expected revision, same server and run';
      const result = (name: string, value: number, note: string): BenchResult => ({
        name,
        baseline,
        baselineValue: single,
        subjectValue: value,
        unit: 'events/s',
        ratio: value / single,
        higherIsBetter: true,
        note,
      });
      return [
        result('Event store batch appends (100 events per call)', batch, `subject/baseline; ${batches} appends of 100 events`),
        result('Event store concurrent single-event appends (8 clients)', concurrent, 'subject/baseline; the server group-commits concurrent appends into one fsync'),
        result('Event store forward stream reads', reads, `subject/baseline; 3 full reads of a ${batches * 100}-event stream`),
      ];
    } finally {
      await Promise.all([client, ...extra].map((c) => c.dispose()));
    }
  },
};
