import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ForbiddenError } from '../../core/errors';
import { KeyNotFoundError } from '../../hsm/errors';
import {
  applyProfileToKeys,
  configureBaseline,
  ensurePartitionToken,
  freezePartition,
  keyLabel,
  openPartition,
  retireKeyVersion,
  rotateKey,
  thawPartition,
  wipePartition,
} from '../../hsm/partitions';
import { openPkcs11Module } from '../../hsm/pkcs11';
import { parsePoolConfig, partitionPinFile, type PoolConfig } from '../../hsm/pool-config';
import type { HsmModule, HsmSession } from '../../hsm/ports';
import { PROFILES } from '../../hsm/risk-profile';
import { readSecret, writeSecretFile } from '../../hsm/secrets';
import { tempSoftHsm, type TempSoftHsm } from '../support/softhsm-temp';

// Partitions as separate SoftHSM2 tokens: isolation, baseline keys and rotation on the real module.
let hsm: TempSoftHsm;
let mod: HsmModule;
let config: PoolConfig;
let a: HsmSession;
let b: HsmSession;

beforeAll(async () => {
  hsm = tempSoftHsm('fs-hsm-part-');
  config = parsePoolConfig(
    `tiers: [{ name: silver, partitionOpsPerSecond: 500 }]
hsms: [{ id: iso-1, tier: silver, partitionCapacity: 4, createPartitions: true }]`,
    'pool.yaml',
    { module: hsm.modulePath, home: hsm.dir },
  );
  mod = openPkcs11Module(hsm.modulePath);
  expect(await ensurePartitionToken(mod, config, 'iso-1-p01')).toBe('created');
  expect(await ensurePartitionToken(mod, config, 'iso-1-p02')).toBe('created');
  expect(await ensurePartitionToken(mod, config, 'iso-1-p01')).toBe('existing');
  a = await openPartition(mod, config, 'iso-1-p01');
  b = await openPartition(mod, config, 'iso-1-p02');
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await mod?.close();
  hsm?.cleanup();
});

test('each partition has its own PINs, in files only its owner can read', () => {
  for (const label of ['iso-1-p01', 'iso-1-p02']) {
    for (const so of [false, true]) {
      expect(fs.statSync(partitionPinFile(config, label, so)).mode & 0o777).toBe(0o600);
    }
  }
  expect(readSecret({ file: partitionPinFile(config, 'iso-1-p01') })).not.toBe(readSecret({ file: partitionPinFile(config, 'iso-1-p02') }));
  expect(path.dirname(partitionPinFile(config, 'iso-1-p01'))).toBe(path.join(hsm.dir, 'secrets', 'partitions'));
});

test('baseline on allocation: AES-256 wrapping key and EC P-256 signing key, version 1, idempotent', async () => {
  const keys = await configureBaseline(a, PROFILES.low);
  expect(keys.map((k) => [k.family, k.version, k.kind, k.keyLabel])).toEqual([
    ['root-wrap', 1, 'aes-256', 'root-wrap/v1'],
    ['root-sign', 1, 'ec-p256', 'root-sign/v1'],
  ]);
  expect(await configureBaseline(a, PROFILES.low)).toEqual(keys);
  await configureBaseline(b, PROFILES.low);
});

test('client A can neither see nor use client B keys', async () => {
  const aKeys = await a.findKeys({});
  const bKeys = await b.findKeys({});
  expect(aKeys.length).toBe(3); // AES + EC private + EC public
  expect(bKeys.length).toBe(3);
  const aIds = new Set(aKeys.map((k) => k.id));
  expect(bKeys.some((k) => aIds.has(k.id))).toBe(false);
  expect(aKeys.every((k) => k.tokenLabel === 'iso-1-p01')).toBe(true);

  // B's key reference used through A's session: refused, whether named as B's or forged as A's
  const bWrap = bKeys.find((k) => k.kind === 'aes-256')!;
  await expect(a.encrypt(bWrap, Buffer.from('x'))).rejects.toBeInstanceOf(KeyNotFoundError);
  await expect(a.encrypt({ ...bWrap, tokenLabel: 'iso-1-p01' }, Buffer.from('x'))).rejects.toBeInstanceOf(KeyNotFoundError);

  // A's PIN does not open B, even while B is logged in in this process
  const aPin = readSecret({ file: partitionPinFile(config, 'iso-1-p01') });
  await expect(mod.openSession('iso-1-p02', aPin)).rejects.toBeInstanceOf(ForbiddenError);

  // data B encrypted cannot be decrypted by A's key
  const ct = await b.encrypt(bWrap, Buffer.from('b only'));
  const aWrap = aKeys.find((k) => k.kind === 'aes-256')!;
  await expect(a.decrypt(aWrap, ct)).rejects.toThrow(/does not authenticate/);
});

test('rotation makes a new key version in the token; the old one decrypts until retired', async () => {
  const [wrap1, sign1] = await a.findKeys({ label: 'root-wrap/v1' }).then(async (w) => [w[0], (await a.findKeys({ label: 'root-sign/v1', keyClass: 'private' }))[0]]);
  const oldCt = await a.encrypt(wrap1, Buffer.from('written under v1'));
  const v1 = { family: 'root-wrap' as const, version: 1, kind: 'aes-256' as const, keyLabel: 'root-wrap/v1', keyId: wrap1.id };
  const v2 = await rotateKey(a, v1, PROFILES.high);
  expect(v2).toMatchObject({ family: 'root-wrap', version: 2, keyLabel: keyLabel('root-wrap', 2) });
  expect(v2.keyId).not.toBe(v1.keyId);
  expect((await a.findKeys({ labelPrefix: 'root-wrap/' })).map((k) => k.label)).toEqual(['root-wrap/v1', 'root-wrap/v2']);

  // old version: decrypts, no longer encrypts; new version under a "high" profile: wrap only
  expect((await a.decrypt(wrap1, oldCt)).toString()).toBe('written under v1');
  await expect(a.encrypt(wrap1, Buffer.from('new'))).rejects.toBeInstanceOf(ForbiddenError);
  const usage2 = await a.usageOf({ tokenLabel: a.tokenLabel, label: v2.keyLabel, id: v2.keyId, kind: 'aes-256', keyClass: 'secret' });
  expect(usage2).toMatchObject({ wrap: true, unwrap: true, encrypt: false });

  // signing key: old private half can no longer sign
  const s1 = { family: 'root-sign' as const, version: 1, kind: 'ec-p256' as const, keyLabel: 'root-sign/v1', keyId: sign1.id };
  await rotateKey(a, s1, PROFILES.high);
  await expect(a.sign(sign1, Buffer.from('m'))).rejects.toBeInstanceOf(ForbiddenError);

  expect(await retireKeyVersion(a, v1)).toBe(1);
  expect((await a.findKeys({ labelPrefix: 'root-wrap/' })).map((k) => k.label)).toEqual(['root-wrap/v2']);
});

test('quarantine freezes every key in the token; lifting it gives the current versions their usage back', async () => {
  const wrap = (await a.findKeys({ label: 'root-wrap/v2' }))[0];
  const sign = (await a.findKeys({ label: 'root-sign/v2', keyClass: 'private' }))[0];
  const current = [
    { family: 'root-wrap' as const, version: 2, kind: 'aes-256' as const, keyLabel: wrap.label, keyId: wrap.id },
    { family: 'root-sign' as const, version: 2, kind: 'ec-p256' as const, keyLabel: sign.label, keyId: sign.id },
  ];
  await applyProfileToKeys(a, current[0], PROFILES.low); // risk fell: the wrapping key may encrypt data again
  const ct = await a.encrypt(wrap, Buffer.from('before'));
  await freezePartition(a);
  await expect(a.decrypt(wrap, ct)).rejects.toBeInstanceOf(ForbiddenError);
  await expect(a.sign(sign, Buffer.from('m'))).rejects.toBeInstanceOf(ForbiddenError);
  await thawPartition(a, current, PROFILES.low);
  expect((await a.decrypt(wrap, ct)).toString()).toBe('before');
  expect((await a.sign(sign, Buffer.from('m'))).length).toBe(64);
  const oldSign = (await a.findKeys({ label: 'root-sign/v1', keyClass: 'private' }))[0];
  await expect(a.sign(oldSign, Buffer.from('m'))).rejects.toBeInstanceOf(ForbiddenError);
});

test('a partition token another process created is found (after a re-initialisation), not created twice', async () => {
  const label = 'iso-1-p03';
  writeSecretFile(partitionPinFile(config, label), 'user-pin-p03');
  writeSecretFile(partitionPinFile(config, label, true), 'so-pin-p03');
  execFileSync(process.execPath, [path.join(__dirname, '..', 'support', 'softhsm-init-token.js'), hsm.modulePath, label], {
    env: { ...process.env, SOFTHSM2_CONF: hsm.conf, HSM_SO_PIN: 'so-pin-p03', HSM_USER_PIN: 'user-pin-p03' },
  });
  expect(await ensurePartitionToken(mod, config, label)).toBe('existing');
  expect((await mod.listTokens()).filter((t) => t.label === label)).toHaveLength(1);
  const s = await openPartition(mod, config, label);
  expect(await s.findKeys({})).toEqual([]);
  await s.close();
  // the sessions opened before the re-initialisation carry on
  expect((await a.findKeys({ labelPrefix: 'root-wrap/' })).length).toBeGreaterThan(0);
});

test('release wipes the partition so the next client inherits nothing', async () => {
  expect(await wipePartition(b)).toBe(3);
  expect(await b.findKeys({})).toEqual([]);
});

test('a creation cut short after its PIN files were written: the next ensure makes the token with fresh PINs and settles the files', async () => {
  const label = 'iso-1-p04';
  writeSecretFile(`${partitionPinFile(config, label)}.pending`, 'stale-user-pin');
  writeSecretFile(`${partitionPinFile(config, label, true)}.pending`, 'stale-so-pin');
  expect(await ensurePartitionToken(mod, config, label)).toBe('created');
  expect(readSecret({ file: partitionPinFile(config, label) })).not.toBe('stale-user-pin');
  expect(fs.existsSync(`${partitionPinFile(config, label)}.pending`)).toBe(false);
  const s = await openPartition(mod, config, label);
  await s.close();
});

test('a created partition token out of sight (its token store gone) is an outage, not a token to make again; back, it is found with its PINs', async () => {
  const label = 'iso-1-p04';
  const pin = readSecret({ file: partitionPinFile(config, label) });
  const tokens = path.join(hsm.dir, 'tokens');
  fs.renameSync(tokens, `${tokens}.away`);
  fs.mkdirSync(tokens, { mode: 0o700 });
  try {
    await mod.reinitialize();
    const err = await ensurePartitionToken(mod, config, label).catch((e: unknown) => e);
    expect(err).toMatchObject({ retriable: true });
    expect(readSecret({ file: partitionPinFile(config, label) })).toBe(pin);
  } finally {
    fs.rmSync(tokens, { recursive: true });
    fs.renameSync(`${tokens}.away`, tokens);
  }
  await mod.reinitialize();
  expect(await ensurePartitionToken(mod, config, label)).toBe('existing');
  expect((await mod.listTokens()).filter((t) => t.label === label)).toHaveLength(1);
  const s = await openPartition(mod, config, label);
  await s.close();
});
