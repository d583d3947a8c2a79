import { generateKeyPairSync } from 'node:crypto';
import { ConfigError } from '../../core/errors';
import { loadTokenKeys, signToken, TOKEN_AUDIENCE, verifyToken } from '../../credentials/tokens';

const issuer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const NOW = Date.parse('2026-04-01T12:00:00Z');
const exp = NOW / 1000 + 300;

describe('bearer tokens (ES256 JWT)', () => {
  test('a token from the issuer verifies to its subject until it expires', () => {
    const t = signToken(issuer.privateKey, { sub: 'user.alice', aud: TOKEN_AUDIENCE, exp });
    expect(verifyToken(t, [other.publicKey, issuer.publicKey], NOW)).toBe('user.alice');
    expect(verifyToken(t, [issuer.publicKey], exp * 1000)).toBeUndefined();
  });

  test('another key, another audience, no expiry, a changed claim, alg none: refused', () => {
    expect(verifyToken(signToken(other.privateKey, { sub: 'admin', aud: TOKEN_AUDIENCE, exp }), [issuer.publicKey], NOW)).toBeUndefined();
    expect(verifyToken(signToken(issuer.privateKey, { sub: 'admin', aud: 'elsewhere', exp }), [issuer.publicKey], NOW)).toBeUndefined();
    expect(verifyToken(signToken(issuer.privateKey, { sub: 'admin', aud: TOKEN_AUDIENCE } as never), [issuer.publicKey], NOW)).toBeUndefined();
    const [h, , s] = signToken(issuer.privateKey, { sub: 'user.alice', aud: TOKEN_AUDIENCE, exp }).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'admin', aud: TOKEN_AUDIENCE, exp })).toString('base64url');
    expect(verifyToken(`${h}.${forged}.${s}`, [issuer.publicKey], NOW)).toBeUndefined();
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    expect(verifyToken(`${none}.${forged}.`, [issuer.publicKey], NOW)).toBeUndefined();
    expect(verifyToken('not-a-token', [issuer.publicKey], NOW)).toBeUndefined();
  });

  test('issuer keys come from FORESIGHT_API_TOKEN_KEYS; a wrong file or curve is a ConfigError', () => {
    const pem = issuer.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const files: Record<string, string> = { '/k/ec.pem': pem, '/k/rsa.pem': rsa };
    const read = (f: string) => {
      if (!(f in files)) throw new Error('ENOENT');
      return files[f];
    };
    expect(loadTokenKeys({}, read)).toEqual([]);
    expect(loadTokenKeys({ FORESIGHT_API_TOKEN_KEYS: '/k/ec.pem' }, read)).toHaveLength(1);
    expect(() => loadTokenKeys({ FORESIGHT_API_TOKEN_KEYS: '/k/none.pem' }, read)).toThrow(ConfigError);
    expect(() => loadTokenKeys({ FORESIGHT_API_TOKEN_KEYS: '/k/rsa.pem' }, read)).toThrow(/not an EC P-256 key/);
  });
});
