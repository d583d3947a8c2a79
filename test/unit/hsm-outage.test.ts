import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManualClock } from '../../core/clock';
import { ConfigError, UnavailableError } from '../../core/errors';
import { silentLogger } from '../../core/log';
import { MemoryEventStore } from '../../eventstore/memory-store';
import { KeyNotFoundError, TokenNotFoundError } from '../../hsm/errors';
import { allocationStream, type KeyVersionRef, type RiskProfile } from '../../hsm/events';
import { HsmOrchestrator } from '../../hsm/orchestrator';
import { HEALTHY, hsmAnswered, hsmFailed, watchHsmOutages, type OutageState } from '../../hsm/outage';
import { pkcs11PartitionOps, type PartitionOps } from '../../hsm/partition-ops';
import { parsePolicy } from '../../hsm/policy';
import { partitionPinFile } from '../../hsm/pool-config';
import type { HsmModule, HsmSession, KeyHandle, TokenInfo } from '../../hsm/ports';
import { PROFILES } from '../../hsm/risk-profile';
import type { AdminAlert, WorkloadRisk } from '../../schemas/types';
import { testPool } from './hsm-fixtures';

const rule = { poolId: 'p1', threshold: 3 };
const unavailable = new UnavailableError('hsm', 'listing tokens (C_GetTokenInfo): CKR_GENERAL_ERROR');

/** Runs `failures` failures from `from`, one a second, collecting alerts. */
function fail(from: OutageState, failures: number, t0 = 1_000): { state: OutageState; alerts: AdminAlert[] } {
  let state = from;
  const alerts: AdminAlert[] = [];
  for (let i = 0; i < failures; i++) {
    const out = hsmFailed(state, t0 + i * 1000, `failure ${i + 1}`, rule);
    state = out.state;
    if (out.alert) alerts.push(out.alert);
  }
  return { state, alerts };
}

describe('HSM outage episodes', () => {
  test('given a healthy HSM, when two operations fail, then no alert yet', () => {
    expect(fail(HEALTHY, 2).alerts).toEqual([]);
  });

  test('given failures, when the third consecutive one comes, then one DEPENDENCY_UNAVAILABLE alert, and none for the retries after it', () => {
    const { state, alerts } = fail(HEALTHY, 10);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      timestamp: 3_000,
      subject: 'hsm:p1',
      kind: 'DEPENDENCY_UNAVAILABLE',
      severity: 'CRITICAL',
      details: { poolId: 'p1', failures: '3', since: '1000', lastError: 'failure 3' },
    });
    expect(state).toMatchObject({ failures: 10, alerted: true, since: 1_000, lastError: 'failure 10' });
  });

  test('given an alerted episode, when an operation succeeds, then one INFO alert saying it recovered and the state is healthy again', () => {
    const { state } = fail(HEALTHY, 4);
    const out = hsmAnswered(state, 9_000, rule);
    expect(out.state).toEqual({ ...HEALTHY, episodes: 1 });
    expect(out.recovered).toMatchObject({ failures: 4, downMs: 8_000 });
    expect(out.recovered?.alert).toMatchObject({ kind: 'DEPENDENCY_UNAVAILABLE', severity: 'INFO', subject: 'hsm:p1', details: { recovered: 'true', failures: '4', downMs: '8000' } });
    expect(hsmAnswered(out.state, 10_000, rule).recovered).toBeUndefined();
  });

  test('given fewer failures than the threshold, when it answers, then recovered without any alert (a log line only)', () => {
    const out = hsmAnswered(fail(HEALTHY, 2).state, 5_000, rule);
    expect(out.recovered).toEqual({ failures: 2, downMs: 4_000 });
  });

  test('given a failure, then a success, then two failures, then no alert: failures must be consecutive', () => {
    const a = fail(HEALTHY, 1);
    const b = fail(hsmAnswered(a.state, 2_000, rule).state, 2, 3_000);
    expect([...a.alerts, ...b.alerts]).toEqual([]);
  });

  test('given two episodes at the same clock time, then their alerts have different event ids', () => {
    const first = fail(HEALTHY, 3);
    const second = fail(hsmAnswered(first.state, 1_000, rule).state, 3);
    expect(first.alerts[0].eventId).not.toEqual(second.alerts[0].eventId);
    expect(second.alerts).toHaveLength(1);
  });
});

const key = (label: string): KeyVersionRef => ({ family: 'root-wrap', version: 1, kind: 'aes-256', keyLabel: label, keyId: 'aa' });

/** PartitionOps whose every call does what `next` says. */
function scriptedOps(next: () => 'ok' | Error): PartitionOps {
  const go = async () => {
    const r = next();
    if (r !== 'ok') throw r;
  };
  return {
    ensure: go,
    configureBaseline: async () => (await go(), [key('root-wrap/v1')]),
    rotate: async () => (await go(), key('root-wrap/v2')),
    retire: go,
    applyProfile: go,
    freeze: go,
    thaw: go,
    wipe: go,
    close: async () => undefined,
  };
}

describe('watchHsmOutages (the role wiring)', () => {
  test('given the HSM unavailable for five calls, then one alert, stamped by the clock; when it answers, one INFO alert', async () => {
    let calls = 0;
    const published: AdminAlert[] = [];
    const clock = new ManualClock(50_000);
    const ops = watchHsmOutages(
      scriptedOps(() => (++calls <= 5 ? unavailable : 'ok')),
      { rule, clock, log: silentLogger, publish: async (a) => void published.push(a) },
    );
    for (let i = 0; i < 5; i++) await expect(ops.applyProfile('x', undefined, PROFILES.low)).rejects.toBe(unavailable);
    expect(ops.outage.failures).toBe(5);
    await ops.rotate('x', key('root-wrap/v1'), PROFILES.low);
    await new Promise((r) => setImmediate(r));
    expect(published.map((a) => [a.kind, a.severity, a.timestamp])).toEqual([
      ['DEPENDENCY_UNAVAILABLE', 'CRITICAL', 50_000],
      ['DEPENDENCY_UNAVAILABLE', 'INFO', 50_000],
    ]);
  });

  test('given errors that are the HSM answering (a missing key, bad config), then they are not counted as an outage', async () => {
    const errors = [new KeyNotFoundError('t', 'secret key'), new ConfigError('no PIN file')];
    const ops = watchHsmOutages(
      scriptedOps(() => errors.shift() ?? 'ok'),
      { rule, clock: new ManualClock(0), log: silentLogger, publish: async () => undefined },
    );
    await expect(ops.freeze('x')).rejects.toBeInstanceOf(KeyNotFoundError);
    await expect(ops.freeze('x')).rejects.toBeInstanceOf(ConfigError);
    expect(ops.outage.failures).toBe(0);
  });

  test('given the alert cannot be published, then the operation still fails with its own error and the role keeps going', async () => {
    const ops = watchHsmOutages(
      scriptedOps(() => unavailable),
      { rule: { ...rule, threshold: 1 }, clock: new ManualClock(0), log: silentLogger, publish: async () => Promise.reject(new Error('kafka down')) },
    );
    await expect(ops.wipe('x')).rejects.toBe(unavailable);
    await new Promise((r) => setImmediate(r));
  });
});

// pkcs11PartitionOps over a scripted module: what the real SoftHSM2 did when its token directory
// was renamed away (measured), without needing one here (test/integration/reliability-hsm-outage).
class ScriptedModule implements HsmModule {
  readonly modulePath = '/usr/lib/softhsm/libsofthsm2.so';
  /** What listTokens answers: the tokens shown, or an error (the token does not answer). */
  tokens: TokenInfo[] | Error = [];
  /** What a session's restrictUsage / findKeys do. */
  onUse: () => void = () => undefined;
  found: KeyHandle[] = [];
  opened = 0;
  closed = 0;
  reinits = 0;
  reinitError?: Error;
  async listTokens(): Promise<TokenInfo[]> {
    if (this.tokens instanceof Error) throw this.tokens;
    return this.tokens;
  }
  async openSession(tokenLabel: string): Promise<HsmSession> {
    this.opened++;
    const use = async () => this.onUse();
    return {
      tokenLabel,
      restrictUsage: use,
      findKeys: async () => (await use(), this.found),
      destroy: use,
      close: async () => void this.closed++,
    } as unknown as HsmSession;
  }
  async initToken(): Promise<TokenInfo> {
    throw new Error('not scripted');
  }
  async reinitialize(): Promise<void> {
    this.reinits++;
    if (this.reinitError) throw this.reinitError;
  }
  async close(): Promise<void> {}
}

const token = (label: string): TokenInfo => ({ label, serialNumber: '1', initialized: true, userPinInitialized: true, manufacturer: 'm', model: 'x' });

describe('pkcs11PartitionOps when the HSM goes away', () => {
  const label = 'silver-1-p01';
  const profile: RiskProfile = PROFILES.critical;
  let dir: string;
  let mod: ScriptedModule;
  let ops: PartitionOps;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-hsm-outage-'));
    const pool = { ...testPool(), secretsDir: dir };
    fs.mkdirSync(path.dirname(partitionPinFile(pool, label)), { recursive: true });
    fs.writeFileSync(partitionPinFile(pool, label), '1234\n', { mode: 0o600 });
    mod = new ScriptedModule();
    mod.tokens = [token(label)];
    ops = pkcs11PartitionOps(() => mod, pool);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('given the token answering, when a key is missing, then KeyNotFoundError stays a fault (not retriable)', async () => {
    mod.onUse = () => {
      throw new KeyNotFoundError(label, 'secret key "root-wrap/v1"');
    };
    const err = await ops.applyProfile(label, key('root-wrap/v1'), profile).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyNotFoundError);
    expect(mod.reinits).toBe(0);
  });

  test('given the token not answering, when a key is not found, then it is an outage (retriable); sessions dropped and the module re-initialised', async () => {
    await ops.applyProfile(label, key('root-wrap/v1'), profile);
    mod.tokens = new UnavailableError('hsm', 'listing tokens (C_GetTokenInfo): CKR_GENERAL_ERROR');
    mod.onUse = () => {
      throw new KeyNotFoundError(label, 'secret key "root-wrap/v1"');
    };
    const err = await ops.applyProfile(label, key('root-wrap/v1'), profile).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).retriable).toBe(true);
    expect(mod.closed).toBe(1);
    expect(mod.reinits).toBe(1);
    // back: the next attempt opens a fresh session and succeeds
    mod.tokens = [token(label)];
    mod.onUse = () => undefined;
    await ops.applyProfile(label, key('root-wrap/v1'), profile);
    expect(mod.opened).toBe(2);
  });

  test('given the token no longer listed (its directory gone, module re-initialised), then a partition token not found is an outage too', async () => {
    mod.tokens = [];
    mod.openSession = async () => {
      throw new TokenNotFoundError(label, mod.modulePath);
    };
    const err = await ops.rotate(label, key('root-wrap/v1'), profile).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
  });

  test('given a search that finds nothing on a vanished token, then freeze/retire/wipe/thaw are not taken for done', async () => {
    mod.found = [];
    mod.tokens = new UnavailableError('hsm', 'listing tokens (C_GetTokenInfo): CKR_GENERAL_ERROR');
    await expect(ops.freeze(label)).rejects.toBeInstanceOf(UnavailableError);
    await expect(ops.retire(label, key('root-wrap/v1'))).rejects.toBeInstanceOf(UnavailableError);
    await expect(ops.wipe(label)).rejects.toBeInstanceOf(UnavailableError);
    await expect(ops.thaw(label, [], profile)).rejects.toBeInstanceOf(UnavailableError);
    mod.tokens = [token(label)];
    await expect(ops.freeze(label)).resolves.toBeUndefined();
  });

  test('given the re-initialisation itself fails (HSM still gone, or keys being generated), then the original retriable error is what the caller sees', async () => {
    mod.reinitError = new UnavailableError('hsm', 're-initialising PKCS#11 module (C_Initialize): CKR_GENERAL_ERROR');
    const original = new UnavailableError('hsm', 'changing key usage: CKR_GENERAL_ERROR');
    mod.onUse = () => {
      throw original;
    };
    await expect(ops.applyProfile(label, key('root-wrap/v1'), profile)).rejects.toBe(original);
    expect(mod.reinits).toBe(1);
  });
});

const T0 = Date.parse('2026-03-01T08:00:00Z');
const rec = (eventId: string, securityRisk: number, timestamp = T0): WorkloadRisk => ({
  eventId,
  timestamp,
  clientNetworkId: 'net-a',
  horizon: 'PT6H',
  predictedCryptoOps: 1e6,
  predictedPeakOpsPerSec: 300,
  predictedPeakTime: T0 + 20 * 60_000,
  measuredOpsPerSec: 50,
  securityRisk,
  threatIndicators: [],
  modelVersion: 'm',
});

describe('a record retried through an HSM outage ends as if there had been none', () => {
  test('given the profile event written and then the HSM down, when the record is retried, then the profile change is still audited (KeyAttributesApplied)', async () => {
    const store = new MemoryEventStore();
    let down = false;
    const ops = scriptedOps(() => (down ? unavailable : 'ok'));
    const orch = new HsmOrchestrator({ config: testPool(), rules: [], store, partitions: ops, publishAlert: async () => undefined });
    await orch.handle(rec('wl-1', 0.1));
    down = true;
    await expect(orch.handle(rec('wl-2', 0.9))).rejects.toBe(unavailable);
    down = false;
    await orch.handle(rec('wl-2', 0.9));
    const types: string[] = [];
    for await (const e of store.readStream(allocationStream('net-a'))) types.push(e.type);
    expect(types.slice(-2)).toEqual(['RiskProfileApplied', 'KeyAttributesApplied']);
    await orch.handle(rec('wl-2', 0.9));
    let again = 0;
    for await (const e of store.readStream(allocationStream('net-a'))) again += e.type === 'KeyAttributesApplied' ? 1 : 0;
    expect(again).toBe(1);
  });
});

describe('a rotation cut short by an HSM outage', () => {
  test('given root-wrap rotated and recorded and the HSM gone before root-sign, when the record is retried, then root-wrap is not rotated a second time', async () => {
    const store = new MemoryEventStore();
    const rotations: string[] = [];
    let failSign = false;
    const ops: PartitionOps = {
      ...scriptedOps(() => 'ok'),
      configureBaseline: async () => [key('root-wrap/v1'), { family: 'root-sign', version: 1, kind: 'ec-p256', keyLabel: 'root-sign/v1', keyId: 'bb' }],
      rotate: async (_l, current) => {
        if (current.family === 'root-sign' && failSign) throw unavailable;
        rotations.push(`${current.family} v${current.version}`);
        const v = current.version + 1;
        return { ...current, version: v, keyLabel: `${current.family}/v${v}`, keyId: `${current.keyId}${v}` };
      },
    };
    const rules = parsePolicy('rules: [{ id: hot, when: { securityRisk: { gte: 0.85 } }, then: [rotate-now] }]', 'policy.yaml');
    const orch = new HsmOrchestrator({ config: testPool(), rules, store, partitions: ops, publishAlert: async () => undefined });
    await orch.handle(rec('wl-1', 0.1));
    failSign = true;
    await expect(orch.handle(rec('wl-2', 0.9, T0 + 60_000))).rejects.toBe(unavailable);
    failSign = false;
    await orch.handle(rec('wl-2', 0.9, T0 + 60_000));
    expect(rotations).toEqual(['root-wrap v1', 'root-sign v1']);
    // and a redelivery of the completed record (the rule has no cooldown) rotates nothing more
    await orch.handle(rec('wl-2', 0.9, T0 + 60_000));
    expect(rotations).toHaveLength(2);
    const rotated: number[] = [];
    for await (const e of store.readStream(allocationStream('net-a'))) if (e.type === 'KeyRotated') rotated.push((e.data as { key: KeyVersionRef }).key.version);
    expect(rotated).toEqual([2, 2]);
  });
});

describe('a quarantine lift cut short by an HSM outage', () => {
  test('given the HSM down while the keys are thawed, when the lift is retried, then the keys are thawed and the lift and its policy action are recorded once', async () => {
    const store = new MemoryEventStore();
    let down = false;
    const thawed: string[] = [];
    const ops: PartitionOps = {
      ...scriptedOps(() => 'ok'),
      thaw: async (label) => {
        if (down) throw unavailable;
        thawed.push(label);
      },
    };
    const orch = new HsmOrchestrator({ config: testPool(), rules: [], store, partitions: ops, publishAlert: async () => undefined });
    await orch.handle(rec('wl-1', 0.1));
    await orch.adminAction('net-a', 'quarantine', 'ops', 'suspected exfiltration', T0 + 60_000, 'cmd-q');
    down = true;
    await expect(orch.adminAction('net-a', 'lift-quarantine', 'ops', 'cleared', T0 + 120_000, 'cmd-l')).rejects.toBe(unavailable);
    down = false;
    await orch.adminAction('net-a', 'lift-quarantine', 'ops', 'cleared', T0 + 120_000, 'cmd-l');
    expect(thawed.length).toBeGreaterThan(0);
    const types: string[] = [];
    for await (const e of store.readStream(allocationStream('net-a'))) types.push(e.type);
    expect(types.filter((t) => t === 'QuarantineLifted')).toHaveLength(1);
    expect(types.slice(-2)).toEqual(['QuarantineLifted', 'PolicyActionTaken']);
  });
});
