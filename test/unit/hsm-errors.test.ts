import { ConfigError, ForbiddenError, InvalidInputError, UnavailableError } from '../../core/errors';
import { CKR, isBadSignature, mapPkcs11Error } from '../../hsm/errors';

/** Shaped like pkcs11js's Pkcs11Error: a numeric CKR in `code`, the C function in `method`. */
const pkcs11Error = (code: number, method = 'C_Login') => Object.assign(new Error('CKR'), { code, method });

describe('PKCS#11 error mapping', () => {
  test.each([
    [CKR.PIN_INCORRECT, ForbiddenError, false],
    [CKR.PIN_LOCKED, ForbiddenError, false],
    [CKR.USER_NOT_LOGGED_IN, ForbiddenError, false],
    [CKR.DEVICE_REMOVED, UnavailableError, true],
    [CKR.TOKEN_NOT_PRESENT, UnavailableError, true],
    [CKR.SESSION_HANDLE_INVALID, UnavailableError, true],
    [CKR.SESSION_CLOSED, UnavailableError, true],
    [CKR.CRYPTOKI_NOT_INITIALIZED, UnavailableError, true],
    [CKR.DATA_LEN_RANGE, InvalidInputError, false],
    [CKR.MECHANISM_INVALID, ConfigError, false],
  ])('CKR 0x%s maps to the right class and retriability', (code, cls, retriable) => {
    const e = mapPkcs11Error(pkcs11Error(code), 'logging in to token "t"');
    expect(e).toBeInstanceOf(cls);
    expect(e.retriable).toBe(retriable);
    expect(e.message).toMatch(/^.*token "t".*CKR_/);
  });

  test('a non-PKCS#11 failure (native load, etc.) is treated as the HSM being unavailable', () => {
    expect(mapPkcs11Error(new Error('dlopen failed'), 'x')).toBeInstanceOf(UnavailableError);
  });

  test('a wrong signature is an answer, not an error', () => {
    expect(isBadSignature(pkcs11Error(CKR.SIGNATURE_INVALID))).toBe(true);
    expect(isBadSignature(pkcs11Error(CKR.DEVICE_ERROR))).toBe(false);
  });
});
