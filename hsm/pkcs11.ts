import { createHmac, timingSafeEqual } from 'node:crypto';
import * as graphene from 'graphene-pk11';
import { ConfigError, ForbiddenError, UnavailableError } from '../core/errors';
import { TokenNotFoundError, ckrOf, mapPkcs11Error } from './errors';
import { acquire, reinitializeLibrary, release, type LoadedLibrary } from './pkcs11-library';
import type { HsmModule, HsmSession, TokenInfo } from './ports';
import { GrapheneSession } from './pkcs11-session';

export type { LoadedLibrary } from './pkcs11-library';

function tokenInfo(t: graphene.Token): TokenInfo {
  return {
    label: t.label.trim(),
    serialNumber: t.serialNumber.trim(),
    initialized: (t.flags & graphene.TokenFlag.TOKEN_INITIALIZED) !== 0,
    userPinInitialized: (t.flags & graphene.TokenFlag.USER_PIN_INITIALIZED) !== 0,
    manufacturer: t.manufacturerID.trim(),
    model: t.model.trim(),
  };
}

function slotsWithTokens(lib: LoadedLibrary): Array<{ slot: graphene.Slot; token: TokenInfo }> {
  const out: Array<{ slot: graphene.Slot; token: TokenInfo }> = [];
  const slots = lib.module.getSlots(true);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots.items(i);
    out.push({ slot, token: tokenInfo(slot.getToken()) });
  }
  return out;
}

/**
 * The slot currently holding the token with this label. Labels are the only stable name: slot
 * ids are reassigned on every initialisation. A label not seen may belong to a token another
 * process created since we initialised, which PKCS#11 only shows after finalize + initialize.
 */
export function findSlotByLabel(lib: LoadedLibrary, label: string): graphene.Slot {
  const look = () => slotsWithTokens(lib).find((s) => s.token.initialized && s.token.label === label)?.slot;
  try {
    const first = look();
    if (first) return first;
    reinitializeLibrary(lib);
    const second = look();
    if (second) return second;
  } catch (err) {
    throw mapPkcs11Error(err, `looking for token "${label}"`);
  }
  throw new TokenNotFoundError(label, lib.path);
}

const SESSION_FLAGS = graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION;

/** Opens an RW session on the token and logs the user in; "already logged in" is fine. */
export function openLoggedIn(lib: LoadedLibrary, label: string, pin: string, userType = graphene.UserType.USER): graphene.Session {
  const slot = findSlotByLabel(lib, label);
  let session: graphene.Session;
  try {
    session = slot.open(SESSION_FLAGS);
  } catch (err) {
    throw mapPkcs11Error(err, `opening a session on token "${label}"`);
  }
  const tag = createHmac('sha256', lib.pinKey).update(`${userType}\0${label}\0${pin}`).digest();
  const slotKey = `${userType}:${label}`;
  try {
    session.login(pin, userType);
    lib.loggedIn.set(slotKey, tag);
  } catch (err) {
    const known = lib.loggedIn.get(slotKey);
    const already = ckrOf(err) === 0x100; // CKR_USER_ALREADY_LOGGED_IN
    if (!already || !known || !timingSafeEqual(known, tag)) {
      session.close();
      if (already) throw new ForbiddenError(`logging in to token "${label}": CKR_PIN_INCORRECT; check the PIN file for this token`);
      throw mapPkcs11Error(err, `logging in to token "${label}"`);
    }
  }
  return session;
}

class Pkcs11Module implements HsmModule {
  private closed = false;
  constructor(private readonly lib: LoadedLibrary) {}

  get modulePath(): string {
    return this.lib.path;
  }

  private live(): LoadedLibrary {
    if (this.closed) throw new UnavailableError('hsm', `PKCS#11 module ${this.lib.path} was closed`);
    return this.lib;
  }

  async listTokens(): Promise<TokenInfo[]> {
    try {
      return slotsWithTokens(this.live()).map((s) => s.token);
    } catch (err) {
      throw mapPkcs11Error(err, 'listing tokens');
    }
  }

  async openSession(tokenLabel: string, userPin: string): Promise<HsmSession> {
    const lib = this.live();
    const open = () => openLoggedIn(lib, tokenLabel, userPin);
    return new GrapheneSession(lib, tokenLabel, open(), open);
  }

  async initToken(label: string, soPin: string, userPin: string): Promise<TokenInfo> {
    const lib = this.live();
    if (label.length === 0 || label.length > 32) throw new ConfigError(`token label "${label}" must be 1 to 32 characters`);
    try {
      const all = lib.module.getSlots(false);
      let target: graphene.Slot | undefined;
      for (let i = 0; i < all.length && !target; i++) {
        const slot = all.items(i);
        const t = tokenInfo(slot.getToken());
        if (t.initialized && t.label === label) target = slot;
      }
      for (let i = 0; i < all.length && !target; i++) {
        const slot = all.items(i);
        if (!tokenInfo(slot.getToken()).initialized) target = slot;
      }
      if (!target) throw new ConfigError(`PKCS#11 module ${lib.path} has no free slot for token "${label}"; create the partition with the vendor's tooling`);
      // Called on pkcs11js directly: graphene's Slot.initToken post-processes a return value
      // that pkcs11js 2.x no longer gives, and throws after the token was in fact initialised.
      (target as unknown as { lib: { C_InitToken(h: Buffer, pin: string, label: string): unknown } }).lib.C_InitToken(
        target.handle,
        soPin,
        label,
      );
      const so = openLoggedIn(lib, label, soPin, graphene.UserType.SO);
      try {
        so.initPin(userPin);
      } finally {
        so.logout();
        so.close();
        lib.loggedIn.delete(`${graphene.UserType.SO}:${label}`);
      }
      return tokenInfo(findSlotByLabel(lib, label).getToken());
    } catch (err) {
      throw mapPkcs11Error(err, `initialising token "${label}"`);
    }
  }

  async reinitialize(): Promise<void> {
    reinitializeLibrary(this.live());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    release(this.lib);
  }
}

/**
 * Loads (or shares) the PKCS#11 library at `modulePath`. Each caller gets its own handle to
 * close; the library is finalised when the last one closes.
 */
export function openPkcs11Module(modulePath: string): HsmModule {
  return new Pkcs11Module(acquire(modulePath));
}
