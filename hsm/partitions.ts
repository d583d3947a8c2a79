import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, UnavailableError } from '../core/errors';
import { TokenNotFoundError } from './errors';
import type { KeyFamily, KeyVersionRef, RiskProfile } from './events';
import { partitionPinFile, type PoolConfig } from './pool-config';
import type { HsmModule, HsmSession, KeyHandle, KeyUsage } from './ports';
import { readSecret, writeSecretFile } from './secrets';

/**
 * A partition is a token of its own: its own officer (SO PIN) and user PIN, so one client's
 * session cannot see or use another's keys. These functions are the side-effecting half of the
 * allocation lifecycle; what to do, and when, is decided by the pure planner and Deciders.
 *
 * Root keys are versioned by label, "<family>/v<N>", so a rotation adds a key object and an old
 * version stays in the token (decrypt/unwrap/verify only) until it is retired.
 */
export const keyLabel = (family: KeyFamily, version: number): string => `${family}/v${version}`;

function hsmFor(config: PoolConfig, label: string) {
  const hsm = config.hsms.find((h) => h.partitionLabels.includes(label));
  if (!hsm) throw new ConfigError(`partition ${label} is not in the pool file`);
  return hsm;
}

/**
 * Makes sure the partition's token exists (creating it where the pool allows), returns nothing
 * secret. PINs are written as `.pending` files, the token initialised, then the files renamed:
 * a final PIN file therefore means the token was made, and a token the module does not list
 * while its PIN file exists is an HSM that is not answering, never a token to make again (that
 * overwrote the PINs of a token that was only out of sight).
 */
export async function ensurePartitionToken(module: HsmModule, config: PoolConfig, label: string): Promise<'existing' | 'created'> {
  const hsm = hsmFor(config, label);
  const has = async () => (await module.listTokens()).some((t) => t.initialized && t.label === label);
  // Another process may have made it since this one initialised the module: look again after a
  // re-initialisation before creating, or there would be two tokens with one label.
  const present = (await has()) || (await module.reinitialize(), await has());
  const pinFile = partitionPinFile(config, label);
  const soPinFile = partitionPinFile(config, label, true);
  const pending = (f: string) => `${f}.pending`;
  const settle = () => {
    for (const f of [soPinFile, pinFile]) if (fs.existsSync(pending(f))) fs.renameSync(pending(f), f);
  };
  if (present) {
    // Made, but stopped before its PIN files were renamed into place.
    if (!fs.existsSync(pinFile)) settle();
    if (!fs.existsSync(pinFile)) throw new ConfigError(`partition token ${label} exists but its PIN file ${pinFile} is missing; restore it or re-create the partition`);
    return 'existing';
  }
  if (fs.existsSync(pinFile)) {
    throw new UnavailableError('hsm', `partition token ${label} was created (its PIN file ${pinFile} exists) but module ${hsm.module} does not list it; the HSM or its token store is not answering`);
  }
  if (!hsm.createPartitions) throw new TokenNotFoundError(label, hsm.module);
  fs.mkdirSync(path.dirname(pinFile), { recursive: true, mode: 0o700 });
  const soPin = randomBytes(18).toString('base64url');
  const userPin = randomBytes(18).toString('base64url');
  // PIN files first: a token without its PIN file would be unusable.
  writeSecretFile(pending(soPinFile), soPin);
  writeSecretFile(pending(pinFile), userPin);
  await module.initToken(label, soPin, userPin);
  settle();
  return 'created';
}

export async function openPartition(module: HsmModule, config: PoolConfig, label: string): Promise<HsmSession> {
  return module.openSession(label, readSecret({ file: partitionPinFile(config, label) }));
}

/** Usage of a root wrapping key under a profile: the current version, or an older one. Pure. */
export function wrapUsage(profile: RiskProfile, current: boolean): { encrypt: boolean; decrypt: boolean; wrap: boolean; unwrap: boolean } {
  if (!current) return { encrypt: false, wrap: false, decrypt: true, unwrap: true };
  return profile.wrapOnlyRootKey
    ? { encrypt: false, decrypt: false, wrap: true, unwrap: true }
    : { encrypt: true, decrypt: true, wrap: true, unwrap: true };
}

async function generate(session: HsmSession, family: KeyFamily, version: number, profile: RiskProfile): Promise<KeyVersionRef> {
  const label = keyLabel(family, version);
  // Idempotent: a crash after the token made the key but before the event was written leaves
  // the key there; reuse it rather than making a second "v2".
  const existing = await session.findKeys({ label, keyClass: family === 'root-wrap' ? 'secret' : 'private' });
  if (existing[0]) return { family, version, kind: existing[0].kind, keyLabel: label, keyId: existing[0].id };
  if (family === 'root-wrap') {
    const k = await session.generateAesKey({ label, usage: wrapUsage(profile, true) });
    return { family, version, kind: 'aes-256', keyLabel: label, keyId: k.id };
  }
  const pair = await session.generateEcKeyPair({ label, usage: { sign: true, verify: true } });
  return { family, version, kind: 'ec-p256', keyLabel: label, keyId: pair.privateKey.id };
}

/** Baseline on allocation: AES-256 root wrapping key and EC P-256 signing key, version 1. */
export async function configureBaseline(session: HsmSession, profile: RiskProfile): Promise<KeyVersionRef[]> {
  return [await generate(session, 'root-wrap', 1, profile), await generate(session, 'root-sign', 1, profile)];
}

function handleFor(session: HsmSession, ref: KeyVersionRef, keyClass: KeyHandle['keyClass']): KeyHandle {
  return { tokenLabel: session.tokenLabel, label: ref.keyLabel, id: ref.keyId, kind: ref.kind, keyClass };
}

/**
 * Rotation: a new version in the token; the old one keeps only what reading old data needs
 * (decrypt/unwrap for the wrapping key, verify for the signing key's public half).
 */
export async function rotateKey(session: HsmSession, current: KeyVersionRef, profile: RiskProfile): Promise<KeyVersionRef> {
  const next = await generate(session, current.family, current.version + 1, profile);
  if (current.family === 'root-wrap') {
    await session.restrictUsage(handleFor(session, current, 'secret'), wrapUsage(profile, false));
  } else {
    await session.restrictUsage(handleFor(session, current, 'private'), { sign: false });
  }
  return next;
}

/** Removes every object of a key version from the token. */
export async function retireKeyVersion(session: HsmSession, ref: Pick<KeyVersionRef, 'keyLabel'>): Promise<number> {
  const keys = await session.findKeys({ label: ref.keyLabel });
  for (const k of keys) await session.destroy(k);
  return keys.length;
}

/** Applies a profile's key attributes to the current root wrapping key. */
export async function applyProfileToKeys(session: HsmSession, currentWrap: KeyVersionRef | undefined, profile: RiskProfile): Promise<void> {
  if (currentWrap) await session.restrictUsage(handleFor(session, currentWrap, 'secret'), wrapUsage(profile, true));
}

/** On release: the partition goes back to the pool empty, so the next client inherits nothing. */
export async function wipePartition(session: HsmSession): Promise<number> {
  const keys = await session.findKeys({});
  for (const k of keys) await session.destroy(k);
  return keys.length;
}

/** Quarantine: every key object in the partition loses every usage (nothing signs, nothing decrypts). */
export async function freezePartition(session: HsmSession): Promise<number> {
  const keys = await session.findKeys({});
  for (const k of keys) {
    const none: KeyUsage =
      k.keyClass === 'secret'
        ? { encrypt: false, decrypt: false, wrap: false, unwrap: false }
        : k.keyClass === 'private'
          ? { sign: false, decrypt: false, unwrap: false }
          : { verify: false, encrypt: false, wrap: false };
    await session.restrictUsage(k, none);
  }
  return keys.length;
}

/**
 * Quarantine lifted: current versions get their usage back under `profile`; older versions only
 * what reading old data needs (decrypt/unwrap, verify).
 */
export async function thawPartition(session: HsmSession, current: readonly KeyVersionRef[], profile: RiskProfile): Promise<void> {
  const currentIds = new Set(current.map((k) => k.keyId));
  for (const k of await session.findKeys({})) {
    const isCurrent = currentIds.has(k.id);
    if (k.keyClass === 'secret') await session.restrictUsage(k, wrapUsage(profile, isCurrent));
    else if (k.keyClass === 'private') await session.restrictUsage(k, { sign: isCurrent });
    else await session.restrictUsage(k, { verify: true });
  }
}
