/**
 * esdb-local as a program (always private instances): TLS so `tls=true` connection strings work,
 * one clear line and a non-zero exit on a bad flag or a taken port, clean exit on SIGTERM.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { EsdbProcess, collect, startEsdbProcess, uniqueName } from '../support/esdb-process';

const ROOT = path.resolve(__dirname, '..', '..');
const external = !!process.env.EVENTSTORE_CONNECTION_STRING;
const suite = external ? describe.skip : describe;

function runMain(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'esdb-local', 'main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stderr: r.stderr };
}

suite('esdb-local program (private instances)', () => {
  let tmp: string;
  const procs: EsdbProcess[] = [];

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'esdb-proc-test-'));
  });

  afterAll(async () => {
    for (const p of procs) await p.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('serves tls=true connection strings with a certificate it is given', async () => {
    const cert = path.join(tmp, 'cert.pem');
    const key = path.join(tmp, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: 'ignore' });
    const p = await startEsdbProcess({ tls: { certFile: cert, keyFile: key } });
    procs.push(p);
    expect(p.startLine.tls).toBe(true);
    const client = EventStoreDBClient.connectionString(p.connectionString);
    try {
      const s = uniqueName('tls');
      await client.appendToStream(s, jsonEvent({ type: 'OverTls', data: { ok: true } }));
      const [e] = await collect(client.readStream(s));
      expect(e.event?.data).toEqual({ ok: true });
    } finally {
      await client.dispose();
    }
  });

  test('a bad flag exits 2 with one line naming the fix', () => {
    const r = runMain(['--port', '2113', '--data', tmp, '--bogus']);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/unknown option --bogus; usage:/);
    expect(runMain(['--port', '2113']).stderr).toMatch(/--data is required/);
    expect(runMain(['--port', 'x', '--data', tmp]).status).toBe(2);
  });

  test('a taken port exits 1 with one line', async () => {
    const p = await startEsdbProcess();
    procs.push(p);
    const r = runMain(['--port', String(p.port), '--data', path.join(tmp, 'other')]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`port ${p.port} .*taken`));
  });

  test('a data dir in use by another server is refused with one line', async () => {
    const p = await startEsdbProcess();
    procs.push(p);
    const r = runMain(['--port', '0', '--data', p.dataDir]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`in use by pid ${p.pid}`));
  });

  test('SIGTERM shuts down cleanly (exit 0) even with a live subscription', async () => {
    const p = await startEsdbProcess();
    const client = EventStoreDBClient.connectionString(p.connectionString);
    const sub = client.subscribeToAll();
    sub.on('error', () => undefined);
    await new Promise<void>((resolve) => sub.once('caughtUp', () => resolve()));
    await client.appendToStream(uniqueName('term'), jsonEvent({ type: 'X', data: {} }));
    expect(await p.stop()).toBe(0);
    expect(p.stderr()).toMatch(/"esdb-local stopped"/);
    await client.dispose();
    const again = await startEsdbProcess({ dataDir: p.dataDir });
    procs.push(again);
    expect(again.startLine.events).toBe(1);
    expect(again.startLine.truncatedBytes).toBe(0);
    fs.rmSync(p.dataDir, { recursive: true, force: true });
  });
});
