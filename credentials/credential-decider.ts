import type { Decider } from '../core/decider';
import { InvalidInputError } from '../core/errors';
import { assertNever } from '../core/event';
import type { CredentialEvent, CredentialMaterial, CredentialOrigin, DeliverySource, RevokedBy } from './events';
import { EMPTY_WINDOW, noteAlert, noteFailure, withFailure, type AlertRule, type FailureWindow } from './failure-window';

/**
 * The credential of one user on one VM (stream `credential-<userId>_<vmId>`). At most one
 * credential is current; a new one replaces it. Pure: every time, score and piece of key
 * material arrives in the command.
 */

export interface CurrentCredential {
  credentialId: string;
  origin: CredentialOrigin;
  keyFingerprint: string;
  ciphertextDigest: string;
  issuedAt: number;
  expiresAt: number;
  delivered: boolean;
  status: 'active' | 'expired' | 'revoked';
  revokedBy?: RevokedBy;
}

export interface CredentialState {
  current?: CurrentCredential;
  failures: FailureWindow;
  /** Lifetime counts for this pair, for metrics rebuilt from history. */
  stats: { preProvisioned: number; delivered: number; wasted: number };
}

export interface PreProvisionPolicy {
  name: string;
  /** Risk score at or above which a credential is made ready. */
  threshold: number;
  validityMs: number;
  maxOutstandingPerUser: number;
  maxOutstandingTotal: number;
}

/** Pre-provisioned credentials not yet delivered nor expired, as counted by the vault. */
export interface Outstanding {
  user: number;
  total: number;
}

export type CredentialCommand =
  | {
      kind: 'PreProvision';
      at: number;
      userId: string;
      vmId: string;
      riskScore: number;
      /** From the risk record; null when none is expected within the model's horizon. */
      predictedAccessTime?: number | null;
      modelVersion: string;
      policy: PreProvisionPolicy;
      outstanding: Outstanding;
      material: CredentialMaterial;
    }
  | {
      kind: 'RequestAccess';
      at: number;
      userId: string;
      vmId: string;
      requestId: string;
      validityMs: number;
      /** Fresh material, needed unless a valid credential is there (see deliveryPath). */
      material?: CredentialMaterial;
    }
  | { kind: 'Expire'; at: number }
  | { kind: 'Revoke'; at: number; by: RevokedBy; reason: string }
  | { kind: 'RecordFailure'; at: number; userId: string; vmId: string; reason: string; rule: AlertRule };

export const initialCredentialState: CredentialState = {
  failures: EMPTY_WINDOW,
  stats: { preProvisioned: 0, delivered: 0, wasted: 0 },
};

/** The current credential when it can be handed out at `at`. */
export function validCredential(s: CredentialState, at: number): CurrentCredential | undefined {
  const c = s.current;
  return c && c.status === 'active' && at < c.expiresAt ? c : undefined;
}

export type PreProvisionVerdict = 'provision' | 'below-threshold' | 'too-early' | 'already-valid' | 'user-cap' | 'total-cap';

/** Whether pre-provisioning is worth doing; checked before the HSM is touched and again in decide. */
export function preProvisionVerdict(
  s: CredentialState,
  c: { at: number; riskScore: number; policy: PreProvisionPolicy; outstanding: Outstanding; predictedAccessTime?: number | null },
): PreProvisionVerdict {
  if (!(c.riskScore >= c.policy.threshold)) return 'below-threshold';
  if (validCredential(s, c.at)) return 'already-valid';
  // Made now, it would expire before the predicted access: pure waste. A later score, nearer
  // the access, will make it in time.
  if (c.predictedAccessTime != null && c.predictedAccessTime >= c.at + c.policy.validityMs) return 'too-early';
  if (c.outstanding.user >= c.policy.maxOutstandingPerUser) return 'user-cap';
  if (c.outstanding.total >= c.policy.maxOutstandingTotal) return 'total-cap';
  return 'provision';
}

/** Which path a request at `at` takes; 'refreshed' and 'on-demand' need fresh material. */
export function deliveryPath(s: CredentialState, at: number): DeliverySource {
  if (validCredential(s, at)) return 'pre-provisioned';
  const c = s.current;
  // A credential revoked by an admin is not renewed behind the admin's back: a new one is issued.
  if (!c || (c.status === 'revoked' && c.revokedBy === 'admin')) return 'on-demand';
  return 'refreshed';
}

/** Thrown by decide when a request needs new material the caller did not bring. */
export class MaterialRequiredError extends InvalidInputError {
  constructor(readonly path: DeliverySource) {
    super(`access request needs a new credential (${path}) but none was supplied`);
  }
}

const iso = (t: number): string => new Date(t).toISOString();

function expiryEvents(c: CurrentCredential, at: number): CredentialEvent[] {
  const wasted = c.origin === 'pre-provisioned' && !c.delivered;
  const out: CredentialEvent[] = [{ type: 'CredentialExpired', data: { credentialId: c.credentialId, expiredAt: iso(at), wasted } }];
  if (wasted) {
    out.push({
      type: 'CredentialRevoked',
      data: { credentialId: c.credentialId, revokedAt: iso(at), by: 'waste-guard', reason: 'unused within its validity window' },
    });
  }
  return out;
}

function decide(cmd: CredentialCommand, s: CredentialState): CredentialEvent[] {
  switch (cmd.kind) {
    case 'PreProvision': {
      if (preProvisionVerdict(s, cmd) !== 'provision') return [];
      const prior = s.current && s.current.status === 'active' ? expiryEvents(s.current, cmd.at) : [];
      return [
        ...prior,
        {
          type: 'CredentialPreProvisioned',
          data: {
            ...cmd.material,
            userId: cmd.userId,
            vmId: cmd.vmId,
            issuedAt: iso(cmd.at),
            expiresAt: iso(cmd.at + cmd.policy.validityMs),
            riskScore: cmd.riskScore,
            threshold: cmd.policy.threshold,
            modelVersion: cmd.modelVersion,
            policy: cmd.policy.name,
          },
        },
      ];
    }
    case 'RequestAccess': {
      const path = deliveryPath(s, cmd.at);
      const delivered = (credentialId: string, source: DeliverySource, origin: CredentialOrigin): CredentialEvent => ({
        type: 'CredentialDelivered',
        data: { credentialId, requestId: cmd.requestId, source, origin, deliveredAt: iso(cmd.at) },
      });
      if (path === 'pre-provisioned') {
        const c = s.current!;
        const e = delivered(c.credentialId, path, c.origin);
        return [c.origin === 'pre-provisioned' && !c.delivered ? { ...e, data: { ...e.data, firstUse: true } } as CredentialEvent : e];
      }
      if (!cmd.material) throw new MaterialRequiredError(path);
      const times = { issuedAt: iso(cmd.at), expiresAt: iso(cmd.at + cmd.validityMs) };
      const who = { userId: cmd.userId, vmId: cmd.vmId, requestId: cmd.requestId };
      if (path === 'on-demand') {
        return [{ type: 'CredentialIssued', data: { ...cmd.material, ...who, ...times } }, delivered(cmd.material.credentialId, path, 'on-demand')];
      }
      const prev = s.current!;
      return [
        ...(prev.status === 'active' ? expiryEvents(prev, cmd.at) : []),
        { type: 'CredentialRefreshed', data: { ...cmd.material, ...who, ...times, previousCredentialId: prev.credentialId } },
        delivered(cmd.material.credentialId, path, 'refreshed'),
      ];
    }
    case 'Expire': {
      const c = s.current;
      if (!c || c.status !== 'active' || cmd.at < c.expiresAt) return [];
      return expiryEvents(c, cmd.at);
    }
    case 'Revoke': {
      const c = s.current;
      if (!c || c.status === 'revoked') return [];
      return [{ type: 'CredentialRevoked', data: { credentialId: c.credentialId, revokedAt: iso(cmd.at), by: cmd.by, reason: cmd.reason } }];
    }
    case 'RecordFailure': {
      const { window, alert } = noteFailure(s.failures, cmd.at, cmd.rule);
      const n = window.times.length;
      const out: CredentialEvent[] = [
        {
          type: 'PreProvisioningFailed',
          data: { userId: cmd.userId, vmId: cmd.vmId, failedAt: iso(cmd.at), reason: cmd.reason, failuresInWindow: n, windowMs: cmd.rule.windowMs },
        },
      ];
      if (alert) {
        out.push({
          type: 'PreProvisioningAlertRaised',
          data: {
            alertId: preProvisioningAlertId(cmd.userId, cmd.vmId, cmd.at),
            userId: cmd.userId,
            vmId: cmd.vmId,
            raisedAt: iso(cmd.at),
            failuresInWindow: n,
            windowMs: cmd.rule.windowMs,
          },
        });
      }
      return out;
    }
    default:
      return assertNever(cmd, 'credential command');
  }
}

/** One id per alert cause: the same alert decided twice (redelivery, two processes) dedups downstream. */
export function preProvisioningAlertId(userId: string, vmId: string, at: number): string {
  return `preprov-failures:${userId}_${vmId}:${at}`;
}

function fresh(
  d: CredentialMaterial & { issuedAt: string; expiresAt: string },
  origin: CredentialOrigin,
): CurrentCredential {
  return {
    credentialId: d.credentialId,
    origin,
    keyFingerprint: d.keyFingerprint,
    ciphertextDigest: d.ciphertextDigest,
    issuedAt: Date.parse(d.issuedAt),
    expiresAt: Date.parse(d.expiresAt),
    delivered: false,
    status: 'active',
  };
}

function evolve(s: CredentialState, e: CredentialEvent): CredentialState {
  const same = (id: string) => s.current !== undefined && s.current.credentialId === id;
  switch (e.type) {
    case 'CredentialPreProvisioned':
      return { ...s, current: fresh(e.data, 'pre-provisioned'), stats: { ...s.stats, preProvisioned: s.stats.preProvisioned + 1 } };
    case 'CredentialIssued':
      return { ...s, current: fresh(e.data, 'on-demand') };
    case 'CredentialRefreshed':
      return { ...s, current: fresh(e.data, 'refreshed') };
    case 'CredentialDelivered':
      if (!same(e.data.credentialId)) return s;
      return { ...s, current: { ...s.current!, delivered: true }, stats: { ...s.stats, delivered: s.stats.delivered + 1 } };
    case 'CredentialExpired':
      if (!same(e.data.credentialId)) return s;
      return {
        ...s,
        current: { ...s.current!, status: s.current!.status === 'revoked' ? 'revoked' : 'expired' },
        stats: { ...s.stats, wasted: s.stats.wasted + (e.data.wasted ? 1 : 0) },
      };
    case 'CredentialRevoked':
      if (!same(e.data.credentialId)) return s;
      return { ...s, current: { ...s.current!, status: 'revoked', revokedBy: e.data.by } };
    case 'PreProvisioningFailed':
      return { ...s, failures: withFailure(s.failures, Date.parse(e.data.failedAt), e.data.windowMs) };
    case 'PreProvisioningAlertRaised':
      return { ...s, failures: noteAlert(s.failures, Date.parse(e.data.raisedAt)) };
    default:
      return assertNever(e, 'credential event');
  }
}

export const credentialDecider: Decider<CredentialCommand, CredentialState, CredentialEvent> = {
  initialState: initialCredentialState,
  decide,
  evolve,
};
