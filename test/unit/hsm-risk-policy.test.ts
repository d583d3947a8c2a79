import { ConfigError, ForbiddenError } from '../../core/errors';
import { guardMechanisms } from '../../hsm/mechanism-guard';
import type { HsmSession } from '../../hsm/ports';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { evaluatePolicy, factsFrom, parsePolicy } from '../../hsm/policy';
import { PROFILES, profileFor, riskLevel, rotationDue, tighter } from '../../hsm/risk-profile';

describe('risk profile', () => {
  test.each([
    [0.1, 'low'],
    [0.3, 'elevated'],
    [0.7, 'high'],
    [0.85, 'critical'],
    [1.4, 'critical'],
  ])('score %p maps to %p', (score, level) => expect(riskLevel(score, null)).toBe(level));

  test('tightening is immediate; relaxing needs the score clear of the floor by a margin', () => {
    expect(riskLevel(0.9, 'low')).toBe('critical');
    expect(riskLevel(0.83, 'critical')).toBe('critical'); // inside the margin: stays
    expect(riskLevel(0.79, 'critical')).toBe('high');
    expect(riskLevel(0.1, 'critical')).toBe('low');
  });

  test('higher risk: shorter rotation, fewer mechanisms, fuller audit', () => {
    const low = profileFor(0.1, null);
    const crit = profileFor(0.95, null);
    expect(crit.rotationIntervalHours).toBeLessThan(low.rotationIntervalHours);
    expect(crit.mechanisms).not.toContain('RSA-SHA256');
    expect(low.mechanisms).toContain('RSA-SHA256');
    expect([low.auditLevel, crit.auditLevel]).toEqual(['standard', 'full']);
    expect(tighter(PROFILES.elevated).level).toBe('high');
    expect(tighter(PROFILES.critical).level).toBe('critical');
  });

  test('rotation is due when the current version is older than the interval', () => {
    const made = '2026-03-01T00:00:00Z';
    expect(rotationDue(made, Date.parse('2026-03-01T05:59:00Z'), PROFILES.critical)).toBe(false);
    expect(rotationDue(made, Date.parse('2026-03-01T06:00:00Z'), PROFILES.critical)).toBe(true);
  });
});

const rules = parsePolicy(
  `
rules:
  - id: exfil
    when: { threatIndicators: { includesAny: [key-exfiltration] } }
    then: [quarantine, alert]
  - id: critical
    when: { securityRisk: { gte: 0.85 } }
    then: [rotate-now, alert]
    cooldownMinutes: 60
  - id: malware-and-risk
    when: { securityRisk: { gte: 0.5 }, threatIndicators: { includesAny: [malware] } }
    then: tighten-policy
  - id: overload
    when: { utilization: { gt: 1 } }
    then: [alert]
`,
  'policy.yaml',
);
const facts = (over: Partial<Parameters<typeof factsFrom>[0]> = {}, capacity = 1000) =>
  factsFrom({ securityRisk: 0.1, predictedPeakOpsPerSec: 100, measuredOpsPerSec: 100, threatIndicators: [], ...over }, capacity, 'low');
const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('policy engine', () => {
  test('given calm facts, then no action', () => {
    expect(evaluatePolicy(rules, facts(), NOW)).toEqual([]);
  });

  test('given a key-exfiltration indicator, then quarantine and alert, with the reason', () => {
    expect(evaluatePolicy(rules, facts({ threatIndicators: ['scan', 'key-exfiltration'] }), NOW)).toEqual([
      { ruleId: 'exfil', action: 'quarantine', reason: 'threat indicators key-exfiltration' },
      { ruleId: 'exfil', action: 'alert', reason: 'threat indicators key-exfiltration' },
    ]);
  });

  test('all conditions of a rule must hold', () => {
    expect(evaluatePolicy(rules, facts({ threatIndicators: ['malware'] }), NOW)).toEqual([]);
    expect(evaluatePolicy(rules, facts({ securityRisk: 0.6, threatIndicators: ['malware'] }), NOW).map((d) => d.action)).toEqual(['tighten-policy']);
  });

  test('a rule that fired stays silent for its cooldown', () => {
    const f = facts({ securityRisk: 0.9 });
    expect(evaluatePolicy(rules, f, NOW).map((d) => d.action)).toEqual(['rotate-now', 'alert']);
    expect(evaluatePolicy(rules, f, NOW, { critical: '2026-03-01T11:30:00Z' })).toEqual([]);
    expect(evaluatePolicy(rules, f, NOW, { critical: '2026-03-01T11:00:00Z' }).length).toBe(2);
  });

  test('utilization: measured over capacity, and any demand with no capacity, is overload', () => {
    expect(evaluatePolicy(rules, facts({ measuredOpsPerSec: 1200 }), NOW).map((d) => d.ruleId)).toEqual(['overload']);
    expect(evaluatePolicy(rules, facts({ measuredOpsPerSec: 5 }, 0), NOW).map((d) => d.ruleId)).toEqual(['overload']);
  });

  test.each([
    ['an unknown action', 'rules: [{ id: a, when: { securityRisk: { gt: 0.5 } }, then: [explode] }]', /rules\[0\]\.then "explode" is not an action/],
    ['an unknown fact', 'rules: [{ id: a, when: { weather: { gt: 1 } }, then: [alert] }]', /rules\[0\]\.when\.weather is not a known fact/],
    ['a bad operator', 'rules: [{ id: a, when: { securityRisk: { above: 1 } }, then: [alert] }]', /securityRisk\.above is not an operator/],
    ['a duplicate id', 'rules: [{ id: a, when: { securityRisk: { gt: 1 } }, then: [alert] }, { id: a, when: { securityRisk: { gt: 1 } }, then: [alert] }]', /"a" is used twice/],
    ['no conditions', 'rules: [{ id: a, when: {}, then: [alert] }]', /needs at least one condition/],
  ])('given %s, then a ConfigError says where', (_w, text, msg) => {
    expect(() => parsePolicy(text, 'policy.yaml')).toThrow(ConfigError);
    expect(() => parsePolicy(text, 'policy.yaml')).toThrow(msg);
  });

  test('the shipped example policy is valid', () => {
    const file = path.join(__dirname, '..', '..', 'hsm', 'policy.example.yaml');
    expect(parsePolicy(fs.readFileSync(file, 'utf8'), file).map((r) => r.id)).toContain('key-exfiltration');
  });
});

describe('mechanism guard', () => {
  const calls: string[] = [];
  const inner = {
    tokenLabel: 'p1',
    sign: async () => (calls.push('sign'), Buffer.alloc(1)),
    encrypt: async () => (calls.push('encrypt'), Buffer.alloc(1)),
  } as unknown as HsmSession;
  const rsa = { tokenLabel: 'p1', label: 'k', id: '01', kind: 'rsa-2048', keyClass: 'private' } as const;
  const aes = { tokenLabel: 'p1', label: 'a', id: '02', kind: 'aes-256', keyClass: 'secret' } as const;

  test('a mechanism the profile dropped is refused before it reaches the token; the rest pass', async () => {
    const allowed = { list: PROFILES.low.mechanisms };
    const s = guardMechanisms(inner, () => allowed.list);
    await s.sign(rsa, Buffer.from('x'));
    allowed.list = PROFILES.high.mechanisms; // risk rose: PKCS#1 v1.5 signing is out
    await expect(s.sign(rsa, Buffer.from('x'))).rejects.toThrow(/RSA-SHA256 is not permitted/);
    await s.encrypt(aes, Buffer.from('x'));
    allowed.list = []; // quarantined
    await expect(s.encrypt(aes, Buffer.from('x'))).rejects.toThrow(ForbiddenError);
    expect(calls).toEqual(['sign', 'encrypt']);
  });
});
