import { constants, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto';
import { ConfigError, InvalidInputError } from '../../core/errors';
import {
  DEFAULT_PASSWORD_POLICY,
  entropyBits,
  generatePassword,
  meetsPolicy,
  uniformInt,
  validatePasswordPolicy,
  type ByteSource,
} from '../../credentials/password';
import { isSealedCredential, open, seal, sealedAad, sealedDigest, spkiFingerprint } from '../../credentials/sealed';

/** A deterministic byte stream (a counter hashed), so tests are repeatable. */
function fixedBytes(seed = 1): ByteSource {
  let x = seed >>> 0;
  return (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      b[i] = x >>> 24;
    }
    return b;
  };
}

describe('password policy and generator', () => {
  test('the default policy is strong (>= 128 bits) and every generated password meets it', () => {
    expect(entropyBits(DEFAULT_PASSWORD_POLICY)).toBeGreaterThan(128);
    const bytes = fixedBytes(7);
    for (let i = 0; i < 200; i++) expect(meetsPolicy(generatePassword(DEFAULT_PASSWORD_POLICY, bytes), DEFAULT_PASSWORD_POLICY)).toBe(true);
  });

  test('the same byte stream gives the same password; another stream another one', () => {
    expect(generatePassword(DEFAULT_PASSWORD_POLICY, fixedBytes(3))).toBe(generatePassword(DEFAULT_PASSWORD_POLICY, fixedBytes(3)));
    expect(generatePassword(DEFAULT_PASSWORD_POLICY, fixedBytes(3))).not.toBe(generatePassword(DEFAULT_PASSWORD_POLICY, fixedBytes(4)));
  });

  test('class minimums are honoured and ambiguous characters left out', () => {
    const p = { length: 16, digit: 10, lower: 0, excludeAmbiguous: true };
    for (let i = 0; i < 50; i++) {
      const pw = generatePassword(p, randomBytes);
      expect(pw.replace(/[^0-9]/g, '').length).toBeGreaterThanOrEqual(10);
      expect(pw).not.toMatch(/[01lOI]/);
      expect(pw).toMatch(/^[a-z2-9]{16}$/);
    }
  });

  test('uniformInt rejects the biased tail: values above the last whole multiple are redrawn', () => {
    const draws = [Buffer.from([0xff, 0xff]), Buffer.from([0x00, 0x05])];
    expect(uniformInt(10, () => draws.shift()!)).toBe(5);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 7000; i++) counts[uniformInt(7, randomBytes)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  test('weak or impossible policies are configuration errors naming the fix', () => {
    expect(() => validatePasswordPolicy({ length: 8, lower: 1 })).toThrow(ConfigError);
    expect(() => validatePasswordPolicy({ length: 12, digit: 0 })).toThrow(/entropy/);
    expect(() => validatePasswordPolicy({ length: 12, lower: 10, upper: 10 })).toThrow(/exceed the length/);
    expect(() => validatePasswordPolicy({ length: 20 })).toThrow(/at least one character class/);
    expect(validatePasswordPolicy(DEFAULT_PASSWORD_POLICY)).toBe(DEFAULT_PASSWORD_POLICY);
  });
});

describe('sealed credential (RSA-OAEP-SHA256 wrapping AES-256-GCM)', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const to = { publicKeyPem: pem, fingerprint: spkiFingerprint(pem) };
  const unwrap = async (w: Buffer) => privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, w);
  const aad = sealedAad('c1', 'u1', 'vm1');

  test('round trip; the blob holds no plaintext; the digest is stable', async () => {
    const s = seal(Buffer.from('{"password":"Hunter2-very-secret"}'), to, aad, randomBytes);
    expect(isSealedCredential(s)).toBe(true);
    expect(JSON.stringify(s)).not.toContain('Hunter2');
    expect(s.kid).toMatch(/^[0-9a-f]{64}$/);
    expect((await open(s, unwrap, aad)).toString()).toBe('{"password":"Hunter2-very-secret"}');
    expect(sealedDigest(s)).toBe(sealedDigest(JSON.parse(JSON.stringify(s))));
  });

  test('tampering, another AAD and another key fail with InvalidInputError', async () => {
    const s = seal(Buffer.from('secret'), to, aad, randomBytes);
    const ct = Buffer.from(s.ciphertext, 'base64');
    ct[0] ^= 1;
    await expect(open({ ...s, ciphertext: ct.toString('base64') }, unwrap)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(open({ ...s, aad: sealedAad('c1', 'u2', 'vm1') }, unwrap)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(open(s, unwrap, sealedAad('c2', 'u1', 'vm1'))).rejects.toThrow(/another credential/);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const wrongUnwrap = async (w: Buffer) => privateDecrypt({ key: other, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, w);
    await expect(open(s, wrongUnwrap)).rejects.toThrow();
  });

  test('where the HSM decrypts OAEP only with SHA-1, the alg says so and the round trip holds', async () => {
    const s = seal(Buffer.from('legacy'), { ...to, oaepHash: 'sha1' }, aad, randomBytes);
    expect(s.alg).toBe('RSA-OAEP+A256GCM');
    const unwrap1 = async (w: Buffer) => privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, w);
    expect((await open(s, unwrap1, aad)).toString()).toBe('legacy');
    expect(seal(Buffer.from('x'), to, aad, randomBytes).alg).toBe('RSA-OAEP-256+A256GCM');
  });

  test('content key and IV come from the injected source (fresh per seal)', () => {
    const a = seal(Buffer.from('x'), to, aad, randomBytes);
    const b = seal(Buffer.from('x'), to, aad, randomBytes);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });
});
