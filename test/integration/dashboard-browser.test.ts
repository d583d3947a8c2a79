import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ManualClock } from '../../core/clock';
import { loadConfig, type Config } from '../../core/config';
import { createLogger } from '../../core/log';
import { MetricsRegistry } from '../../core/metrics';
import type { RoleContext } from '../../core/role';
import { DeliveryClient } from '../../credentials/client';
import type { Notifier } from '../../credentials/ports';
import { Provisioner } from '../../credentials/provisioner';
import { startApiRole } from '../../credentials/role';
import type { DashboardState } from '../../dashboard';
import { openPkcs11Module } from '../../hsm/pkcs11';
import type { HsmModule } from '../../hsm/ports';
import type { AccessRisk, AdminAlert, WorkloadRisk } from '../../schemas';
import { ensureTls, issueClientCert } from '../../stack/certs';
import { createProducer, ensureStreams, type Producer } from '../../streams';
import { tempSoftHsm, type TempSoftHsm } from '../support/softhsm-temp';

// The operator dashboard end to end: the API role on the real stack (Kafka + registry, the event
// store, SoftHSM2, HTTPS TLS 1.3), records produced into Kafka and allocation events appended to
// the event store, the page loaded in Debian's headless Chromium through playwright-core.
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) console.warn(`dashboard browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
const maybe = haveChromium ? describe : describe.skip;

const run = `${Date.now().toString(36).slice(-5)}${randomBytes(1).toString('hex')}`;
const ns = `itdash${run}`;
const PIN = 'dash-it-user-pin';
const MIN = 60_000;
const T0 = Math.floor(Date.now() / MIN) * MIN;
const clock = new ManualClock(T0);
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'].map((u) => `${u}-${run}`);
const VMS = ['vm-web-01', 'vm-web-02', 'vm-db-01', 'vm-db-02', 'vm-build', 'vm-ci-01', 'vm-bastion', 'vm-etl', 'vm-ml-gpu', 'vm-vault'];
const [ALICE, BOB] = USERS;
const HOT_VM = 'vm-bastion';
const NETS = ['acme', 'globex', 'initech'].map((x) => `${x}-${run}`);
const ALERT_ID = `dash-it-${run}-pool`;

let hsm: TempSoftHsm;
let mod: HsmModule;
let home: string;
let cfg: Config;
let api: Awaited<ReturnType<typeof startApiRole>>;
let producer: Producer;
let provisioner: Provisioner;
let alice: DeliveryClient;
let bob: DeliveryClient;
let browser: Browser | undefined;
let ca: Buffer;

// A fixed pseudo-random sequence: the same picture every run.
let seed = 42;
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

const risk = (userId: string, vmId: string, score: number): AccessRisk => ({
  eventId: `dash-it:${userId}:${vmId}`,
  timestamp: T0,
  userId,
  vmId,
  riskScore: score,
  horizon: 'PT1H',
  horizonScores: { PT1H: score },
  predictedAccessTime: T0 + 20 * MIN,
  modelVersion: 'it-rnn-1',
});

const workload = (net: string, i: number, peak: number, measured: number, securityRisk: number): WorkloadRisk => ({
  eventId: `dash-it:${net}:${i}`,
  timestamp: T0 + i * MIN,
  clientNetworkId: net,
  horizon: 'PT6H',
  predictedCryptoOps: peak * 3600,
  predictedPeakOpsPerSec: peak,
  predictedPeakTime: T0 + 90 * MIN,
  measuredOpsPerSec: measured,
  securityRisk,
  threatIndicators: [],
  modelVersion: 'it-forecaster-1',
});

const alert = (eventId: string, i: number, kind: AdminAlert['kind'], severity: AdminAlert['severity'], subject: string, message: string): AdminAlert => ({
  eventId,
  timestamp: T0 + i * MIN,
  subject,
  kind,
  severity,
  message,
  details: {},
});

function getState(port: number): Promise<DashboardState> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: '/dashboard/state', ca, servername: 'localhost' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as DashboardState) : reject(new Error(`HTTP ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  let last: unknown;
  for (let waited = 0; waited < timeoutMs; waited += 200) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

beforeAll(async () => {
  if (!haveChromium) return;
  hsm = tempSoftHsm('dash-it-');
  mod = openPkcs11Module(hsm.modulePath);
  await mod.initToken('dash-it', 'dash-it-so-pin', PIN);
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'dash-it-home-'));
  fs.writeFileSync(path.join(home, 'credentials.yaml'), 'default: { threshold: 0.7, validity: PT30M }\nonDemandValidity: PT20M\n');
  cfg = { ...loadConfig(), home };
  const tls = ensureTls(cfg);
  ca = fs.readFileSync(tls.caCert);
  await ensureStreams(cfg, { namespace: ns, topics: ['risk.access', 'risk.workload', 'alerts.admin'] });
  const log = createLogger({}, { write: () => {} });
  const ctx: RoleContext = { config: cfg, log, metrics: new MetricsRegistry(), clock, groupPrefix: `${ns}-` };
  api = await startApiRole(ctx, {
    port: 0,
    hsmModule: mod,
    tokenLabel: 'dash-it',
    pin: PIN,
    tls: { cert: tls.serverCert, key: tls.serverKey, ca: tls.caCert },
    // Only this test's allocation streams: the shared event store holds other tests' too.
    dashboard: { namespace: ns, sampleMs: 100, allocationPrefixes: NETS.map((n) => `allocation-${n}`) },
  });
  const client = (cn: string) => {
    const c = issueClientCert(cfg, cn);
    return new DeliveryClient({ baseUrl: `https://127.0.0.1:${api.port}`, cert: fs.readFileSync(c.cert), key: fs.readFileSync(c.key), ca });
  };
  alice = client(`user.${ALICE}`);
  bob = client(`user.${BOB}`);
  const notifier: Notifier = { alert: async () => undefined, notify: async () => undefined };
  const rt = api.runtime;
  provisioner = new Provisioner({ store: rt.store, minter: rt.minter, vault: rt.vault, notifier, config: rt.config, metrics: rt.metrics, log });
  producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns, clientId: `dash-it-${run}` });
  await producer.connect();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  alice?.close();
  bob?.close();
  await producer?.disconnect();
  await api?.stop();
  await mod?.close();
  hsm?.cleanup();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

maybe('operator dashboard in headless Chromium', () => {
  test('shows the risk heat map, delivery, HSM pool against demand and alerts from the real feeds; saves a screenshot', async () => {
    // The dashboard's consumer group reads from "now": produce only once it has joined.
    await waitFor('the dashboard Kafka feed to go live', async () => ((await getState(api.port)).feeds.kafka?.state === 'live' ? true : undefined));

    const scores: AccessRisk[] = [];
    for (const u of USERS) for (const v of VMS) if (rnd() < 0.45) scores.push(risk(u, v, Math.round(rnd() ** 1.6 * 100) / 100));
    scores.push(risk(ALICE, HOT_VM, 0.97));
    await producer.send('risk.access', scores.map((r) => ({ key: r.userId, value: r })));

    const demand: [number, number, number][] = [
      [1800, 900, 0.72],
      [700, 520, 0.35],
      [260, 240, 0.12],
    ];
    const records: { key: string; value: WorkloadRisk }[] = [];
    for (let i = 0; i < 4; i++) {
      NETS.forEach((net, j) => {
        const [peak, measured, sec] = demand[j];
        records.push({ key: net, value: workload(net, i, Math.round(peak * (0.7 + 0.1 * i)), Math.round(measured * (0.8 + 0.05 * i)), sec) });
      });
    }
    await producer.send('risk.workload', records);

    // Allocations as the HSM orchestrator records them, in the real event store.
    const allocate = (net: string, i: number, labels: string[], ops: number, peak: number) =>
      api.runtime.store.append(
        `allocation-${net}`,
        [
          {
            id: randomUUID(),
            type: 'PartitionsAllocated',
            data: {
              clientNetworkId: net,
              partitions: labels.map((label) => ({ hsmId: 'hsm-gold-1', label, tier: 'gold', opsPerSecond: ops })),
              reason: 'predicted-peak',
              requiredOpsPerSecond: peak,
              predictedPeakOpsPerSec: peak,
              predictedPeakTime: new Date(T0 + 90 * MIN).toISOString(),
              measuredOpsPerSec: 0,
              modelVersion: 'it-forecaster-1',
              at: new Date(T0 + i * MIN).toISOString(),
            },
            metadata: {},
          },
        ],
        'any',
      );
    await allocate(NETS[0], 1, [`${NETS[0]}-p1`, `${NETS[0]}-p2`], 1000, 1400);
    await allocate(NETS[1], 2, [`${NETS[1]}-p1`], 1000, 600);
    await allocate(NETS[2], 3, [`${NETS[2]}-p1`], 500, 230);

    await producer.send('alerts.admin', [
      alert(`dash-it-${run}-prov`, 1, 'PRE_PROVISIONING_FAILURES', 'WARNING', `${BOB}_vm-db-01`, `pre-provisioning failed 3 times for ${BOB} on vm-db-01`),
      alert(`dash-it-${run}-sec`, 2, 'SECURITY', 'INFO', NETS[1], `risk profile tightened to elevated for ${NETS[1]}`),
      alert(ALERT_ID, 3, 'POOL_EXHAUSTED', 'CRITICAL', 'hsm-pool', `HSM pool exhausted: 1 gold partition missing for ${NETS[0]}`),
    ].map((a) => ({ key: a.subject, value: a })));

    // Delivery: a pre-provisioned hit and on-demand misses over three minutes of the role's clock.
    expect(await provisioner.handleRisk(risk(ALICE, HOT_VM, 0.97), `dash-it:${run}:p1`)).toEqual({ kind: 'done' });
    let made = 0;
    const minute = async (m: number, calls: Array<() => Promise<unknown>>) => {
      clock.set(T0 + m * MIN + 1000);
      for (const c of calls) await c();
      made += calls.length;
      // Metrics are sampled: wait until this minute's requests are counted before the clock moves on.
      await waitFor(`delivery bucket ${m}`, async () => ((await getState(api.port)).delivery.series.reduce((a, p) => a + p.requests, 0) >= made ? true : undefined));
    };
    await minute(1, [() => alice.requestAccess(ALICE, HOT_VM)]);
    await minute(2, [() => bob.requestAccess(BOB, 'vm-db-01'), () => alice.requestAccess(ALICE, HOT_VM)]);
    await minute(3, [() => alice.requestAccess(ALICE, 'vm-web-01'), () => alice.requestAccess(ALICE, HOT_VM), () => alice.requestAccess(ALICE, HOT_VM)]);

    const page = await browser!.newPage({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 1000 } });
    const origin = `https://127.0.0.1:${api.port}`;
    const requested: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${origin}/`);

    await page.locator(`[data-user="${ALICE}"][data-vm="${HOT_VM}"]`).waitFor({ timeout: 30_000 });
    await page.locator(`tr[data-event-id="${ALERT_ID}"]`).waitFor({ timeout: 30_000 });
    await page.locator(`[data-network="${NETS[2]}"]`).waitFor({ timeout: 30_000 });
    // Polled from here: the page's content security policy rightly refuses Playwright's string predicates.
    await waitFor('latency points', async () => ((await page.locator('#lat-chart-svg circle').count()) >= 2 ? true : undefined));

    expect(await page.locator(`[data-user="${ALICE}"][data-vm="${HOT_VM}"]`).getAttribute('data-score')).toBe('0.97');
    expect(await page.locator(`tr[data-event-id="${ALERT_ID}"]`).innerText()).toContain(`HSM pool exhausted: 1 gold partition missing for ${NETS[0]}`);
    expect(await page.locator('#kpi-hit').innerText()).toMatch(/%$/);
    expect(await page.locator('#kpi-req').innerText()).not.toBe('–');

    const state = await getState(api.port);
    const row = state.pool.networks.find((n) => n.clientNetworkId === NETS[0]);
    expect(row).toMatchObject({ allocatedOpsPerSec: 2000, partitions: 2 });
    expect(state.delivery.requests['on-demand']).toBeGreaterThanOrEqual(2);
    expect(state.delivery.requests['pre-provisioned']).toBeGreaterThanOrEqual(1);

    // Everything the page loaded came from the API itself, and nothing broke the content policy.
    expect(requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'))).toEqual([]);
    expect(problems).toEqual([]);

    // Live: new records show up on the open page without a reload.
    const GRACE = USERS[6];
    await producer.send('risk.access', [{ key: GRACE, value: { ...risk(GRACE, 'vm-vault', 0.91), eventId: `dash-it:${run}:live`, timestamp: T0 + MIN } }]);
    const later = alert(`dash-it-${run}-scale`, 4, 'POOL_EXHAUSTED', 'WARNING', 'hsm-pool', 'scale out: 1 more gold HSM recommended');
    await producer.send('alerts.admin', [{ key: later.subject, value: later }]);
    const cell = page.locator(`[data-user="${GRACE}"][data-vm="vm-vault"]`);
    await waitFor('the updated score', async () => ((await cell.count()) && (await cell.getAttribute('data-score')) === '0.91' ? true : undefined));
    await page.locator(`tr[data-event-id="${later.eventId}"]`).waitFor({ timeout: 30_000 });
    expect(problems).toEqual([]);

    const shots = path.join(loadConfig().home, 'screenshots');
    fs.mkdirSync(shots, { recursive: true });
    const file = path.join(shots, 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
    await page.close();
  });
});
