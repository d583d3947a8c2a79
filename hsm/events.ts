import type { Event } from '../core/event';

/**
 * Events of the HSM pool. Two stream kinds:
 *   allocation-<clientNetworkId>: a client network's partitions, keys, risk profile, policy actions;
 *   hsm-<hsmId>: which partition of that HSM belongs to whom (the guard against double assignment).
 * Times are ISO strings of event time; no event holds a PIN or key material (key ids and labels
 * name keys inside the token).
 */

export interface PartitionRef {
  hsmId: string;
  /** The partition's token label: its durable name (slot ids change). */
  label: string;
  tier: string;
  opsPerSecond: number;
}

export type KeyFamily = 'root-wrap' | 'root-sign';
export type KeyKindName = 'aes-256' | 'ec-p256' | 'rsa-2048';

export interface KeyVersionRef {
  family: KeyFamily;
  version: number;
  kind: KeyKindName;
  keyLabel: string;
  keyId: string;
}

export type RiskLevel = 'low' | 'elevated' | 'high' | 'critical';
export type AuditLevel = 'standard' | 'detailed' | 'full';

/** What a security-risk level means for a partition's configuration. */
export interface RiskProfile {
  level: RiskLevel;
  rotationIntervalHours: number;
  /** Mechanisms callers may use with the partition's keys. */
  mechanisms: string[];
  /** Root wrapping key may only wrap/unwrap (not encrypt data directly) from this level up. */
  wrapOnlyRootKey: boolean;
  /** Old key versions kept for decryption before they are retired. */
  keepOldVersions: number;
  auditLevel: AuditLevel;
}

export type PolicyAction = 'rotate-now' | 'tighten-policy' | 'quarantine' | 'lift-quarantine' | 'alert';

export type PartitionsAllocated = Event<
  'PartitionsAllocated',
  {
    clientNetworkId: string;
    partitions: PartitionRef[];
    reason: 'predicted-peak' | 'scale-up' | 'measured-demand';
    requiredOpsPerSecond: number;
    predictedPeakOpsPerSec: number;
    predictedPeakTime: string;
    measuredOpsPerSec: number;
    modelVersion: string;
    at: string;
  }
>;
export type PartitionsReleased = Event<
  'PartitionsReleased',
  {
    clientNetworkId: string;
    labels: string[];
    reason: 'scale-in' | 'release';
    predictedPeakOpsPerSec: number;
    measuredOpsPerSec: number;
    at: string;
  }
>;
export type AllocationFailed = Event<
  'AllocationFailed',
  { clientNetworkId: string; tier: string; requiredOpsPerSecond: number; missingPartitions: number; at: string }
>;
export type ScaleOutRecommended = Event<
  'ScaleOutRecommended',
  {
    clientNetworkId: string;
    tier: string;
    shortfallPartitions: number;
    shortfallOpsPerSecond: number;
    recommendedHsms: number;
    at: string;
  }
>;
export type PartitionConfigured = Event<
  'PartitionConfigured',
  { clientNetworkId: string; label: string; keys: KeyVersionRef[]; profile: RiskProfile; at: string }
>;
export type RiskProfileApplied = Event<
  'RiskProfileApplied',
  { clientNetworkId: string; securityRisk: number; profile: RiskProfile; previousLevel: RiskLevel | null; at: string }
>;
export type KeyRotated = Event<
  'KeyRotated',
  { clientNetworkId: string; label: string; key: KeyVersionRef; previousVersion: number; cause: string; at: string }
>;
export type KeyVersionRetired = Event<
  'KeyVersionRetired',
  { clientNetworkId: string; label: string; family: KeyFamily; version: number; keyLabel: string; at: string }
>;
export type PartitionQuarantined = Event<
  'PartitionQuarantined',
  { clientNetworkId: string; labels: string[]; ruleId: string; reason: string; at: string }
>;
export type QuarantineLifted = Event<'QuarantineLifted', { clientNetworkId: string; ruleId: string; at: string }>;
export type PolicyActionTaken = Event<
  'PolicyActionTaken',
  { clientNetworkId: string; ruleId: string; action: PolicyAction; reason: string; at: string }
>;

/** Audit levels "detailed" and "full": what a profile change did to a key's attributes in the token. */
export type KeyAttributesApplied = Event<
  'KeyAttributesApplied',
  {
    clientNetworkId: string;
    label: string;
    keyLabel: string;
    usage: { encrypt: boolean; decrypt: boolean; wrap: boolean; unwrap: boolean };
    auditLevel: AuditLevel;
    cause: string;
    at: string;
  }
>;

export type AllocationEvent =
  | PartitionsAllocated
  | PartitionsReleased
  | AllocationFailed
  | ScaleOutRecommended
  | PartitionConfigured
  | RiskProfileApplied
  | KeyRotated
  | KeyVersionRetired
  | PartitionQuarantined
  | QuarantineLifted
  | PolicyActionTaken
  | KeyAttributesApplied;

export type PartitionAssigned = Event<'PartitionAssigned', { hsmId: string; label: string; clientNetworkId: string; at: string }>;
export type PartitionFreed = Event<'PartitionFreed', { hsmId: string; label: string; clientNetworkId: string; at: string }>;
export type HsmEvent = PartitionAssigned | PartitionFreed;

export const allocationStream = (clientNetworkId: string): string => `allocation-${clientNetworkId}`;
export const hsmStream = (hsmId: string): string => `hsm-${hsmId}`;

/** The pool as a whole, stream hsm-pool.<poolId>: warnings that it must grow, before anyone is refused. */
export type PoolLowWater = Event<
  'PoolLowWater',
  { tier: string; capacity: number; used: number; free: number; recommendedHsms: number; at: string }
>;
export type PoolRecovered = Event<'PoolRecovered', { tier: string; capacity: number; free: number; at: string }>;
/** First decision for a client network: lets `hsm pool` list every allocation without scanning $all. */
export type ClientNetworkSeen = Event<'ClientNetworkSeen', { clientNetworkId: string; at: string }>;
export type PoolEvent = PoolLowWater | PoolRecovered | ClientNetworkSeen;
/** One stream per pool (the pool file's `poolId`), so pools and test runs sharing a store stay apart. */
export const poolStream = (poolId: string): string => `hsm-pool.${poolId}`;
