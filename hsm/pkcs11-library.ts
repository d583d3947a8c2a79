import { randomBytes } from 'node:crypto';
import * as graphene from 'graphene-pk11';
import { ConfigError, UnavailableError } from '../core/errors';
import { CKR, ckrOf, mapPkcs11Error } from './errors';

const CKF_OS_LOCKING_OK = 0x2;

/**
 * The native PKCS#11 library is process-global: two graphene Modules on the same path share one
 * C_Initialize, and a C_Finalize by either kills every session of both. So one loaded library per
 * path per process, reference-counted, with a generation number that sessions compare to notice
 * a re-initialisation and reopen themselves.
 */
export interface LoadedLibrary {
  readonly path: string;
  readonly module: graphene.Module;
  generation: number;
  refs: number;
  /**
   * PKCS#11 login state is per token per process: once a token's user is logged in, C_Login with
   * any PIN answers CKR_USER_ALREADY_LOGGED_IN. To still reject a wrong PIN then, we keep a keyed
   * hash of the PIN that did log in (the key never leaves this process's memory).
   */
  readonly pinKey: Buffer;
  readonly loggedIn: Map<string, Buffer>;
  /** Async calls (key generation) running on libuv's pool: no finalize while any runs. */
  inflight: number;
}

const libraries = new Map<string, LoadedLibrary>();

function initialize(m: graphene.Module): void {
  // OS locking: key generation runs on libuv's thread pool while other calls may run on the main
  // thread; without this flag SoftHSM2 assumes single-threaded use.
  m.initialize({ flags: CKF_OS_LOCKING_OK });
}

export function acquire(path: string): LoadedLibrary {
  const hit = libraries.get(path);
  if (hit) {
    hit.refs++;
    return hit;
  }
  let module: graphene.Module;
  try {
    module = graphene.Module.load(path, 'foresight');
  } catch (err) {
    throw new ConfigError(`PKCS11_MODULE=${path}: cannot load it (${err instanceof Error ? err.message : String(err)}); point PKCS11_MODULE at a PKCS#11 library`);
  }
  try {
    // Start from a clean C_Initialize even if some other loader of this library in the process
    // left it initialised: SoftHSM2 reads its configuration (SOFTHSM2_CONF) only there.
    try {
      module.finalize();
    } catch {
      // not initialised: the usual case
    }
    initialize(module);
  } catch (err) {
    throw mapPkcs11Error(err, `initialising PKCS#11 module ${path}`);
  }
  const lib: LoadedLibrary = { path, module, generation: 0, refs: 1, pinKey: randomBytes(32), loggedIn: new Map(), inflight: 0 };
  libraries.set(path, lib);
  return lib;
}

export function release(lib: LoadedLibrary): void {
  lib.refs--;
  if (lib.refs > 0) return;
  libraries.delete(lib.path);
  try {
    lib.module.finalize();
  } catch (err) {
    if (ckrOf(err) !== CKR.CRYPTOKI_NOT_INITIALIZED) throw mapPkcs11Error(err, 'finalising PKCS#11 module');
  }
  lib.module.close();
}

/** Finalize + initialize. Every session of the process must reopen afterwards (generation++). */
export function reinitializeLibrary(lib: LoadedLibrary): void {
  if (lib.inflight > 0) {
    throw new UnavailableError('hsm', `PKCS#11 module ${lib.path} is busy generating keys; re-initialisation postponed, retry`);
  }
  try {
    lib.module.finalize();
  } catch (err) {
    if (ckrOf(err) !== CKR.CRYPTOKI_NOT_INITIALIZED) throw mapPkcs11Error(err, 'finalising PKCS#11 module');
  }
  try {
    initialize(lib.module);
  } catch (err) {
    throw mapPkcs11Error(err, 're-initialising PKCS#11 module');
  }
  lib.loggedIn.clear();
  lib.generation++;
}

/**
 * Someone finalised the library under us (another graphene Module on the same path, e.g. a
 * health check that loads and finalises its own): initialise it again, once per generation.
 */
export function recoverLibrary(lib: LoadedLibrary, seenGeneration: number): void {
  if (lib.generation !== seenGeneration) return; // already recovered by another session
  try {
    initialize(lib.module); // graphene ignores CKR_CRYPTOKI_ALREADY_INITIALIZED
  } catch (err) {
    throw mapPkcs11Error(err, 're-initialising PKCS#11 module');
  }
  lib.loggedIn.clear();
  lib.generation++;
}
