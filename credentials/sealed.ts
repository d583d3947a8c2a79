import { constants, createCipheriv, createDecipheriv, createHash, createPublicKey, publicEncrypt } from 'node:crypto';
import { InvalidInputError } from '../core/errors';
import { canonicalJson } from '../eventstore/canonical-json';
import type { ByteSource } from './password';

/**
 * The sealed credential: hybrid encryption for one user's HSM key pair. A fresh AES-256-GCM key
 * encrypts the secret; RSA-OAEP wraps that key for the user's public key: with SHA-256 (and
 * MGF1-SHA-256) where the HSM can decrypt it, with SHA-1 where it cannot (SoftHSM2 2.6 decrypts
 * OAEP only with SHA-1; OAEP's security does not rest on SHA-1's collision resistance). `alg`
 * names which, in JWE's terms.
 * Only the user's private key, which never leaves the HSM, unwraps it. The AAD binds the
 * ciphertext to its credential, user and VM, so a sealed blob cannot be replayed for another pair.
 */
export const SEALED_ALG = 'RSA-OAEP-256+A256GCM';
export const SEALED_ALG_SHA1 = 'RSA-OAEP+A256GCM';
export type SealedAlg = typeof SEALED_ALG | typeof SEALED_ALG_SHA1;
export type OaepHash = 'sha256' | 'sha1';
export const oaepHashOf = (alg: SealedAlg): OaepHash => (alg === SEALED_ALG ? 'sha256' : 'sha1');

export interface SealedCredential {
  v: 1;
  alg: SealedAlg;
  /** Fingerprint (sha256 of SPKI DER, hex) of the public key that wrapped the content key. */
  kid: string;
  /** base64 fields */
  wrappedKey: string;
  iv: string;
  ciphertext: string;
  tag: string;
  /** Authenticated, not secret: `<credentialId>|<userId>|<vmId>`. */
  aad: string;
}

export interface Recipient {
  publicKeyPem: string;
  fingerprint: string;
  /** What the user's HSM can decrypt; default sha256. */
  oaepHash?: OaepHash;
}

export const sealedAad = (credentialId: string, userId: string, vmId: string): string => `${credentialId}|${userId}|${vmId}`;

export function spkiFingerprint(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** `random` supplies the content key and IV (node:crypto randomBytes at the edge). */
export function seal(plaintext: Buffer, to: Recipient, aad: string, random: ByteSource): SealedCredential {
  const key = random(32);
  const iv = random(12);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const hash = to.oaepHash ?? 'sha256';
    const wrappedKey = publicEncrypt({ key: createPublicKey(to.publicKeyPem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, key);
    return {
      v: 1,
      alg: hash === 'sha256' ? SEALED_ALG : SEALED_ALG_SHA1,
      kid: to.fingerprint,
      wrappedKey: wrappedKey.toString('base64'),
      iv: iv.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      aad,
    };
  } finally {
    key.fill(0);
  }
}

/**
 * Opens a sealed credential; `unwrap` is RSA-OAEP decryption (hash: oaepHashOf(s.alg)) with the
 * user's private key, inside the HSM. A wrong key, a tampered field or another AAD is an InvalidInputError without detail.
 */
export async function open(s: SealedCredential, unwrap: (wrappedKey: Buffer) => Promise<Buffer>, expectedAad?: string): Promise<Buffer> {
  if (s.v !== 1 || (s.alg !== SEALED_ALG && s.alg !== SEALED_ALG_SHA1)) throw new InvalidInputError(`sealed credential: unsupported format ${s.alg} v${s.v}`);
  if (expectedAad !== undefined && s.aad !== expectedAad) throw new InvalidInputError('sealed credential: bound to another credential');
  const key = await unwrap(Buffer.from(s.wrappedKey, 'base64'));
  try {
    if (key.length !== 32) throw new InvalidInputError('sealed credential: the unwrapped key is not an AES-256 key');
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(s.iv, 'base64'));
    d.setAAD(Buffer.from(s.aad, 'utf8'));
    d.setAuthTag(Buffer.from(s.tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(s.ciphertext, 'base64')), d.final()]);
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw new InvalidInputError('sealed credential: authentication failed (tampered, or sealed for another key)');
  } finally {
    key.fill(0);
  }
}

/** Recorded in events instead of the ciphertext: proves which blob was issued without storing it. */
export function sealedDigest(s: SealedCredential): string {
  return createHash('sha256').update(canonicalJson(s), 'utf8').digest('hex');
}

export function isSealedCredential(x: unknown): x is SealedCredential {
  const s = x as Record<string, unknown> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    s.v === 1 &&
    (s.alg === SEALED_ALG || s.alg === SEALED_ALG_SHA1) &&
    ['kid', 'wrappedKey', 'iv', 'ciphertext', 'tag', 'aad'].every((k) => typeof s[k] === 'string')
  );
}
