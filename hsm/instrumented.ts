import type { Counter, Histogram, MetricsRegistry } from '../core/metrics';
import type { PoolConfig } from './pool-config';
import type { HsmModule, HsmSession } from './ports';

/**
 * PKCS#11 operation metrics as decorators of the HSM ports, so the adapter stays free of them
 * and every session opened through an instrumented module is counted:
 *   foresight_hsm_operations_total{op,token,tier,outcome}   outcome ok | error
 *   foresight_hsm_operation_seconds{op,tier}                latency histogram
 * `op` is the operation (generate, sign, verify, encrypt, decrypt, find, ... and the module's
 * open-session, list-tokens, init-token); a verify answering false is an ok operation. Token
 * labels are bounded (the pool's partitions, the vault token), so they are safe as a label.
 */
export interface HsmOpsMetrics {
  readonly ops: Counter;
  readonly seconds: Histogram;
  /** Tier of a token label: the pool's tier for partitions and admin tokens, else a fixed name. */
  tierOf(tokenLabel: string): string;
}

/** Fast operations (sign, random) take well under a millisecond; RSA key generation ~0.2 s. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function hsmOpsMetrics(registry: MetricsRegistry, tierOf: (tokenLabel: string) => string): HsmOpsMetrics {
  return {
    ops: registry.counter('foresight_hsm_operations_total', 'PKCS#11 operations, by operation, token, tier and outcome (ok, error).'),
    seconds: registry.histogram('foresight_hsm_operation_seconds', 'PKCS#11 operation latency, by operation and tier.', BUCKETS),
    tierOf,
  };
}

/** Token label -> tier from the pool file; tokens outside the pool get `other`. */
export function poolTierOf(config: PoolConfig, other = 'none'): (tokenLabel: string) => string {
  const tiers = new Map<string, string>();
  for (const h of config.hsms) {
    for (const l of h.partitionLabels) tiers.set(l, h.tier);
    if (h.adminToken) tiers.set(h.adminToken, h.tier);
  }
  return (label) => tiers.get(label) ?? other;
}

async function timed<T>(m: HsmOpsMetrics, op: string, token: string, f: () => Promise<T>): Promise<T> {
  const tier = m.tierOf(token);
  const t0 = process.hrtime.bigint();
  let outcome = 'error';
  try {
    const v = await f();
    outcome = 'ok';
    return v;
  } finally {
    m.ops.inc({ op, token, tier, outcome });
    m.seconds.observe(Number(process.hrtime.bigint() - t0) / 1e9, { op, tier });
  }
}

export function instrumentSession(s: HsmSession, m: HsmOpsMetrics): HsmSession {
  const t = <T>(op: string, f: () => Promise<T>) => timed(m, op, s.tokenLabel, f);
  return {
    tokenLabel: s.tokenLabel,
    generateAesKey: (o) => t('generate', () => s.generateAesKey(o)),
    generateRsaKeyPair: (o) => t('generate', () => s.generateRsaKeyPair(o)),
    generateEcKeyPair: (o) => t('generate', () => s.generateEcKeyPair(o)),
    findKeys: (q) => t('find', () => s.findKeys(q)),
    exportPublicKey: (k) => t('export-public', () => s.exportPublicKey(k)),
    sign: (k, d, mech) => t('sign', () => s.sign(k, d, mech)),
    verify: (k, d, sig, mech) => t('verify', () => s.verify(k, d, sig, mech)),
    encrypt: (k, p, o) => t('encrypt', () => s.encrypt(k, p, o)),
    decrypt: (k, c, o) => t('decrypt', () => s.decrypt(k, c, o)),
    restrictUsage: (k, u) => t('set-usage', () => s.restrictUsage(k, u)),
    usageOf: (k) => t('get-usage', () => s.usageOf(k)),
    destroy: (k) => t('destroy', () => s.destroy(k)),
    random: (n) => t('random', () => s.random(n)),
    close: () => s.close(),
  };
}

/** Every session opened through the returned module is instrumented too. */
export function instrumentModule(mod: HsmModule, m: HsmOpsMetrics): HsmModule {
  return {
    modulePath: mod.modulePath,
    listTokens: () => timed(m, 'list-tokens', '', () => mod.listTokens()),
    openSession: async (label, pin) => instrumentSession(await timed(m, 'open-session', label, () => mod.openSession(label, pin)), m),
    initToken: (label, so, user) => timed(m, 'init-token', label, () => mod.initToken(label, so, user)),
    reinitialize: () => mod.reinitialize(),
    close: () => mod.close(),
  };
}
