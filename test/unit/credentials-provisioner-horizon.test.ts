import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from '../../core/log';
import { MemoryEventStore } from '../../eventstore/memory-store';
import type { AccessRisk } from '../../schemas';
import { CredentialMetrics } from '../../credentials/metrics';
import { CredentialMinter } from '../../credentials/minter';
import { DEFAULT_CREDENTIALS_CONFIG, parseCredentialsConfig, type CredentialsConfig } from '../../credentials/policy';
import type { KeyCustodian, Notifier } from '../../credentials/ports';
import { Provisioner } from '../../credentials/provisioner';
import { spkiFingerprint } from '../../credentials/sealed';
import { FileVault } from '../../credentials/vault';

// Which score a policy acts on, end to end through the Provisioner over the in-memory store.
// The decision rules themselves (caps, too-early, already-valid) are specified in
// credentials-decider.test.ts; here only the horizon choice and the validity it brings.

const T0 = Date.parse('2026-02-02T07:00:00Z');
const HOUR = 3_600_000;

const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const keys: KeyCustodian = {
  ensure: async (userId) => ({ userId, publicKeyPem: pem, fingerprint: spkiFingerprint(pem), oaepHash: 'sha256' }),
  unwrap: async () => Buffer.alloc(0),
  revoke: async () => ({ revoked: false }),
};
const quiet: Notifier = { alert: async () => undefined, notify: async () => undefined };

/** A record whose primary (PT1H) score is low and whose PT4H score is high: a session hours away. */
const risk = (over: Partial<AccessRisk> = {}): AccessRisk => ({
  eventId: `risk-u1-vm1-${over.timestamp ?? T0}`,
  timestamp: T0,
  userId: 'u1',
  vmId: 'vm1',
  riskScore: 0.1,
  horizon: 'PT1H',
  horizonScores: { PT1H: 0.1, PT2H: 0.2, PT4H: 0.55, PT8H: 0.7, PT16H: 0.8, P1D: 0.9 },
  predictedAccessTime: T0 + 3 * HOUR,
  modelVersion: 'm1',
  ...over,
});

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function given(config: CredentialsConfig) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cred-horizon-'));
  dirs.push(dir);
  const store = new MemoryEventStore();
  const vault = FileVault.open(path.join(dir, 'vault'));
  const metrics = new CredentialMetrics();
  const warnings: string[] = [];
  const log: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {}, child: () => log };
  const minter = new CredentialMinter(keys, vault, config.password, randomBytes);
  const provisioner = new Provisioner({ store, minter, vault, notifier: quiet, config, metrics, log });
  const events = async () => {
    const out: Array<{ type: string; data: Record<string, unknown> }> = [];
    for await (const e of store.readStream('credential-u1_vm1')) out.push({ type: e.type, data: e.data as Record<string, unknown> });
    return out;
  };
  return { provisioner, metrics, warnings, events };
}

const horizonPolicy = parseCredentialsConfig({ default: { name: 'ahead', horizon: 'PT4H', threshold: 0.5 } });
const primaryPolicy = parseCredentialsConfig({ default: { name: 'primary', threshold: 0.5 } });

describe('provisioner: the horizon a policy acts on', () => {
  test('given a PT4H policy, when the PT4H score meets the threshold though the primary does not, then a credential is made valid for 4 h from the record time, recording the PT4H score', async () => {
    const g = given(horizonPolicy);
    expect(await g.provisioner.handleRisk(risk(), 'c1')).toEqual({ kind: 'done' });
    expect(await g.events()).toEqual([
      {
        type: 'CredentialPreProvisioned',
        data: expect.objectContaining({
          issuedAt: '2026-02-02T07:00:00.000Z',
          expiresAt: '2026-02-02T11:00:00.000Z',
          riskScore: 0.55,
          threshold: 0.5,
          policy: 'ahead',
        }),
      },
    ]);
  });

  test('given a PT4H policy, when the PT4H score is below the threshold, then nothing is made even if the primary score is high', async () => {
    const g = given(horizonPolicy);
    await g.provisioner.handleRisk(risk({ riskScore: 0.9, horizonScores: { PT1H: 0.9, PT4H: 0.49 } }), 'c1');
    expect(await g.events()).toEqual([]);
    expect(g.metrics.snapshot().skipped['below-threshold']).toBe(1);
  });

  test('given a policy without a horizon, when the same records arrive, then the primary riskScore decides, with the policy validity, as before horizons existed', async () => {
    const low = given(primaryPolicy);
    await low.provisioner.handleRisk(risk(), 'c1');
    expect(await low.events()).toEqual([]);
    const high = given(primaryPolicy);
    await high.provisioner.handleRisk(risk({ riskScore: 0.6, predictedAccessTime: T0 + 30 * 60_000 }), 'c1');
    expect((await high.events()).map((e) => [e.type, e.data.riskScore, e.data.expiresAt])).toEqual([['CredentialPreProvisioned', 0.6, '2026-02-02T08:00:00.000Z']]);
  });

  test('given a PT4H policy, when records carry no PT4H score, then nothing is made, each is counted below-threshold, and one warning names the mismatch', async () => {
    const g = given(horizonPolicy);
    await g.provisioner.handleRisk(risk({ riskScore: 0.9, horizonScores: {} }), 'c1');
    await g.provisioner.handleRisk(risk({ timestamp: T0 + HOUR, riskScore: 0.9, horizonScores: { PT1H: 0.9 } }), 'c2');
    expect(await g.events()).toEqual([]);
    expect(g.metrics.snapshot().skipped['below-threshold']).toBe(2);
    expect(g.warnings).toEqual([expect.stringContaining('no score for the policy horizon')]);
  });

  test('given a PT4H policy, when the record primary horizon is PT4H itself, then its riskScore stands for the missing horizonScores entry', async () => {
    const g = given(horizonPolicy);
    await g.provisioner.handleRisk(risk({ riskScore: 0.6, horizon: 'PT4H', horizonScores: {} }), 'c1');
    expect((await g.events()).map((e) => e.data.riskScore)).toEqual([0.6]);
  });

  test('given a PT4H policy, when the PT4H score is out of range, then the record goes to the DLQ as invalid', async () => {
    const g = given(horizonPolicy);
    expect(await g.provisioner.handleRisk(risk({ horizonScores: { PT4H: 1.5 } }), 'c1')).toMatchObject({ kind: 'dlq', reason: 'invalid' });
    expect(await g.events()).toEqual([]);
  });

  test('given the same record twice on two fresh stores, then the events are the same: time comes from the record', async () => {
    const a = given(horizonPolicy);
    const b = given(horizonPolicy);
    await a.provisioner.handleRisk(risk(), 'c1');
    await new Promise((r) => setTimeout(r, 5));
    await b.provisioner.handleRisk(risk(), 'c1');
    const strip = (es: Array<{ data: Record<string, unknown> }>) => es.map((e) => ({ ...e.data, keyFingerprint: 0, ciphertextDigest: 0 }));
    expect(strip(await a.events())).toEqual(strip(await b.events()));
  });

  test('the built-in defaults have no horizon', () => {
    expect(DEFAULT_CREDENTIALS_CONFIG.default).not.toHaveProperty('horizon');
  });
});
