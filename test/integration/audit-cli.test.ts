/**
 * `foresight audit replay|verify` as a user runs it, against a private real server written
 * through the handler and forged through the raw @eventstore/db-client.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import * as path from 'node:path';
import { jsonEvent } from '@eventstore/db-client';
import type { Decider } from '../../core/decider';
import type { Event } from '../../core/event';
import { EsdbEventStore } from '../../eventstore/client';
import { handleCommand } from '../../eventstore/handler';
import { startEsdbProcess, type EsdbProcess } from '../support/esdb-process';

type Ev = Event<'CredentialPreProvisioned', { userId: string; vmId: string }> | Event<'HsmPartitionAllocated', { partition: number }>;
type Cmd = { events: Ev[] };
const passThrough: Decider<Cmd, null, Ev> = { initialState: null, decide: (c) => c.events, evolve: (s) => s };

const BIN = path.join(__dirname, '../../bin/foresight.js');
let server: EsdbProcess;
let store: EsdbEventStore;
const tag = randomUUID().replace(/-/g, '').slice(0, 8);
const cred1 = `credential-alice${tag}_vm1`;
const cred2 = `credential-bob${tag}_vm2`;
const hsm = `hsm-h${tag}`;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, EVENTSTORE_CONNECTION_STRING: server.connectionString, ...env }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}

async function write(stream: string, commandId: string, at: string, events: Ev[]): Promise<void> {
  await handleCommand(store, { stream, decider: passThrough, command: { events }, commandId, now: at });
}

const pre = (userId: string, vmId: string): Ev => ({ type: 'CredentialPreProvisioned', data: { userId, vmId } });

beforeAll(async () => {
  server = await startEsdbProcess();
  store = EsdbEventStore.connect(server.connectionString);
  await write(cred1, 'c1', '2026-01-01T08:00:00Z', [pre('alice', 'vm1')]);
  await write(hsm, 'c2', '2026-01-02T08:00:00Z', [{ type: 'HsmPartitionAllocated', data: { partition: 3 } }]);
  await write(cred2, 'c3', '2026-01-03T08:00:00Z', [pre('bob', 'vm2'), pre('bob', 'vm2')]);
  await write(cred1, 'c4', '2026-01-04T08:00:00Z', [pre('alice', 'vm1')]);
});
afterAll(async () => {
  await store?.close();
  await server?.dispose();
});

const lines = (s: string) => s.split('\n').filter(Boolean);

describe('foresight audit replay', () => {
  it('given --json, then every event comes as one JSON line, oldest first', async () => {
    const r = await cli(['audit', 'replay', '--json']);
    expect(r.code).toBe(0);
    const got = lines(r.out).map((l) => JSON.parse(l));
    expect(got.map((e) => `${e.stream}@${e.revision}`)).toEqual([`${cred1}@0`, `${hsm}@0`, `${cred2}@0`, `${cred2}@1`, `${cred1}@1`]);
    expect(got[0]).toMatchObject({ type: 'CredentialPreProvisioned', time: '2026-01-01T08:00:00.000Z', data: { userId: 'alice', vmId: 'vm1' } });
    expect(got[0].metadata.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('given category, type, stream and time filters, then only those events come', async () => {
    const cat = await cli(['audit', 'replay', '--json', '--category', 'credential']);
    expect(lines(cat.out)).toHaveLength(4);
    const typ = await cli(['audit', 'replay', '--json', '--type', 'HsmPartitionAllocated']);
    expect(lines(typ.out).map((l) => JSON.parse(l).stream)).toEqual([hsm]);
    const one = await cli(['audit', 'replay', '--json', '--stream', cred1, '--since', '2026-01-02', '--until', '2026-01-05']);
    expect(lines(one.out).map((l) => JSON.parse(l).revision)).toEqual([1]);
  });

  it('without --json, then a table with a header row', async () => {
    const r = await cli(['audit', 'replay', '--stream', hsm]);
    expect(r.code).toBe(0);
    const [head, row, ...rest] = lines(r.out);
    expect(head).toMatch(/^TIME\s+STREAM\s+REV\s+TYPE\s+DATA$/);
    expect(row).toMatch(new RegExp(`^2026-01-02T08:00:00.000Z\\s+${hsm}\\s+0\\s+HsmPartitionAllocated\\s+\\{"partition":3\\}$`));
    expect(rest).toEqual([]);
  });

  it('given bad arguments, then one line with the fix and exit 2', async () => {
    const r = await cli(['audit', 'replay', '--stream', cred1, '--category', 'credential']);
    expect(r.code).toBe(2);
    expect(lines(r.err)).toHaveLength(1);
  });
});

describe('foresight audit verify', () => {
  it('given untouched history, then ok and exit 0', async () => {
    const r = await cli(['audit', 'verify', '--all']);
    expect(r.err).toBe('');
    expect(r.out.trim()).toBe('ok: 3 streams, 5 events verified');
    expect(r.code).toBe(0);
  });

  it('given a modified copy of an event appended through the raw client, then verify reports that stream and revision and exits 1', async () => {
    const events = [];
    for await (const e of store.raw.readStream(cred2)) events.push(e.event!);
    const last = events[events.length - 1];
    // A forger copies a real event, changes its data and keeps its (valid-looking) metadata.
    await store.raw.appendToStream(
      cred2,
      jsonEvent({ type: last.type, data: { userId: 'mallory', vmId: 'vm2' }, metadata: last.metadata as Record<string, unknown> }),
    );
    const r = await cli(['audit', 'verify', '--all']);
    expect(r.code).toBe(1);
    const out = lines(r.out);
    expect(out[0]).toMatch(new RegExp(`^BROKEN ${cred2} at revision 2 .*prev-hash-mismatch`));
    expect(out[out.length - 1]).toBe('verify failed: 1 of 3 streams broken (6 events checked)');
    // Other streams still verify on their own.
    expect((await cli(['audit', 'verify', '--stream', cred1])).code).toBe(0);
  });

  it('given an event whose data was changed but whose chain fields were kept consistent, then the hash mismatch is caught', async () => {
    const events = [];
    for await (const e of store.raw.readStream(hsm)) events.push(e.event!);
    const last = events[events.length - 1];
    const meta = last.metadata as Record<string, unknown>;
    await store.raw.appendToStream(
      hsm,
      jsonEvent({ type: 'HsmPartitionAllocated', data: { partition: 99 }, metadata: { ...meta, prevHash: meta.hash } }),
    );
    const r = await cli(['audit', 'verify', '--stream', hsm, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, breaks: [{ stream: hsm, revision: 1, reason: 'hash-mismatch', found: meta.hash }] });
  });

  it('given an event without chain metadata appended raw, then it is reported as missing metadata', async () => {
    await store.raw.appendToStream(cred1, jsonEvent({ type: 'CredentialPreProvisioned', data: { userId: 'eve', vmId: 'vm1' } }));
    const r = await cli(['audit', 'verify', '--stream', cred1]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`BROKEN ${cred1} at revision 2 .*missing-metadata`));
  });
});

describe('foresight audit with no event store', () => {
  it('given nothing listening, then one line naming EVENTSTORE_CONNECTION_STRING and stack up, exit 1', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const r = await cli(['audit', 'verify'], { EVENTSTORE_CONNECTION_STRING: `esdb://127.0.0.1:${port}?tls=false` });
    expect(r.code).toBe(1);
    expect(lines(r.err)).toHaveLength(1);
    expect(r.err).toMatch(/EVENTSTORE_CONNECTION_STRING/);
    expect(r.err).toMatch(/npx foresight stack up/);
  });
});
