import { uuidV5 } from '../eventstore/ids';
import type { CredentialMaterial, CredentialOrigin } from './events';
import { generatePassword, type ByteSource, type PasswordPolicy } from './password';
import type { CredentialVault, KeyCustodian } from './ports';
import { seal, sealedAad, sealedDigest } from './sealed';

/** A credential id per command, so redelivery of the command names the same credential. */
export const credentialIdFor = (commandId: string): string => uuidV5(`credential\u0000${commandId}`);

export interface MintRequest {
  commandId: string;
  userId: string;
  vmId: string;
  origin: CredentialOrigin;
  issuedAt: number;
  expiresAt: number;
}

/**
 * Makes one credential: the user's key pair (ensured), a fresh password from the CSPRNG, sealed
 * for the user, ciphertext into the vault. The password exists only inside this function: it
 * is never returned, logged, or stored unsealed.
 */
export class CredentialMinter {
  constructor(
    private readonly keys: KeyCustodian,
    private readonly vault: CredentialVault,
    private readonly policy: PasswordPolicy,
    private readonly random: ByteSource,
  ) {}

  async mint(r: MintRequest): Promise<CredentialMaterial> {
    const to = await this.keys.ensure(r.userId, r.issuedAt);
    const credentialId = credentialIdFor(r.commandId);
    const secret = Buffer.from(JSON.stringify({ username: r.userId, vmId: r.vmId, password: generatePassword(this.policy, this.random) }), 'utf8');
    let sealed;
    try {
      sealed = seal(secret, to, sealedAad(credentialId, r.userId, r.vmId), this.random);
    } finally {
      secret.fill(0);
    }
    this.vault.put({ credentialId, userId: r.userId, vmId: r.vmId, origin: r.origin, issuedAt: r.issuedAt, expiresAt: r.expiresAt, sealed });
    return { credentialId, keyFingerprint: to.fingerprint, ciphertextDigest: sealedDigest(sealed) };
  }
}
