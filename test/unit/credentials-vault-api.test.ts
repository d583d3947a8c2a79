import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { callerFromCommonName } from '../../credentials/api';
import { SEALED_ALG, type SealedCredential } from '../../credentials/sealed';
import { FileVault, type VaultEntry } from '../../credentials/vault';

const sealed: SealedCredential = { v: 1, alg: SEALED_ALG, kid: 'k', wrappedKey: 'w', iv: 'i', ciphertext: 'c', tag: 't', aad: 'a' };
const entry = (id: string, userId: string, expiresAt: number, origin: VaultEntry['origin'] = 'pre-provisioned'): VaultEntry => ({
  credentialId: id,
  userId,
  vmId: 'vm',
  origin,
  issuedAt: 0,
  expiresAt,
  sealed,
});

describe('file vault', () => {
  let dir: string;
  let v: FileVault;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vault-'));
    v = FileVault.open(path.join(dir, 'v'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('counts outstanding pre-provisioned credentials per user and overall, by validity and use', () => {
    v.put(entry('a1', 'alice', 100));
    v.put(entry('a2', 'alice', 200));
    v.put(entry('b1', 'bob_x@corp', 200));
    v.put(entry('o1', 'alice', 200, 'on-demand'));
    expect(v.outstanding('alice', 50)).toEqual({ user: 2, total: 3 });
    expect(v.outstanding('alice', 100)).toEqual({ user: 1, total: 2 });
    v.markDelivered('a2');
    expect(v.outstanding('alice', 50)).toEqual({ user: 1, total: 2 });
    expect(v.outstanding('bob_x@corp', 50)).toEqual({ user: 1, total: 2 });
    expect(v.get('a2')).toMatchObject({ credentialId: 'a2', sealed });
  });

  test('expired entries are listed for the sweep; put replaces; delete removes', () => {
    v.put(entry('a1', 'alice', 100));
    v.put(entry('a2', 'alice', 300));
    expect(v.expired(100).map((e) => e.credentialId)).toEqual(['a1']);
    v.put(entry('a1', 'alice', 500));
    expect(v.size()).toBe(2);
    expect(v.expired(100)).toEqual([]);
    v.delete('a1');
    expect(v.get('a1')).toBeUndefined();
    expect(v.size()).toBe(1);
  });

  test('ids that cannot be file names are refused', () => {
    expect(() => v.put(entry('../x', 'alice', 1))).toThrow(TypeError);
  });
});

describe('delivery API caller identity (client certificate CN)', () => {
  test('user.<id> is that user, admin and admin.<name> are administrators, anything else nobody', () => {
    expect(callerFromCommonName('user.alice')).toEqual({ kind: 'user', userId: 'alice' });
    expect(callerFromCommonName('admin')).toEqual({ kind: 'admin', name: 'admin' });
    expect(callerFromCommonName('admin.ops-1')).toEqual({ kind: 'admin', name: 'ops-1' });
    expect(callerFromCommonName('alice')).toBeUndefined();
    expect(callerFromCommonName('user.')).toBeUndefined();
    expect(callerFromCommonName('user.bad name')).toBeUndefined();
    expect(callerFromCommonName(undefined)).toBeUndefined();
  });
});
