import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../core/errors';
import { CredentialMetrics } from '../../credentials/metrics';
import { DEFAULT_CREDENTIALS_CONFIG, loadCredentialsConfig, parseCredentialsConfig, parseDurationMs, policyFor, scoreFor } from '../../credentials/policy';

describe('credential policies', () => {
  test('durations: ISO-8601 and milliseconds; nonsense is a ConfigError', () => {
    expect(parseDurationMs('PT15M', 'x')).toBe(900_000);
    expect(parseDurationMs('P1DT1H', 'x')).toBe(90_000_000);
    expect(parseDurationMs('PT0.5S', 'x')).toBe(500);
    expect(parseDurationMs(1234, 'x')).toBe(1234);
    expect(() => parseDurationMs('15m', 'validity')).toThrow(/validity: "15m" is not a duration/);
    expect(() => parseDurationMs('PT', 'x')).toThrow(ConfigError);
  });

  test('the longest vmPrefix wins, the default covers the rest', () => {
    const cfg = parseCredentialsConfig({
      default: { threshold: 0.5, validity: 'PT1H' },
      policies: [
        { name: 'prod', vmPrefix: 'prod-', threshold: 0.8, validity: 'PT15M' },
        { name: 'prod-db', vmPrefix: 'prod-db-', threshold: 0.9 },
      ],
      alerts: { threshold: 5, window: 'PT5M' },
    });
    expect(policyFor(cfg, 'dev-1')).toMatchObject({ name: 'default', threshold: 0.5, validityMs: 3_600_000 });
    expect(policyFor(cfg, 'prod-web-1')).toMatchObject({ name: 'prod', threshold: 0.8, validityMs: 900_000 });
    expect(policyFor(cfg, 'prod-db-1')).toMatchObject({ name: 'prod-db', threshold: 0.9, validityMs: 3_600_000 });
    expect(cfg.alerts).toEqual({ threshold: 5, windowMs: 300_000 });
  });

  test('bad values are rejected once, with the place and the fix', () => {
    expect(() => parseCredentialsConfig({ default: { threshold: 1.5 } })).toThrow(/default.threshold: 1.5 must be a number from 0 to 1/);
    expect(() => parseCredentialsConfig({ policies: [{ threshold: 0.5 }] })).toThrow(/needs a name and a vmPrefix/);
    expect(() => parseCredentialsConfig({ password: { length: 6 } })).toThrow(/length 6/);
  });

  test('no file: defaults; FORESIGHT_CREDENTIALS_POLICY pointing nowhere: ConfigError; a YAML file is read', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cred-pol-'));
    expect(loadCredentialsConfig(dir, {})).toBe(DEFAULT_CREDENTIALS_CONFIG);
    expect(() => loadCredentialsConfig(dir, { FORESIGHT_CREDENTIALS_POLICY: path.join(dir, 'none.yaml') })).toThrow(/no such file/);
    fs.writeFileSync(path.join(dir, 'credentials.yaml'), 'default:\n  threshold: 0.7\n  maxOutstandingPerUser: 1\n');
    expect(loadCredentialsConfig(dir, {}).default).toMatchObject({ threshold: 0.7, maxOutstandingPerUser: 1 });
    fs.rmSync(dir, { recursive: true });
  });
});

describe('credential policies: the horizon a policy acts on', () => {
  const HOUR = 3_600_000;

  test('given horizon PT4H and no validity, when parsed, then the credential is valid for the horizon', () => {
    const cfg = parseCredentialsConfig({ default: { horizon: 'PT4H', threshold: 0.4 } });
    expect(cfg.default).toMatchObject({ horizon: 'PT4H', threshold: 0.4, validityMs: 4 * HOUR });
  });

  test('given a horizon and a validity, when parsed, then the validity given wins', () => {
    expect(parseCredentialsConfig({ default: { horizon: 'P1D', validity: 'PT2H' } }).default).toMatchObject({ horizon: 'P1D', validityMs: 2 * HOUR });
  });

  test('given no horizon, when parsed, then the policy is exactly what it was before horizons existed', () => {
    const cfg = parseCredentialsConfig({ default: { threshold: 0.5, validity: 'PT1H' }, policies: [{ name: 'prod', vmPrefix: 'prod-', threshold: 0.8 }] });
    expect(cfg.default).toEqual({ name: 'default', threshold: 0.5, validityMs: HOUR, maxOutstandingPerUser: 5, maxOutstandingTotal: 10_000 });
    expect(cfg.policies[0]).not.toHaveProperty('horizon');
  });

  test('given a default horizon, when a named policy sets none, then it inherits horizon and validity; one setting its own horizon takes that horizon as validity', () => {
    const cfg = parseCredentialsConfig({
      default: { horizon: 'PT4H', threshold: 0.3 },
      policies: [
        { name: 'dev', vmPrefix: 'dev-' },
        { name: 'batch', vmPrefix: 'batch-', horizon: 'PT8H' },
      ],
    });
    expect(policyFor(cfg, 'dev-1')).toMatchObject({ name: 'dev', horizon: 'PT4H', validityMs: 4 * HOUR });
    expect(policyFor(cfg, 'batch-1')).toMatchObject({ name: 'batch', horizon: 'PT8H', validityMs: 8 * HOUR, threshold: 0.3 });
  });

  test('given an unknown horizon, when parsed, then a ConfigError names the place and the valid horizons', () => {
    expect(() => parseCredentialsConfig({ default: { horizon: 'PT3H' } })).toThrow(ConfigError);
    expect(() => parseCredentialsConfig({ default: { horizon: 'PT3H' } })).toThrow(
      /default\.horizon: "PT3H" is not a horizon the access model scores; use one of PT1H, PT2H, PT4H, PT8H, PT16H, P1D/,
    );
    expect(() => parseCredentialsConfig({ policies: [{ name: 'p', vmPrefix: 'x-', horizon: 4 }] })).toThrow(/policies\[0\]\.horizon: 4 is not a horizon/);
  });

  test('given a YAML file with a horizon, when loaded, then the horizon is there', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cred-pol-'));
    fs.writeFileSync(path.join(dir, 'credentials.yaml'), 'default:\n  horizon: PT4H\n  threshold: 0.3\n');
    expect(loadCredentialsConfig(dir, {}).default).toMatchObject({ horizon: 'PT4H', validityMs: 4 * HOUR });
    fs.writeFileSync(path.join(dir, 'credentials.yaml'), 'default:\n  horizon: 4h\n');
    expect(() => loadCredentialsConfig(dir, {})).toThrow(/horizon: "4h" is not a horizon/);
    fs.rmSync(dir, { recursive: true });
  });

  test('scoreFor: the primary score without a horizon; the horizon score with one; nothing when the record lacks it', () => {
    const r = { riskScore: 0.1, horizon: 'PT1H', horizonScores: { PT1H: 0.1, PT4H: 0.6 } };
    const base = DEFAULT_CREDENTIALS_CONFIG.default;
    expect(scoreFor(r, base)).toBe(0.1);
    expect(scoreFor(r, { ...base, horizon: 'PT4H' })).toBe(0.6);
    expect(scoreFor(r, { ...base, horizon: 'P1D' })).toBeUndefined();
    expect(scoreFor({ ...r, horizonScores: {} }, { ...base, horizon: 'PT1H' })).toBe(0.1);
  });
});

describe('credential metrics', () => {
  test('hit rate and waste are derived from the events', () => {
    const m = new CredentialMetrics();
    const pre = (id: string) =>
      m.observe({
        type: 'CredentialPreProvisioned',
        data: { credentialId: id, keyFingerprint: 'f', ciphertextDigest: 'd', userId: 'u', vmId: 'v', issuedAt: '', expiresAt: '', riskScore: 1, threshold: 0.5, modelVersion: 'm', policy: 'p' },
      });
    pre('a');
    pre('b');
    pre('c');
    m.observe({ type: 'CredentialDelivered', data: { credentialId: 'a', requestId: 'r1', source: 'pre-provisioned', deliveredAt: '' } });
    m.observe({ type: 'CredentialDelivered', data: { credentialId: 'a', requestId: 'r2', source: 'pre-provisioned', deliveredAt: '' } });
    m.observe({ type: 'CredentialDelivered', data: { credentialId: 'x', requestId: 'r3', source: 'on-demand', deliveredAt: '' } });
    m.observe({ type: 'CredentialDelivered', data: { credentialId: 'y', requestId: 'r4', source: 'refreshed', deliveredAt: '' } });
    // a repeat request for a credential made on demand: fast, but no hit
    m.observe({ type: 'CredentialDelivered', data: { credentialId: 'x', requestId: 'r5', source: 'pre-provisioned', origin: 'on-demand', deliveredAt: '' } });
    m.observe({ type: 'CredentialExpired', data: { credentialId: 'b', expiredAt: '', wasted: true } });
    m.skip('user-cap');
    m.requestServed('pre-provisioned', 2);
    m.requestServed('pre-provisioned', 4);
    const s = m.snapshot();
    expect(s.hits).toBe(2); // a1 twice (events without origin predate it: source decides)
    expect(s.hitRate).toBe(0.4);
    expect(s.preProvisionedDelivered).toBe(1);
    expect(s.wasteRate).toBe(0.5); // a used, b wasted, c unresolved
    const text = m.prometheus();
    expect(text).toContain('foresight_access_requests_total{source="pre-provisioned"} 3');
    expect(text).toContain('foresight_access_requests_hit_total 2');
    expect(text).toContain('foresight_credential_hit_rate 0.4');
    expect(text).toContain('foresight_preprovisioning_skipped_total{reason="user-cap"} 1');
    expect(text).toMatch(/# TYPE foresight_credentials_wasted_total counter\nforesight_credentials_wasted_total 1/);
    expect(text).toContain('foresight_access_request_seconds_count{source="pre-provisioned"} 2');
  });
});
