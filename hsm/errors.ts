import {
  ConfigError,
  ForbiddenError,
  ForesightError,
  InvalidInputError,
  UnavailableError,
} from '../core/errors';

/**
 * PKCS#11 return values (CKR_*) and what they mean for a caller. Listed by number rather than
 * imported from pkcs11js so the mapping is testable without loading the native module.
 */
const CKR = {
  GENERAL_ERROR: 0x05,
  FUNCTION_FAILED: 0x06,
  ARGUMENTS_BAD: 0x07,
  ATTRIBUTE_READ_ONLY: 0x10,
  ATTRIBUTE_VALUE_INVALID: 0x13,
  DATA_INVALID: 0x20,
  DATA_LEN_RANGE: 0x21,
  DEVICE_ERROR: 0x30,
  DEVICE_MEMORY: 0x31,
  DEVICE_REMOVED: 0x32,
  ENCRYPTED_DATA_INVALID: 0x40,
  ENCRYPTED_DATA_LEN_RANGE: 0x41,
  FUNCTION_CANCELED: 0x50,
  KEY_HANDLE_INVALID: 0x60,
  KEY_TYPE_INCONSISTENT: 0x63,
  KEY_FUNCTION_NOT_PERMITTED: 0x68,
  MECHANISM_INVALID: 0x70,
  MECHANISM_PARAM_INVALID: 0x71,
  OBJECT_HANDLE_INVALID: 0x82,
  PIN_INCORRECT: 0xa0,
  PIN_INVALID: 0xa1,
  PIN_LEN_RANGE: 0xa2,
  PIN_EXPIRED: 0xa3,
  PIN_LOCKED: 0xa4,
  SESSION_CLOSED: 0xb0,
  SESSION_COUNT: 0xb1,
  SESSION_HANDLE_INVALID: 0xb3,
  SIGNATURE_INVALID: 0xc0,
  SIGNATURE_LEN_RANGE: 0xc1,
  TEMPLATE_INCOMPLETE: 0xd0,
  TEMPLATE_INCONSISTENT: 0xd1,
  TOKEN_NOT_PRESENT: 0xe0,
  TOKEN_NOT_RECOGNIZED: 0xe1,
  TOKEN_WRITE_PROTECTED: 0xe2,
  USER_NOT_LOGGED_IN: 0x101,
  USER_PIN_NOT_INITIALIZED: 0x102,
  CRYPTOKI_NOT_INITIALIZED: 0x190,
  PIN_TOO_WEAK: 0x1b8,
} as const;

export { CKR };

/** A token label the module does not know, even after re-initialisation. */
export class TokenNotFoundError extends ForesightError {
  constructor(label: string, modulePath: string) {
    super(
      'HSM_TOKEN_NOT_FOUND',
      `no token labelled "${label}" in PKCS#11 module ${modulePath}; initialise it (foresight stack up) or fix the label in the pool file`,
      { retriable: false },
    );
  }
}

/** A key reference that no longer resolves (destroyed, or on another token). */
export class KeyNotFoundError extends ForesightError {
  constructor(tokenLabel: string, what: string) {
    super('HSM_KEY_NOT_FOUND', `token "${tokenLabel}": no ${what}`, { retriable: false });
  }
}

const UNAVAILABLE = new Set<number>([
  CKR.GENERAL_ERROR,
  CKR.FUNCTION_FAILED,
  CKR.DEVICE_ERROR,
  CKR.DEVICE_MEMORY,
  CKR.DEVICE_REMOVED,
  CKR.FUNCTION_CANCELED,
  CKR.SESSION_CLOSED,
  CKR.SESSION_COUNT,
  CKR.SESSION_HANDLE_INVALID,
  CKR.TOKEN_NOT_PRESENT,
  CKR.TOKEN_NOT_RECOGNIZED,
  CKR.CRYPTOKI_NOT_INITIALIZED,
]);

const FORBIDDEN = new Set<number>([
  CKR.PIN_INCORRECT,
  CKR.PIN_INVALID,
  CKR.PIN_LEN_RANGE,
  CKR.PIN_EXPIRED,
  CKR.PIN_LOCKED,
  CKR.PIN_TOO_WEAK,
  CKR.USER_NOT_LOGGED_IN,
  CKR.USER_PIN_NOT_INITIALIZED,
  CKR.KEY_FUNCTION_NOT_PERMITTED,
  CKR.TOKEN_WRITE_PROTECTED,
  CKR.ATTRIBUTE_READ_ONLY,
]);

function ckrName(code: number): string {
  const hit = Object.entries(CKR).find(([, v]) => v === code);
  return hit ? `CKR_${hit[0]}` : `CKR 0x${code.toString(16)}`;
}

/** The numeric CKR of a pkcs11js Pkcs11Error, if that is what this is. */
export function ckrOf(err: unknown): number | undefined {
  if (err && typeof err === 'object' && typeof (err as { code?: unknown }).code === 'number') {
    return (err as { code: number }).code;
  }
  return undefined;
}

/**
 * Converts whatever graphene/pkcs11js threw into our error family. `what` names the operation
 * and the token, never a PIN or key material (library messages hold neither: they are the
 * CKR name and the C function).
 */
export function mapPkcs11Error(err: unknown, what: string): ForesightError {
  if (err instanceof ForesightError) return err;
  const code = ckrOf(err);
  const method = (err as { method?: string } | undefined)?.method;
  const where = method ? `${what} (${method})` : what;
  if (code === undefined) {
    const msg = err instanceof Error ? err.message : String(err);
    return new UnavailableError('hsm', `${where}: ${msg}`, err);
  }
  const name = ckrName(code);
  if (UNAVAILABLE.has(code)) return new UnavailableError('hsm', `${where}: ${name}`, err);
  if (code === CKR.PIN_INCORRECT) return new ForbiddenError(`${where}: ${name}; check the PIN file for this token`);
  if (code === CKR.PIN_LOCKED) return new ForbiddenError(`${where}: ${name}; the security officer must reset the user PIN`);
  if (FORBIDDEN.has(code)) return new ForbiddenError(`${where}: ${name}`);
  if (code === CKR.MECHANISM_INVALID) {
    return new ConfigError(`${where}: ${name}; this PKCS#11 module does not support the mechanism`);
  }
  return new InvalidInputError(`${where}: ${name}`, err);
}

/** A verify that failed because the signature is wrong is an answer (false), not an error. */
export function isBadSignature(err: unknown): boolean {
  const code = ckrOf(err);
  return code === CKR.SIGNATURE_INVALID || code === CKR.SIGNATURE_LEN_RANGE;
}

/** The object handle went stale (destroyed, or the module was re-initialised). */
export function isStaleHandle(err: unknown): boolean {
  const code = ckrOf(err);
  return code === CKR.OBJECT_HANDLE_INVALID || code === CKR.KEY_HANDLE_INVALID;
}

/**
 * The session is gone because the library was finalised or the session closed under us (another
 * part of the process re-initialised the module): reopen and try once more.
 */
export function isLostSession(err: unknown): boolean {
  const code = ckrOf(err);
  return (
    code === CKR.CRYPTOKI_NOT_INITIALIZED ||
    code === CKR.SESSION_HANDLE_INVALID ||
    code === CKR.SESSION_CLOSED ||
    code === CKR.USER_NOT_LOGGED_IN
  );
}
