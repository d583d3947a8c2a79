import { InvalidInputError } from '../core/errors';
import type { DeliveryService } from './delivery';
import { isValidId } from './events';
import type { CredentialVault, KeyCustodian } from './ports';

/**
 * An administrator revokes a user's key pair (a lost laptop, a leaver): the pair is recorded as
 * revoked and its private half destroyed in the HSM, and every credential sealed for it is
 * revoked (`by: system`), so the user's next request gets a fresh credential sealed for a new
 * pair. Idempotent: a second call finds no active pair and nothing outstanding.
 */
export class KeyRevocation {
  constructor(
    private readonly keys: KeyCustodian,
    private readonly vault: CredentialVault,
    private readonly delivery: DeliveryService,
  ) {}

  async revoke(userId: string, reason: string, at: number, commandId: string): Promise<{ revoked: boolean; fingerprint?: string; credentialsRevoked: number }> {
    if (!isValidId(userId)) throw new InvalidInputError('userId must be 1-128 of A-Z a-z 0-9 . _ : @ -');
    const k = await this.keys.revoke(userId, reason, at);
    let credentialsRevoked = 0;
    for (const e of this.vault.entriesOf(userId)) {
      if (k.fingerprint && e.sealed.kid !== k.fingerprint) continue;
      const r = await this.delivery.revoke(userId, e.vmId, 'system', 'the user key pair was revoked', at, `${commandId}:${e.credentialId}`);
      if (r.revoked) credentialsRevoked++;
      this.vault.delete(e.credentialId);
    }
    return { ...k, credentialsRevoked };
  }
}
