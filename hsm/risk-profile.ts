import type { RiskLevel, RiskProfile } from './events';

/**
 * Security-risk score (0..1) -> partition configuration, pure. Tightening is immediate; relaxing
 * waits until the score is `RELAX_MARGIN` under the level's floor, so a score wobbling around a
 * boundary does not flip the configuration (and rotate keys) on every forecast.
 */
export const LEVEL_FLOORS: Record<RiskLevel, number> = { low: 0, elevated: 0.3, high: 0.6, critical: 0.85 };
const ORDER: RiskLevel[] = ['low', 'elevated', 'high', 'critical'];
export const RELAX_MARGIN = 0.05;

const ALL_MECHANISMS = ['AES-GCM', 'RSA-OAEP', 'RSA-SHA256', 'ECDSA-SHA256'];

export const PROFILES: Record<RiskLevel, RiskProfile> = {
  low: { level: 'low', rotationIntervalHours: 720, mechanisms: ALL_MECHANISMS, wrapOnlyRootKey: false, keepOldVersions: 3, auditLevel: 'standard' },
  elevated: { level: 'elevated', rotationIntervalHours: 168, mechanisms: ALL_MECHANISMS, wrapOnlyRootKey: true, keepOldVersions: 2, auditLevel: 'detailed' },
  // PKCS#1 v1.5 signatures go first: deterministic padding, the older attack surface.
  high: { level: 'high', rotationIntervalHours: 24, mechanisms: ['AES-GCM', 'RSA-OAEP', 'ECDSA-SHA256'], wrapOnlyRootKey: true, keepOldVersions: 1, auditLevel: 'full' },
  critical: { level: 'critical', rotationIntervalHours: 6, mechanisms: ['AES-GCM', 'ECDSA-SHA256'], wrapOnlyRootKey: true, keepOldVersions: 1, auditLevel: 'full' },
};

function rawLevel(score: number): RiskLevel {
  let level: RiskLevel = 'low';
  for (const l of ORDER) if (score >= LEVEL_FLOORS[l]) level = l;
  return level;
}

/** The level for `score`, given the level in force (null: none yet). */
export function riskLevel(score: number, current: RiskLevel | null): RiskLevel {
  if (!Number.isFinite(score)) return current ?? 'low';
  const s = Math.min(1, Math.max(0, score));
  const target = rawLevel(s);
  if (current === null) return target;
  const ci = ORDER.indexOf(current);
  const ti = ORDER.indexOf(target);
  if (ti >= ci) return target;
  // Relaxing: step down only as far as the score clears each floor by the margin.
  let level = current;
  while (ORDER.indexOf(level) > ti && s < LEVEL_FLOORS[level] - RELAX_MARGIN) level = ORDER[ORDER.indexOf(level) - 1];
  return level;
}

export function profileFor(score: number, current: RiskProfile | null): RiskProfile {
  return PROFILES[riskLevel(score, current?.level ?? null)];
}

/** The profile one step tighter than `p` (the policy engine's "tighten-policy"). */
export function tighter(p: RiskProfile | null): RiskProfile {
  const i = p ? ORDER.indexOf(p.level) : 0;
  return PROFILES[ORDER[Math.min(ORDER.length - 1, i + 1)]];
}

/** Is the current key version older than the profile's rotation interval allows? */
export function rotationDue(createdAt: string, now: number, profile: RiskProfile): boolean {
  return now - Date.parse(createdAt) >= profile.rotationIntervalHours * 3_600_000;
}
