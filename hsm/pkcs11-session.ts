import { constants, createHash, publicEncrypt, randomBytes } from 'node:crypto';
import * as graphene from 'graphene-pk11';
import { ConfigError, InvalidInputError, UnavailableError } from '../core/errors';
import { CKR, KeyNotFoundError, ckrOf, isBadSignature, isLostSession, isStaleHandle, mapPkcs11Error } from './errors';
import { recoverLibrary, type LoadedLibrary } from './pkcs11-library';
import type {
  CipherOptions,
  FindKeysQuery,
  GenerateKeyOptions,
  HsmSession,
  KeyClass,
  KeyHandle,
  KeyKind,
  KeyPairHandle,
  KeyUsage,
  SignMechanism,
} from './ports';
import { P256_PARAMS, ecP256Spki, rsaSpki } from './spki';

const CLASS: Record<KeyClass, number> = {
  secret: graphene.ObjectClass.SECRET_KEY,
  private: graphene.ObjectClass.PRIVATE_KEY,
  public: graphene.ObjectClass.PUBLIC_KEY,
};

function classOf(n: number): KeyClass | undefined {
  return (Object.keys(CLASS) as KeyClass[]).find((k) => CLASS[k] === n);
}

function kindOf(keyType: number): KeyKind | undefined {
  if (keyType === graphene.KeyType.AES) return 'aes-256';
  if (keyType === graphene.KeyType.RSA) return 'rsa-2048';
  if (keyType === graphene.KeyType.EC) return 'ec-p256';
  return undefined;
}

const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;

function oaep(hash: 'sha256' | 'sha1' = 'sha256'): graphene.IAlgorithm {
  const params =
    hash === 'sha1'
      ? new graphene.RsaOaepParams(graphene.MechanismEnum.SHA1, graphene.RsaMgf.MGF1_SHA1)
      : new graphene.RsaOaepParams(graphene.MechanismEnum.SHA256, graphene.RsaMgf.MGF1_SHA256);
  return { name: 'RSA_PKCS_OAEP', params };
}

/**
 * One logged-in session on one token. Reopens itself (same label, same PIN) when the module was
 * re-initialised under it; the PIN lives only inside the `reopen` closure, never on a field that
 * a logger or debugger dump would show.
 */
export class GrapheneSession implements HsmSession {
  private generation: number;
  private readonly handles = new Map<string, graphene.SessionObject>();
  private closed = false;

  constructor(
    private readonly lib: LoadedLibrary,
    readonly tokenLabel: string,
    private session: graphene.Session,
    private readonly reopen: () => graphene.Session,
  ) {
    this.generation = lib.generation;
  }

  /** The live graphene session, reopened if the module was re-initialised since. */
  private s(): graphene.Session {
    if (this.closed) throw new UnavailableError('hsm', `session on token "${this.tokenLabel}" is closed`);
    if (this.generation !== this.lib.generation) {
      this.handles.clear();
      this.session = this.reopen();
      this.generation = this.lib.generation;
    }
    return this.session;
  }

  private run<T>(what: string, fn: () => T): T {
    try {
      try {
        return fn();
      } catch (err) {
        if (!isLostSession(err)) throw err;
        recoverLibrary(this.lib, this.generation);
        return fn(); // s() reopens and logs in again: the generation moved on
      }
    } catch (err) {
      throw mapPkcs11Error(err, `${what} on token "${this.tokenLabel}"`);
    }
  }

  /** Counts an async (thread-pool) call so the library is not finalised under it. */
  private async inflight<T>(p: () => Promise<T>): Promise<T> {
    this.lib.inflight++;
    try {
      return await p();
    } finally {
      this.lib.inflight--;
    }
  }

  private handleOf(obj: graphene.SessionObject): KeyHandle {
    const a = obj.getAttribute({ class: null, keyType: null, label: null, id: null });
    const keyClass = classOf(a.class as number);
    const kind = kindOf(a.keyType as number);
    if (!keyClass || !kind) throw new InvalidInputError(`token "${this.tokenLabel}": object is not a key Foresight manages`);
    return { tokenLabel: this.tokenLabel, label: String(a.label), id: (a.id as Buffer).toString('hex'), kind, keyClass };
  }

  /** Resolves a handle to the token object, re-finding it if a cached handle went stale. */
  private object(key: KeyHandle, keyClass: KeyClass = key.keyClass): graphene.Key {
    if (key.tokenLabel !== this.tokenLabel) {
      throw new KeyNotFoundError(this.tokenLabel, `key "${key.label}" (it belongs to token "${key.tokenLabel}")`);
    }
    const cacheKey = `${keyClass}:${key.id}:${key.label}`;
    const session = this.s();
    const cached = this.handles.get(cacheKey);
    if (cached) return cached.toType<graphene.Key>();
    const found = session.find({ class: CLASS[keyClass], id: Buffer.from(key.id, 'hex'), label: key.label });
    if (found.length === 0) throw new KeyNotFoundError(this.tokenLabel, `${keyClass} key "${key.label}" id ${key.id}`);
    const obj = found.items(0);
    this.handles.set(cacheKey, obj);
    return obj.toType<graphene.Key>();
  }

  /** Runs an operation on a key; one retry after re-finding the object if its handle went stale. */
  private withKey<T>(what: string, key: KeyHandle, keyClass: KeyClass, fn: (k: graphene.Key, s: graphene.Session) => T): T {
    return this.run(what, () => {
      try {
        return fn(this.object(key, keyClass), this.s());
      } catch (err) {
        if (!isStaleHandle(err)) throw err;
        this.handles.clear();
        return fn(this.object(key, keyClass), this.s());
      }
    });
  }

  private idFor(opts: GenerateKeyOptions): Buffer {
    if (opts.id === undefined) return randomBytes(16);
    if (!/^([0-9a-f]{2})+$/i.test(opts.id)) throw new InvalidInputError(`key id "${opts.id}" must be hex`);
    return Buffer.from(opts.id, 'hex');
  }

  async generateAesKey(opts: GenerateKeyOptions): Promise<KeyHandle> {
    const u = opts.usage ?? { encrypt: true, decrypt: true, wrap: true, unwrap: true };
    const template: graphene.ITemplate = {
      class: graphene.ObjectClass.SECRET_KEY,
      keyType: graphene.KeyType.AES,
      valueLen: 32,
      label: opts.label,
      id: this.idFor(opts),
      token: opts.persistent ?? true,
      private: true,
      sensitive: true,
      extractable: opts.extractable ?? false,
      modifiable: true,
      encrypt: !!u.encrypt,
      decrypt: !!u.decrypt,
      wrap: !!u.wrap,
      unwrap: !!u.unwrap,
      sign: !!u.sign,
      verify: !!u.verify,
    };
    const session = this.run('generating an AES key', () => this.s());
    const key = await this.inflight(
      () =>
        new Promise<graphene.SecretKey>((resolve, reject) =>
          session.generateKey(graphene.KeyGenMechanism.AES, template, (err, k) => (err || !k ? reject(err) : resolve(k))),
        ),
    ).catch((err) => {
      throw mapPkcs11Error(err, `generating an AES key on token "${this.tokenLabel}"`);
    });
    return this.run('reading a new key', () => this.handleOf(key));
  }

  private async generatePair(
    what: string,
    mech: graphene.MechanismType,
    pub: graphene.ITemplate,
    priv: graphene.ITemplate,
    opts: GenerateKeyOptions,
  ): Promise<KeyPairHandle> {
    const id = this.idFor(opts);
    const token = opts.persistent ?? true;
    const common = { label: opts.label, id, token, modifiable: true };
    const session = this.run(what, () => this.s());
    const pair = await this.inflight(
      () =>
        new Promise<graphene.IKeyPair>((resolve, reject) =>
          session.generateKeyPair(
            mech,
            { ...pub, ...common, class: graphene.ObjectClass.PUBLIC_KEY, private: false },
            // Private halves never leave the token: sensitive, not extractable, whatever the caller asked.
            { ...priv, ...common, class: graphene.ObjectClass.PRIVATE_KEY, private: true, sensitive: true, extractable: false },
            (err, p) => (err || !p ? reject(err) : resolve(p)),
          ),
        ),
    ).catch((err) => {
      throw mapPkcs11Error(err, `${what} on token "${this.tokenLabel}"`);
    });
    const publicKey = this.run('reading a new key', () => this.handleOf(pair.publicKey));
    const privateKey = this.run('reading a new key', () => this.handleOf(pair.privateKey));
    const { spki, pem } = await this.exportPublicKey(publicKey);
    return { privateKey, publicKey, publicKeySpki: spki, publicKeyPem: pem };
  }

  async generateRsaKeyPair(opts: GenerateKeyOptions): Promise<KeyPairHandle> {
    const u = opts.usage ?? { sign: true, verify: true, encrypt: true, decrypt: true };
    return this.generatePair(
      'generating an RSA-2048 key pair',
      graphene.KeyGenMechanism.RSA,
      { keyType: graphene.KeyType.RSA, modulusBits: 2048, publicExponent: Buffer.from([1, 0, 1]), verify: !!u.verify, encrypt: !!u.encrypt, wrap: !!u.wrap },
      { keyType: graphene.KeyType.RSA, sign: !!u.sign, decrypt: !!u.decrypt, unwrap: !!u.unwrap },
      opts,
    );
  }

  async generateEcKeyPair(opts: GenerateKeyOptions): Promise<KeyPairHandle> {
    const u = opts.usage ?? { sign: true, verify: true };
    return this.generatePair(
      'generating an EC P-256 key pair',
      graphene.KeyGenMechanism.EC,
      { keyType: graphene.KeyType.EC, paramsEC: P256_PARAMS, verify: !!u.verify },
      { keyType: graphene.KeyType.EC, sign: !!u.sign, derive: false },
      opts,
    );
  }

  async findKeys(q: FindKeysQuery): Promise<KeyHandle[]> {
    return this.run('finding keys', () => {
      const template: graphene.ITemplate = {};
      if (q.keyClass) template.class = CLASS[q.keyClass];
      if (q.label !== undefined) template.label = q.label;
      if (q.id !== undefined) template.id = Buffer.from(q.id, 'hex');
      const found = this.s().find(template);
      const out: KeyHandle[] = [];
      for (let i = 0; i < found.length; i++) {
        const obj = found.items(i);
        const a = obj.getAttribute({ class: null });
        if (!classOf(a.class as number)) continue;
        let h: KeyHandle;
        try {
          h = this.handleOf(obj);
        } catch {
          continue; // a key type Foresight does not manage (e.g. DES): not ours to list
        }
        if (q.labelPrefix !== undefined && !h.label.startsWith(q.labelPrefix)) continue;
        out.push(h);
      }
      return out.sort((a, b) => a.label.localeCompare(b.label) || a.keyClass.localeCompare(b.keyClass));
    });
  }

  async exportPublicKey(key: KeyHandle): Promise<{ spki: Buffer; pem: string }> {
    if (key.kind === 'aes-256') throw new InvalidInputError(`key "${key.label}" is a secret key; it has no public half`);
    return this.withKey('exporting a public key', key, 'public', (k) => {
      if (key.kind === 'rsa-2048') {
        const a = k.getAttribute({ modulus: null, publicExponent: null });
        return rsaSpki(a.modulus as Buffer, a.publicExponent as Buffer);
      }
      return ecP256Spki(k.getAttribute({ pointEC: null }).pointEC as Buffer);
    });
  }

  private signMech(key: KeyHandle, m?: SignMechanism): SignMechanism {
    const mech = m ?? (key.kind === 'rsa-2048' ? 'RSA-SHA256' : key.kind === 'ec-p256' ? 'ECDSA-SHA256' : undefined);
    if (!mech || (mech === 'RSA-SHA256') !== (key.kind === 'rsa-2048') || key.kind === 'aes-256') {
      throw new InvalidInputError(`key "${key.label}" (${key.kind}) cannot ${m ?? 'sign'}`);
    }
    return mech;
  }

  async sign(key: KeyHandle, data: Buffer, m?: SignMechanism): Promise<Buffer> {
    const mech = this.signMech(key, m);
    return this.withKey('signing', key, 'private', (k, s) =>
      // ECDSA over a digest made here: CKM_ECDSA is in every module, CKM_ECDSA_SHA256 is not.
      mech === 'RSA-SHA256'
        ? s.createSign('SHA256_RSA_PKCS', k).once(data)
        : s.createSign('ECDSA', k).once(createHash('sha256').update(data).digest()),
    );
  }

  async verify(key: KeyHandle, data: Buffer, signature: Buffer, m?: SignMechanism): Promise<boolean> {
    const mech = this.signMech(key, m);
    return this.withKey('verifying', key, 'public', (k, s) => {
      try {
        return mech === 'RSA-SHA256'
          ? s.createVerify('SHA256_RSA_PKCS', k).once(data, signature)
          : s.createVerify('ECDSA', k).once(createHash('sha256').update(data).digest(), signature);
      } catch (err) {
        if (isBadSignature(err)) return false;
        throw err;
      }
    });
  }

  async encrypt(key: KeyHandle, plaintext: Buffer, opts: CipherOptions = {}): Promise<Buffer> {
    const aad = opts.aad;
    if (key.kind === 'aes-256') {
      return this.withKey('encrypting', key, 'secret', (k, s) => {
        const iv = s.generateRandom(GCM_IV_BYTES);
        const alg = { name: 'AES_GCM', params: new graphene.AesGcmParams(iv, aad ?? Buffer.alloc(0), GCM_TAG_BYTES * 8) };
        const out = s.createCipher(alg, k).once(plaintext, Buffer.alloc(plaintext.length + GCM_TAG_BYTES + 16));
        return Buffer.concat([iv, out]);
      });
    }
    if (key.kind === 'rsa-2048') {
      if (aad) throw new InvalidInputError('RSA-OAEP takes no associated data');
      const { pem } = await this.exportPublicKey(key);
      try {
        return publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: opts.oaepHash ?? 'sha256' }, plaintext);
      } catch (err) {
        throw new InvalidInputError(`RSA-OAEP encryption with "${key.label}" failed: ${err instanceof Error ? err.message : String(err)}`, err);
      }
    }
    throw new InvalidInputError(`key "${key.label}" (${key.kind}) cannot encrypt`);
  }

  async decrypt(key: KeyHandle, ciphertext: Buffer, opts: CipherOptions = {}): Promise<Buffer> {
    const aad = opts.aad;
    if (key.kind === 'aes-256') {
      if (ciphertext.length < GCM_IV_BYTES + GCM_TAG_BYTES) throw new InvalidInputError('AES-GCM ciphertext is too short');
      return this.withKey('decrypting', key, 'secret', (k, s) => {
        const iv = ciphertext.subarray(0, GCM_IV_BYTES);
        const alg = { name: 'AES_GCM', params: new graphene.AesGcmParams(iv, aad ?? Buffer.alloc(0), GCM_TAG_BYTES * 8) };
        const body = ciphertext.subarray(GCM_IV_BYTES);
        const decipher = s.createDecipher(alg, k);
        try {
          return decipher.once(body, Buffer.alloc(body.length + 16));
        } catch (err) {
          // A tag mismatch is CKR_ENCRYPTED_DATA_INVALID by the standard; SoftHSM2 answers
          // CKR_GENERAL_ERROR, deterministically. Either way retrying cannot help.
          const code = ckrOf(err);
          if (code === CKR.GENERAL_ERROR || code === CKR.ENCRYPTED_DATA_INVALID || code === CKR.FUNCTION_FAILED) {
            throw new InvalidInputError(`token "${this.tokenLabel}": AES-GCM ciphertext or associated data does not authenticate with key "${key.label}"`, err);
          }
          throw err;
        }
      });
    }
    if (key.kind === 'rsa-2048') {
      return this.withKey('decrypting', key, 'private', (k, s) => {
        try {
          return s.createDecipher(oaep(opts.oaepHash), k).once(ciphertext, Buffer.alloc(512));
        } catch (err) {
          if (ckrOf(err) === CKR.ARGUMENTS_BAD || ckrOf(err) === CKR.MECHANISM_PARAM_INVALID) {
            throw new ConfigError(`token "${this.tokenLabel}": this PKCS#11 module cannot decrypt RSA-OAEP with ${opts.oaepHash ?? 'sha256'} (SoftHSM2 2.6 supports only sha1)`);
          }
          throw err;
        }
      });
    }
    throw new InvalidInputError(`key "${key.label}" (${key.kind}) cannot decrypt`);
  }

  async restrictUsage(key: KeyHandle, usage: KeyUsage): Promise<void> {
    const template: graphene.ITemplate = {};
    for (const [k, v] of Object.entries(usage)) if (v !== undefined) template[k] = v;
    if (Object.keys(template).length === 0) return;
    this.withKey('changing key usage', key, key.keyClass, (k) => k.setAttribute(template));
  }

  async usageOf(key: KeyHandle): Promise<Required<KeyUsage>> {
    return this.withKey('reading key usage', key, key.keyClass, (k) => {
      // Each class carries only some usage attributes (a public key has no CKA_DECRYPT, ...).
      const names: Array<keyof KeyUsage> =
        key.keyClass === 'secret'
          ? ['encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap']
          : key.keyClass === 'private'
            ? ['decrypt', 'sign', 'unwrap']
            : ['encrypt', 'verify', 'wrap'];
      const got = k.getAttribute(Object.fromEntries(names.map((n) => [n, null])));
      const out: Required<KeyUsage> = { encrypt: false, decrypt: false, sign: false, verify: false, wrap: false, unwrap: false };
      for (const n of names) out[n] = Boolean(got[n]);
      return out;
    });
  }

  async destroy(key: KeyHandle): Promise<void> {
    this.withKey('destroying a key', key, key.keyClass, (k, s) => s.destroy(k));
    this.handles.clear();
  }

  async random(bytes: number): Promise<Buffer> {
    return this.run('generating random bytes', () => this.s().generateRandom(bytes));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handles.clear();
    // No C_Logout: login state is per token per process, so logging out here would log out
    // every other session on this token. Closing the last session ends the login.
    if (this.generation === this.lib.generation) {
      try {
        this.session.close();
      } catch {
        // already gone with a finalize; nothing to release
      }
    }
  }
}
