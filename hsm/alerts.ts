import type { AdminAlert } from '../schemas/types';
import type { PoolLowWater, RiskLevel } from './events';
import type { Plan } from './planner';

/**
 * The admin alerts the HSM role raises, as pure builders. Event ids derive from the causing
 * record, so a redelivered record repeats the same id (consumers can drop duplicates). Never a
 * PIN or key material: labels, counts and ids only.
 */
export function policyAlert(a: { eventId: string; now: number; clientNetworkId: string; ruleId: string; reason: string; securityRisk: number; riskLevel: RiskLevel }): AdminAlert {
  return {
    eventId: a.eventId,
    timestamp: a.now,
    subject: `client-network:${a.clientNetworkId}`,
    kind: 'SECURITY',
    severity: a.riskLevel === 'critical' ? 'CRITICAL' : 'WARNING',
    message: `HSM policy rule ${a.ruleId} fired for client network ${a.clientNetworkId}: ${a.reason}`,
    details: { clientNetworkId: a.clientNetworkId, ruleId: a.ruleId, securityRisk: String(a.securityRisk) },
  };
}

export function poolLowAlert(eventId: string, now: number, d: PoolLowWater['data'], reserveFraction: number): AdminAlert {
  return {
    eventId,
    timestamp: now,
    subject: `hsm-pool:${d.tier}`,
    kind: 'POOL_EXHAUSTED',
    severity: 'WARNING',
    message: `HSM pool tier ${d.tier} is running low: ${d.free} of ${d.capacity} partitions free (reserve ${Math.round(reserveFraction * 100)}%); add ${d.recommendedHsms} HSM(s) of tier ${d.tier} before it runs out`,
    details: { tier: d.tier, free: String(d.free), capacity: String(d.capacity), recommendedHsms: String(d.recommendedHsms) },
  };
}

export function poolExhaustedAlert(eventId: string, now: number, clientNetworkId: string, p: Extract<Plan, { kind: 'exhausted' }>): AdminAlert {
  return {
    eventId,
    timestamp: now,
    subject: `hsm-pool:${p.tier}`,
    kind: 'POOL_EXHAUSTED',
    severity: 'CRITICAL',
    message: `HSM pool tier ${p.tier} cannot supply ${p.missingPartitions} partition(s) (${p.shortfallOpsPerSecond} ops/s) for client network ${clientNetworkId}; add ${p.recommendedHsms} HSM(s) of tier ${p.tier}`,
    details: {
      clientNetworkId,
      tier: p.tier,
      shortfallPartitions: String(p.missingPartitions),
      shortfallOpsPerSecond: String(p.shortfallOpsPerSecond),
      recommendedHsms: String(p.recommendedHsms),
    },
  };
}
