import type { Event } from '../core/event';

/**
 * Events of the two credential aggregates. Stored as JSON in EventStoreDB; none holds a secret:
 * a credential is referenced by its id and the sha256 digest of its ciphertext, never by value.
 * Times are ISO-8601 strings (event time from the command).
 */

/** Which path served an access request (the API's reply says it). */
export type DeliverySource = 'pre-provisioned' | 'refreshed' | 'on-demand';
/** How the credential now current came to exist. */
export type CredentialOrigin = 'pre-provisioned' | 'on-demand' | 'refreshed';
/** 'system': the credential could not be served (e.g. its ciphertext is gone) and is replaced. */
export type RevokedBy = 'admin' | 'waste-guard' | 'system';

/** What every new credential carries: its id, the user key it is sealed for, and a digest of the sealed bytes. */
export interface CredentialMaterial {
  credentialId: string;
  keyFingerprint: string;
  ciphertextDigest: string;
}

type Material = { [K in keyof CredentialMaterial]: CredentialMaterial[K] };

export type CredentialPreProvisioned = Event<
  'CredentialPreProvisioned',
  Material & {
    userId: string;
    vmId: string;
    issuedAt: string;
    expiresAt: string;
    riskScore: number;
    threshold: number;
    modelVersion: string;
    policy: string;
  }
>;
export type CredentialIssued = Event<
  'CredentialIssued',
  Material & { userId: string; vmId: string; issuedAt: string; expiresAt: string; requestId: string }
>;
export type CredentialRefreshed = Event<
  'CredentialRefreshed',
  Material & { userId: string; vmId: string; previousCredentialId: string; issuedAt: string; expiresAt: string; requestId: string }
>;
export type CredentialDelivered = Event<
  'CredentialDelivered',
  {
    credentialId: string;
    requestId: string;
    /** The path that served the request: 'pre-provisioned' = the credential was ready before it. */
    source: DeliverySource;
    /**
     * How the credential served was made; a hit is source and origin both 'pre-provisioned'.
     * Absent in events written before it was recorded (then source alone decides).
     */
    origin?: CredentialOrigin;
    /**
     * The first delivery of a credential made ahead of time: it was used, not wasted. Recorded so
     * a process that never saw it pre-provisioned (the API role) counts the use. Absent before.
     */
    firstUse?: boolean;
    deliveredAt: string;
  }
>;
export type CredentialExpired = Event<'CredentialExpired', { credentialId: string; expiredAt: string; wasted: boolean }>;
export type CredentialRevoked = Event<
  'CredentialRevoked',
  { credentialId: string; revokedAt: string; by: RevokedBy; reason: string }
>;
export type PreProvisioningFailed = Event<
  'PreProvisioningFailed',
  { userId: string; vmId: string; failedAt: string; reason: string; failuresInWindow: number; windowMs: number }
>;
export type PreProvisioningAlertRaised = Event<
  'PreProvisioningAlertRaised',
  { alertId: string; userId: string; vmId: string; raisedAt: string; failuresInWindow: number; windowMs: number }
>;

export type CredentialEvent =
  | CredentialPreProvisioned
  | CredentialIssued
  | CredentialRefreshed
  | CredentialDelivered
  | CredentialExpired
  | CredentialRevoked
  | PreProvisioningFailed
  | PreProvisioningAlertRaised;

export type KeyPairGenerated = Event<
  'KeyPairGenerated',
  {
    userId: string;
    algorithm: 'RSA-2048';
    tokenLabel: string;
    keyLabel: string;
    /** CKA_ID (hex) shared by the private and public halves inside the HSM. */
    keyId: string;
    publicKeyPem: string;
    /** sha256 of the SubjectPublicKeyInfo DER, hex. */
    fingerprint: string;
    /** OAEP hash the token can decrypt with this key (probed at generation). */
    oaepHash: 'sha256' | 'sha1';
    generatedAt: string;
  }
>;
export type KeyPairRevoked = Event<'KeyPairRevoked', { userId: string; fingerprint: string; revokedAt: string; reason: string }>;

export type UserKeyEvent = KeyPairGenerated | KeyPairRevoked;

/** Stream names from CONTRACT.md. */
export const credentialStream = (userId: string, vmId: string): string => `credential-${userId}_${vmId}`;
export const userKeyStream = (userId: string): string => `userkey-${userId}`;

/** Ids end up in stream names and file names: keep them to a safe alphabet. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
export function isValidId(s: unknown): s is string {
  return typeof s === 'string' && ID_RE.test(s);
}
