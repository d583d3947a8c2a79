import { constants, createHash, publicEncrypt, randomBytes } from 'node:crypto';
import { ConfigError, ForesightError, InvalidInputError } from '../core/errors';
import { handleCommand, loadStream } from '../eventstore/handler';
import type { EventStorePort } from '../eventstore/port';
import type { HsmSession, KeyHandle } from '../hsm/ports';
import { userKeyStream } from './events';
import type { KeyCustodian, Recipient } from './ports';
import { oaepHashOf, type OaepHash, type SealedCredential } from './sealed';
import { userKeyDecider } from './userkey-decider';

export const userKeyLabel = (userId: string): string => `userkey/${userId}`;

/**
 * Users' RSA-2048 key pairs in one HSM token (the vault token). The private key is generated
 * inside the token, sensitive and non-extractable; only the public key (SPKI) leaves it, recorded
 * as KeyPairGenerated. A crash between generation and recording is healed by finding the key by
 * label; a lost race (two provisioners at once) destroys the loser's pair.
 */
export class HsmKeyCustodian implements KeyCustodian {
  /** The token's OAEP capability, learnt from the first key probed: it is the module's, not the key's. */
  private oaep?: OaepHash;

  constructor(
    private readonly store: EventStorePort,
    private readonly hsm: HsmSession,
  ) {}

  async ensure(userId: string, at: number): Promise<Recipient> {
    const stream = userKeyStream(userId);
    const loaded = await loadStream(this.store, stream, userKeyDecider);
    const a0 = loaded.state.active;
    if (a0) return { userId, publicKeyPem: a0.publicKeyPem, fingerprint: a0.fingerprint, oaepHash: a0.oaepHash ?? 'sha256' };

    const label = userKeyLabel(userId);
    const revoked = new Set(loaded.state.revoked);
    let mine: { pub: KeyHandle; priv?: KeyHandle; pem: string; spki: Buffer; generated: boolean } | undefined;
    for (const pub of await this.hsm.findKeys({ label, keyClass: 'public' })) {
      const { spki, pem } = await this.hsm.exportPublicKey(pub);
      if (!revoked.has(fingerprintOf(spki))) {
        mine = { pub, pem, spki, generated: false };
        break;
      }
    }
    if (!mine) {
      const pair = await this.hsm.generateRsaKeyPair({ label, usage: { encrypt: true, decrypt: true } });
      mine = { pub: pair.publicKey, priv: pair.privateKey, pem: pair.publicKeyPem, spki: pair.publicKeySpki, generated: true };
    }
    const fingerprint = fingerprintOf(mine.spki);
    const oaepHash = await this.probeOaep(label, mine.pub.id, mine.pem);
    const r = await handleCommand(this.store, {
      stream,
      decider: userKeyDecider,
      command: {
        kind: 'RecordKeyPair',
        at,
        key: { userId, algorithm: 'RSA-2048', tokenLabel: this.hsm.tokenLabel, keyLabel: label, keyId: mine.pub.id, publicKeyPem: mine.pem, fingerprint, oaepHash },
      },
      commandId: `keypair:${fingerprint}`,
      now: at,
    });
    const active = r.state.active;
    if (!active) throw new ForesightError('KEY_PAIR', `no active key pair for user ${userId} after recording one`);
    if (active.fingerprint !== fingerprint && mine.generated) {
      // Another provisioner recorded its pair first: ours must not linger unreferenced in the token.
      await this.hsm.destroy(mine.priv!);
      await this.hsm.destroy(mine.pub);
    }
    return { userId, publicKeyPem: active.publicKeyPem, fingerprint: active.fingerprint, oaepHash: active.oaepHash ?? 'sha256' };
  }

  /**
   * Which OAEP hash this token decrypts with the new key: SHA-256 when it can (the default),
   * SHA-1 otherwise (SoftHSM2 2.6). Asked once per key, at generation; recorded with the key.
   */
  private async probeOaep(label: string, keyId: string, pem: string): Promise<OaepHash> {
    if (this.oaep) return this.oaep;
    const [priv] = await this.hsm.findKeys({ label, id: keyId, keyClass: 'private' });
    if (!priv) throw new ForesightError('KEY_PAIR', `the private half of key ${label} is not in token ${this.hsm.tokenLabel}`);
    const probe = randomBytes(32);
    for (const hash of ['sha256', 'sha1'] as const) {
      const ct = publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, probe);
      try {
        const back = await this.hsm.decrypt(priv, ct, { oaepHash: hash });
        if (back.equals(probe)) return (this.oaep = hash);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
      }
    }
    throw new ConfigError(`token ${this.hsm.tokenLabel} cannot decrypt RSA-OAEP with SHA-256 or SHA-1; use a PKCS#11 module that supports CKM_RSA_PKCS_OAEP`);
  }

  async revoke(userId: string, reason: string, at: number): Promise<{ revoked: boolean; fingerprint?: string }> {
    const stream = userKeyStream(userId);
    const loaded = await loadStream(this.store, stream, userKeyDecider);
    const active = loaded.state.active;
    if (!active) return { revoked: false };
    const r = await handleCommand(this.store, {
      stream,
      decider: userKeyDecider,
      command: { kind: 'RevokeKeyPair', at, reason: reason.slice(0, 200) },
      commandId: `keyrevoke:${active.fingerprint}`,
      now: at,
    });
    // Crypto-shredding: whatever was sealed for this key can no longer be opened by anyone.
    for (const k of await this.hsm.findKeys({ label: active.keyLabel, id: active.keyId })) await this.hsm.destroy(k);
    return { revoked: r.events.length > 0 || r.alreadyApplied, fingerprint: active.fingerprint };
  }

  async unwrap(userId: string, sealed: SealedCredential): Promise<Buffer> {
    const loaded = await loadStream(this.store, userKeyStream(userId), userKeyDecider);
    const active = loaded.state.active;
    if (!active || active.fingerprint !== sealed.kid) throw new InvalidInputError(`sealed credential is not for the active key of user ${userId}`);
    const [priv] = await this.hsm.findKeys({ label: active.keyLabel, id: active.keyId, keyClass: 'private' });
    if (!priv) throw new InvalidInputError(`the private key of user ${userId} is not in token ${this.hsm.tokenLabel}`);
    return this.hsm.decrypt(priv, Buffer.from(sealed.wrappedKey, 'base64'), { oaepHash: oaepHashOf(sealed.alg) });
  }
}

export function fingerprintOf(spkiDer: Buffer): string {
  return createHash('sha256').update(spkiDer).digest('hex');
}
