/**
 * Issue 10 item 2, the event store unavailable for a while, under the provisioner role on real
 * Kafka, SoftHSM2 and a private esdb-local that the test kills with SIGKILL and restarts on the
 * same port and data dir. As designed: while it is down, pre-provisioning fails over to on-demand
 * (no retry loop blocks the partition), each failure is logged, and repeated failures for one
 * user/VM raise ONE operator alert; nothing is dead-lettered. Once it is back, what was written
 * before the kill is all there, once, and new scores pre-provision again.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { systemClock } from '../../core/clock';
import { loadConfig, type Config } from '../../core/config';
import { createLogger } from '../../core/log';
import { MetricsRegistry } from '../../core/metrics';
import type { RoleContext } from '../../core/role';
import { startProvisionerRole } from '../../credentials/role';
import { EsdbEventStore } from '../../eventstore/client';
import { openPkcs11Module } from '../../hsm/pkcs11';
import type { HsmModule } from '../../hsm/ports';
import type { AccessRisk } from '../../schemas';
import { createProducer, physicalTopic, readTopic, type Producer } from '../../streams';
import { startEsdbProcess, type EsdbProcess } from '../support/esdb-process';
import { tempSoftHsm, type TempSoftHsm } from '../support/softhsm-temp';

jest.setTimeout(240_000);

const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const ns = `relesdb${run}`;
const PIN = `pin-${randomBytes(6).toString('hex')}`;
const MIN = 60_000;

const risk = (userId: string, vmId: string, at: number): AccessRisk => ({
  eventId: `risk:${userId}:${vmId}:${at}`,
  timestamp: at,
  userId,
  vmId,
  riskScore: 0.95,
  horizon: 'PT1H',
  horizonScores: { PT1H: 0.95 },
  predictedAccessTime: at + 10 * MIN,
  modelVersion: 'rel-1',
});

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('reliability: event store outage under the provisioner role', () => {
  let esdb: EsdbProcess;
  let hsm: TempSoftHsm;
  let mod: HsmModule;
  let home: string;
  let store: EsdbEventStore;
  let producer: Producer;
  let role: Awaited<ReturnType<typeof startProvisionerRole>> | undefined;
  const logs: string[] = [];

  beforeAll(async () => {
    esdb = await startEsdbProcess();
    hsm = tempSoftHsm('rel-esdb-');
    mod = openPkcs11Module(hsm.modulePath);
    await mod.initToken('rel-esdb', `so-${PIN}`, PIN);
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'rel-esdb-home-'));
    fs.writeFileSync(path.join(home, 'credentials.yaml'), 'default: { threshold: 0.7, validity: PT30M }\nalerts: { threshold: 3, window: PT10M }\n');
    store = EsdbEventStore.connect(esdb.connectionString);
  });

  afterAll(async () => {
    await role?.stop();
    await producer?.disconnect();
    await store?.close();
    await mod?.close();
    hsm?.cleanup();
    await esdb?.dispose();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  const types = async (userId: string, vmId: string): Promise<string[]> => {
    const out: string[] = [];
    for await (const e of store.readStream(`credential-${userId}_${vmId}`)) out.push(e.type);
    return out;
  };

  test('down for a while: degraded to on-demand with one alert, nothing dead-lettered; back: nothing lost or doubled, provisioning resumes', async () => {
    const cfg: Config = { ...loadConfig(), home };
    const ctx: RoleContext = { config: cfg, log: createLogger({}, { write: (l) => logs.push(l), level: 'info' }), metrics: new MetricsRegistry(), clock: systemClock, groupPrefix: `${ns}-` };
    role = await startProvisionerRole(ctx, { namespace: ns, store, hsmModule: mod, tokenLabel: 'rel-esdb', pin: PIN, vaultDir: path.join(home, 'vault'), sweepEveryMs: 3_600_000 });
    producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
    const t0 = Date.now();

    // Before: pre-provisioned.
    const before = ['ann', 'ben'].map((u) => `${u}-${run}`);
    await producer.send('risk.access', before.map((u) => ({ key: u, value: risk(u, 'vm-1', t0) })));
    for (const u of before) await until(`pre-provisioning for ${u}`, async () => ((await types(u, 'vm-1')).includes('CredentialPreProvisioned') ? true : undefined));

    // Down: SIGKILL, then three scores for one pair within the alert window.
    await esdb.kill('SIGKILL');
    const dee = `dee-${run}`;
    await producer.send('risk.access', [0, 1, 2].map((i) => ({ key: dee, value: risk(dee, 'vm-2', t0 + i * 1000) })));
    const alertsTopic = physicalTopic('alerts.admin', ns);
    const alerts = await until('one operator alert', async () => {
      const rs = await readTopic(cfg.kafka, alertsTopic, { fromBeginning: true, idleMs: 1500, timeoutMs: 20_000 });
      return rs.length ? rs : undefined;
    }, 150_000);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].key).toBe(`${dee}_vm-2`);
    expect(logs.filter((l) => l.includes('pre-provisioning failed')).length).toBeGreaterThanOrEqual(3);
    expect(logs.some((l) => l.includes(PIN))).toBe(false);

    // Back on the same port and data dir.
    esdb = await startEsdbProcess({ dataDir: esdb.dataDir, port: esdb.port });
    const after = `eve-${run}`;
    await producer.send('risk.access', [{ key: after, value: risk(after, 'vm-3', Date.now()) }]);
    await until('pre-provisioning after the restart', async () => ((await types(after, 'vm-3')).includes('CredentialPreProvisioned') ? true : undefined), 120_000);
    for (const u of before) expect((await types(u, 'vm-1')).filter((t) => t === 'CredentialPreProvisioned')).toHaveLength(1);
    const dlq = await readTopic(cfg.kafka, `${physicalTopic('risk.access', ns)}.dlq`, { fromBeginning: true, idleMs: 1500, timeoutMs: 20_000 });
    expect(dlq).toHaveLength(0);
  });
});
