import { createPublicKey, type KeyObject } from 'node:crypto';
import { InvalidInputError } from '../core/errors';

/** base64url without padding, as JWK wants. Leading zero bytes of big integers are dropped. */
function b64u(buf: Buffer, stripLeadingZeros = false): string {
  let b = buf;
  if (stripLeadingZeros) {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    b = b.subarray(i);
  }
  return b.toString('base64url');
}

function toSpki(key: KeyObject): { spki: Buffer; pem: string } {
  return {
    spki: key.export({ type: 'spki', format: 'der' }),
    pem: key.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** RSA public key from the token's CKA_MODULUS and CKA_PUBLIC_EXPONENT. */
export function rsaSpki(modulus: Buffer, publicExponent: Buffer): { spki: Buffer; pem: string } {
  const key = createPublicKey({ key: { kty: 'RSA', n: b64u(modulus, true), e: b64u(publicExponent, true) }, format: 'jwk' });
  return toSpki(key);
}

/**
 * CKA_EC_POINT is, per PKCS#11 v2.20+, a DER OCTET STRING around the uncompressed point; a few
 * modules return the bare point. Accept both.
 */
export function unwrapEcPoint(ecPoint: Buffer): Buffer {
  if (ecPoint.length === 67 && ecPoint[0] === 0x04 && ecPoint[1] === 65 && ecPoint[2] === 0x04) return ecPoint.subarray(2);
  if (ecPoint.length === 65 && ecPoint[0] === 0x04) return ecPoint;
  throw new InvalidInputError(`unexpected EC point encoding (${ecPoint.length} bytes); only uncompressed P-256 points are supported`);
}

/** P-256 public key from CKA_EC_POINT. */
export function ecP256Spki(ecPoint: Buffer): { spki: Buffer; pem: string } {
  const p = unwrapEcPoint(ecPoint);
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64u(p.subarray(1, 33)), y: b64u(p.subarray(33, 65)) },
    format: 'jwk',
  });
  return toSpki(key);
}

/** DER encoding of the P-256 named-curve OID (1.2.840.10045.3.1.7), for CKA_EC_PARAMS. */
export const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
