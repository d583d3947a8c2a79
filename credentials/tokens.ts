import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ConfigError } from '../core/errors';

/**
 * Signed bearer tokens, the API's alternative to client certificates: compact JWS (JWT) with
 * ES256 only, signed by an identity provider whose public key the API is given at start-up.
 * Claims: sub (`user.<userId>`, `admin` or `admin.<name>`, as a certificate CN), aud
 * (`foresight-delivery`), exp (seconds). Anything else about the token is refused: another alg,
 * no exp, an expired one, another audience.
 */
export const TOKEN_AUDIENCE = 'foresight-delivery';

export interface TokenClaims {
  sub: string;
  aud: string;
  exp: number;
  iat?: number;
}

const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export function signToken(privateKeyPem: string | KeyObject, claims: TokenClaims): string {
  const key = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
  const head = `${b64u(JSON.stringify({ alg: 'ES256', typ: 'JWT' }))}.${b64u(JSON.stringify(claims))}`;
  const sig = sign('sha256', Buffer.from(head), { key, dsaEncoding: 'ieee-p1363' });
  return `${head}.${b64u(sig)}`;
}

/** The token's subject when it verifies against one of `keys` at `nowMs`; undefined otherwise. */
export function verifyToken(token: string, keys: readonly KeyObject[], nowMs: number): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || token.length > 4096) return undefined;
  let header: { alg?: unknown };
  let claims: Partial<TokenClaims>;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as { alg?: unknown };
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Partial<TokenClaims>;
  } catch {
    return undefined;
  }
  if (header.alg !== 'ES256') return undefined;
  const sig = Buffer.from(parts[2], 'base64url');
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  if (!keys.some((key) => verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, sig))) return undefined;
  if (claims.aud !== TOKEN_AUDIENCE || typeof claims.sub !== 'string') return undefined;
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= nowMs) return undefined;
  return claims.sub;
}

/** FORESIGHT_API_TOKEN_KEYS: comma-separated PEM files of EC P-256 public keys; unset = certificates only. */
export function loadTokenKeys(env: NodeJS.ProcessEnv = process.env, read: (f: string) => string): KeyObject[] {
  const raw = env.FORESIGHT_API_TOKEN_KEYS?.trim();
  if (!raw) return [];
  return raw.split(',').map((f) => {
    const file = f.trim();
    let key: KeyObject;
    try {
      key = createPublicKey(read(file));
    } catch {
      throw new ConfigError(`FORESIGHT_API_TOKEN_KEYS: ${file} is not a readable PEM public key; point it at the token issuer's EC P-256 public key`);
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new ConfigError(`FORESIGHT_API_TOKEN_KEYS: ${file} is not an EC P-256 key; tokens are ES256 only`);
    }
    return key;
  });
}
