/**
 * esdb-local's log and store on a temp dir: record/frame checksums, recovery that cuts a torn
 * tail and refuses mid-file corruption, group commit, and positions that only rise.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventLog, LOG_FILE } from '../../esdb-local/log';
import { CorruptRecordError, EventRecord, decodeRecord, encodeFrame, encodeRecord } from '../../esdb-local/record';
import { planPositions, planStreamRead } from '../../esdb-local/read';
import { ProposedEvent, Store } from '../../esdb-local/store';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'esdb-unit-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const record = (over: Partial<EventRecord> = {}): EventRecord => ({
  stream: 's',
  revision: 0,
  tombstone: false,
  id: '00000000-0000-4000-8000-000000000001',
  type: 'T',
  isJson: true,
  createdMs: 1_700_000_000_000,
  data: Buffer.from('{"a":1}'),
  metadata: Buffer.from([1, 2]),
  ...over,
});

let seq = 0;
const proposed = (n: number): ProposedEvent[] =>
  Array.from({ length: n }, () => ({
    id: `00000000-0000-4000-9000-${(++seq).toString(16).padStart(12, '0')}`,
    type: 'T',
    isJson: true,
    data: Buffer.from(`{"n":${seq}}`),
    metadata: Buffer.alloc(0),
  }));

describe('records', () => {
  test('round-trip every field', () => {
    const rec = record({ stream: 'ünïcode', tombstone: true });
    const back = decodeRecord(encodeRecord(rec), 0, 42);
    expect(back).toEqual({ ...rec, position: 42 });
  });

  test('a flipped byte fails the checksum', () => {
    const buf = encodeRecord(record());
    buf[buf.length - 3] ^= 0xff;
    expect(() => decodeRecord(buf, 0, 0)).toThrow(CorruptRecordError);
  });
});

describe('store and recovery', () => {
  test('appends arriving together share one frame; all are durable when acknowledged', async () => {
    const dir = tempDir();
    const store = new Store(dir);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.append(`s-${i % 3}`, { kind: 'any' }, proposed(2))));
    expect(results.every((r) => r.kind === 'ok')).toBe(true);
    await store.close();
    const { log, report } = EventLog.open(dir, () => undefined);
    log.close();
    expect(report.events).toBe(40);
    expect(report.frames).toBeLessThan(20);
  });

  test('an append is acknowledged only after its frame is fdatasynced', async () => {
    const store = new Store(tempDir());
    const steps: string[] = [];
    // The module object itself (not this file's import wrapper), so log.ts sees the spy.
    const nodeFs = require('node:fs') as typeof fs;
    const real = nodeFs.fdatasync;
    const spy = jest.spyOn(nodeFs, 'fdatasync').mockImplementation(((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) =>
      real(fd, (err) => {
        steps.push('fdatasync');
        cb(err);
      })) as typeof fs.fdatasync);
    try {
      await store.append('s', { kind: 'any' }, proposed(2)).then(() => steps.push('ack'));
      expect(steps).toEqual(['fdatasync', 'ack']);
    } finally {
      spy.mockRestore();
      await store.close();
    }
  });

  test('given a torn last frame, when reopened, then it is cut and earlier events are intact', async () => {
    const dir = tempDir();
    const store = new Store(dir);
    await store.append('s', { kind: 'no_stream' }, proposed(3));
    await store.close();
    const file = path.join(dir, LOG_FILE);
    const sizeBefore = fs.statSync(file).size;
    const frame = encodeFrame([encodeRecord(record({ revision: 3 }))]);
    fs.appendFileSync(file, frame.subarray(0, frame.length - 5));
    const reopened = new Store(dir);
    expect(reopened.recovery.truncatedBytes).toBe(frame.length - 5);
    expect(reopened.recovery.events).toBe(3);
    expect(fs.statSync(file).size).toBe(sizeBefore);
    const r = await reopened.append('s', { kind: 'revision', revision: 2 }, proposed(1));
    expect(r).toMatchObject({ kind: 'ok', lastRevision: 3 });
    expect(r.kind === 'ok' && r.position !== null && r.position >= sizeBefore).toBe(true);
    await reopened.close();
  });

  test('given a last frame with a bad checksum, when reopened, then it is cut', async () => {
    const dir = tempDir();
    const store = new Store(dir);
    await store.append('s', { kind: 'any' }, proposed(2));
    await store.close();
    const frame = encodeFrame([encodeRecord(record())]);
    frame[frame.length - 1] ^= 0x55;
    fs.appendFileSync(path.join(dir, LOG_FILE), frame);
    const reopened = new Store(dir);
    expect(reopened.recovery.truncatedBytes).toBe(frame.length);
    expect(reopened.recovery.events).toBe(2);
    await reopened.close();
  });

  test('a file that is not an esdb-local log is refused', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, LOG_FILE), 'definitely not a log');
    expect(() => new Store(dir)).toThrow(/not an esdb-local log/);
  });

  test('soft delete hides the stream until a new append recreates it with revisions carrying on', async () => {
    const dir = tempDir();
    const store = new Store(dir);
    await store.append('s', { kind: 'no_stream' }, proposed(2));
    expect(await store.softDelete('s', { kind: 'revision', revision: 1 })).toMatchObject({ kind: 'ok' });
    expect(planStreamRead(store, 's', 'start', 'forwards', 100).kind).toBe('not_found');
    expect(await store.append('s', { kind: 'no_stream' }, proposed(1))).toMatchObject({ kind: 'ok', lastRevision: 2 });
    const plan = planStreamRead(store, 's', 'start', 'forwards', 100);
    expect([...planPositions(plan)].map((p) => store.eventAt(p).revision)).toEqual([2]);
    await store.close();
    const reopened = new Store(dir);
    const again = planStreamRead(reopened, 's', 'start', 'forwards', 100);
    expect([...planPositions(again)].map((p) => reopened.eventAt(p).revision)).toEqual([2]);
    await reopened.close();
  });

  test('tombstone makes reads and appends report the stream deleted, across restarts', async () => {
    const dir = tempDir();
    const store = new Store(dir);
    await store.append('s', { kind: 'any' }, proposed(1));
    expect(await store.tombstone('s', { kind: 'any' })).toMatchObject({ kind: 'ok' });
    expect(await store.append('s', { kind: 'any' }, proposed(1))).toEqual({ kind: 'stream_deleted' });
    await store.close();
    const reopened = new Store(dir);
    expect(planStreamRead(reopened, 's', 'start', 'forwards', 1).kind).toBe('deleted');
    expect(planStreamRead(reopened, '$$s', 'start', 'forwards', 1).kind).toBe('deleted');
    await reopened.close();
  });
});
