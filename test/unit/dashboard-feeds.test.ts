import { ManualClock } from '../../core/clock';
import { CredentialMetrics } from '../../credentials/metrics';
import { deliverySampleOf, startDashboardFeeds, toAllocationEvent, type AllocationSource } from '../../dashboard/feeds';
import { DashboardModel } from '../../dashboard/model';
import type { StoredEvent } from '../../eventstore/port';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const stored = (type: string, data: unknown, id = 'e1'): StoredEvent => ({ stream: 'allocation-net-1', id, revision: 0, type, data, metadata: {}, recordedAt: new Date(T0) });
const released = { clientNetworkId: 'net-1', labels: ['p1'], reason: 'scale-in', predictedPeakOpsPerSec: 1, measuredOpsPerSec: 1, at: new Date(T0).toISOString() };

describe('toAllocationEvent', () => {
  it('takes allocation events and leaves anything else (other types, malformed data)', () => {
    expect(toAllocationEvent(stored('PartitionsReleased', released))).toEqual({ type: 'PartitionsReleased', data: released });
    expect(toAllocationEvent(stored('PartitionAssigned', released))).toBeUndefined();
    expect(toAllocationEvent(stored('PartitionsReleased', { labels: [] }))).toBeUndefined();
    expect(toAllocationEvent(stored('PartitionsReleased', Buffer.from('x')))).toBeUndefined();
  });
});

describe('deliverySampleOf', () => {
  it('given served requests, then the sample holds cumulative counts and one latency histogram over every path', () => {
    const m = new CredentialMetrics();
    m.observe({ type: 'CredentialDelivered', data: { credentialId: 'c1', requestId: 'r1', source: 'pre-provisioned', deliveredAt: '' } });
    m.observe({ type: 'CredentialDelivered', data: { credentialId: 'c2', requestId: 'r2', source: 'on-demand', deliveredAt: '' } });
    m.requestServed('pre-provisioned', 3);
    m.requestServed('on-demand', 400);
    const s = deliverySampleOf(m);
    expect(s.requests).toEqual({ 'pre-provisioned': 1, refreshed: 0, 'on-demand': 1 });
    expect(s.latency.count).toBe(2);
    expect(s.latency.sum).toBeCloseTo(0.403, 6);
  });
});

describe('startDashboardFeeds', () => {
  it('given an allocation subscription that fails, then it resubscribes from the start on a fresh allocation state', async () => {
    const model = new DashboardModel();
    const subs: { onEvent(e: StoredEvent): void; onError(err: Error): void }[] = [];
    const source: AllocationSource = {
      subscribeByStreamPrefix(prefixes, h) {
        expect(prefixes).toEqual(['allocation-net-']);
        subs.push(h);
        return { stop: async () => undefined };
      },
    };
    const allocated = {
      clientNetworkId: 'net-1',
      partitions: [{ hsmId: 'h', label: 'p1', tier: 'gold', opsPerSecond: 500 }],
      reason: 'predicted-peak',
      requiredOpsPerSecond: 500,
      predictedPeakOpsPerSec: 400,
      predictedPeakTime: new Date(T0).toISOString(),
      measuredOpsPerSec: 0,
      modelVersion: 'm',
      at: new Date(T0).toISOString(),
    };
    const feeds = startDashboardFeeds(model, { allocations: source, allocationPrefixes: ['allocation-net-'], clock: new ManualClock(T0), retry: { initialMs: 1, maxMs: 1 } });
    subs[0].onEvent(stored('PartitionsAllocated', allocated));
    expect(model.view(T0).pool.partitionsAllocated).toBe(1);
    subs[0].onError(new Error('connection lost'));
    expect(model.view(T0).feeds.eventStore.state).toBe('reconnecting');
    for (let i = 0; i < 50 && subs.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(subs).toHaveLength(2);
    expect(model.view(T0).pool.partitionsAllocated).toBe(0); // replay comes next, from the start
    subs[1].onEvent(stored('PartitionsAllocated', allocated));
    expect(model.view(T0).pool.partitionsAllocated).toBe(1);
    expect(model.view(T0).feeds.kafka.state).toBe('off');
    await feeds.stop();
  });
});
