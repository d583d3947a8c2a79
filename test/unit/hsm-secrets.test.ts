import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { ConfigError } from '../../core/errors';
import { readSecret, writeSecretFile } from '../../hsm/secrets';
import { ecP256Spki, rsaSpki, unwrapEcPoint } from '../../hsm/spki';

describe('PIN sources', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hsm-secrets-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a 0600 file is read without its trailing newline', () => {
    const f = path.join(dir, 'p.pin');
    writeSecretFile(f, 'abcd1234');
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(readSecret({ file: f })).toBe('abcd1234');
  });

  test('a file others can read is refused, and the message holds no PIN', () => {
    const f = path.join(dir, 'open.pin');
    fs.writeFileSync(f, 'topsecret\n', { mode: 0o644 });
    fs.chmodSync(f, 0o644);
    expect(() => readSecret({ file: f })).toThrow(ConfigError);
    expect(() => readSecret({ file: f })).toThrow(/chmod 600/);
    expect(() => readSecret({ file: f })).not.toThrow(/topsecret/);
  });

  test('environment variables work; missing ones and missing files say where they looked', () => {
    expect(readSecret({ env: 'HSM_PIN_X' }, { HSM_PIN_X: 'pin-1234' })).toBe('pin-1234');
    expect(() => readSecret({ env: 'HSM_PIN_Y' }, {})).toThrow(/environment variable HSM_PIN_Y is not set/);
    expect(() => readSecret({ file: path.join(dir, 'nope') })).toThrow(/cannot read the PIN file/);
  });
});

describe('public keys from token attributes', () => {
  test('RSA modulus + exponent and EC points (DER-wrapped or bare) give the same SPKI node:crypto makes', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = rsa.publicKey.export({ format: 'jwk' });
    const got = rsaSpki(Buffer.from(jwk.n!, 'base64url'), Buffer.from(jwk.e!, 'base64url'));
    expect(got.spki.equals(rsa.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);

    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const e = ec.publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(e.x!, 'base64url'), Buffer.from(e.y!, 'base64url')]);
    const wrapped = Buffer.concat([Buffer.from([0x04, 65]), point]);
    expect(unwrapEcPoint(wrapped).equals(point)).toBe(true);
    expect(ecP256Spki(wrapped).spki.equals(ec.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(ecP256Spki(point).pem).toContain('BEGIN PUBLIC KEY');
    expect(() => unwrapEcPoint(Buffer.alloc(10))).toThrow(/uncompressed P-256/);
  });
});
