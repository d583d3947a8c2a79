import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManualClock } from '../../core/clock';
import { loadConfig, type Config } from '../../core/config';
import { ForbiddenError } from '../../core/errors';
import { createLogger } from '../../core/log';
import { MetricsRegistry } from '../../core/metrics';
import type { RoleContext } from '../../core/role';
import { DeliveryClient } from '../../credentials/client';
import { meetsPolicy } from '../../credentials/password';
import { Provisioner } from '../../credentials/provisioner';
import { kafkaNotifier, startApiRole } from '../../credentials/role';
import { open } from '../../credentials/sealed';
import { signToken, TOKEN_AUDIENCE } from '../../credentials/tokens';
import { userKeyLabel } from '../../credentials/user-keys';
import { openPkcs11Module } from '../../hsm/pkcs11';
import type { HsmModule } from '../../hsm/ports';
import type { AccessRisk } from '../../schemas';
import { createProducer, ensureStreams, type Producer } from '../../streams';
import { ensureTls, issueClientCert } from '../../stack/certs';
import { readRecords } from '../support/kafka-read';
import { tempSoftHsm, type TempSoftHsm } from '../support/softhsm-temp';

// The delivery path on the real components: EventStoreDB-compatible server of the local stack,
// SoftHSM2 (a private token directory), HTTPS with TLS 1.3 and client certificates from a CA.
const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const U1 = `alice-${run}`;
const U2 = `bob-${run}`;
const PIN = 'cred-it-user-pin';
const T0 = Date.parse('2026-03-02T09:00:00Z');
const MIN = 60_000;

const INSPECT_PRIVATE_KEY = `
const g = require('graphene-pk11');
const m = g.Module.load(process.env.MOD, 'inspect');
m.initialize();
const slots = m.getSlots(true);
for (let i = 0; i < slots.length; i++) {
  const slot = slots.items(i);
  if (slot.getToken().label.trim() !== process.env.LABEL) continue;
  const s = slot.open(g.SessionFlag.SERIAL_SESSION);
  s.login(process.env.HSM_PIN, g.UserType.USER);
  const found = s.find({ class: g.ObjectClass.PRIVATE_KEY, label: process.env.KEYLABEL });
  const out = [];
  for (let j = 0; j < found.length; j++) out.push(found.items(j).getAttribute({ extractable: null, sensitive: null, neverExtractable: null }));
  console.log(JSON.stringify(out));
  s.logout();
  s.close();
}
m.finalize();
`;

let hsm: TempSoftHsm;
let mod: HsmModule;
let home: string;
let cfg: Config;
let api: Awaited<ReturnType<typeof startApiRole>>;
let alice: DeliveryClient;
let bob: DeliveryClient;
let admin: DeliveryClient;
let provisioner: Provisioner;
const clock = new ManualClock(T0);
const tokenIssuer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const logs: string[] = [];
const ns = `it-cred-${run}`;
let producer: Producer;

const risk = (userId: string, vmId: string, at: number, score = 0.95): AccessRisk => ({
  eventId: `risk:${userId}:${vmId}:${at}`,
  timestamp: at,
  userId,
  vmId,
  riskScore: score,
  horizon: 'PT1H',
  horizonScores: { PT1H: score },
  predictedAccessTime: at + 10 * MIN,
  modelVersion: 'it-1',
});

async function streamTypes(stream: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of api.runtime.store.readStream(stream)) out.push(e.type);
  return out;
}

beforeAll(async () => {
  hsm = tempSoftHsm('cred-it-');
  mod = openPkcs11Module(hsm.modulePath);
  await mod.initToken('cred-it', 'cred-it-so-pin', PIN);
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'cred-it-home-'));
  fs.writeFileSync(path.join(home, 'credentials.yaml'), 'default: { threshold: 0.7, validity: PT30M }\nonDemandValidity: PT20M\n');
  const base = loadConfig();
  cfg = { ...base, home };
  const tls = ensureTls(cfg);
  const client = (cn: string) => {
    const c = issueClientCert(cfg, cn);
    return new DeliveryClient({ baseUrl: `https://127.0.0.1:${api.port}`, cert: fs.readFileSync(c.cert), key: fs.readFileSync(c.key), ca: fs.readFileSync(c.ca) });
  };
  const ctx: RoleContext = {
    config: cfg,
    log: createLogger({}, { write: (l) => logs.push(l), level: 'debug' }),
    metrics: new MetricsRegistry(),
    clock,
    groupPrefix: `it-${run}-`,
  };
  api = await startApiRole(ctx, {
    port: 0,
    hsmModule: mod,
    tokenLabel: 'cred-it',
    pin: PIN,
    tls: { cert: tls.serverCert, key: tls.serverKey, ca: tls.caCert },
    tokenKeys: [tokenIssuer.publicKey],
    dashboard: { feeds: false },
  });
  alice = client(`user.${U1}`);
  bob = client(`user.${U2}`);
  admin = client('admin');
  // Notifications go where users read them: Kafka.
  await ensureStreams(cfg, { namespace: ns, topics: ['alerts.admin', 'notifications.user'] });
  producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
  await producer.connect();
  const rt = api.runtime;
  provisioner = new Provisioner({ store: rt.store, minter: rt.minter, vault: rt.vault, notifier: kafkaNotifier(producer), config: rt.config, metrics: rt.metrics, log: ctx.log });
});

afterAll(async () => {
  await producer?.disconnect();
  for (const c of [alice, bob, admin]) c?.close();
  await api?.stop();
  await mod?.close();
  hsm?.cleanup();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

const decrypt = async (userId: string, reply: { credential: Parameters<typeof open>[0] }) =>
  JSON.parse((await open(reply.credential, () => api.runtime.custodian.unwrap(userId, reply.credential))).toString()) as { password: string; username: string };

describe('credential delivery on the real event store and SoftHSM2', () => {
  test('pre-provisioned: key pair generated in the HSM (private key stays there), request served at once over mTLS', async () => {
    expect(await provisioner.handleRisk(risk(U1, 'vm-a', T0), `it:${run}:1`)).toEqual({ kind: 'done' });
    expect(await provisioner.handleRisk(risk(U1, 'vm-a', T0), `it:${run}:1`)).toEqual({ kind: 'done' }); // redelivery
    expect(await streamTypes(`userkey-${U1}`)).toEqual(['KeyPairGenerated']);
    expect(await streamTypes(`credential-${U1}_vm-a`)).toEqual(['CredentialPreProvisioned']);
    const keys = await api.runtime.hsm.findKeys({ label: userKeyLabel(U1) });
    expect(keys.map((k) => k.keyClass).sort()).toEqual(['private', 'public']);
    // Read the private key's attributes from another process, straight through PKCS#11.
    const attrs = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['-e', INSPECT_PRIVATE_KEY],
        { cwd: path.join(__dirname, '..', '..'), env: { ...process.env, SOFTHSM2_CONF: hsm.conf, MOD: hsm.modulePath, LABEL: 'cred-it', KEYLABEL: userKeyLabel(U1), HSM_PIN: PIN } },
        (err, out) => (err ? reject(err) : resolve(out)),
      ),
    );
    expect(JSON.parse(attrs)).toEqual([{ extractable: false, sensitive: true, neverExtractable: true }]);

    clock.set(T0 + 5 * MIN);
    const reply = await alice.requestAccess(U1, 'vm-a');
    expect(reply.source).toBe('pre-provisioned');
    expect(reply.expiresAt).toBe(new Date(T0 + 30 * MIN).toISOString());
    const secret = await decrypt(U1, reply);
    expect(secret.username).toBe(U1);
    expect(meetsPolicy(secret.password, api.runtime.config.password)).toBe(true);
    expect(await streamTypes(`credential-${U1}_vm-a`)).toEqual(['CredentialPreProvisioned', 'CredentialDelivered']);
    expect(JSON.stringify(logs)).not.toContain(secret.password);
  });

  test('on demand with no credential, then refreshed after expiry with a new password', async () => {
    clock.set(T0);
    const first = await alice.requestAccess(U1, 'vm-b');
    expect(first.source).toBe('on-demand');
    const p1 = (await decrypt(U1, first)).password;
    clock.set(T0 + 21 * MIN);
    const second = await alice.requestAccess(U1, 'vm-b');
    expect(second.source).toBe('refreshed');
    expect(second.credentialId).not.toBe(first.credentialId);
    const p2 = (await decrypt(U1, second)).password;
    expect(p2).not.toBe(p1);
    expect(await streamTypes(`credential-${U1}_vm-b`)).toEqual(['CredentialIssued', 'CredentialDelivered', 'CredentialExpired', 'CredentialRefreshed', 'CredentialDelivered']);
  });

  test('the same Idempotency-Key gets the same answer and records nothing new', async () => {
    clock.set(T0);
    const a = await alice.requestAccess(U1, 'vm-c', `idem-${run}`);
    const b = await alice.requestAccess(U1, 'vm-c', `idem-${run}`);
    expect(b.credentialId).toBe(a.credentialId);
    expect(await streamTypes(`credential-${U1}_vm-c`)).toEqual(['CredentialIssued', 'CredentialDelivered']);
  });

  test('parallel requests for one pair: one credential issued, every caller gets it', async () => {
    clock.set(T0);
    const replies = await Promise.all(Array.from({ length: 6 }, () => alice.requestAccess(U1, 'vm-par')));
    expect(new Set(replies.map((r) => r.credentialId)).size).toBe(1);
    expect(replies.filter((r) => r.source === 'on-demand')).toHaveLength(1);
    const t = await streamTypes(`credential-${U1}_vm-par`);
    expect(t.filter((x) => x === 'CredentialIssued')).toHaveLength(1);
    expect(t.filter((x) => x === 'CredentialDelivered')).toHaveLength(6);
    // the losers' minted ciphertexts were removed again: one vault entry for the pair
    const entries = fs.readdirSync(path.join(home, 'vault')).filter((f) => f.startsWith(Buffer.from(U1).toString('base64url') + '.'));
    const forPair = entries.map((f) => api.runtime.vault.get(f.split('.')[1])).filter((e) => e?.vmId === 'vm-par');
    expect(forPair).toHaveLength(1);
  });

  test('a user gets only its own credentials; admins revoke, users cannot', async () => {
    await expect(bob.requestAccess(U1, 'vm-a')).rejects.toBeInstanceOf(ForbiddenError);
    await expect(alice.revoke(U1, 'vm-a', 'mine')).rejects.toThrow(/only administrators/);
    clock.set(T0 + 6 * MIN);
    expect(await admin.revoke(U1, 'vm-a', 'offboarding')).toMatchObject({ revoked: true });
    clock.set(T0 + 7 * MIN);
    expect((await alice.requestAccess(U1, 'vm-a')).source).toBe('on-demand');
  });

  test('foresight request-access prints the path and the sealed credential, never the password', async () => {
    clock.set(T0);
    const c = issueClientCert(cfg, `user.${U1}`);
    const bin = path.join(__dirname, '..', '..', 'bin', 'foresight.js');
    const cli = (args: string[], auth = ['--cert', c.cert, '--key', c.key]) =>
      new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile(process.execPath, [bin, 'request-access', ...args, '--url', `https://127.0.0.1:${api.port}`, ...auth, '--ca', c.ca], { env: { ...process.env, FORESIGHT_HOME: home } }, (err, out, errOut) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut }),
        );
      });
    const json = await cli(['--user', U1, '--vm', 'vm-cli', '--json']);
    expect(json.code).toBe(0);
    const reply = JSON.parse(json.out);
    expect(reply).toMatchObject({ source: 'on-demand', credential: { v: 1 } });
    const secret = await decrypt(U1, reply);
    expect(json.out + json.err).not.toContain(secret.password);
    const text = await cli(['--user', U1, '--vm', 'vm-cli']);
    expect(text.out).toMatch(/^pre-provisioned \(made on demand earlier\): credential .* for .* on vm-cli/);
    const other = await cli(['--user', U2, '--vm', 'vm-cli']);
    expect(other.code).toBe(1);
    expect(other.err.trim().split('\n')).toHaveLength(1);
    expect(other.err).toMatch(/refused: a user may request only its own credentials/);
    const tokenFile = path.join(home, 'token.jwt');
    fs.writeFileSync(tokenFile, signToken(tokenIssuer.privateKey, { sub: `user.${U1}`, aud: TOKEN_AUDIENCE, exp: T0 / 1000 + 600 }), { mode: 0o600 });
    const viaToken = await cli(['--user', U1, '--vm', 'vm-cli', '--json'], ['--token-file', tokenFile]);
    expect(viaToken.code).toBe(0);
    expect(JSON.parse(viaToken.out).credentialId).toBe(reply.credentialId);
  });

  test('bearer tokens instead of certificates: own credentials only, admins revoke, expired refused', async () => {
    clock.set(T0);
    const ca = fs.readFileSync(path.join(home, 'tls', 'ca.pem'));
    const withToken = (sub: string, exp = T0 / 1000 + 600) =>
      new DeliveryClient({ baseUrl: `https://127.0.0.1:${api.port}`, ca, token: signToken(tokenIssuer.privateKey, { sub, aud: TOKEN_AUDIENCE, exp }) });
    const u = withToken(`user.${U2}`);
    expect((await u.requestAccess(U2, 'vm-tok')).source).toBe('on-demand');
    await expect(u.requestAccess(U1, 'vm-tok')).rejects.toBeInstanceOf(ForbiddenError);
    const a = withToken('admin.ops');
    expect(await a.revoke(U2, 'vm-tok', 'rotation')).toMatchObject({ revoked: true });
    const late = withToken(`user.${U2}`, T0 / 1000 - 1);
    await expect(late.requestAccess(U2, 'vm-tok')).rejects.toThrow(/invalid or expired/);
    for (const c of [u, a, late]) c.close();
  });

  test('an admin revokes a user key pair: its private half is gone from the HSM, the next request is sealed for a new pair', async () => {
    clock.set(T0 + 8 * MIN);
    const before = await alice.requestAccess(U1, 'vm-kr');
    await expect(alice.revokeKey(U1, 'mine')).rejects.toThrow(/only administrators/);
    const r = await admin.revokeKey(U1, 'laptop lost');
    expect(r).toMatchObject({ revoked: true, fingerprint: before.credential.kid });
    expect(r.credentialsRevoked).toBeGreaterThanOrEqual(1);
    expect((await api.runtime.hsm.findKeys({ label: userKeyLabel(U1) })).filter((k) => k.keyClass === 'private')).toHaveLength(0);
    await expect(decrypt(U1, before)).rejects.toThrow();
    clock.set(T0 + 9 * MIN);
    const after = await alice.requestAccess(U1, 'vm-kr');
    expect(after.source).toBe('refreshed');
    expect(after.credential.kid).not.toBe(before.credential.kid);
    expect((await decrypt(U1, after)).username).toBe(U1);
    expect(await streamTypes(`userkey-${U1}`)).toEqual(['KeyPairGenerated', 'KeyPairRevoked', 'KeyPairGenerated']);
  });

  test('no client certificate: 401; health and metrics need none; TLS 1.2 is refused', async () => {
    const ca = fs.readFileSync(path.join(home, 'tls', 'ca.pem'));
    const get = (p: string, o: https.RequestOptions = {}) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port: api.port, path: p, ca, method: p.startsWith('/v1') ? 'POST' : 'GET', ...o }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end(p.startsWith('/v1') ? JSON.stringify({ userId: U1, vmId: 'vm-a' }) : undefined);
      });
    expect((await get('/v1/access-requests')).status).toBe(401);
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toMatchObject({ status: 'ok', checks: { eventStore: { ok: true }, hsm: { ok: true } } });
    const metrics = await get('/metrics');
    expect(metrics.text).toMatch(/foresight_access_requests_total\{source="pre-provisioned"\} \d/);
    expect(metrics.text).toContain('foresight_credential_hit_rate');
    await expect(get('/healthz', { maxVersion: 'TLSv1.2' })).rejects.toThrow(/version|alert|protocol/i);
  });

  test('below the threshold nothing is pre-provisioned; an expired unused one is swept as waste', async () => {
    expect(await provisioner.handleRisk(risk(U2, 'vm-x', T0, 0.3), `it:${run}:2`)).toEqual({ kind: 'done' });
    expect(await streamTypes(`credential-${U2}_vm-x`)).toEqual([]);
    await provisioner.handleRisk(risk(U2, 'vm-y', T0), `it:${run}:3`);
    const before = api.runtime.metrics.snapshot().wasted;
    const swept = await provisioner.sweep(T0 + 31 * MIN);
    expect(swept.wasted).toBeGreaterThanOrEqual(1);
    expect(await streamTypes(`credential-${U2}_vm-y`)).toEqual(['CredentialPreProvisioned', 'CredentialExpired', 'CredentialRevoked']);
    expect(api.runtime.metrics.snapshot().wasted).toBeGreaterThan(before);
    const notes = await readRecords(cfg, 'notifications.user', ns);
    expect(notes.some((n) => n.kind === 'CREDENTIAL_READY' && n.userId === U2)).toBe(true);
  });
});
