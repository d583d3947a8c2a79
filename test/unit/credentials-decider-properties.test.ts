import { fold } from '../../core/decider';
import { credentialDecider, deliveryPath, MaterialRequiredError, validCredential, type CredentialCommand, type CredentialState } from '../../credentials/credential-decider';
import type { CredentialEvent } from '../../credentials/events';

// Random command sequences against the credential Decider: whatever happens, the invariants hold.
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const MIN = 60_000;
const policy = { name: 'p', threshold: 0.5, validityMs: 30 * MIN, maxOutstandingPerUser: 3, maxOutstandingTotal: 10 };

function randomCommand(r: () => number, at: number, n: number): CredentialCommand {
  const material = { credentialId: `c${n}`, keyFingerprint: 'fp', ciphertextDigest: `d${n}` };
  const pick = r();
  if (pick < 0.35) {
    return { kind: 'PreProvision', at, userId: 'u', vmId: 'v', riskScore: r(), modelVersion: 'm', policy, outstanding: { user: Math.floor(r() * 4), total: 0 }, material };
  }
  if (pick < 0.7) return { kind: 'RequestAccess', at, userId: 'u', vmId: 'v', requestId: `r${n}`, validityMs: 20 * MIN, material: r() < 0.8 ? material : undefined };
  if (pick < 0.85) return { kind: 'Expire', at };
  if (pick < 0.93) return { kind: 'Revoke', at, by: r() < 0.5 ? 'admin' : 'system', reason: 'x' };
  return { kind: 'RecordFailure', at, userId: 'u', vmId: 'v', reason: 'down', rule: { threshold: 3, windowMs: 10 * MIN } };
}

describe('credential decider properties', () => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: 300 random commands keep the invariants', (seed) => {
    const r = prng(seed);
    const history: CredentialEvent[] = [];
    let state: CredentialState = credentialDecider.initialState;
    let at = Date.parse('2026-01-01T00:00:00Z');
    let alertTimes: number[] = [];
    for (let n = 0; n < 300; n++) {
      at += Math.floor(r() * 8 * MIN);
      const cmd = randomCommand(r, at, n);
      let events: readonly CredentialEvent[];
      try {
        events = credentialDecider.decide(cmd, state);
      } catch (err) {
        // the only refusal: a request that needs new material and brought none
        expect(err).toBeInstanceOf(MaterialRequiredError);
        expect(cmd.kind === 'RequestAccess' && !cmd.material && deliveryPath(state, at) !== 'pre-provisioned').toBe(true);
        continue;
      }
      const before = state;
      for (const e of events) state = credentialDecider.evolve(state, e);
      history.push(...events);

      // a delivery is always of the credential that is current and valid right after the command
      for (const e of events) {
        if (e.type === 'CredentialDelivered') {
          expect(state.current?.credentialId).toBe(e.data.credentialId);
          expect(validCredential(state, at)).toBeDefined();
        }
        if (e.type === 'PreProvisioningAlertRaised') alertTimes.push(at);
      }
      // pre-provisioning never replaces a credential that was still valid, and respects the caps
      if (events.some((e) => e.type === 'CredentialPreProvisioned')) {
        expect(validCredential(before, at)).toBeUndefined();
        expect(cmd.kind === 'PreProvision' && cmd.riskScore >= policy.threshold && cmd.outstanding.user < policy.maxOutstandingPerUser).toBe(true);
      }
      // the same command again on the new state adds no second delivery / pre-provisioning
      if (cmd.kind === 'PreProvision') expect(credentialDecider.decide(cmd, state).filter((e) => e.type === 'CredentialPreProvisioned')).toEqual([]);
    }
    // state is exactly the fold of the history
    expect(fold(credentialDecider, history)).toEqual(state);
    // at most one alert per window
    alertTimes = alertTimes.sort((a, b) => a - b);
    for (let i = 1; i < alertTimes.length; i++) expect(alertTimes[i] - alertTimes[i - 1]).toBeGreaterThanOrEqual(10 * MIN);
    // waste counted only for unused pre-provisioned credentials
    const wasted = history.filter((e) => e.type === 'CredentialExpired' && e.data.wasted).map((e) => (e.data as { credentialId: string }).credentialId);
    const pre = new Set(history.filter((e) => e.type === 'CredentialPreProvisioned').map((e) => (e.data as { credentialId: string }).credentialId));
    const delivered = new Set(history.filter((e) => e.type === 'CredentialDelivered').map((e) => (e.data as { credentialId: string }).credentialId));
    expect(pre.size).toBeGreaterThan(0); // the run exercised the interesting paths
    expect(delivered.size).toBeGreaterThan(pre.size / 4);
    for (const id of wasted) {
      expect(pre.has(id)).toBe(true);
      expect(delivered.has(id)).toBe(false);
    }
  });
});
