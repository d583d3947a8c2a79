/**
 * `audit replay` streams: a history several times larger than the CLI's heap cap replays to the
 * end. A replay that buffered (or a reader that ignored back-pressure) would die out of memory.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { EsdbEventStore } from '../../eventstore/client';
import { GENESIS_HASH, sealEvents } from '../../eventstore/hash-chain';
import { startEsdbProcess, type EsdbProcess } from '../support/esdb-process';

const BIN = path.join(__dirname, '../../bin/foresight.js');
const STREAMS = 50;
const BATCHES = 5;
const PER_BATCH = 40;
const PAYLOAD = 'x'.repeat(16 * 1024);
const HEAP_CAP_MB = 96;
const TOTAL = STREAMS * BATCHES * PER_BATCH; // 10,000 events of 16 KiB: ~160 MiB of data

let server: EsdbProcess;
beforeAll(async () => {
  server = await startEsdbProcess({ startTimeoutMs: 60_000 });
  const store = EsdbEventStore.connect(server.connectionString);
  try {
    for (let s = 0; s < STREAMS; s++) {
      const stream = `allocation-n${s}`;
      let head = { revision: -1, hash: GENESIS_HASH };
      for (let b = 0; b < BATCHES; b++) {
        const decided = Array.from({ length: PER_BATCH }, (_, i) => ({ type: 'HsmCapacityAllocated', data: { i, pad: PAYLOAD } }));
        const sealed = sealEvents(decided, {
          stream, lastRevision: head.revision, lastHash: head.hash, commandId: `c${s}-${b}`, correlationId: 'soak', causationId: 'soak', occurredAt: '2026-01-01T00:00:00Z',
        });
        await store.append(stream, sealed.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: { ...e.metadata } })), head.revision < 0 ? 'no_stream' : head.revision);
        head = { revision: sealed[sealed.length - 1].revision, hash: sealed[sealed.length - 1].metadata.hash };
      }
    }
  } finally {
    await store.close();
  }
}, 600_000);
afterAll(async () => {
  await server?.dispose();
});

function runCli(args: string[]): Promise<{ code: number | null; lines: number; bytes: number; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_CAP_MB}`, BIN, ...args], {
      env: { ...process.env, EVENTSTORE_CONNECTION_STRING: server.connectionString },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lines = 0;
    let bytes = 0;
    let err = '';
    // Count, never keep: the test itself must not hold the history either.
    child.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
      for (const c of d) if (c === 10) lines++;
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, lines, bytes, err }));
  });
}

it(`given ~160 MiB of history, when replayed as JSON with a ${HEAP_CAP_MB} MiB heap cap, then every event comes out`, async () => {
  const r = await runCli(['audit', 'replay', '--json']);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.lines).toBe(TOTAL);
  expect(r.bytes).toBeGreaterThan(HEAP_CAP_MB * 1024 * 1024);
}, 600_000);

it('given the same history, then verify --all checks every event within the same cap', async () => {
  const r = await runCli(['audit', 'verify', '--all']);
  expect(r.code).toBe(0);
  expect(r.err).toBe('');
}, 600_000);
