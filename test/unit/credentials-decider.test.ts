import { fold } from '../../core/decider';
import {
  credentialDecider,
  deliveryPath,
  MaterialRequiredError,
  preProvisionVerdict,
  type CredentialCommand,
  type PreProvisionPolicy,
} from '../../credentials/credential-decider';
import type { CredentialEvent } from '../../credentials/events';
import { userKeyDecider } from '../../credentials/userkey-decider';
import { CredentialMetrics } from '../../credentials/metrics';
import { MetricsRegistry } from '../../core/metrics';

const T0 = Date.parse('2026-01-01T08:00:00Z');
const MIN = 60_000;
const policy: PreProvisionPolicy = { name: 'default', threshold: 0.6, validityMs: 60 * MIN, maxOutstandingPerUser: 2, maxOutstandingTotal: 100 };
const mat = (n: number) => ({ credentialId: `c${n}`, keyFingerprint: 'fp1', ciphertextDigest: `d${n}` });

/** given events, when command, then events: the Decider as a spec. */
function given(...history: CredentialEvent[]) {
  const state = fold(credentialDecider, history);
  return {
    state,
    when: (cmd: CredentialCommand) => credentialDecider.decide(cmd, state),
  };
}

const preProvision = (at: number, n = 1, over: Partial<Extract<CredentialCommand, { kind: 'PreProvision' }>> = {}): CredentialCommand => ({
  kind: 'PreProvision',
  at,
  userId: 'u1',
  vmId: 'vm1',
  riskScore: 0.9,
  modelVersion: 'm1',
  policy,
  outstanding: { user: 0, total: 0 },
  material: mat(n),
  ...over,
});
const request = (at: number, material?: ReturnType<typeof mat>): CredentialCommand => ({
  kind: 'RequestAccess',
  at,
  userId: 'u1',
  vmId: 'vm1',
  requestId: `r${at}`,
  validityMs: 30 * MIN,
  material,
});
const preProvisioned = (at: number, n = 1) => given().when(preProvision(at, n)) as CredentialEvent[];

describe('credential decider', () => {
  test('given no credential, when risk is above the threshold, then a credential is pre-provisioned with its window', () => {
    const events = given().when(preProvision(T0));
    expect(events).toEqual([
      {
        type: 'CredentialPreProvisioned',
        data: expect.objectContaining({
          credentialId: 'c1',
          userId: 'u1',
          vmId: 'vm1',
          issuedAt: '2026-01-01T08:00:00.000Z',
          expiresAt: '2026-01-01T09:00:00.000Z',
          riskScore: 0.9,
          threshold: 0.6,
          policy: 'default',
        }),
      },
    ]);
  });

  test('given a pre-provisioned credential, when it is requested twice, then only the first delivery is its first use', () => {
    const h = preProvisioned(T0);
    const first = given(...h).when(request(T0 + MIN));
    expect(first).toEqual([{ type: 'CredentialDelivered', data: expect.objectContaining({ source: 'pre-provisioned', origin: 'pre-provisioned', firstUse: true }) }]);
    const second = given(...h, ...first).when(request(T0 + 2 * MIN));
    expect(second).toHaveLength(1);
    expect(second[0].data).not.toHaveProperty('firstUse');
  });

  test('given no credential, when risk is below the threshold, then nothing happens', () => {
    expect(given().when(preProvision(T0, 1, { riskScore: 0.59 }))).toEqual([]);
    expect(preProvisionVerdict(given().state, { at: T0, riskScore: 0.59, policy, outstanding: { user: 0, total: 0 } })).toBe('below-threshold');
  });

  test('given a high score whose predicted access is after the window would end, then nothing is made yet', () => {
    expect(given().when(preProvision(T0, 1, { predictedAccessTime: T0 + 61 * MIN }))).toEqual([]);
    expect(preProvisionVerdict(given().state, { at: T0, riskScore: 0.9, policy, outstanding: { user: 0, total: 0 }, predictedAccessTime: T0 + 60 * MIN })).toBe('too-early');
    expect(given().when(preProvision(T0, 1, { predictedAccessTime: T0 + 59 * MIN }))).toHaveLength(1);
    expect(given().when(preProvision(T0, 1, { predictedAccessTime: null }))).toHaveLength(1);
  });

  test('given a valid credential, when another high score arrives, then nothing happens (no duplicate)', () => {
    const h = preProvisioned(T0);
    expect(given(...h).when(preProvision(T0 + MIN, 2))).toEqual([]);
  });

  test('waste guard: per-user and overall caps stop pre-provisioning', () => {
    expect(given().when(preProvision(T0, 1, { outstanding: { user: 2, total: 0 } }))).toEqual([]);
    expect(given().when(preProvision(T0, 1, { outstanding: { user: 0, total: 100 } }))).toEqual([]);
    expect(preProvisionVerdict(given().state, { at: T0, riskScore: 1, policy, outstanding: { user: 2, total: 0 } })).toBe('user-cap');
    expect(preProvisionVerdict(given().state, { at: T0, riskScore: 1, policy, outstanding: { user: 0, total: 100 } })).toBe('total-cap');
  });

  test('given a valid pre-provisioned credential, when the user asks, then it is delivered at once without new material', () => {
    const g = given(...preProvisioned(T0));
    expect(deliveryPath(g.state, T0 + 10 * MIN)).toBe('pre-provisioned');
    expect(g.when(request(T0 + 10 * MIN))).toEqual([
      {
        type: 'CredentialDelivered',
        data: { credentialId: 'c1', requestId: `r${T0 + 10 * MIN}`, source: 'pre-provisioned', origin: 'pre-provisioned', firstUse: true, deliveredAt: '2026-01-01T08:10:00.000Z' },
      },
    ]);
  });

  test('given an expired unused credential, when the user asks, then it is expired as waste and refreshed with new material', () => {
    const g = given(...preProvisioned(T0));
    const at = T0 + 61 * MIN;
    expect(deliveryPath(g.state, at)).toBe('refreshed');
    expect(() => g.when(request(at))).toThrow(MaterialRequiredError);
    const events = g.when(request(at, mat(2)));
    expect(events.map((e) => e.type)).toEqual(['CredentialExpired', 'CredentialRevoked', 'CredentialRefreshed', 'CredentialDelivered']);
    expect(events[0].data).toMatchObject({ credentialId: 'c1', wasted: true });
    expect(events[2].data).toMatchObject({ credentialId: 'c2', previousCredentialId: 'c1', expiresAt: '2026-01-01T09:31:00.000Z' });
    expect(events[3].data).toMatchObject({ credentialId: 'c2', source: 'refreshed' });
    const after = fold(credentialDecider, [...preProvisioned(T0), ...events]);
    expect(after.current).toMatchObject({ credentialId: 'c2', origin: 'refreshed', delivered: true, status: 'active' });
    expect(after.stats).toEqual({ preProvisioned: 1, delivered: 1, wasted: 1 });
  });

  test('given nothing, when the user asks, then a credential is issued on demand', () => {
    const g = given();
    expect(() => g.when(request(T0))).toThrow(MaterialRequiredError);
    const events = g.when(request(T0, mat(9)));
    expect(events.map((e) => e.type)).toEqual(['CredentialIssued', 'CredentialDelivered']);
    expect(events[1].data).toMatchObject({ credentialId: 'c9', source: 'on-demand' });
  });

  test('expiry sweep: an unused pre-provisioned credential is expired and revoked after its window, a used one only expired', () => {
    const h = preProvisioned(T0);
    expect(given(...h).when({ kind: 'Expire', at: T0 + 59 * MIN })).toEqual([]);
    const swept = given(...h).when({ kind: 'Expire', at: T0 + 60 * MIN });
    expect(swept.map((e) => e.type)).toEqual(['CredentialExpired', 'CredentialRevoked']);
    expect(swept[1].data).toMatchObject({ by: 'waste-guard' });
    expect(given(...h, ...swept).when({ kind: 'Expire', at: T0 + 90 * MIN })).toEqual([]);

    const used = [...h, ...given(...h).when(request(T0 + MIN))];
    const sweptUsed = given(...used).when({ kind: 'Expire', at: T0 + 61 * MIN });
    expect(sweptUsed).toEqual([{ type: 'CredentialExpired', data: { credentialId: 'c1', expiredAt: '2026-01-01T09:01:00.000Z', wasted: false } }]);
  });

  test('after a waste-guard revocation a request refreshes; after an admin revocation it issues on demand', () => {
    const h = preProvisioned(T0);
    const swept = [...h, ...given(...h).when({ kind: 'Expire', at: T0 + 60 * MIN })];
    expect(deliveryPath(fold(credentialDecider, swept), T0 + 61 * MIN)).toBe('refreshed');
    const revoked = [...h, ...given(...h).when({ kind: 'Revoke', at: T0 + MIN, by: 'admin', reason: 'left the team' })];
    expect(deliveryPath(fold(credentialDecider, revoked), T0 + 2 * MIN)).toBe('on-demand');
    expect(given(...revoked).when({ kind: 'Revoke', at: T0 + 3 * MIN, by: 'admin', reason: 'again' })).toEqual([]);
    // a revoked credential is no longer "valid outstanding": a high score pre-provisions again
    expect(given(...revoked).when(preProvision(T0 + 3 * MIN, 2))[0].type).toBe('CredentialPreProvisioned');
  });

  test('given a credential past its window but not swept, when a new high score arrives, then it expires and a new one is made', () => {
    const events = given(...preProvisioned(T0)).when(preProvision(T0 + 61 * MIN, 2));
    expect(events.map((e) => e.type)).toEqual(['CredentialExpired', 'CredentialRevoked', 'CredentialPreProvisioned']);
  });

  test('failures: N within the window raise one alert, not one per failure; a new window may alert again', () => {
    const rule = { threshold: 3, windowMs: 10 * MIN };
    const fail = (at: number): CredentialCommand => ({ kind: 'RecordFailure', at, userId: 'u1', vmId: 'vm1', reason: 'UNAVAILABLE: hsm', rule });
    const history: CredentialEvent[] = [];
    const alerts: number[] = [];
    for (const at of [T0, T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN, T0 + 4 * MIN, T0 + 13 * MIN, T0 + 14 * MIN, T0 + 15 * MIN]) {
      const out = given(...history).when(fail(at));
      history.push(...out);
      if (out.some((e) => e.type === 'PreProvisioningAlertRaised')) alerts.push(at);
    }
    expect(alerts).toEqual([T0 + 2 * MIN, T0 + 15 * MIN]);
    const alert = history.find((e) => e.type === 'PreProvisioningAlertRaised')!;
    expect(alert.data).toMatchObject({ alertId: `preprov-failures:u1_vm1:${T0 + 2 * MIN}`, failuresInWindow: 3 });
  });

  test('failures spread wider than the window never alert', () => {
    const rule = { threshold: 2, windowMs: 5 * MIN };
    const history: CredentialEvent[] = [];
    for (const at of [T0, T0 + 6 * MIN, T0 + 12 * MIN]) {
      const out = given(...history).when({ kind: 'RecordFailure', at, userId: 'u1', vmId: 'vm1', reason: 'x', rule });
      expect(out.map((e) => e.type)).toEqual(['PreProvisioningFailed']);
      history.push(...out);
    }
  });

  test('no event holds anything but ids, digests, times and reasons', () => {
    const all = [...preProvisioned(T0), ...given(...preProvisioned(T0)).when(request(T0 + MIN))];
    for (const e of all) expect(JSON.stringify(e)).not.toMatch(/password|BEGIN PRIVATE/i);
  });
});

describe('user key decider', () => {
  const key = { userId: 'u1', algorithm: 'RSA-2048' as const, tokenLabel: 't', keyLabel: 'userkey/u1', keyId: 'ab', publicKeyPem: 'PEM', fingerprint: 'fp1', oaepHash: 'sha256' as const };
  test('given no key, when a key pair is recorded, then KeyPairGenerated; a second (racing) one decides nothing', () => {
    const first = userKeyDecider.decide({ kind: 'RecordKeyPair', at: T0, key }, userKeyDecider.initialState);
    expect(first).toEqual([{ type: 'KeyPairGenerated', data: { ...key, generatedAt: '2026-01-01T08:00:00.000Z' } }]);
    const s = fold(userKeyDecider, first);
    expect(userKeyDecider.decide({ kind: 'RecordKeyPair', at: T0, key: { ...key, fingerprint: 'fp2' } }, s)).toEqual([]);
  });

  test('a revoked key pair is replaced by a new one, never reinstated', () => {
    const h = userKeyDecider.decide({ kind: 'RecordKeyPair', at: T0, key }, userKeyDecider.initialState);
    const r = userKeyDecider.decide({ kind: 'RevokeKeyPair', at: T0 + 1, reason: 'lost' }, fold(userKeyDecider, h));
    const s = fold(userKeyDecider, [...h, ...r]);
    expect(s.active).toBeUndefined();
    expect(userKeyDecider.decide({ kind: 'RecordKeyPair', at: T0 + 2, key }, s)).toEqual([]);
    expect(userKeyDecider.decide({ kind: 'RecordKeyPair', at: T0 + 2, key: { ...key, fingerprint: 'fp2' } }, s)).toHaveLength(1);
  });
});

describe('credential metrics across roles', () => {
  test('given the provisioner and the API as separate metric observers on one registry, when a pre-provisioned credential is delivered, then it counts as used and the waste rate is 0 (regression: the API never saw it pre-provisioned, so waste read ~100%)', () => {
    const registry = new MetricsRegistry();
    const provisioner = new CredentialMetrics(registry);
    const api = new CredentialMetrics(registry);
    const h = preProvisioned(T0);
    for (const e of h) provisioner.observe(e);
    for (const e of given(...h).when(request(T0 + MIN))) api.observe(e);
    expect(api.snapshot()).toMatchObject({ preProvisioned: 1, preProvisionedDelivered: 1, wasteRate: 0, hits: 1 });
  });
});
