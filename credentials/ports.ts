import type { AdminAlert, UserNotification } from '../schemas';
import type { SealedCredential } from './sealed';
import type { VaultEntry } from './vault';

/**
 * What the provisioner and the delivery service need from the outside, kept small so each can
 * be wired to the real adapter (Kafka producer, SoftHSM2, file vault) or to a test double in a
 * unit test of orchestration logic.
 */

/** alerts.admin and notifications.user. Both records carry deterministic eventIds. */
export interface Notifier {
  alert(a: AdminAlert): Promise<void>;
  notify(n: UserNotification): Promise<void>;
}

export interface Recipient {
  userId: string;
  publicKeyPem: string;
  fingerprint: string;
  oaepHash: 'sha256' | 'sha1';
}

/** The users' key pairs: generated inside the HSM, public halves recorded in `userkey-<userId>`. */
export interface KeyCustodian {
  /** The user's active key pair, generated (and recorded) if there is none. */
  ensure(userId: string, at: number): Promise<Recipient>;
  /** RSA-OAEP decryption with the user's private key, inside the HSM. */
  unwrap(userId: string, sealed: SealedCredential): Promise<Buffer>;
  /** Records the active pair as revoked and destroys its private half; the next ensure makes a new one. */
  revoke(userId: string, reason: string, at: number): Promise<{ revoked: boolean; fingerprint?: string }>;
}

export interface CredentialVault {
  put(e: VaultEntry): void;
  get(credentialId: string): VaultEntry | undefined;
  markDelivered(credentialId: string): void;
  delete(credentialId: string): void;
  outstanding(userId: string, at: number): { user: number; total: number };
  entriesOf(userId: string): VaultEntry[];
  expired(at: number): VaultEntry[];
}
