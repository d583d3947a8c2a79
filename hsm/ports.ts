/**
 * The HSM as the rest of Foresight sees it. Programs against these interfaces, never against
 * graphene-pk11: the adapter (hsm/pkcs11.ts) implements them over any PKCS#11 module, and a
 * caller never holds a library object, a slot id (slot ids change when the module is
 * re-initialised) or a plaintext private key.
 *
 * Async on purpose: network HSMs answer in milliseconds, and RSA key generation would block the
 * event loop for ~200 ms if it were synchronous.
 */

export type KeyKind = 'aes-256' | 'rsa-2048' | 'ec-p256';
export type KeyClass = 'secret' | 'private' | 'public';

/** What a key may be used for; mapped onto CKA_ENCRYPT/DECRYPT/SIGN/VERIFY/WRAP/UNWRAP. */
export interface KeyUsage {
  encrypt?: boolean;
  decrypt?: boolean;
  sign?: boolean;
  verify?: boolean;
  wrap?: boolean;
  unwrap?: boolean;
}

/**
 * A reference to one key object inside one token. `label` and `id` are the durable names
 * (CKA_LABEL, CKA_ID as hex); the adapter resolves them to object handles itself.
 */
export interface KeyHandle {
  readonly tokenLabel: string;
  readonly label: string;
  readonly id: string;
  readonly kind: KeyKind;
  readonly keyClass: KeyClass;
}

export interface KeyPairHandle {
  readonly privateKey: KeyHandle;
  readonly publicKey: KeyHandle;
  /** SubjectPublicKeyInfo, DER. */
  readonly publicKeySpki: Buffer;
  /** The same, PEM ("-----BEGIN PUBLIC KEY-----"). */
  readonly publicKeyPem: string;
}

export interface GenerateKeyOptions {
  label: string;
  /** Hex CKA_ID; random when omitted. A key pair shares one id. */
  id?: string;
  /** Secret keys only; private keys are always non-extractable and sensitive. Default false. */
  extractable?: boolean;
  /** Defaults per kind: AES encrypt/decrypt(+wrap/unwrap), RSA sign/verify/encrypt/decrypt, EC sign/verify. */
  usage?: KeyUsage;
  /** Session objects vanish with the session; default true (stored in the token). */
  persistent?: boolean;
}

export interface FindKeysQuery {
  label?: string;
  /** Every key whose label starts with this (e.g. a key family's versions "root-wrap/"). */
  labelPrefix?: string;
  id?: string;
  keyClass?: KeyClass;
}

/** Signature mechanisms we use: RSA PKCS#1 v1.5 with SHA-256, and ECDSA P-256 with SHA-256. */
export type SignMechanism = 'RSA-SHA256' | 'ECDSA-SHA256';
/** ECDSA signatures come back as raw r||s (IEEE P1363), as PKCS#11 defines them. */

export interface TokenInfo {
  label: string;
  serialNumber: string;
  initialized: boolean;
  userPinInitialized: boolean;
  manufacturer: string;
  model: string;
}

export interface CipherOptions {
  /** AES-GCM associated data: authenticated, not encrypted. */
  aad?: Buffer;
  /**
   * RSA-OAEP hash (and MGF1 hash). Default sha256. SoftHSM2 2.6 decrypts OAEP only with SHA-1
   * (CKR_ARGUMENTS_BAD otherwise), so keys decrypted in such a module must be used with sha1.
   */
  oaepHash?: 'sha256' | 'sha1';
}

/** A logged-in session on one token (one HSM partition). */
export interface HsmSession {
  readonly tokenLabel: string;
  generateAesKey(opts: GenerateKeyOptions): Promise<KeyHandle>;
  generateRsaKeyPair(opts: GenerateKeyOptions): Promise<KeyPairHandle>;
  generateEcKeyPair(opts: GenerateKeyOptions): Promise<KeyPairHandle>;
  findKeys(query: FindKeysQuery): Promise<KeyHandle[]>;
  /** SPKI DER + PEM of a public key (or of the public half matching a private key's id). */
  exportPublicKey(key: KeyHandle): Promise<{ spki: Buffer; pem: string }>;
  sign(key: KeyHandle, data: Buffer, mechanism?: SignMechanism): Promise<Buffer>;
  verify(key: KeyHandle, data: Buffer, signature: Buffer, mechanism?: SignMechanism): Promise<boolean>;
  /**
   * AES-256-GCM for secret keys: returns iv(12) || ciphertext || tag(16), iv from the token's RNG.
   * RSA-OAEP for RSA keys (public-key encryption needs no secret, so it runs in node:crypto on
   * the exported SPKI; decryption runs in the token).
   */
  encrypt(key: KeyHandle, plaintext: Buffer, opts?: CipherOptions): Promise<Buffer>;
  decrypt(key: KeyHandle, ciphertext: Buffer, opts?: CipherOptions): Promise<Buffer>;
  /** Narrows what a key may do (e.g. a rotated-out version keeps decrypt, loses encrypt). */
  restrictUsage(key: KeyHandle, usage: KeyUsage): Promise<void>;
  /** Reads the usage flags back from the token. */
  usageOf(key: KeyHandle): Promise<Required<KeyUsage>>;
  destroy(key: KeyHandle): Promise<void>;
  random(bytes: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** A loaded PKCS#11 module: the way into its tokens. */
export interface HsmModule {
  readonly modulePath: string;
  listTokens(): Promise<TokenInfo[]>;
  /** Opens a read-write session on the token with this label and logs in as the user. */
  openSession(tokenLabel: string, userPin: string): Promise<HsmSession>;
  /**
   * Initialises a token in a free slot (SoftHSM2-style) or re-initialises the one with this
   * label, then sets its user PIN. For tests and the local stack; production HSMs are
   * partitioned with the vendor's tooling.
   */
  initToken(label: string, soPin: string, userPin: string): Promise<TokenInfo>;
  /** Finalize + initialize: shows tokens other processes created; invalidates open sessions. */
  reinitialize(): Promise<void>;
  close(): Promise<void>;
}
