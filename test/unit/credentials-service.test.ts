import { constants, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManualClock } from '../../core/clock';
import { UnavailableError } from '../../core/errors';
import { MemoryEventStore } from '../../eventstore/memory-store';
import type { AccessRisk, AdminAlert, UserNotification } from '../../schemas';
import { DeliveryService } from '../../credentials/delivery';
import { KeyRevocation } from '../../credentials/key-revocation';
import { CredentialMetrics } from '../../credentials/metrics';
import { CredentialMinter } from '../../credentials/minter';
import { meetsPolicy } from '../../credentials/password';
import { DEFAULT_CREDENTIALS_CONFIG, type CredentialsConfig } from '../../credentials/policy';
import type { KeyCustodian, Notifier, Recipient } from '../../credentials/ports';
import { failureReason, Provisioner } from '../../credentials/provisioner';
import { oaepHashOf, open, spkiFingerprint, type SealedCredential } from '../../credentials/sealed';
import { FileVault } from '../../credentials/vault';

// Orchestration specs over the in-memory event store and node:crypto keys. The same flows run
// against the real event store and SoftHSM2 in test/integration/credentials-*.test.ts.
class NodeKeys implements KeyCustodian {
  keys = new Map<string, { recipient: Recipient; priv: ReturnType<typeof generateKeyPairSync>['privateKey'] }>();
  failing = false;
  async ensure(userId: string): Promise<Recipient> {
    if (this.failing) throw new UnavailableError('hsm', 'CKR_DEVICE_ERROR');
    let k = this.keys.get(userId);
    if (!k) {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      k = { recipient: { userId, publicKeyPem: pem, fingerprint: spkiFingerprint(pem), oaepHash: userId.endsWith('1') ? 'sha1' : 'sha256' }, priv: privateKey };
      this.keys.set(userId, k);
    }
    return k.recipient;
  }
  async revoke(userId: string): Promise<{ revoked: boolean; fingerprint?: string }> {
    const k = this.keys.get(userId);
    if (!k) return { revoked: false };
    this.keys.delete(userId);
    return { revoked: true, fingerprint: k.recipient.fingerprint };
  }
  async unwrap(userId: string, s: SealedCredential): Promise<Buffer> {
    return privateDecrypt({ key: this.keys.get(userId)!.priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHashOf(s.alg) }, Buffer.from(s.wrappedKey, 'base64'));
  }
}

class Collect implements Notifier {
  alerts: AdminAlert[] = [];
  notes: UserNotification[] = [];
  async alert(a: AdminAlert) {
    this.alerts.push(a);
  }
  async notify(n: UserNotification) {
    this.notes.push(n);
  }
}

const T0 = Date.parse('2026-02-01T09:00:00Z');
const MIN = 60_000;
const config: CredentialsConfig = {
  ...DEFAULT_CREDENTIALS_CONFIG,
  default: { name: 'default', threshold: 0.6, validityMs: 30 * MIN, maxOutstandingPerUser: 2, maxOutstandingTotal: 3 },
  alerts: { threshold: 2, windowMs: 10 * MIN },
};
const risk = (userId: string, vmId: string, at: number, score = 0.9): AccessRisk => ({
  eventId: `risk-${userId}-${vmId}-${at}`,
  timestamp: at,
  userId,
  vmId,
  riskScore: score,
  horizon: 'PT1H',
  horizonScores: {},
  predictedAccessTime: at + 20 * MIN,
  modelVersion: 'm1',
});

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cred-svc-'));
  const store = new MemoryEventStore();
  const keys = new NodeKeys();
  const vault = FileVault.open(path.join(dir, 'vault'));
  const metrics = new CredentialMetrics();
  const notifier = new Collect();
  const minter = new CredentialMinter(keys, vault, config.password, randomBytes);
  const provisioner = new Provisioner({ store, minter, vault, notifier, config, metrics });
  const delivery = new DeliveryService({ store, minter, vault, config, metrics });
  return { dir, store, keys, vault, metrics, notifier, provisioner, delivery };
}

let env: ReturnType<typeof setup>;
beforeEach(() => {
  env = setup();
});
afterEach(() => fs.rmSync(env.dir, { recursive: true, force: true }));

const types = async (stream: string) => {
  const out: string[] = [];
  for await (const e of env.store.readStream(stream)) out.push(e.type);
  return out;
};

describe('provisioner and delivery (orchestration)', () => {
  test('a high score pre-provisions once; the request is then served pre-provisioned with a sealed password meeting the policy', async () => {
    expect(await env.provisioner.handleRisk(risk('u1', 'vm1', T0), 'kafka:risk.access/0/1')).toEqual({ kind: 'done' });
    expect(await env.provisioner.handleRisk(risk('u1', 'vm1', T0), 'kafka:risk.access/0/1')).toEqual({ kind: 'done' }); // redelivery
    expect(await env.provisioner.handleRisk(risk('u1', 'vm1', T0 + MIN), 'kafka:risk.access/0/2')).toEqual({ kind: 'done' }); // still valid
    expect(await types('credential-u1_vm1')).toEqual(['CredentialPreProvisioned']);
    expect(await types('userkey-u1')).toEqual([]); // the custodian here is node:crypto; the HSM one records KeyPairGenerated
    // the redelivery re-sent the ready notice (same eventId: consumers see one), nothing else
    expect(env.notifier.notes.map((n) => n.kind)).toEqual(['CREDENTIAL_READY', 'CREDENTIAL_READY']);
    expect(new Set(env.notifier.notes.map((n) => n.eventId)).size).toBe(1);
    expect(env.vault.outstanding('u1', T0)).toEqual({ user: 1, total: 1 });

    const reply = await env.delivery.requestAccess({ userId: 'u1', vmId: 'vm1', requestId: 'r1', at: T0 + 5 * MIN });
    expect(reply.source).toBe('pre-provisioned');
    expect(reply.expiresAt).toBe(new Date(T0 + 30 * MIN).toISOString());
    const secret = JSON.parse((await open(reply.credential, (w) => env.keys.unwrap('u1', { ...reply.credential, wrappedKey: w.toString('base64') }))).toString());
    expect(secret).toMatchObject({ username: 'u1', vmId: 'vm1' });
    expect(meetsPolicy(secret.password, config.password)).toBe(true);
    expect(env.vault.outstanding('u1', T0)).toEqual({ user: 0, total: 0 });
    expect(env.metrics.snapshot()).toMatchObject({ hitRate: 1, preProvisionedDelivered: 1 });
  });

  test('below the threshold nothing is made; the request is served on demand, then from the same credential', async () => {
    await env.provisioner.handleRisk(risk('u2', 'vm1', T0, 0.2), 'c1');
    expect(await types('credential-u2_vm1')).toEqual([]);
    const first = await env.delivery.requestAccess({ userId: 'u2', vmId: 'vm1', requestId: 'r1', at: T0 });
    expect(first.source).toBe('on-demand');
    const again = await env.delivery.requestAccess({ userId: 'u2', vmId: 'vm1', requestId: 'r1', at: T0 + 1 });
    expect(again).toEqual(first); // a retried request gets the same answer, nothing new recorded
    const second = await env.delivery.requestAccess({ userId: 'u2', vmId: 'vm1', requestId: 'r2', at: T0 + MIN });
    expect(second.credentialId).toBe(first.credentialId);
    // the fast path, but not a hit: the credential was made on demand, not ahead of time
    expect(second).toMatchObject({ source: 'pre-provisioned', origin: 'on-demand' });
    expect(env.metrics.snapshot()).toMatchObject({ hits: 0, hitRate: 0 });
    expect(await types('credential-u2_vm1')).toEqual(['CredentialIssued', 'CredentialDelivered', 'CredentialDelivered']);
  });

  test('an expired credential is refreshed with a new password; the sweep expires and revokes unused ones as waste', async () => {
    await env.provisioner.handleRisk(risk('u3', 'vm1', T0), 'c1');
    await env.provisioner.handleRisk(risk('u3', 'vm2', T0), 'c2');
    const swept = await env.provisioner.sweep(T0 + 31 * MIN);
    expect(swept).toEqual({ expired: 2, wasted: 2 });
    expect(await types('credential-u3_vm1')).toEqual(['CredentialPreProvisioned', 'CredentialExpired', 'CredentialRevoked']);
    expect(env.vault.outstanding('u3', T0 + 31 * MIN)).toEqual({ user: 0, total: 0 });
    const r = await env.delivery.requestAccess({ userId: 'u3', vmId: 'vm1', requestId: 'r1', at: T0 + 32 * MIN });
    expect(r.source).toBe('refreshed');
    expect(env.metrics.snapshot()).toMatchObject({ wasted: 2, wasteRate: 1 });
  });

  test('waste guard: caps per user and overall stop pre-provisioning', async () => {
    for (const [i, vm] of ['a', 'b', 'c'].entries()) await env.provisioner.handleRisk(risk('u4', vm, T0), `u4-${i}`);
    expect(env.vault.outstanding('u4', T0)).toEqual({ user: 2, total: 2 });
    await env.provisioner.handleRisk(risk('u5', 'a', T0), 'u5-0');
    await env.provisioner.handleRisk(risk('u6', 'a', T0), 'u6-0');
    expect(env.vault.outstanding('u6', T0)).toEqual({ user: 0, total: 3 });
    expect(env.metrics.snapshot().skipped).toMatchObject({ 'user-cap': 1, 'total-cap': 1 });
  });

  test('HSM failures: the request still goes through on demand once it answers; N failures in a window raise ONE alert', async () => {
    env.keys.failing = true;
    for (let i = 0; i < 4; i++) expect(await env.provisioner.handleRisk(risk('u7', 'vm1', T0 + i * MIN), `f${i}`)).toEqual({ kind: 'done' });
    expect(env.notifier.alerts).toHaveLength(1);
    expect(env.notifier.alerts[0]).toMatchObject({ kind: 'PRE_PROVISIONING_FAILURES', subject: 'u7_vm1', eventId: `preprov-failures:u7_vm1:${T0 + MIN}` });
    expect(env.notifier.notes.map((n) => n.kind)).toEqual(['ACCESS_DELAY_LIKELY']);
    expect((await types('credential-u7_vm1')).filter((t) => t === 'PreProvisioningFailed')).toHaveLength(4);
    await expect(env.delivery.requestAccess({ userId: 'u7', vmId: 'vm1', requestId: 'r1', at: T0 + 5 * MIN })).rejects.toBeInstanceOf(UnavailableError);
    env.keys.failing = false;
    expect((await env.delivery.requestAccess({ userId: 'u7', vmId: 'vm1', requestId: 'r2', at: T0 + 6 * MIN })).source).toBe('on-demand');
  });

  test('event store down as well: failures are counted in memory, still one alert', async () => {
    env.keys.failing = true;
    env.store.beforeAppend = () => {
      throw new UnavailableError('eventstore', 'connection refused');
    };
    for (let i = 0; i < 3; i++) expect(await env.provisioner.handleRisk(risk('u8', 'vm1', T0 + i * MIN), `g${i}`)).toEqual({ kind: 'done' });
    expect(env.notifier.alerts).toHaveLength(1);
    expect(env.metrics.snapshot()).toMatchObject({ failures: 3, alerts: 1 });
  });

  test('an admin revocation forces the next request onto the on-demand path', async () => {
    await env.provisioner.handleRisk(risk('u9', 'vm1', T0), 'c1');
    expect(await env.delivery.revoke('u9', 'vm1', 'admin', 'left the team', T0 + MIN, 'revoke-1')).toMatchObject({ revoked: true });
    expect(env.vault.outstanding('u9', T0 + MIN).user).toBe(0);
    expect((await env.delivery.requestAccess({ userId: 'u9', vmId: 'vm1', requestId: 'r1', at: T0 + 2 * MIN })).source).toBe('on-demand');
  });

  test('a credential whose ciphertext vanished is replaced, not served broken', async () => {
    await env.provisioner.handleRisk(risk('u10', 'vm1', T0), 'c1');
    for (const f of fs.readdirSync(env.vault.dir)) fs.rmSync(path.join(env.vault.dir, f));
    const r = await env.delivery.requestAccess({ userId: 'u10', vmId: 'vm1', requestId: 'r1', at: T0 + MIN });
    expect(r.source).toBe('refreshed');
    expect(await types('credential-u10_vm1')).toEqual(['CredentialPreProvisioned', 'CredentialRevoked', 'CredentialRefreshed', 'CredentialDelivered']);
  });

  test('a revocation between the read and the append is not overridden: the request is decided again', async () => {
    await env.provisioner.handleRisk(risk('u12', 'vm1', T0), 'c1');
    let raced = false;
    env.store.beforeAppend = async (stream) => {
      if (raced || stream !== 'credential-u12_vm1') return;
      raced = true;
      await env.delivery.revoke('u12', 'vm1', 'admin', 'concurrent', T0 + MIN, 'revoke-race');
    };
    const r = await env.delivery.requestAccess({ userId: 'u12', vmId: 'vm1', requestId: 'r1', at: T0 + MIN });
    expect(raced).toBe(true);
    expect(r.source).toBe('on-demand');
    expect(await types('credential-u12_vm1')).toEqual(['CredentialPreProvisioned', 'CredentialRevoked', 'CredentialIssued', 'CredentialDelivered']);
  });

  test('a valid credential that expires before the predicted access: the user is told a refresh is scheduled, once', async () => {
    await env.provisioner.handleRisk(risk('u13', 'vm1', T0), 'c1');
    const late = { ...risk('u13', 'vm1', T0 + MIN), predictedAccessTime: T0 + 45 * MIN };
    await env.provisioner.handleRisk(late, 'c2');
    await env.provisioner.handleRisk(late, 'c2');
    const scheduled = env.notifier.notes.filter((n) => n.kind === 'CREDENTIAL_REFRESH_SCHEDULED');
    expect(new Set(scheduled.map((n) => n.eventId)).size).toBe(1);
    expect(scheduled[0]).toMatchObject({ userId: 'u13', vmId: 'vm1', scheduledFor: T0 + 30 * MIN });
  });

  test('failure reasons are one line and mask credentials in URLs', () => {
    expect(failureReason(new UnavailableError('eventstore', 'esdb://admin:changeit@db:2113 refused\nstack'))).toBe('UNAVAILABLE: eventstore: esdb://***@db:2113 refused');
  });

  test('with a role clock, a score whose credential would already be expired is skipped as stale', async () => {
    const clock = new ManualClock(T0 + 31 * MIN);
    const p = new Provisioner({ store: env.store, minter: new CredentialMinter(env.keys, env.vault, config.password, randomBytes), vault: env.vault, notifier: env.notifier, config, metrics: env.metrics, clock });
    expect(await p.handleRisk(risk('u14', 'vm1', T0), 'old')).toEqual({ kind: 'done' });
    expect(await types('credential-u14_vm1')).toEqual([]);
    expect(env.metrics.snapshot().skipped.stale).toBe(1);
    clock.set(T0 + 29 * MIN);
    await p.handleRisk(risk('u14', 'vm1', T0), 'recent');
    expect(await types('credential-u14_vm1')).toEqual(['CredentialPreProvisioned']);
  });

  test('revoking a user key revokes what was sealed for it; the next request is refreshed for a new key', async () => {
    await env.provisioner.handleRisk(risk('u15', 'vm1', T0), 'c1');
    await env.provisioner.handleRisk(risk('u15', 'vm2', T0), 'c2');
    const before = (await env.keys.ensure('u15')).fingerprint;
    const revocation = new KeyRevocation(env.keys, env.vault, env.delivery);
    expect(await revocation.revoke('u15', 'laptop lost', T0 + MIN, 'kr-1')).toMatchObject({ revoked: true, fingerprint: before, credentialsRevoked: 2 });
    expect(env.vault.entriesOf('u15')).toEqual([]);
    const r = await env.delivery.requestAccess({ userId: 'u15', vmId: 'vm1', requestId: 'r1', at: T0 + 2 * MIN });
    expect(r.source).toBe('refreshed');
    expect(r.credential.kid).not.toBe(before);
    expect(await revocation.revoke('u16', 'no key', T0, 'kr-2')).toEqual({ revoked: false, credentialsRevoked: 0 });
  });

  test('bad ids are DLQ material, not retried', async () => {
    expect(await env.provisioner.handleRisk(risk('bad user', 'vm1', T0), 'x')).toMatchObject({ kind: 'dlq' });
  });

  test('vault files are private (0600 in a 0700 directory) and hold no plaintext', async () => {
    await env.provisioner.handleRisk(risk('u11', 'vm1', T0), 'c1');
    expect(fs.statSync(env.vault.dir).mode & 0o777).toBe(0o700);
    for (const f of fs.readdirSync(env.vault.dir)) {
      expect(fs.statSync(path.join(env.vault.dir, f)).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(path.join(env.vault.dir, f), 'utf8')).not.toMatch(/password|username/);
    }
  });
});
