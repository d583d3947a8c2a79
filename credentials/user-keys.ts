import { createHash } from 'node:crypto';
import { ForesightError, InvalidInputError } from '../core/errors';
import { handleCommand, loadStream } from '../eventstore/handler';
import type { EventStorePort } from '../eventstore/port';
import type { HsmSession, KeyHandle } from '../hsm/ports';
import { userKeyStream } from './events';
import type { KeyCustodian, Recipient } from './ports';
import type { SealedCredential } from './sealed';
import { userKeyDecider } from './userkey-decider';

export const userKeyLabel = (userId: string): string => `userkey/${userId}`;

/**
 * Users' RSA-2048 key pairs in one HSM token (the vault token). The private key is generated
 * inside the token, sensitive and non-extractable; only the public key (SPKI) leaves it, recorded
 * as KeyPairGenerated. A crash between generation and recording is healed by finding the key by
 * label; a lost race (two provisioners at once) destroys the loser's pair.
 */
export class HsmKeyCustodian implements KeyCustodian {
  constructor(
    private readonly store: EventStorePort,
    private readonly hsm: HsmSession,
  ) {}

  async ensure(userId: string, at: number): Promise<Recipient> {
    const stream = userKeyStream(userId);
    const loaded = await loadStream(this.store, stream, userKeyDecider);
    if (loaded.state.active) return { userId, publicKeyPem: loaded.state.active.publicKeyPem, fingerprint: loaded.state.active.fingerprint };

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
    const r = await handleCommand(this.store, {
      stream,
      decider: userKeyDecider,
      command: {
        kind: 'RecordKeyPair',
        at,
        key: { userId, algorithm: 'RSA-2048', tokenLabel: this.hsm.tokenLabel, keyLabel: label, keyId: mine.pub.id, publicKeyPem: mine.pem, fingerprint },
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
    return { userId, publicKeyPem: active.publicKeyPem, fingerprint: active.fingerprint };
  }

  async unwrap(userId: string, sealed: SealedCredential): Promise<Buffer> {
    const loaded = await loadStream(this.store, userKeyStream(userId), userKeyDecider);
    const active = loaded.state.active;
    if (!active || active.fingerprint !== sealed.kid) throw new InvalidInputError(`sealed credential is not for the active key of user ${userId}`);
    const [priv] = await this.hsm.findKeys({ label: active.keyLabel, id: active.keyId, keyClass: 'private' });
    if (!priv) throw new InvalidInputError(`the private key of user ${userId} is not in token ${this.hsm.tokenLabel}`);
    return this.hsm.decrypt(priv, Buffer.from(sealed.wrappedKey, 'base64'));
  }
}

export function fingerprintOf(spkiDer: Buffer): string {
  return createHash('sha256').update(spkiDer).digest('hex');
}
