import { MemoryEventStore } from '../../eventstore/memory-store';
import type { KeyVersionRef, RiskProfile } from '../../hsm/events';
import { HsmOrchestrator } from '../../hsm/orchestrator';
import type { PartitionOps } from '../../hsm/partition-ops';
import { parsePolicy } from '../../hsm/policy';
import type { AdminAlert, WorkloadRisk } from '../../schemas/types';
import { testPool } from './hsm-fixtures';

// The orchestration logic with its edges replaced: an in-memory event store with EventStoreDB's
// append semantics and a recording stand-in for the token operations (those run for real in
// test/integration/hsm-*.test.ts).
class RecordingOps implements PartitionOps {
  calls: string[] = [];
  private versions = new Map<string, number>();
  async ensure(label: string) {
    this.calls.push(`ensure ${label}`);
  }
  async configureBaseline(label: string): Promise<KeyVersionRef[]> {
    this.calls.push(`baseline ${label}`);
    return [
      { family: 'root-wrap', version: 1, kind: 'aes-256', keyLabel: 'root-wrap/v1', keyId: `${label}-w1` },
      { family: 'root-sign', version: 1, kind: 'ec-p256', keyLabel: 'root-sign/v1', keyId: `${label}-s1` },
    ];
  }
  async rotate(label: string, current: KeyVersionRef): Promise<KeyVersionRef> {
    this.calls.push(`rotate ${label} ${current.family} v${current.version}`);
    const v = current.version + 1;
    return { ...current, version: v, keyLabel: `${current.family}/v${v}`, keyId: `${label}-${current.family}-${v}` };
  }
  async retire(label: string, v: KeyVersionRef) {
    this.calls.push(`retire ${label} ${v.keyLabel}`);
  }
  async applyProfile(label: string, _w: KeyVersionRef | undefined, p: RiskProfile) {
    this.calls.push(`profile ${label} ${p.level}`);
  }
  async freeze(label: string) {
    this.calls.push(`freeze ${label}`);
  }
  async thaw(label: string, current: KeyVersionRef[], p: RiskProfile) {
    this.calls.push(`thaw ${label} ${current.map((k) => k.keyLabel).join(' ')} ${p.level}`);
  }
  async wipe(label: string) {
    this.calls.push(`wipe ${label}`);
    this.versions.delete(label);
  }
  async close() {}
}

const T0 = Date.parse('2026-03-01T08:00:00Z');
const MIN = 60_000;
const rules = parsePolicy(
  `rules:
  - { id: exfil, when: { threatIndicators: { includesAny: [key-exfiltration] } }, then: [quarantine, alert] }
  - { id: critical, when: { securityRisk: { gte: 0.85 } }, then: [rotate-now, alert], cooldownMinutes: 60 }
  - { id: all-clear, when: { securityRisk: { lt: 0.3 }, threatIndicators: { includesNone: [key-exfiltration] } }, then: [lift-quarantine] }`,
  'policy.yaml',
);

function setup(config = testPool()) {
  const store = new MemoryEventStore();
  const ops = new RecordingOps();
  const alerts: AdminAlert[] = [];
  const orch = new HsmOrchestrator({ config, rules, store, partitions: ops, publishAlert: async (a) => void alerts.push(a) });
  return { store, ops, alerts, orch };
}

let seq = 0;
const record = (over: Partial<WorkloadRisk> = {}): WorkloadRisk => ({
  eventId: `wl-${++seq}`,
  timestamp: T0,
  clientNetworkId: 'net-a',
  horizon: 'PT6H',
  predictedCryptoOps: 1e6,
  predictedPeakOpsPerSec: 300,
  predictedPeakTime: T0 + 20 * MIN,
  measuredOpsPerSec: 50,
  securityRisk: 0.1,
  threatIndicators: [],
  modelVersion: 'wl-1',
  ...over,
});

async function types(store: MemoryEventStore, stream: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.readStream(stream)) out.push(e.type);
  return out;
}

describe('HSM orchestrator', () => {
  test('given a peak further than the lead time, then wait; inside it, allocate, claim and configure the partition', async () => {
    const { store, ops, orch } = setup();
    const far = await orch.handle(record({ predictedPeakTime: T0 + 180 * MIN, measuredOpsPerSec: 0 }));
    expect(far.plan).toMatchObject({ kind: 'wait', until: T0 + 150 * MIN });
    expect(far.events.map((e) => e.type)).toEqual(['RiskProfileApplied']);

    const r = record();
    const near = await orch.handle(r);
    expect(near.plan.kind).toBe('allocate');
    expect(near.events.map((e) => e.type)).toEqual(['PartitionsAllocated', 'PartitionConfigured']);
    expect(ops.calls).toEqual(['ensure silver-1-p01', 'baseline silver-1-p01']);
    expect(await types(store, 'hsm-silver-1')).toEqual(['PartitionAssigned']);
    expect(await orch.poolAssignments()).toEqual({ 'silver-1-p01': 'net-a' });

    // the same record again (at-least-once delivery): nothing new anywhere
    const again = await orch.handle(r);
    expect(again.events).toEqual([]);
    expect(await types(store, 'allocation-net-a')).toEqual(['RiskProfileApplied', 'PartitionsAllocated', 'PartitionConfigured']);
  });

  test('given the pool cannot cover the peak, then one AllocationFailed, one ScaleOutRecommended and one alert per episode', async () => {
    const { store, alerts, orch } = setup();
    await orch.handle(record({ predictedPeakOpsPerSec: 8000 }));
    await orch.handle(record({ predictedPeakOpsPerSec: 9000 }));
    const t = await types(store, 'allocation-net-a');
    expect(t.filter((x) => x === 'AllocationFailed').length).toBe(1);
    expect(t.filter((x) => x === 'ScaleOutRecommended').length).toBe(1);
    expect(alerts.filter((a) => a.kind === 'POOL_EXHAUSTED' && a.severity === 'CRITICAL')).toEqual([
      expect.objectContaining({ subject: 'hsm-pool:gold', severity: 'CRITICAL', details: expect.objectContaining({ shortfallPartitions: '3', recommendedHsms: '2' }) }),
    ]);
    // what was free was taken
    expect(Object.keys(await orch.poolAssignments()).sort()).toEqual(['gold-1-p01', 'gold-1-p02']);
  });

  test('given a tier falling below its reserve, then the pool says it must grow, once, before anyone is refused', async () => {
    const { store, alerts, orch } = setup();
    // silver: 4 partitions, reserve 20%: the 4th allocation leaves 0 free
    for (const [i, net] of ['n1', 'n2', 'n3'].entries()) await orch.handle(record({ clientNetworkId: net, timestamp: T0 + i * MIN }));
    expect(alerts).toEqual([]);
    await orch.handle(record({ clientNetworkId: 'n4', timestamp: T0 + 3 * MIN }));
    expect(alerts).toEqual([
      expect.objectContaining({ kind: 'POOL_EXHAUSTED', severity: 'WARNING', subject: 'hsm-pool:silver', details: expect.objectContaining({ free: '0', capacity: '4', recommendedHsms: '1' }) }),
    ]);
    await orch.handle(record({ clientNetworkId: 'n4', timestamp: T0 + 4 * MIN }));
    expect(alerts.length).toBe(1);
    expect(await types(store, 'hsm-pool.default')).toEqual(['ClientNetworkSeen', 'ClientNetworkSeen', 'ClientNetworkSeen', 'ClientNetworkSeen', 'PoolLowWater']);
  });

  test('given critical risk, then the profile tightens, every root key rotates now, and admins are alerted once per cooldown', async () => {
    const { store, ops, alerts, orch } = setup();
    await orch.handle(record());
    ops.calls = [];
    await orch.handle(record({ securityRisk: 0.9, timestamp: T0 + MIN }));
    expect(ops.calls).toEqual([
      'profile silver-1-p01 critical',
      'rotate silver-1-p01 root-wrap v1',
      'rotate silver-1-p01 root-sign v1',
    ]);
    expect(alerts.map((a) => a.kind)).toEqual(['SECURITY']);
    const t = await types(store, 'allocation-net-a');
    // "critical" audits at "full": what the profile did to the key's attributes is on record too
    expect(t.slice(3)).toEqual(['RiskProfileApplied', 'KeyAttributesApplied', 'KeyRotated', 'KeyRotated', 'PolicyActionTaken', 'PolicyActionTaken']);
    const audited = [];
    for await (const e of store.readStream('allocation-net-a')) if (e.type === 'KeyAttributesApplied') audited.push(e.data);
    expect(audited).toEqual([
      expect.objectContaining({ label: 'silver-1-p01', keyLabel: 'root-wrap/v1', usage: { encrypt: false, decrypt: false, wrap: true, unwrap: true }, auditLevel: 'full', cause: 'risk score' }),
    ]);
    // within the cooldown: no second rotation, no second alert
    ops.calls = [];
    await orch.handle(record({ securityRisk: 0.92, timestamp: T0 + 10 * MIN }));
    expect(ops.calls.filter((c) => c.startsWith('rotate'))).toEqual([]);
    expect(alerts.length).toBe(1);
  });

  test('given the rotation interval has passed, then rotate; older versions beyond the profile are retired', async () => {
    const { ops, orch } = setup();
    await orch.handle(record());
    ops.calls = [];
    // low profile: 720 h interval, keep 3 old versions; jump 31 days
    await orch.handle(record({ timestamp: T0 + 31 * 24 * 60 * MIN, predictedPeakTime: T0 + 31 * 24 * 60 * MIN }));
    expect(ops.calls.filter((c) => c.startsWith('rotate'))).toEqual(['rotate silver-1-p01 root-wrap v1', 'rotate silver-1-p01 root-sign v1']);
    const s = await orch.allocation('net-a');
    expect(s.partitions[0].keys['root-wrap']?.versions.map((v) => v.version)).toEqual([1, 2]);
  });

  test('given a key-exfiltration indicator, then freeze the keys, quarantine, alert; the planner then holds', async () => {
    const { ops, alerts, orch } = setup();
    await orch.handle(record());
    ops.calls = [];
    const out = await orch.handle(record({ threatIndicators: ['key-exfiltration'], predictedPeakOpsPerSec: 5000, timestamp: T0 + MIN }));
    expect(ops.calls).toEqual(['profile silver-1-p01 low', 'freeze silver-1-p01']);
    expect(out.events.map((e) => e.type)).toEqual(['PartitionQuarantined', 'PolicyActionTaken', 'PolicyActionTaken']);
    expect(out.plan).toMatchObject({ kind: 'hold', reason: expect.stringMatching(/quarantined/) });
    expect(alerts.map((a) => a.kind)).toEqual(['SECURITY']);

    // all clear: the quarantine is lifted and the current key versions get their usage back
    ops.calls = [];
    const clear = await orch.handle(record({ timestamp: T0 + 2 * MIN }));
    expect(ops.calls).toEqual(['thaw silver-1-p01 root-wrap/v1 root-sign/v1 low']);
    expect(clear.events.map((e) => e.type)).toEqual(['QuarantineLifted', 'PolicyActionTaken']);
    // and nothing more while nothing changes
    expect((await orch.handle(record({ timestamp: T0 + 3 * MIN }))).events).toEqual([]);
  });

  test('given demand gone (forecast and measured) after the hold time, then release: wipe, free, and the partition is back in the pool', async () => {
    const { store, ops, orch } = setup();
    await orch.handle(record());
    ops.calls = [];
    const later = T0 + 180 * MIN;
    const out = await orch.handle(record({ timestamp: later, predictedPeakOpsPerSec: 0, measuredOpsPerSec: 0, predictedPeakTime: later }));
    expect(out.plan).toMatchObject({ kind: 'release', reason: 'release' });
    expect(ops.calls).toEqual(['profile silver-1-p01 low', 'wipe silver-1-p01']);
    expect(await types(store, 'hsm-silver-1')).toEqual(['PartitionAssigned', 'PartitionFreed']);
    expect(await orch.poolAssignments()).toEqual({});
  });

  test('given a forecast redelivered after later decisions (a crash before its offset was committed), then it changes nothing (regression: planned again against the newer state it re-allocated what had been released)', async () => {
    const { store, ops, orch } = setup();
    await orch.handle(record());
    const middle = record({ timestamp: T0 + 60 * MIN, predictedPeakTime: T0 + 80 * MIN });
    expect((await orch.handle(middle)).plan.kind).toBe('hold');
    const later = T0 + 180 * MIN;
    await orch.handle(record({ timestamp: later, predictedPeakOpsPerSec: 0, measuredOpsPerSec: 0, predictedPeakTime: later }));
    const before = await types(store, 'allocation-net-a');
    ops.calls = [];
    const again = await orch.handle(middle);
    expect(again).toMatchObject({ plan: { kind: 'hold' }, events: [] });
    expect(ops.calls).toEqual([]);
    expect(await types(store, 'allocation-net-a')).toEqual(before);
    expect(await orch.poolAssignments()).toEqual({});
  });

  test('given an allocation made at the start of the lead time, when a forecast from before that moment arrives late with signs of key exfiltration, then it still quarantines but plans no capacity (regression: it was skipped whole)', async () => {
    const { store, orch } = setup();
    const far = record({ predictedPeakTime: T0 + 180 * MIN, measuredOpsPerSec: 0 });
    await orch.handle(far);
    await orch.handle({ ...far, eventId: `${far.eventId}:lead-time`, timestamp: T0 + 150 * MIN });
    const late = await orch.handle(record({ timestamp: T0 + 140 * MIN, predictedPeakTime: T0 + 180 * MIN, predictedPeakOpsPerSec: 0, measuredOpsPerSec: 0, threatIndicators: ['key-exfiltration'] }));
    expect(late.plan.kind).toBe('hold');
    const t = await types(store, 'allocation-net-a');
    expect(t).toContain('PartitionQuarantined');
    expect(t).not.toContain('PartitionsReleased');
  });

  test('two client networks never get the same partition', async () => {
    const { orch } = setup();
    await orch.handle(record({ clientNetworkId: 'net-a' }));
    await orch.handle(record({ clientNetworkId: 'net-b' }));
    const owners = await orch.poolAssignments();
    expect(Object.values(owners).sort()).toEqual(['net-a', 'net-b']);
  });
});

describe('HSM orchestrator: crash between claim and allocation', () => {
  const claimOnly = async (store: MemoryEventStore, label: string) => {
    const { handleCommand } = await import('../../eventstore/handler');
    const { hsmDecider } = await import('../../hsm/allocation');
    await handleCommand(store, {
      stream: 'hsm-silver-1',
      decider: hsmDecider,
      command: { kind: 'AssignPartition', hsmId: 'silver-1', label, clientNetworkId: 'net-a', at: new Date(T0).toISOString() },
      commandId: 'crashed-claim',
      now: T0,
    });
  };

  test('given a claimed-but-unallocated partition and demand, then it counts as free for that client and nothing stays dangling', async () => {
    const { store, orch } = setup();
    await claimOnly(store, 'silver-1-p02');
    const out = await orch.handle(record());
    expect(out.plan).toMatchObject({ kind: 'allocate', partitions: [expect.objectContaining({ label: 'silver-1-p01' })] });
    expect(await orch.poolAssignments()).toEqual({ 'silver-1-p01': 'net-a' });
  });

  test('given a record whose claim was freed as an orphan after a crash, when it is redelivered, then it claims the partition again before allocating it (regression: the repeat claim was skipped, leaving a partition allocated but free in the pool)', async () => {
    const { store, ops, orch } = setup();
    const f = record();
    let crash = true;
    const ensure = ops.ensure.bind(ops);
    ops.ensure = async (label: string) => {
      await ensure(label);
      if (crash) throw new Error('killed');
    };
    await expect(orch.handle(f)).rejects.toThrow('killed');
    crash = false;
    expect(await orch.poolAssignments()).toEqual({ 'silver-1-p01': 'net-a' });
    await orch.handle(record({ predictedPeakOpsPerSec: 0, measuredOpsPerSec: 0 }));
    expect(await orch.poolAssignments()).toEqual({});
    const again = await orch.handle(f);
    expect(again.plan).toMatchObject({ kind: 'allocate', partitions: [expect.objectContaining({ label: 'silver-1-p01' })] });
    expect(await orch.poolAssignments()).toEqual({ 'silver-1-p01': 'net-a' });
    expect(await types(store, 'hsm-silver-1')).toEqual(['PartitionAssigned', 'PartitionFreed', 'PartitionAssigned']);
  });

  test('given a claimed-but-unallocated partition and no demand, then it is wiped and freed', async () => {
    const { store, ops, orch } = setup();
    await claimOnly(store, 'silver-1-p02');
    await orch.handle(record({ predictedPeakOpsPerSec: 0, measuredOpsPerSec: 0 }));
    expect(ops.calls).toEqual(['wipe silver-1-p02']);
    expect(await orch.poolAssignments()).toEqual({});
  });
});
