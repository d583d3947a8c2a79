import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManualClock } from '../../core/clock';
import { loadConfig, type Config } from '../../core/config';
import { createLogger } from '../../core/log';
import { MetricsRegistry } from '../../core/metrics';
import type { RoleContext } from '../../core/role';
import { DeliveryClient } from '../../credentials/client';
import { CredentialMinter } from '../../credentials/minter';
import { Provisioner } from '../../credentials/provisioner';
import { kafkaNotifier, openCredentialsRuntime, startApiRole, startProvisionerRole } from '../../credentials/role';
import { open, type SealedCredential } from '../../credentials/sealed';
import type { EventStorePort } from '../../eventstore/port';
import { openPkcs11Module } from '../../hsm/pkcs11';
import type { HsmModule } from '../../hsm/ports';
import type { AccessRisk } from '../../schemas';
import { ensureTls, issueClientCert } from '../../stack/certs';
import { createProducer, ensureStreams, physicalTopic, type Producer } from '../../streams';
import { createKafka } from '../../streams/kafka';
import { tempSoftHsm, type TempSoftHsm } from '../support/softhsm-temp';

// End to end on the real stack: risk.access records through Kafka to the provisioner role, key
// pairs in SoftHSM2, events in the event store, requests over HTTPS (mTLS, TLS 1.3), alerts and
// notifications back through Kafka. Then every place a secret could leak is scanned for the
// passwords users actually received (and the token PIN).
const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const ns = `itcred${run}`;
const PIN = `pin-${randomBytes(6).toString('hex')}`;
const USERS = ['ann', 'ben', 'cy'].map((u) => `${u}-${run}`);
const FAILING = `dee-${run}`;
const T0 = Math.floor(Date.now() / 1000) * 1000; // input data: the scores' event time
const MIN = 60_000;

let hsm: TempSoftHsm;
let mod: HsmModule;
let home: string;
let cfg: Config;
let ctx: RoleContext;
let provisionerRole: Awaited<ReturnType<typeof startProvisionerRole>>;
let api: Awaited<ReturnType<typeof startApiRole>>;
let producer: Producer;
const logs: string[] = [];
const clock = new ManualClock(T0);

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  for (let waited = 0; waited < timeoutMs; waited += 250) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function types(store: EventStorePort, stream: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.readStream(stream)) out.push(e.type);
  return out;
}

/** Every record of the given physical topics, raw bytes, up to their current end. */
async function drain(topics: string[]): Promise<Array<{ topic: string; key: Buffer | null; value: Buffer | null; headers: string }>> {
  const kafka = createKafka(cfg.kafka, `scan-${run}`);
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, number>();
  for (const t of topics) for (const p of await admin.fetchTopicOffsets(t)) ends.set(`${t}/${p.partition}`, Number(p.high));
  await admin.disconnect();
  const wanted = [...ends.values()].reduce((a, b) => a + b, 0);
  const out: Array<{ topic: string; key: Buffer | null; value: Buffer | null; headers: string }> = [];
  if (wanted === 0) return out;
  const consumer = kafka.consumer({ groupId: `scan-${run}-${randomBytes(3).toString('hex')}` });
  await consumer.connect();
  for (const t of topics) await consumer.subscribe({ topic: t, fromBeginning: true });
  await new Promise<void>((resolve) => {
    // Offsets can count more than records (e.g. transaction markers): stop after a quiet spell too.
    let quiet = setTimeout(resolve, 20_000);
    void consumer.run({
      eachMessage: async ({ topic, message }) => {
        out.push({ topic, key: message.key, value: message.value, headers: JSON.stringify(message.headers ?? {}) });
        clearTimeout(quiet);
        quiet = setTimeout(resolve, 5_000);
        if (out.length >= wanted) {
          clearTimeout(quiet);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return out;
}

beforeAll(async () => {
  hsm = tempSoftHsm('cred-e2e-');
  mod = openPkcs11Module(hsm.modulePath);
  await mod.initToken('cred-e2e', `so-${PIN}`, PIN);
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'cred-e2e-home-'));
  fs.writeFileSync(path.join(home, 'credentials.yaml'), 'default: { threshold: 0.7, validity: PT30M }\nalerts: { threshold: 3, window: PT10M }\nonDemandValidity: PT20M\n');
  cfg = { ...loadConfig(), home };
  ensureTls(cfg);
  await ensureStreams(cfg, { namespace: ns, topics: ['risk.access', 'alerts.admin', 'notifications.user'] });
  ctx = { config: cfg, log: createLogger({}, { write: (l) => logs.push(l), level: 'debug' }), metrics: new MetricsRegistry(), clock, groupPrefix: `${ns}-` };
  const hsmOpts = { hsmModule: mod, tokenLabel: 'cred-e2e', pin: PIN };
  provisionerRole = await startProvisionerRole(ctx, { ...hsmOpts, namespace: ns, sweepEveryMs: 3_600_000 });
  api = await startApiRole(ctx, { ...hsmOpts, port: 0, dashboard: { namespace: ns } });
  producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns, clientId: `e2e-${run}` });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await provisionerRole?.stop();
  await api?.stop();
  await mod?.close();
  hsm?.cleanup();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

const risk = (userId: string, vmId: string, at: number, score: number): AccessRisk => ({
  eventId: `risk:${userId}:${vmId}:${at}`,
  timestamp: at,
  userId,
  vmId,
  riskScore: score,
  horizon: 'PT1H',
  horizonScores: { PT1H: score },
  predictedAccessTime: at + 15 * MIN,
  modelVersion: 'e2e-1',
});

test('end to end: pre-provisioned through Kafka, delivered over mTLS, failures alert once, and no secret leaks anywhere', async () => {
  const store = api.runtime.store;
  // 1. scores through Kafka: two users above the threshold, one below
  await producer.send('risk.access', [
    { key: USERS[0], value: risk(USERS[0], 'vm-1', T0, 0.93) },
    { key: USERS[1], value: risk(USERS[1], 'vm-1', T0, 0.88) },
    { key: USERS[2], value: risk(USERS[2], 'vm-1', T0, 0.2) },
  ]);
  for (const u of USERS.slice(0, 2)) {
    await waitFor(`pre-provisioning for ${u}`, async () => ((await types(store, `credential-${u}_vm-1`)).includes('CredentialPreProvisioned') ? true : undefined));
  }
  // a redelivered score (same record content, new offset) changes nothing: the credential is valid
  await producer.send('risk.access', [{ key: USERS[0], value: risk(USERS[0], 'vm-1', T0 + MIN, 0.95) }]);

  // 2. requests over HTTPS: pre-provisioned hits, an on-demand miss, a refresh after expiry
  const passwords: string[] = [];
  const clientFor = (u: string) => {
    const c = issueClientCert(cfg, `user.${u}`);
    return new DeliveryClient({ baseUrl: `https://127.0.0.1:${api.port}`, cert: fs.readFileSync(c.cert), key: fs.readFileSync(c.key), ca: fs.readFileSync(c.ca) });
  };
  const openIt = async (u: string, s: SealedCredential) => JSON.parse((await open(s, () => api.runtime.custodian.unwrap(u, s))).toString()) as { password: string };
  const sources: string[] = [];
  for (const u of USERS) {
    const c = clientFor(u);
    clock.set(T0 + 2 * MIN);
    const r = await c.requestAccess(u, 'vm-1');
    sources.push(r.source);
    passwords.push((await openIt(u, r.credential)).password);
    clock.set(T0 + 40 * MIN);
    const again = await c.requestAccess(u, 'vm-1');
    sources.push(again.source);
    passwords.push((await openIt(u, again.credential)).password);
    c.close();
  }
  expect(sources).toEqual(['pre-provisioned', 'refreshed', 'pre-provisioned', 'refreshed', 'on-demand', 'refreshed']);
  expect(new Set(passwords).size).toBe(passwords.length);

  // 3. an HSM that stops answering: N failures for one user/VM within the window, ONE alert
  const broken = await openCredentialsRuntime(cfg, undefined, { hsmModule: mod, tokenLabel: 'cred-e2e', pin: PIN, vaultDir: path.join(home, 'vault') });
  await broken.hsm.close();
  const failing = new Provisioner({
    store: broken.store,
    minter: new CredentialMinter(broken.custodian, broken.vault, broken.config.password, randomBytes),
    vault: broken.vault,
    notifier: kafkaNotifier(producer),
    config: broken.config,
    metrics: broken.metrics,
    log: ctx.log,
  });
  for (let i = 0; i < 5; i++) {
    expect(await failing.handleRisk(risk(FAILING, 'vm-9', T0 + i * MIN, 0.99), `e2e:${run}:fail:${i}`)).toEqual({ kind: 'done' });
  }
  await broken.close();
  // ...and the user's request still goes through, on demand, on the working HSM
  const dee = clientFor(FAILING);
  clock.set(T0 + 6 * MIN);
  const deeReply = await dee.requestAccess(FAILING, 'vm-9');
  expect(deeReply.source).toBe('on-demand');
  passwords.push((await openIt(FAILING, deeReply.credential)).password);
  dee.close();

  // 4. what went to Kafka
  const topics = ['risk.access', 'alerts.admin', 'notifications.user'].map((t) => physicalTopic(t as 'risk.access', ns));
  const records = await waitFor('alerts and notifications', async () => {
    const rs = await drain([...topics, `${topics[0]}.dlq`]);
    return rs.some((r) => r.topic === topics[1]) ? rs : undefined;
  });
  const alerts = records.filter((r) => r.topic === topics[1]);
  expect(alerts).toHaveLength(1);
  expect(alerts[0].key?.toString()).toBe(`${FAILING}_vm-9`);
  const notes = records.filter((r) => r.topic === topics[2]).map((r) => r.value!.toString('latin1'));
  expect(notes.some((n) => n.includes('CREDENTIAL_READY') || n.includes(USERS[0]))).toBe(true);
  expect(records.filter((r) => r.topic === `${topics[0]}.dlq`)).toHaveLength(0);

  // 5. the scan: Kafka, the event store, the logs, the vault files
  const secrets = [...passwords, PIN];
  const leaks: string[] = [];
  const scan = (where: string, text: string) => {
    for (const s of secrets) if (text.includes(s)) leaks.push(`${where} holds a known secret`);
    if (/BEGIN (RSA |EC )?PRIVATE KEY/.test(text)) leaks.push(`${where} holds a private key`);
  };
  scan('control', `x${passwords[0]}x`); // the scanner itself must see a planted secret
  expect(leaks).toEqual(['control holds a known secret']);
  leaks.length = 0;
  for (const r of records) scan(`kafka ${r.topic}`, `${r.key?.toString('latin1') ?? ''}${r.value?.toString('latin1') ?? ''}${r.headers}`);
  let ours = 0;
  for await (const e of store.readAll()) {
    if (!e.stream.includes(run)) continue;
    ours++;
    scan(`event ${e.stream}#${e.revision}`, JSON.stringify(e.data) + JSON.stringify(e.metadata));
  }
  expect(ours).toBeGreaterThan(15);
  scan('logs', logs.join('\n'));
  const vaultDir = path.join(home, 'vault');
  for (const f of fs.readdirSync(vaultDir)) scan(`vault ${f}`, fs.readFileSync(path.join(vaultDir, f), 'latin1'));
  expect(leaks).toEqual([]);
  expect(logs.length).toBeGreaterThan(0);

  // 6. metrics: hit rate and waste as the API reports them
  const m = api.runtime.metrics.snapshot();
  expect(m.requests['pre-provisioned']).toBeGreaterThanOrEqual(2);
  expect(m.hitRate).toBeGreaterThan(0);
}, 180_000);
