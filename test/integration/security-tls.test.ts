/**
 * Issue 10 item 4, transport: TLS 1.3 is enforced on the delivery API and offered on Kafka's SSL
 * listener and on the event store; on each, a client that speaks only TLS 1.2 is refused at the
 * handshake, and a TLS 1.3 client verifies the server against the local CA.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { loadConfig, type Config } from '../../core/config';
import { MetricsRegistry } from '../../core/metrics';
import type { RoleContext } from '../../core/role';
import { silentLogger } from '../../core/log';
import { systemClock } from '../../core/clock';
import { startApiRole } from '../../credentials/role';
import { openPkcs11Module } from '../../hsm/pkcs11';
import type { HsmModule } from '../../hsm/ports';
import { ensureTls } from '../../stack/certs';
import { collect, startEsdbProcess, uniqueName, type EsdbProcess } from '../support/esdb-process';
import { tempSoftHsm, type TempSoftHsm } from '../support/softhsm-temp';

jest.setTimeout(120_000);

const base = loadConfig();
const material = ensureTls(base);
const ca = fs.readFileSync(material.caCert);

function handshake(port: number, version: tls.SecureVersion, alpn?: string[]): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca, minVersion: version, maxVersion: version, ALPNProtocols: alpn }, () => {
      const p = sock.authorized ? sock.getProtocol() : `unauthorized: ${String(sock.authorizationError)}`;
      sock.end();
      resolve(p);
    });
    sock.once('error', reject);
  });
}

const REFUSED = /protocol|version|alert|handshake|socket|ECONNRESET/i;

describe('security: TLS 1.3 only', () => {
  let esdb: EsdbProcess | undefined;
  let hsm: TempSoftHsm | undefined;
  let mod: HsmModule | undefined;
  let api: Awaited<ReturnType<typeof startApiRole>> | undefined;
  let home: string | undefined;

  afterAll(async () => {
    await api?.stop();
    await mod?.close();
    hsm?.cleanup();
    await esdb?.dispose();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  test('Kafka SSL listener: TLS 1.3 verified, TLS 1.2-only client refused', async () => {
    expect(await handshake(base.ports.kafkaSsl, 'TLSv1.3')).toBe('TLSv1.3');
    await expect(handshake(base.ports.kafkaSsl, 'TLSv1.2')).rejects.toThrow(REFUSED);
  });

  test('event store with TLS: a tls=true client works over TLS 1.3, a TLS 1.2-only client is refused', async () => {
    esdb = await startEsdbProcess({ tls: { certFile: material.serverCert, keyFile: material.serverKey } });
    expect(await handshake(esdb.port, 'TLSv1.3', ['h2'])).toBe('TLSv1.3');
    await expect(handshake(esdb.port, 'TLSv1.2', ['h2'])).rejects.toThrow(REFUSED);
    const client = EventStoreDBClient.connectionString(`esdb://localhost:${esdb.port}?tls=true&tlsCAFile=${encodeURIComponent(material.caCert)}`);
    try {
      const s = uniqueName('sec-tls');
      await client.appendToStream(s, jsonEvent({ type: 'OverTls13', data: { ok: true } }));
      expect((await collect(client.readStream(s))).length).toBe(1);
    } finally {
      await client.dispose();
    }
  });

  test('delivery API: TLS 1.3 verified, TLS 1.2-only client refused', async () => {
    hsm = tempSoftHsm('sec-tls-');
    mod = openPkcs11Module(hsm.modulePath);
    await mod.initToken('sec-tls', 'sec-tls-so-pin', 'sec-tls-pin');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sec-tls-home-'));
    fs.writeFileSync(path.join(home, 'credentials.yaml'), 'default: { threshold: 0.7, validity: PT30M }\nonDemandValidity: PT20M\n');
    const cfg: Config = { ...base, home };
    const ctx: RoleContext = { config: cfg, log: silentLogger, metrics: new MetricsRegistry(), clock: systemClock, groupPrefix: `sec-tls-${process.pid}-` };
    api = await startApiRole(ctx, {
      port: 0,
      hsmModule: mod,
      tokenLabel: 'sec-tls',
      pin: 'sec-tls-pin',
      tls: { cert: material.serverCert, key: material.serverKey, ca: material.caCert },
      tokenKeys: [],
      dashboard: { feeds: false },
    });
    expect(await handshake(api.port, 'TLSv1.3')).toBe('TLSv1.3');
    await expect(handshake(api.port, 'TLSv1.2')).rejects.toThrow(REFUSED);
  });
});
