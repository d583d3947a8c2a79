import { ForbiddenError } from '../core/errors';
import type { CipherOptions, HsmSession, KeyHandle, SignMechanism } from './ports';

/**
 * The risk profile's "permitted mechanisms", enforced in front of a partition session: PKCS#11
 * v2.40's CKA_ALLOWED_MECHANISMS is fixed at key creation and not honoured by every module, so
 * the check that must follow the risk score as it moves lives here. `allowed` is read on every
 * call, so a profile change (or a quarantine: nothing allowed) applies at once.
 */
export type MechanismName = 'AES-GCM' | 'RSA-OAEP' | SignMechanism;

function signMech(key: KeyHandle, m?: SignMechanism): MechanismName {
  return m ?? (key.kind === 'rsa-2048' ? 'RSA-SHA256' : 'ECDSA-SHA256');
}
const cipherMech = (key: KeyHandle): MechanismName => (key.kind === 'aes-256' ? 'AES-GCM' : 'RSA-OAEP');

export function guardMechanisms(inner: HsmSession, allowed: () => readonly string[], what = inner.tokenLabel): HsmSession {
  const check = (m: MechanismName) => {
    if (!allowed().includes(m)) throw new ForbiddenError(`partition ${what}: mechanism ${m} is not permitted by its current risk profile`);
  };
  return {
    tokenLabel: inner.tokenLabel,
    generateAesKey: (o) => inner.generateAesKey(o),
    generateRsaKeyPair: (o) => inner.generateRsaKeyPair(o),
    generateEcKeyPair: (o) => inner.generateEcKeyPair(o),
    findKeys: (q) => inner.findKeys(q),
    exportPublicKey: (k) => inner.exportPublicKey(k),
    async sign(k, d, m) {
      check(signMech(k, m));
      return inner.sign(k, d, m);
    },
    async verify(k, d, s, m) {
      check(signMech(k, m));
      return inner.verify(k, d, s, m);
    },
    async encrypt(k, p, o?: CipherOptions) {
      check(cipherMech(k));
      return inner.encrypt(k, p, o);
    },
    async decrypt(k, c, o?: CipherOptions) {
      check(cipherMech(k));
      return inner.decrypt(k, c, o);
    },
    restrictUsage: (k, u) => inner.restrictUsage(k, u),
    usageOf: (k) => inner.usageOf(k),
    destroy: (k) => inner.destroy(k),
    random: (n) => inner.random(n),
    close: () => inner.close(),
  };
}
