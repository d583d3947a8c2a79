import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnavailableError } from '../core/errors';
import type { CredentialOrigin } from './events';
import { isSealedCredential, type SealedCredential } from './sealed';

/**
 * Secure temporary storage for sealed credentials: only ciphertext (the plaintext never exists
 * outside the minting function), each entry with its validity window, swept after expiry.
 *
 * Durability: file-backed under FORESIGHT_HOME/vault (0700 directory, 0600 files, written by
 * rename so a reader never sees half a file). It survives restarts, because the event store
 * records credentials as valid whose ciphertext must still be there, and it is shared by the
 * provisioner and API processes of one host. The file name carries what the waste guard counts
 * (user, expiry, whether unused and pre-provisioned), so counting is one readdir, no reads.
 */
export interface VaultEntry {
  credentialId: string;
  userId: string;
  vmId: string;
  origin: CredentialOrigin;
  issuedAt: number;
  expiresAt: number;
  sealed: SealedCredential;
}

interface NameInfo {
  file: string;
  userKey: string;
  credentialId: string;
  expiresAt: number;
  unusedPre: boolean;
}

const NAME_RE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9-]+)\.(\d+)\.([px])\.json$/;
const userKey = (userId: string) => Buffer.from(userId, 'utf8').toString('base64url');

function parseName(file: string): NameInfo | undefined {
  const m = NAME_RE.exec(file);
  return m ? { file, userKey: m[1], credentialId: m[2], expiresAt: Number(m[3]), unusedPre: m[4] === 'p' } : undefined;
}

export class FileVault {
  private constructor(readonly dir: string) {}

  static open(dir: string): FileVault {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
    } catch (err) {
      throw new UnavailableError('vault', `cannot create ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'}); check FORESIGHT_HOME permissions`, err);
    }
    return new FileVault(dir);
  }

  private names(): NameInfo[] {
    try {
      return fs
        .readdirSync(this.dir)
        .map(parseName)
        .filter((n): n is NameInfo => n !== undefined);
    } catch (err) {
      throw new UnavailableError('vault', `cannot list ${this.dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
    }
  }

  private find(credentialId: string): NameInfo | undefined {
    return this.names().find((n) => n.credentialId === credentialId);
  }

  put(e: VaultEntry): void {
    if (!/^[A-Za-z0-9-]+$/.test(e.credentialId)) throw new TypeError(`vault: credential id ${e.credentialId} has characters a file name cannot hold`);
    const name = `${userKey(e.userId)}.${e.credentialId}.${Math.trunc(e.expiresAt)}.${e.origin === 'pre-provisioned' ? 'p' : 'x'}.json`;
    const tmp = path.join(this.dir, `.${name}.${process.pid}.tmp`);
    const old = this.find(e.credentialId);
    try {
      fs.writeFileSync(tmp, JSON.stringify(e), { mode: 0o600 });
      fs.renameSync(tmp, path.join(this.dir, name));
      if (old && old.file !== name) fs.rmSync(path.join(this.dir, old.file), { force: true });
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw new UnavailableError('vault', `cannot write to ${this.dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
    }
  }

  get(credentialId: string): VaultEntry | undefined {
    const n = this.find(credentialId);
    if (!n) return undefined;
    try {
      const e = JSON.parse(fs.readFileSync(path.join(this.dir, n.file), 'utf8')) as VaultEntry;
      return e.credentialId === credentialId && isSealedCredential(e.sealed) ? e : undefined;
    } catch {
      return undefined; // swept or replaced between readdir and read
    }
  }

  /** A pre-provisioned credential once delivered no longer counts as outstanding. */
  markDelivered(credentialId: string): void {
    const n = this.find(credentialId);
    if (!n || !n.unusedPre) return;
    try {
      fs.renameSync(path.join(this.dir, n.file), path.join(this.dir, n.file.replace(/\.p\.json$/, '.x.json')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UnavailableError('vault', `cannot update ${n.file}`, err);
    }
  }

  delete(credentialId: string): void {
    const n = this.find(credentialId);
    if (n) fs.rmSync(path.join(this.dir, n.file), { force: true });
  }

  /** Pre-provisioned, not yet delivered and not expired at `at`: what the waste guard caps. */
  outstanding(userId: string, at: number): { user: number; total: number } {
    const uk = userKey(userId);
    let user = 0;
    let total = 0;
    for (const n of this.names()) {
      if (!n.unusedPre || n.expiresAt <= at) continue;
      total++;
      if (n.userKey === uk) user++;
    }
    return { user, total };
  }

  /** Every entry of one user (any VM, any state): what a key revocation must replace. */
  entriesOf(userId: string): VaultEntry[] {
    const uk = userKey(userId);
    return this.names()
      .filter((n) => n.userKey === uk)
      .map((n) => this.get(n.credentialId))
      .filter((e): e is VaultEntry => e !== undefined && e.userId === userId);
  }

  /** Entries expired at `at`, read before removal so the caller can record their expiry. */
  expired(at: number): VaultEntry[] {
    const out: VaultEntry[] = [];
    for (const n of this.names()) {
      if (n.expiresAt > at) continue;
      const e = this.get(n.credentialId);
      if (e) out.push(e);
      else fs.rmSync(path.join(this.dir, n.file), { force: true });
    }
    return out;
  }

  size(): number {
    return this.names().length;
  }
}
