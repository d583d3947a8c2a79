/**
 * The attack the chain exists for: someone with access to the event store's files rewrites an
 * event in place and fixes the store's own checksums, so the server serves the edited history
 * without complaint. `audit verify` must still catch it. Uses a private esdb-local whose data
 * dir the test edits between a stop and a restart (the file layout is esdb-local/record.ts's).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Decider } from '../../core/decider';
import type { Event } from '../../core/event';
import { verify } from '../../eventstore/audit';
import { EsdbEventStore } from '../../eventstore/client';
import { handleCommand, loadStream } from '../../eventstore/handler';
import { TamperError } from '../../eventstore/errors';
import { FILE_MAGIC, FRAME_HEADER_BYTES, decodeFrameHeader, decodeRecord, recordLength } from '../../esdb-local/record';
import { LOG_FILE } from '../../esdb-local/log';
import { startEsdbProcess, type EsdbProcess } from '../support/esdb-process';

type Ev = Event<'CredentialPreProvisioned', { userId: string; vmId: string }>;
const decider: Decider<{ userId: string; vmId: string }, number, Ev> = {
  initialState: 0,
  decide: (c) => [{ type: 'CredentialPreProvisioned', data: c }],
  evolve: (n) => n + 1,
};

/** Rewrites `from` to `to` (same length) inside the data of one stored event, fixing both CRCs. */
function rewriteAtRest(dataDir: string, stream: string, revision: number, from: string, to: string): void {
  const file = path.join(dataDir, LOG_FILE);
  const buf = fs.readFileSync(file);
  for (let off = FILE_MAGIC.length; off < buf.length; ) {
    const fh = decodeFrameHeader(buf.subarray(off));
    if (!fh) break;
    const body = buf.subarray(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + fh.bodyLen);
    for (let r = 0; r < body.length; ) {
      const len = recordLength(body, r)!;
      const ev = decodeRecord(body, r, off + FRAME_HEADER_BYTES + r);
      if (ev.stream === stream && ev.revision === revision) {
        const dataStart = r + 12 + body.readUInt32LE(r + 8);
        const at = body.subarray(dataStart, dataStart + ev.data.length).indexOf(from);
        if (at < 0) throw new Error(`"${from}" not in the stored data`);
        body.write(to, dataStart + at, 'utf8');
        body.writeUInt32LE(crc32(body.subarray(r + 8, r + len)), r + 4);
        buf.writeUInt32LE(crc32(body), off + 12);
        fs.writeFileSync(file, buf);
        return;
      }
      r += len;
    }
    off += FRAME_HEADER_BYTES + fh.bodyLen;
  }
  throw new Error(`${stream}@${revision} not found in ${file}`);
}

let server: EsdbProcess | undefined;
let dataDir: string | undefined;
afterAll(async () => {
  await server?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

it('given an event rewritten in the store files with valid store checksums, then verify reports a hash mismatch there', async () => {
  server = await startEsdbProcess();
  dataDir = server.dataDir;
  const stream = 'credential-alice_vm1';
  let store = EsdbEventStore.connect(server.connectionString);
  await handleCommand(store, { stream, decider, command: { userId: 'alice', vmId: 'vm1' }, commandId: 'c1', now: '2026-01-01T00:00:00Z' });
  await handleCommand(store, { stream, decider, command: { userId: 'alice', vmId: 'vm1' }, commandId: 'c2', now: '2026-01-02T00:00:00Z' });
  await handleCommand(store, { stream: 'hsm-h1', decider, command: { userId: 'x', vmId: 'y' }, commandId: 'c3', now: '2026-01-02T00:00:00Z' });
  expect((await verify(store)).breaks).toEqual([]);
  await store.close();
  await server.stop();

  rewriteAtRest(dataDir, stream, 0, '"alice"', '"mallo"');
  server = await startEsdbProcess({ dataDir });
  store = EsdbEventStore.connect(server.connectionString);
  try {
    // The server accepted the edited file and serves the edit...
    const first = [];
    for await (const e of store.readStream(stream)) first.push(e);
    expect(first[0].data).toEqual({ userId: 'mallo', vmId: 'vm1' });
    // ...but the chain does not verify, and the handler refuses to build on it.
    const report = await verify(store);
    expect(report.breaks).toEqual([expect.objectContaining({ stream, revision: 0, reason: 'hash-mismatch' })]);
    expect(report.streams).toBe(2);
    await expect(loadStream(store, stream, decider)).rejects.toBeInstanceOf(TamperError);
  } finally {
    await store.close();
  }
});
