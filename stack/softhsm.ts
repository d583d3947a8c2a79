import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as graphene from 'graphene-pk11';
import type { Config } from '../core/config';
import { UnavailableError } from '../core/errors';
import { layout, mkdirp, writePrivate } from './layout';
import { StackError } from './process';

/**
 * SoftHSM2 tokens of the local stack: one credential vault and a pool of HSMs in tiers. Tokens
 * are initialised in-process through graphene-pk11 (C_InitToken / C_InitPIN), so PINs never
 * appear on a command line; they are random and kept in 0600 files under FORESIGHT_HOME/secrets.
 */

export type TokenRole = 'vault' | 'pool';

export interface TokenSpec {
  label: string;
  role: TokenRole;
  /** Pool tier (gold > silver); absent for the vault. */
  tier?: 'gold' | 'silver';
}

export interface ManifestToken extends TokenSpec {
  pinFile: string;
  soPinFile: string;
}

/** FORESIGHT_HOME/hsm-tokens.json: what other code reads to find tokens and their PIN files. */
export interface HsmManifest {
  module: string;
  /** The SOFTHSM2_CONF every process using these tokens must have in its environment. */
  softhsm2Conf: string;
  tokens: ManifestToken[];
}

export const LOCAL_TOKENS: readonly TokenSpec[] = [
  { label: 'foresight-vault', role: 'vault' },
  { label: 'hsm-gold-1', role: 'pool', tier: 'gold' },
  { label: 'hsm-silver-1', role: 'pool', tier: 'silver' },
  { label: 'hsm-silver-2', role: 'pool', tier: 'silver' },
];

export interface HsmHealth {
  healthy: boolean;
  module: string;
  tokens: string[];
  error?: string;
}

export function softhsmConfText(tokenDir: string): string {
  return `# Written by 'foresight stack up'.\ndirectories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`;
}

const pinFile = (cfg: Pick<Config, 'home' | 'cacheDir'>, label: string, so = false) => path.join(layout(cfg).secrets, `${label}.${so ? 'so-pin' : 'pin'}`);

/**
 * Points this process (and children it starts) at the stack's SoftHSM2 config. SoftHSM reads
 * SOFTHSM2_CONF at C_Initialize, so call this before loading the module.
 */
export function useLocalSoftHsm(cfg: Pick<Config, 'home' | 'cacheDir' | 'hsm'>): void {
  if (!cfg.hsm.external) process.env.SOFTHSM2_CONF = layout(cfg).softhsmConf;
}

export function readHsmManifest(cfg: Pick<Config, 'home' | 'cacheDir'>): HsmManifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(layout(cfg).hsmManifest, 'utf8')) as HsmManifest;
  } catch {
    return undefined;
  }
}

/** The user PIN of a stack token, read from its 0600 file. Never log or print it. */
export function readTokenPin(label: string, cfg: Pick<Config, 'home' | 'cacheDir'>): string {
  const f = pinFile(cfg, label);
  try {
    return fs.readFileSync(f, 'utf8').trim();
  } catch {
    throw new StackError(`no PIN file for token ${label} (${f}); run 'npx foresight stack up' to create the tokens`);
  }
}

function withModule<T>(lib: string, fn: (m: graphene.Module) => T): T {
  let mod: graphene.Module;
  try {
    mod = graphene.Module.load(lib, 'SoftHSM');
    mod.initialize();
  } catch (e) {
    throw new UnavailableError('hsm', `cannot load PKCS#11 module ${lib} (${(e as Error).message}); install softhsm2 or set PKCS11_MODULE`, e);
  }
  try {
    return fn(mod);
  } finally {
    try {
      mod.finalize();
    } catch {
      /* already finalized */
    }
    try {
      mod.close();
    } catch {
      /* unloaded */
    }
  }
}

function slotsOf(mod: graphene.Module): graphene.Slot[] {
  const out: graphene.Slot[] = [];
  const coll = mod.getSlots(true);
  for (let i = 0; i < coll.length; i++) out.push(coll.items(i));
  return out;
}

const initialized = (s: graphene.Slot) => (s.getToken().flags & graphene.TokenFlag.TOKEN_INITIALIZED) !== 0;
const labelOf = (s: graphene.Slot) => s.getToken().label.trim();

export function findTokenSlot(mod: graphene.Module, label: string): graphene.Slot | undefined {
  return slotsOf(mod).find((s) => initialized(s) && labelOf(s) === label);
}

/** Writes the config, creates missing tokens and the manifest. Idempotent. */
export function ensureTokens(cfg: Config, specs: readonly TokenSpec[] = LOCAL_TOKENS): HsmManifest {
  const l = layout(cfg);
  mkdirp(l.softhsmTokens, 0o700);
  mkdirp(l.secrets, 0o700);
  fs.writeFileSync(l.softhsmConf, softhsmConfText(l.softhsmTokens));
  useLocalSoftHsm(cfg);
  if (!fs.existsSync(cfg.hsm.module)) {
    throw new StackError(`SoftHSM2 module ${cfg.hsm.module} not found; install it (apt-get install softhsm2) or set PKCS11_MODULE`);
  }
  const existing = withModule(cfg.hsm.module, (m) => slotsOf(m).filter(initialized).map(labelOf));
  for (const spec of specs) {
    if (existing.includes(spec.label)) {
      if (!fs.existsSync(pinFile(cfg, spec.label))) {
        throw new StackError(`token ${spec.label} exists but its PIN file is missing; run 'npx foresight stack down --purge' and start again`);
      }
      continue;
    }
    const pin = randomBytes(16).toString('base64url');
    const soPin = randomBytes(16).toString('base64url');
    // Each new token needs a fresh module: SoftHSM lists the next free slot only after
    // C_Finalize / C_Initialize.
    withModule(cfg.hsm.module, (m) => {
      const free = slotsOf(m).find((s) => !initialized(s));
      if (!free) throw new StackError(`SoftHSM2 offers no free slot for ${spec.label}; check ${l.softhsmConf}`);
      // Slot.initToken post-processes C_InitToken's return value, which pkcs11js 2 no longer
      // has (TypeError after the token was made); call the library directly.
      free.lib.C_InitToken(free.handle, soPin, spec.label);
      const slot = findTokenSlot(m, spec.label) ?? free;
      const session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
      try {
        session.login(soPin, graphene.UserType.SO);
        session.initPin(pin);
        session.logout();
      } finally {
        session.close();
      }
    });
    writePrivate(pinFile(cfg, spec.label), pin);
    writePrivate(pinFile(cfg, spec.label, true), soPin);
  }
  const manifest: HsmManifest = {
    module: cfg.hsm.module,
    softhsm2Conf: l.softhsmConf,
    tokens: specs.map((s) => ({ ...s, pinFile: pinFile(cfg, s.label), soPinFile: pinFile(cfg, s.label, true) })),
  };
  fs.writeFileSync(l.hsmManifest, JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** Healthy when every manifest token accepts a user login with its PIN (or, external, the module loads). */
export function hsmHealth(cfg: Config): HsmHealth {
  const module = cfg.hsm.module;
  try {
    useLocalSoftHsm(cfg);
    if (cfg.hsm.external) {
      const labels = withModule(module, (m) => slotsOf(m).filter(initialized).map(labelOf));
      return { healthy: true, module, tokens: labels };
    }
    const manifest = readHsmManifest(cfg);
    if (!manifest) return { healthy: false, module, tokens: [], error: 'no tokens yet (run stack up)' };
    return withModule(module, (m) => {
      for (const t of manifest.tokens) {
        const slot = findTokenSlot(m, t.label);
        if (!slot) return { healthy: false, module, tokens: [], error: `token ${t.label} missing` };
        const session = slot.open(graphene.SessionFlag.SERIAL_SESSION);
        try {
          session.login(readTokenPin(t.label, cfg), graphene.UserType.USER);
          session.logout();
        } finally {
          session.close();
        }
      }
      return { healthy: true, module, tokens: manifest.tokens.map((t) => t.label) };
    });
  } catch (e) {
    return { healthy: false, module, tokens: [], error: e instanceof Error ? e.message : String(e) };
  }
}
