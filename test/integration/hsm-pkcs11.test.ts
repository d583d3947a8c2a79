import { execFileSync } from 'node:child_process';
import { constants, createPublicKey, publicEncrypt, verify as nodeVerify } from 'node:crypto';
import * as path from 'node:path';
import * as graphene from 'graphene-pk11';
import { ConfigError, ForbiddenError, InvalidInputError } from '../../core/errors';
import { TokenNotFoundError } from '../../hsm/errors';
import { openPkcs11Module } from '../../hsm/pkcs11';
import type { HsmModule, HsmSession } from '../../hsm/ports';
import { tempSoftHsm, type TempSoftHsm } from '../support/softhsm-temp';

// Real SoftHSM2 in a private token directory: the adapter against the actual PKCS#11 module.
let hsm: TempSoftHsm;
let mod: HsmModule;
let session: HsmSession;
const SO = 'so-secret-1';
const USER = 'user-secret-1';

beforeAll(async () => {
  hsm = tempSoftHsm();
  mod = openPkcs11Module(hsm.modulePath);
  await mod.initToken('adapter-a', SO, USER);
  session = await mod.openSession('adapter-a', USER);
});

afterAll(async () => {
  await session?.close();
  await mod?.close();
  hsm?.cleanup();
});

describe('PKCS#11 adapter on SoftHSM2', () => {
  test('finds tokens by label and rejects a wrong PIN as a non-retriable error', async () => {
    const labels = (await mod.listTokens()).map((t) => t.label);
    expect(labels).toContain('adapter-a');
    const err = await mod.openSession('adapter-a', 'not-the-pin').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenError);
    expect((err as ForbiddenError).retriable).toBe(false);
    expect((err as Error).message).toMatch(/CKR_PIN_INCORRECT/);
    expect((err as Error).message).not.toContain('not-the-pin');
  });

  test('an unknown label is TokenNotFoundError after a re-initialisation', async () => {
    await expect(mod.openSession('no-such-token', USER)).rejects.toBeInstanceOf(TokenNotFoundError);
    // the session opened before the re-initialisation reopens itself transparently
    expect((await session.random(8)).length).toBe(8);
  });

  test('sees a token another process initialised (finalize + initialize)', async () => {
    const script = path.join(__dirname, '..', 'support', 'softhsm-init-token.js');
    execFileSync(process.execPath, [script, hsm.modulePath, 'from-elsewhere'], {
      env: { ...process.env, SOFTHSM2_CONF: hsm.conf, HSM_SO_PIN: SO, HSM_USER_PIN: USER },
    });
    const other = await mod.openSession('from-elsewhere', USER);
    expect(other.tokenLabel).toBe('from-elsewhere');
    await other.close();
  });

  test('survives another module instance in the process finalising the library under it', async () => {
    const key = await session.generateAesKey({ label: 'survivor' });
    // what a health check that loads and finalises its own graphene Module does
    const other = graphene.Module.load(hsm.modulePath, 'other');
    other.initialize();
    other.finalize();
    const ct = await session.encrypt(key, Buffer.from('still here'));
    expect((await session.decrypt(key, ct)).toString()).toBe('still here');
  });

  test('AES-256-GCM round trip; tampering and wrong AAD are rejected', async () => {
    const key = await session.generateAesKey({ label: 'aes/v1' });
    expect(key).toMatchObject({ kind: 'aes-256', keyClass: 'secret', label: 'aes/v1' });
    const ct = await session.encrypt(key, Buffer.from('hello partition'), { aad: Buffer.from('ctx') });
    expect(ct.length).toBe(12 + 15 + 16);
    expect((await session.decrypt(key, ct, { aad: Buffer.from('ctx') })).toString()).toBe('hello partition');
    const tampered = Buffer.from(ct);
    tampered[14] ^= 1;
    await expect(session.decrypt(key, tampered, { aad: Buffer.from('ctx') })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(session.decrypt(key, ct, { aad: Buffer.from('other') })).rejects.toBeInstanceOf(InvalidInputError);
  });

  test('RSA-2048: SPKI export works with node:crypto for OAEP-SHA256 and RS256', async () => {
    const pair = await session.generateRsaKeyPair({ label: 'rsa/v1' });
    const pub = createPublicKey(pair.publicKeyPem);
    expect(pub.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(Buffer.compare(pub.export({ type: 'spki', format: 'der' }), pair.publicKeySpki)).toBe(0);

    // SoftHSM2 2.6 decrypts OAEP only with SHA-1; the adapter says so as a ConfigError.
    const sha256 = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from('secret'));
    const got = await session.decrypt(pair.privateKey, sha256).then(
      (pt) => pt.toString(),
      (e: unknown) => (e instanceof ConfigError ? 'unsupported' : e),
    );
    expect(['secret', 'unsupported']).toContain(got);
    const sha1 = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from('secret'));
    expect((await session.decrypt(pair.privateKey, sha1, { oaepHash: 'sha1' })).toString()).toBe('secret');
    const ct2 = await session.encrypt(pair.publicKey, Buffer.from('again'), { oaepHash: 'sha1' });
    expect((await session.decrypt(pair.privateKey, ct2, { oaepHash: 'sha1' })).toString()).toBe('again');

    const data = Buffer.from('sign me');
    const sig = await session.sign(pair.privateKey, data);
    expect(nodeVerify('sha256', data, pub, sig)).toBe(true);
    expect(await session.verify(pair.publicKey, data, sig)).toBe(true);
    expect(await session.verify(pair.publicKey, Buffer.from('other'), sig)).toBe(false);
  });

  test('EC P-256: signatures verify in node:crypto (IEEE P1363)', async () => {
    const pair = await session.generateEcKeyPair({ label: 'ec/v1' });
    const pub = createPublicKey(pair.publicKeyPem);
    expect(pub.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const data = Buffer.from('ec data');
    const sig = await session.sign(pair.privateKey, data);
    expect(nodeVerify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    expect(await session.verify(pair.publicKey, data, sig)).toBe(true);
  });

  test('find by label and prefix, narrow usage, destroy', async () => {
    const v1 = await session.generateAesKey({ label: 'wrap/v1' });
    const v2 = await session.generateAesKey({ label: 'wrap/v2' });
    expect((await session.findKeys({ labelPrefix: 'wrap/' })).map((k) => k.label)).toEqual(['wrap/v1', 'wrap/v2']);
    expect(await session.findKeys({ label: 'wrap/v2', keyClass: 'secret' })).toEqual([v2]);

    const ct = await session.encrypt(v1, Buffer.from('old data'));
    await session.restrictUsage(v1, { encrypt: false, wrap: false });
    expect((await session.usageOf(v1)).encrypt).toBe(false);
    await expect(session.encrypt(v1, Buffer.from('new data'))).rejects.toBeInstanceOf(ForbiddenError);
    expect((await session.decrypt(v1, ct)).toString()).toBe('old data');

    await session.destroy(v1);
    expect((await session.findKeys({ labelPrefix: 'wrap/' })).map((k) => k.label)).toEqual(['wrap/v2']);
  });
});
