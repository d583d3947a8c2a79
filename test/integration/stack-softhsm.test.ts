import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as graphene from 'graphene-pk11';
import { loadConfig } from '../../core/config';
import { LOCAL_TOKENS, readHsmManifest, readTokenPin, useLocalSoftHsm } from '../../stack';
import { findTokenSlot } from '../../stack/softhsm';

// The stack's SoftHSM2 tokens: listed in the manifest, PINs in 0600 files, usable through graphene-pk11.
const cfg = loadConfig();

describe('SoftHSM2 tokens of the local stack', () => {
  test('the manifest lists the vault and a pool of at least two tiers, PIN files private', () => {
    const m = readHsmManifest(cfg);
    expect(m).toBeDefined();
    expect(m!.tokens.map((t) => t.label)).toEqual(LOCAL_TOKENS.map((t) => t.label));
    expect(new Set(m!.tokens.filter((t) => t.role === 'pool').map((t) => t.tier)).size).toBeGreaterThanOrEqual(2);
    for (const t of m!.tokens) expect(fs.statSync(t.pinFile).mode & 0o077).toBe(0);
  });

  test('a key generated in a pool token encrypts and decrypts', () => {
    useLocalSoftHsm(cfg);
    const mod = graphene.Module.load(cfg.hsm.module, 'SoftHSM');
    mod.initialize();
    try {
      const slot = findTokenSlot(mod, 'hsm-silver-2');
      expect(slot).toBeDefined();
      const session = slot!.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
      session.login(readTokenPin('hsm-silver-2', cfg));
      const label = `stack-test-${randomUUID()}`;
      const key = session.generateKey(graphene.KeyGenMechanism.AES, {
        keyType: graphene.KeyType.AES,
        valueLen: 32,
        label,
        token: false,
        encrypt: true,
        decrypt: true,
        extractable: false,
      });
      const iv = session.generateRandom(16);
      const plain = Buffer.from('foresight stack smoke test');
      const enc = session.createCipher({ name: 'AES_CBC_PAD', params: iv }, key).once(plain, Buffer.alloc(64));
      const dec = session.createDecipher({ name: 'AES_CBC_PAD', params: iv }, key).once(enc, Buffer.alloc(64));
      expect(dec.equals(plain)).toBe(true);
      expect(session.find({ label }).length).toBe(1);
      key.destroy();
      session.logout();
      session.close();
    } finally {
      mod.finalize();
    }
  });
});
