/**
 * Durability of esdb-local (always a private instance): every acknowledged append survives
 * kill -9, unacknowledged batches are all-or-nothing, $all positions only rise across restarts,
 * and a torn tail is detected and cut on restart.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EventStoreDBClient, Position, jsonEvent } from '@eventstore/db-client';
import { EsdbProcess, collect, startEsdbProcess, uniqueName } from '../support/esdb-process';

const external = !!process.env.EVENTSTORE_CONNECTION_STRING;
const suite = external ? describe.skip : describe;
if (external) {
  process.stderr.write('esdb-durability: skipped — EVENTSTORE_CONNECTION_STRING is set, and kill -9 needs a private esdb-local\n');
}

interface Acked {
  stream: string;
  ids: string[];
  firstRevision: bigint;
  position: Position;
}

suite('esdb-local durability (private instance)', () => {
  const dirs: string[] = [];
  const procs: EsdbProcess[] = [];

  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  async function start(dataDir?: string, nodeArgs?: string[]): Promise<EsdbProcess> {
    const p = await startEsdbProcess({ ...(dataDir ? { dataDir } : {}), nodeArgs });
    procs.push(p);
    if (!dataDir) dirs.push(p.dataDir);
    return p;
  }

  test('every acknowledged append survives kill -9; in-flight batches are all-or-nothing', async () => {
    const first = await start();
    const prefix = uniqueName('dur');
    const acked: Acked[] = [];
    let stop = false;
    const clients = Array.from({ length: 6 }, () => EventStoreDBClient.connectionString(first.connectionString));
    const writers = clients.map(async (c, w) => {
      const stream = `${prefix}-${w}`;
      let next = 0n;
      for (let batch = 0; !stop; batch++) {
        const size = (batch % 3) + 1;
        const evs = Array.from({ length: size }, (_, i) => jsonEvent({ type: 'Written', data: { w, batch, i, size } }));
        try {
          const r = await c.appendToStream(stream, evs, { expectedRevision: next === 0n ? 'no_stream' : next - 1n });
          acked.push({ stream, ids: evs.map((e) => e.id), firstRevision: next, position: r.position as Position });
          next += BigInt(size);
        } catch {
          return; // the server is gone
        }
      }
    });
    while (acked.length < 300) await new Promise((r) => setTimeout(r, 10));
    expect(await first.kill('SIGKILL')).toBeNull();
    stop = true;
    await Promise.all(writers);
    await Promise.all(clients.map((c) => c.dispose().catch(() => undefined)));

    const second = await start(first.dataDir);
    const client = EventStoreDBClient.connectionString(second.connectionString);
    try {
      const maxAckedCommit = acked.reduce((m, a) => (a.position.commit > m ? a.position.commit : m), 0n);
      for (let w = 0; w < clients.length; w++) {
        const stream = `${prefix}-${w}`;
        const read = await collect(client.readStream(stream));
        read.forEach((e, r) => expect(e.event?.revision).toBe(BigInt(r)));
        // Batches are atomic: each batch's events are all there, contiguous, or none are.
        const bySize = new Map<number, number>();
        for (const e of read) {
          const d = e.event?.data as { batch: number; size: number };
          bySize.set(d.batch, (bySize.get(d.batch) ?? 0) + 1);
          expect(bySize.get(d.batch)).toBeLessThanOrEqual(d.size);
        }
        for (const e of read) {
          const d = e.event?.data as { batch: number; size: number };
          expect(bySize.get(d.batch)).toBe(d.size);
        }
        for (const a of acked.filter((x) => x.stream === stream)) {
          const got = read.slice(Number(a.firstRevision), Number(a.firstRevision) + a.ids.length);
          expect(got.map((e) => e.event?.id)).toEqual(a.ids);
          expect(got[got.length - 1].event?.position?.commit).toBe(a.position.commit);
        }
      }
      const after = await client.appendToStream(uniqueName('dur-after'), jsonEvent({ type: 'After', data: {} }));
      expect((after.position as Position).commit > maxAckedCommit).toBe(true);
      const all = await collect(client.readAll({ maxCount: 100_000 }));
      const commits = all.map((e) => e.event?.position?.commit as bigint);
      for (let i = 1; i < commits.length; i++) expect(commits[i] > commits[i - 1]).toBe(true);
    } finally {
      await client.dispose();
      await second.stop();
    }
  });

  test('a torn tail is cut on restart and positions keep rising', async () => {
    const first = await start();
    const s = uniqueName('torn');
    let client = EventStoreDBClient.connectionString(first.connectionString);
    const before = await client.appendToStream(s, Array.from({ length: 10 }, (_, i) => jsonEvent({ type: 'T', data: { i } })));
    await client.dispose();
    expect(await first.stop()).toBe(0);

    // A frame header promising a body that never made it to disk, as a crash mid-write leaves.
    const file = path.join(first.dataDir, 'events.log');
    const torn = Buffer.alloc(16 + 100, 7);
    torn.writeUInt32LE(0x45534442, 0);
    torn.writeUInt32LE(3, 4);
    torn.writeUInt32LE(4096, 8);
    fs.appendFileSync(file, torn);

    const second = await start(first.dataDir);
    expect(second.startLine.truncatedBytes).toBe(torn.length);
    expect(second.startLine.events).toBe(10);
    client = EventStoreDBClient.connectionString(second.connectionString);
    try {
      expect((await collect(client.readStream(s))).length).toBe(10);
      const next = await client.appendToStream(s, jsonEvent({ type: 'T', data: { i: 10 } }), { expectedRevision: 9n });
      expect((next.position as Position).commit > (before.position as Position).commit).toBe(true);
    } finally {
      await client.dispose();
      expect(await second.stop()).toBe(0);
    }
    const third = await start(first.dataDir);
    expect(third.startLine.truncatedBytes).toBe(0);
    expect(third.startLine.events).toBe(11);
    await third.stop();
  });

  test('after recovery memory holds an index, not the log', async () => {
    const first = await start();
    const client = EventStoreDBClient.connectionString(first.connectionString);
    const pad = 'm'.repeat(6000);
    try {
      for (let b = 0; b < 110; b++) {
        const evs = Array.from({ length: 100 }, (_, i) => jsonEvent({ type: 'Big', data: { b, i, pad } }));
        await client.appendToStream(`${uniqueName('mem')}-${b % 7}`, evs);
      }
    } finally {
      await client.dispose();
    }
    expect(await first.stop()).toBe(0);
    const logBytes = fs.statSync(path.join(first.dataDir, 'events.log')).size;
    expect(logBytes).toBeGreaterThan(64 * 1024 * 1024);
    const second = await start(first.dataDir, ['--expose-gc']);
    expect(second.startLine.events).toBe(11_000);
    const held = second.startLine.heapUsedBytes + second.startLine.arrayBuffersBytes;
    expect(held).toBeLessThan(logBytes / 2);
    await second.stop();
  }, 180_000);
});
