import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManualClock } from '../../core/clock';
import { loadConfig, type Config } from '../../core/config';
import { UnavailableError } from '../../core/errors';
import { createDeliveryServer, listen } from '../../credentials/api';
import { DeliveryClient } from '../../credentials/client';
import { DeliveryService } from '../../credentials/delivery';
import { CredentialMetrics } from '../../credentials/metrics';
import { CredentialMinter } from '../../credentials/minter';
import { DEFAULT_CREDENTIALS_CONFIG, type CredentialsConfig } from '../../credentials/policy';
import { Provisioner } from '../../credentials/provisioner';
import { kafkaNotifier } from '../../credentials/role';
import { HsmKeyCustodian } from '../../credentials/user-keys';
import { FileVault } from '../../credentials/vault';
import { EsdbEventStore } from '../../eventstore/client';
import { openPkcs11Module } from '../../hsm/pkcs11';
import type { HsmModule, HsmSession } from '../../hsm/ports';
import { createProducer, ensureStreams } from '../../streams';
import { ensureTls, issueClientCert } from '../../stack/certs';
import { readRecords } from '../support/kafka-read';
import { tempSoftHsm, type TempSoftHsm } from '../support/softhsm-temp';

// The event store is down (a real client against a port nothing listens on): pre-provisioning
// failures are counted in memory and alert once; requests answer 503 with Retry-After; once the
// event store answers again (the local stack's), the same user is served on demand.
const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const USER = `eve-${run}`;
const PIN = 'outage-pin';
const T0 = Date.parse('2026-05-04T10:00:00Z');
const MIN = 60_000;
const config: CredentialsConfig = { ...DEFAULT_CREDENTIALS_CONFIG, alerts: { threshold: 3, windowMs: 10 * MIN } };

let hsm: TempSoftHsm;
let mod: HsmModule;
let session: HsmSession;
let home: string;
let cfg: Config;
const dead = EsdbEventStore.connect('esdb://127.0.0.1:1?tls=false');
let live: EsdbEventStore;

function service(store: EsdbEventStore, vault: FileVault, metrics: CredentialMetrics) {
  const minter = new CredentialMinter(new HsmKeyCustodian(store, session), vault, config.password, randomBytes);
  return { minter, delivery: new DeliveryService({ store, minter, vault, config, metrics }) };
}

beforeAll(async () => {
  hsm = tempSoftHsm('cred-outage-');
  mod = openPkcs11Module(hsm.modulePath);
  await mod.initToken('cred-outage', 'so-outage', PIN);
  session = await mod.openSession('cred-outage', PIN);
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'cred-outage-'));
  cfg = { ...loadConfig(), home };
  ensureTls(cfg);
  live = EsdbEventStore.connect(cfg.eventStore.connectionString);
});

afterAll(async () => {
  await dead.close();
  await live?.close();
  await session?.close();
  await mod?.close();
  hsm?.cleanup();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

test('event store down: failures alert once, requests get 503 + Retry-After, and on-demand works once it answers', async () => {
  const vault = FileVault.open(path.join(home, 'vault'));
  const metrics = new CredentialMetrics();
  const down = service(dead, vault, metrics);
  // Alerts and notifications go where operators and users read them: Kafka, not an array.
  const ns = `it-cred-out-${run}`;
  await ensureStreams(cfg, { namespace: ns, topics: ['alerts.admin', 'notifications.user'] });
  const producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
  await producer.connect();
  const provisioner = new Provisioner({
    store: dead,
    minter: down.minter,
    vault,
    notifier: kafkaNotifier(producer),
    config,
    metrics,
  });
  for (let i = 0; i < 5; i++) {
    const at = T0 + i * MIN;
    const outcome = await provisioner.handleRisk(
      { eventId: `r${i}`, timestamp: at, userId: USER, vmId: 'vm-1', riskScore: 0.97, horizon: 'PT1H', horizonScores: {}, predictedAccessTime: at + 5 * MIN, modelVersion: 'm' },
      `outage:${run}:${i}`,
    );
    expect(outcome).toEqual({ kind: 'done' });
  }
  await producer.disconnect();
  const alerts = await readRecords(cfg, 'alerts.admin', ns);
  const notes = await readRecords(cfg, 'notifications.user', ns);
  expect(alerts).toHaveLength(1);
  expect(alerts[0]).toMatchObject({ kind: 'PRE_PROVISIONING_FAILURES', subject: `${USER}_vm-1`, details: { failuresInWindow: '3' } });
  expect(alerts[0].message).toMatch(/UNAVAILABLE: event store/);
  expect(notes.map((n) => n.kind)).toEqual(['ACCESS_DELAY_LIKELY']);
  expect(metrics.snapshot()).toMatchObject({ failures: 5, alerts: 1 });

  const tls = ensureTls(cfg);
  const clock = new ManualClock(T0 + 6 * MIN);
  const cert = issueClientCert(cfg, `user.${USER}`);
  const serve = async (delivery: DeliveryService) => {
    const server = createDeliveryServer({ tls: { cert: fs.readFileSync(tls.serverCert), key: fs.readFileSync(tls.serverKey), ca: fs.readFileSync(tls.caCert) }, delivery, metrics, clock });
    const port = await listen(server, 0);
    const client = new DeliveryClient({ baseUrl: `https://127.0.0.1:${port}`, cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key), ca: fs.readFileSync(cert.ca) });
    return {
      client,
      port,
      async close() {
        client.close();
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
      },
    };
  };

  const outage = await serve(down.delivery);
  const raw = await outage.client.request('POST', '/v1/access-requests', { userId: USER, vmId: 'vm-1' });
  expect(raw.status).toBe(503);
  expect(JSON.parse(raw.text).error).toMatch(/^UNAVAILABLE: event store/);
  await expect(outage.client.requestAccess(USER, 'vm-1')).rejects.toBeInstanceOf(UnavailableError);
  await outage.close();

  const back = await serve(service(live, vault, metrics).delivery);
  const reply = await back.client.requestAccess(USER, 'vm-1');
  expect(reply.source).toBe('on-demand');
  await back.close();
});
