import type { Decider } from '../core/decider';
import { InvalidInputError } from '../core/errors';
import { assertNever } from '../core/event';
import type {
  AllocationEvent,
  HsmEvent,
  KeyAttributesApplied,
  KeyFamily,
  KeyVersionRef,
  PartitionRef,
  PolicyAction,
  RiskLevel,
  RiskProfile,
} from './events';

/**
 * The allocation aggregate: one per client network, stream allocation-<clientNetworkId>.
 * Commands carry their own time (`at`, ISO) and every number they act on.
 */
export type AllocationCommand =
  | {
      kind: 'Allocate';
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
  | {
      kind: 'Release';
      clientNetworkId: string;
      labels: string[];
      reason: 'scale-in' | 'release';
      predictedPeakOpsPerSec: number;
      measuredOpsPerSec: number;
      at: string;
    }
  | {
      kind: 'RecordExhaustion';
      clientNetworkId: string;
      tier: string;
      requiredOpsPerSecond: number;
      missingPartitions: number;
      shortfallOpsPerSecond: number;
      recommendedHsms: number;
      at: string;
    }
  | { kind: 'RecordConfigured'; clientNetworkId: string; label: string; keys: KeyVersionRef[]; profile: RiskProfile; at: string }
  | { kind: 'ApplyRiskProfile'; clientNetworkId: string; securityRisk: number; profile: RiskProfile; at: string }
  | { kind: 'RecordRotation'; clientNetworkId: string; label: string; key: KeyVersionRef; cause: string; at: string }
  | { kind: 'RecordRetirement'; clientNetworkId: string; label: string; family: KeyFamily; version: number; at: string }
  | { kind: 'Quarantine'; clientNetworkId: string; ruleId: string; reason: string; at: string }
  | { kind: 'LiftQuarantine'; clientNetworkId: string; ruleId: string; at: string }
  | { kind: 'RecordPolicyAction'; clientNetworkId: string; ruleId: string; action: PolicyAction; reason: string; at: string }
  | ({ kind: 'RecordAttributes' } & KeyAttributesApplied['data']);

export interface KeyFamilyState {
  current: KeyVersionRef;
  /** Versions still in the token (current included), oldest first, with when each was made. */
  versions: Array<KeyVersionRef & { createdAt: string }>;
}

export interface PartitionState extends PartitionRef {
  allocatedAt: string;
  configured: boolean;
  keys: Partial<Record<KeyFamily, KeyFamilyState>>;
}

export interface AllocationState {
  clientNetworkId: string | null;
  partitions: PartitionState[];
  /** Last allocate/release: scale-in waits minHold after it. */
  lastChangeAt: string | null;
  /** An open exhaustion episode: one failure event, one alert, until an allocation succeeds. */
  exhausted: { tier: string; since: string } | null;
  profile: RiskProfile | null;
  quarantined: { ruleId: string; since: string } | null;
  /** Last time each policy rule acted (cooldowns). */
  ruleFiredAt: Record<string, string>;
  /** The latest forecast time a forecast-driven decision carries: older forecasts were handled. */
  forecastAt: string | null;
}

export const initialAllocationState: AllocationState = {
  clientNetworkId: null,
  partitions: [],
  lastChangeAt: null,
  exhausted: null,
  profile: null,
  quarantined: null,
  ruleFiredAt: {},
  forecastAt: null,
};

export function capacityOf(s: AllocationState): number {
  return s.partitions.reduce((sum, p) => sum + p.opsPerSecond, 0);
}

function partition(s: AllocationState, label: string): PartitionState {
  const p = s.partitions.find((x) => x.label === label);
  if (!p) throw new InvalidInputError(`client network ${s.clientNetworkId ?? '?'}: partition ${label} is not allocated to it`);
  return p;
}

const LEVEL_ORDER: RiskLevel[] = ['low', 'elevated', 'high', 'critical'];
const sameProfile = (a: RiskProfile | null, b: RiskProfile) => a !== null && JSON.stringify(a) === JSON.stringify(b);

function decide(c: AllocationCommand, s: AllocationState): AllocationEvent[] {
  const id = c.clientNetworkId;
  switch (c.kind) {
    case 'Allocate': {
      if (c.partitions.length === 0) return [];
      for (const p of c.partitions) {
        if (s.partitions.some((x) => x.label === p.label)) throw new InvalidInputError(`partition ${p.label} is already allocated to ${id}`);
      }
      const { kind: _k, ...data } = c;
      return [{ type: 'PartitionsAllocated', data }];
    }
    case 'Release': {
      const labels = c.labels.filter((l) => s.partitions.some((p) => p.label === l));
      if (labels.length === 0) return [];
      return [{ type: 'PartitionsReleased', data: { ...stripKind(c), labels } }];
    }
    case 'RecordExhaustion': {
      if (s.exhausted) return []; // one alert per episode, not one per forecast
      return [
        { type: 'AllocationFailed', data: { clientNetworkId: id, tier: c.tier, requiredOpsPerSecond: c.requiredOpsPerSecond, missingPartitions: c.missingPartitions, at: c.at } },
        {
          type: 'ScaleOutRecommended',
          data: {
            clientNetworkId: id,
            tier: c.tier,
            shortfallPartitions: c.missingPartitions,
            shortfallOpsPerSecond: c.shortfallOpsPerSecond,
            recommendedHsms: c.recommendedHsms,
            at: c.at,
          },
        },
      ];
    }
    case 'RecordConfigured': {
      if (partition(s, c.label).configured) return [];
      return [{ type: 'PartitionConfigured', data: stripKind(c) }];
    }
    case 'ApplyRiskProfile': {
      if (sameProfile(s.profile, c.profile)) return [];
      return [{ type: 'RiskProfileApplied', data: { ...stripKind(c), previousLevel: s.profile?.level ?? null } }];
    }
    case 'RecordRotation': {
      const fam = partition(s, c.label).keys[c.key.family];
      const previousVersion = fam?.current.version ?? 0;
      if (c.key.version <= previousVersion) return []; // already recorded (redelivery)
      return [{ type: 'KeyRotated', data: { ...stripKind(c), previousVersion } }];
    }
    case 'RecordRetirement': {
      const fam = partition(s, c.label).keys[c.family];
      const v = fam?.versions.find((x) => x.version === c.version);
      if (!v) return [];
      if (fam && fam.current.version === c.version) throw new InvalidInputError(`cannot retire the current ${c.family} version ${c.version} of ${c.label}`);
      return [{ type: 'KeyVersionRetired', data: { clientNetworkId: id, label: c.label, family: c.family, version: c.version, keyLabel: v.keyLabel, at: c.at } }];
    }
    case 'Quarantine': {
      if (s.quarantined) return [];
      return [{ type: 'PartitionQuarantined', data: { clientNetworkId: id, labels: s.partitions.map((p) => p.label), ruleId: c.ruleId, reason: c.reason, at: c.at } }];
    }
    case 'LiftQuarantine':
      return s.quarantined ? [{ type: 'QuarantineLifted', data: stripKind(c) }] : [];
    case 'RecordPolicyAction':
      return [{ type: 'PolicyActionTaken', data: stripKind(c) }];
    case 'RecordAttributes':
      partition(s, c.label);
      return [{ type: 'KeyAttributesApplied', data: stripKind(c) }];
    default:
      return assertNever(c, 'allocation command');
  }
}

function stripKind<T extends { kind: string }>(c: T): Omit<T, 'kind'> {
  const { kind: _kind, ...rest } = c;
  return rest;
}

function withPartition(s: AllocationState, label: string, f: (p: PartitionState) => PartitionState): AllocationState {
  return { ...s, partitions: s.partitions.map((p) => (p.label === label ? f(p) : p)) };
}

const FORECAST_DRIVEN = new Set<AllocationEvent['type']>(['PartitionsAllocated', 'PartitionsReleased', 'AllocationFailed', 'PartitionConfigured', 'RiskProfileApplied']);

function evolve(state: AllocationState, e: AllocationEvent): AllocationState {
  const at = (e.data as { at?: string }).at;
  const s = FORECAST_DRIVEN.has(e.type) && at && (state.forecastAt === null || at > state.forecastAt) ? { ...state, forecastAt: at } : state;
  switch (e.type) {
    case 'PartitionsAllocated':
      return {
        ...s,
        clientNetworkId: e.data.clientNetworkId,
        partitions: [...s.partitions, ...e.data.partitions.map((p) => ({ ...p, allocatedAt: e.data.at, configured: false, keys: {} }))],
        lastChangeAt: e.data.at,
        exhausted: null,
      };
    case 'PartitionsReleased':
      return {
        ...s,
        clientNetworkId: e.data.clientNetworkId,
        partitions: s.partitions.filter((p) => !e.data.labels.includes(p.label)),
        lastChangeAt: e.data.at,
      };
    case 'AllocationFailed':
      return { ...s, clientNetworkId: e.data.clientNetworkId, exhausted: { tier: e.data.tier, since: e.data.at } };
    case 'ScaleOutRecommended':
      return s;
    case 'PartitionConfigured':
      return withPartition(s, e.data.label, (p) => ({
        ...p,
        configured: true,
        keys: Object.fromEntries(e.data.keys.map((k) => [k.family, { current: k, versions: [{ ...k, createdAt: e.data.at }] }])),
      }));
    case 'RiskProfileApplied':
      return { ...s, clientNetworkId: e.data.clientNetworkId, profile: e.data.profile };
    case 'KeyRotated':
      return withPartition(s, e.data.label, (p) => {
        const fam = p.keys[e.data.key.family];
        const versions = [...(fam?.versions ?? []), { ...e.data.key, createdAt: e.data.at }];
        return { ...p, keys: { ...p.keys, [e.data.key.family]: { current: e.data.key, versions } } };
      });
    case 'KeyVersionRetired':
      return withPartition(s, e.data.label, (p) => {
        const fam = p.keys[e.data.family];
        if (!fam) return p;
        return { ...p, keys: { ...p.keys, [e.data.family]: { ...fam, versions: fam.versions.filter((v) => v.version !== e.data.version) } } };
      });
    case 'PartitionQuarantined':
      return { ...s, quarantined: { ruleId: e.data.ruleId, since: e.data.at } };
    case 'QuarantineLifted':
      return { ...s, quarantined: null };
    case 'PolicyActionTaken':
      return { ...s, ruleFiredAt: { ...s.ruleFiredAt, [e.data.ruleId]: e.data.at } };
    case 'KeyAttributesApplied':
      return s;
    default:
      return assertNever(e, 'allocation event');
  }
}

export const allocationDecider: Decider<AllocationCommand, AllocationState, AllocationEvent> = {
  initialState: initialAllocationState,
  decide,
  evolve,
};

export const riskLevelRank = (l: RiskLevel): number => LEVEL_ORDER.indexOf(l);

/* ---------- hsm-<hsmId>: partition ownership ---------- */

export type HsmCommand =
  | { kind: 'AssignPartition'; hsmId: string; label: string; clientNetworkId: string; at: string }
  | { kind: 'FreePartition'; hsmId: string; label: string; clientNetworkId: string; at: string };

export interface HsmState {
  /** partition label -> client network holding it */
  assigned: Record<string, string>;
}

/** Thrown when a partition was taken by someone else between planning and claiming: re-plan. */
export class PartitionTakenError extends InvalidInputError {
  constructor(label: string, owner: string) {
    super(`partition ${label} is already assigned to ${owner}`);
  }
}

export const hsmDecider: Decider<HsmCommand, HsmState, HsmEvent> = {
  initialState: { assigned: {} },
  decide(c, s) {
    const owner = s.assigned[c.label];
    switch (c.kind) {
      case 'AssignPartition':
        if (owner === c.clientNetworkId) return [];
        if (owner) throw new PartitionTakenError(c.label, owner);
        return [{ type: 'PartitionAssigned', data: stripKind(c) }];
      case 'FreePartition':
        if (owner !== c.clientNetworkId) return [];
        return [{ type: 'PartitionFreed', data: stripKind(c) }];
      default:
        return assertNever(c, 'hsm command');
    }
  },
  evolve(s, e) {
    switch (e.type) {
      case 'PartitionAssigned':
        return { assigned: { ...s.assigned, [e.data.label]: e.data.clientNetworkId } };
      case 'PartitionFreed': {
        const { [e.data.label]: _gone, ...rest } = s.assigned;
        return { assigned: rest };
      }
      default:
        return assertNever(e, 'hsm event');
    }
  },
};
