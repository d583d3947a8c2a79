import { assertNever } from '../core/event';
import type { DeliverySource } from '../credentials/events';
import type { AllocationEvent } from '../hsm/events';
import type { AccessRisk, AdminAlert, WorkloadRisk } from '../schemas/types';
import { BucketSeries, addCounts, emptyCounts, histogramQuantile, subtractCounts, type HistogramCounts } from './series';
import type { AlertRow, AllocationNote, DashboardState, FeedStatus, HeatCell, NetworkRow } from './state';

/**
 * What the dashboard shows, folded from the feeds it is given (risk records, alerts, allocation
 * events, samples of the delivery metrics). Pure: every time comes in with its input, nothing
 * reads a clock. Memory is bounded by the limits whatever the traffic.
 */
export interface ModelLimits {
  bucketMs: number;
  /** Time buckets kept per chart. */
  buckets: number;
  /** (user, vm) pairs remembered; the least recently scored go first. */
  maxPairs: number;
  heatUsers: number;
  heatVms: number;
  maxNetworks: number;
  /** Networks drawn in the pool chart. */
  shownNetworks: number;
  alerts: number;
  recentAllocations: number;
}

export const DEFAULT_LIMITS: ModelLimits = {
  bucketMs: 60_000,
  buckets: 60,
  maxPairs: 5_000,
  heatUsers: 14,
  heatVms: 14,
  maxNetworks: 500,
  shownNetworks: 10,
  alerts: 50,
  recentAllocations: 12,
};

/** Cumulative figures of the delivery metrics at one instant. */
export interface DeliverySample {
  requests: Record<DeliverySource, number>;
  /** Requests served from a credential the provisioner made ahead of time (the hit rate's numerator). */
  hits: number;
  hitRate: number;
  /** Request latency in seconds, all sources together. */
  latency: HistogramCounts;
  wasteRate: number;
  preProvisioned: number;
  wasted: number;
  failures: number;
}

export interface PoolSize {
  capacityOpsPerSec: number;
  partitionsTotal: number;
}

interface Pair {
  userId: string;
  vmId: string;
  score: number;
  at: number;
  horizon: string;
  predictedAccessTime: number | null;
  modelVersion: string;
}

interface Network {
  id: string;
  held: Map<string, number>;
  predictedPeakOpsPerSec: number;
  predictedPeakTime: number | null;
  measuredOpsPerSec: number;
  securityRisk: number;
  at: number;
}

/** The allocation events the pool panel reads or describes; the others are routine follow-ups. */
const SHOWN = ['PartitionsAllocated', 'PartitionsReleased', 'AllocationFailed', 'ScaleOutRecommended', 'RiskProfileApplied', 'PartitionQuarantined', 'QuarantineLifted', 'PolicyActionTaken', 'KeyRotated'] as const;
type ShownAllocationEvent = Extract<AllocationEvent, { type: (typeof SHOWN)[number] }>;
const isShown = (e: AllocationEvent): e is ShownAllocationEvent => (SHOWN as readonly string[]).includes(e.type);

type DeliveryBucket = { requests: Record<DeliverySource, number>; hits: number; latency: HistogramCounts | null };
type PoolBucket = { allocated: number; predicted: number; measured: number };

const SOURCES: readonly DeliverySource[] = ['pre-provisioned', 'refreshed', 'on-demand'];
const zeroRequests = (): Record<DeliverySource, number> => ({ 'pre-provisioned': 0, refreshed: 0, 'on-demand': 0 });
const sumOps = (held: Map<string, number>) => [...held.values()].reduce((a, b) => a + b, 0);
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

export class DashboardModel {
  readonly limits: ModelLimits;
  private readonly pairs = new Map<string, Pair>();
  private riskRecords = 0;
  private readonly networks = new Map<string, Network>();
  private readonly poolSeries: BucketSeries<PoolBucket>;
  private readonly deliverySeries: BucketSeries<DeliveryBucket>;
  private recent: AllocationNote[] = [];
  private alerts: AlertRow[] = [];
  private lastSample: DeliverySample | undefined;
  private readonly feeds = new Map<string, FeedStatus>();

  constructor(
    limits: Partial<ModelLimits> = {},
    private readonly poolSize: PoolSize | null = null,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    const { bucketMs, buckets } = this.limits;
    this.poolSeries = new BucketSeries(bucketMs, buckets, () => ({ allocated: 0, predicted: 0, measured: 0 }));
    this.deliverySeries = new BucketSeries(bucketMs, buckets, () => ({ requests: zeroRequests(), hits: 0, latency: null }));
  }

  accessRisk(r: AccessRisk): void {
    this.riskRecords++;
    const key = `${r.userId}\u0000${r.vmId}`;
    const old = this.pairs.get(key);
    if (old && old.at > r.timestamp) return; // an older score arriving late does not replace a newer one
    this.pairs.delete(key); // re-insert: Map order is least recently scored first
    this.pairs.set(key, {
      userId: r.userId,
      vmId: r.vmId,
      score: r.riskScore,
      at: r.timestamp,
      horizon: r.horizon,
      predictedAccessTime: r.predictedAccessTime,
      modelVersion: r.modelVersion,
    });
    while (this.pairs.size > this.limits.maxPairs) this.pairs.delete(this.pairs.keys().next().value as string);
  }

  workloadRisk(r: WorkloadRisk): void {
    const n = this.network(r.clientNetworkId);
    if (n.at > r.timestamp) return;
    n.predictedPeakOpsPerSec = r.predictedPeakOpsPerSec;
    n.predictedPeakTime = r.predictedPeakTime;
    n.measuredOpsPerSec = r.measuredOpsPerSec;
    n.securityRisk = r.securityRisk;
    n.at = r.timestamp;
    this.recordPool(r.timestamp);
  }

  allocation(e: AllocationEvent, eventId: string): void {
    if (!isShown(e)) return;
    const d = e.data;
    const at = Date.parse(d.at);
    const n = this.network(d.clientNetworkId);
    let summary: string;
    switch (e.type) {
      case 'PartitionsAllocated': {
        for (const p of e.data.partitions) n.held.set(p.label, p.opsPerSecond);
        if (at >= n.at) {
          n.predictedPeakOpsPerSec = e.data.predictedPeakOpsPerSec;
          n.predictedPeakTime = Date.parse(e.data.predictedPeakTime) || n.predictedPeakTime;
          n.measuredOpsPerSec = e.data.measuredOpsPerSec;
          n.at = at;
        }
        const ops = e.data.partitions.reduce((a, p) => a + p.opsPerSecond, 0);
        summary = `+${e.data.partitions.length} partition(s), ${ops} ops/s (${e.data.reason}; predicted peak ${round(e.data.predictedPeakOpsPerSec, 1)} ops/s)`;
        break;
      }
      case 'PartitionsReleased':
        for (const l of e.data.labels) n.held.delete(l);
        summary = `-${e.data.labels.length} partition(s) released (${e.data.reason})`;
        break;
      case 'AllocationFailed':
        summary = `allocation failed: ${e.data.missingPartitions} ${e.data.tier} partition(s) missing for ${e.data.requiredOpsPerSecond} ops/s`;
        break;
      case 'ScaleOutRecommended':
        summary = `scale out: ${e.data.recommendedHsms} more ${e.data.tier} HSM(s) recommended`;
        break;
      case 'RiskProfileApplied':
        summary = `risk profile ${e.data.profile.level} (security risk ${round(e.data.securityRisk, 2)})`;
        break;
      case 'PartitionQuarantined':
        summary = `quarantined ${e.data.labels.length} partition(s): ${e.data.reason}`;
        break;
      case 'QuarantineLifted':
        summary = `quarantine lifted (${e.data.ruleId})`;
        break;
      case 'PolicyActionTaken':
        summary = `policy ${e.data.ruleId}: ${e.data.action}`;
        break;
      case 'KeyRotated':
        summary = `key ${e.data.key.family} rotated to v${e.data.key.version} (${e.data.cause})`;
        break;
      default:
        assertNever(e, 'allocation event');
    }
    if (!this.recent.some((x) => x.eventId === eventId)) {
      this.recent = [{ eventId, type: e.type, clientNetworkId: d.clientNetworkId, at, summary }, ...this.recent]
        .sort((a, b) => b.at - a.at)
        .slice(0, this.limits.recentAllocations);
    }
    if (Number.isFinite(at)) this.recordPool(at);
  }

  /** Before the allocation feed replays from the start again. */
  resetAllocations(): void {
    for (const n of this.networks.values()) n.held.clear();
    this.recent = [];
  }

  alert(a: AdminAlert): void {
    if (this.alerts.some((x) => x.eventId === a.eventId)) return; // redelivered
    const row: AlertRow = { eventId: a.eventId, timestamp: a.timestamp, subject: a.subject, kind: a.kind, severity: a.severity, message: a.message };
    this.alerts = [row, ...this.alerts].sort((x, y) => y.timestamp - x.timestamp).slice(0, this.limits.alerts);
  }

  deliverySample(at: number, s: DeliverySample): void {
    const prev = this.lastSample;
    const b = this.deliverySeries.at(at);
    if (b) {
      const restarted = prev !== undefined && (s.hits < prev.hits || SOURCES.some((k) => s.requests[k] < prev.requests[k]));
      for (const k of SOURCES) b.requests[k] += Math.max(0, s.requests[k] - (prev && !restarted ? prev.requests[k] : 0));
      b.hits += Math.max(0, s.hits - (prev && !restarted ? prev.hits : 0));
      const delta = subtractCounts(s.latency, restarted ? undefined : prev?.latency);
      b.latency = b.latency ? addCounts(b.latency, delta) : delta;
    }
    this.lastSample = { ...s, requests: { ...s.requests }, latency: { ...s.latency, counts: [...s.latency.counts] } };
  }

  setFeed(name: string, status: FeedStatus): void {
    this.feeds.set(name, status);
  }

  view(now: number): DashboardState {
    const s = this.lastSample;
    const total = s ? SOURCES.reduce((a, k) => a + s.requests[k], 0) : 0;
    const ms = (x: number | null) => (x === null ? null : round(x * 1000, 2));
    const held = [...this.networks.values()].reduce((a, n) => a + n.held.size, 0);
    return {
      generatedAt: now,
      bucketMs: this.limits.bucketMs,
      heat: this.heat(),
      delivery: {
        requests: s ? { ...s.requests } : zeroRequests(),
        hitRate: total === 0 || !s ? 0 : s.hitRate,
        wasteRate: s?.wasteRate ?? 0,
        preProvisioned: s?.preProvisioned ?? 0,
        wasted: s?.wasted ?? 0,
        failures: s?.failures ?? 0,
        p50Ms: s ? ms(histogramQuantile(0.5, s.latency)) : null,
        p99Ms: s ? ms(histogramQuantile(0.99, s.latency)) : null,
        series: this.deliverySeries.entries().map(([t, b]) => {
          const n = SOURCES.reduce((a, k) => a + b.requests[k], 0);
          const lat = b.latency ?? emptyCounts([]);
          return { t, requests: n, hitRate: n === 0 ? null : Math.min(1, b.hits / n), p50Ms: ms(histogramQuantile(0.5, lat)), p99Ms: ms(histogramQuantile(0.99, lat)) };
        }),
      },
      pool: {
        capacityOpsPerSec: this.poolSize?.capacityOpsPerSec ?? null,
        partitionsTotal: this.poolSize?.partitionsTotal ?? null,
        partitionsAllocated: held,
        networks: this.networkRows(),
        series: this.poolSeries.entries().map(([t, b]) => ({ t, allocatedOpsPerSec: b.allocated, predictedPeakOpsPerSec: round(b.predicted, 2), measuredOpsPerSec: round(b.measured, 2) })),
        recent: this.recent.map((r) => ({ ...r })),
      },
      alerts: this.alerts.map((a) => ({ ...a })),
      feeds: Object.fromEntries(this.feeds),
    };
  }

  private heat(): DashboardState['heat'] {
    const sorted = [...this.pairs.values()].sort((a, b) => b.score - a.score || a.userId.localeCompare(b.userId) || a.vmId.localeCompare(b.vmId));
    const users = new Map<string, number>();
    const vms = new Map<string, number>();
    for (const p of sorted) {
      if (!users.has(p.userId) && users.size < this.limits.heatUsers) users.set(p.userId, users.size);
      if (!vms.has(p.vmId) && vms.size < this.limits.heatVms) vms.set(p.vmId, vms.size);
    }
    const cells: HeatCell[] = [];
    for (const p of sorted) {
      const u = users.get(p.userId);
      const v = vms.get(p.vmId);
      if (u === undefined || v === undefined) continue;
      cells.push({ u, v, score: round(p.score, 4), at: p.at, horizon: p.horizon, predictedAccessTime: p.predictedAccessTime, modelVersion: p.modelVersion });
    }
    return { users: [...users.keys()], vms: [...vms.keys()], cells, trackedPairs: this.pairs.size, records: this.riskRecords };
  }

  private networkRows(): NetworkRow[] {
    return [...this.networks.values()]
      .map((n) => ({
        clientNetworkId: n.id,
        allocatedOpsPerSec: sumOps(n.held),
        partitions: n.held.size,
        predictedPeakOpsPerSec: round(n.predictedPeakOpsPerSec, 2),
        predictedPeakTime: n.predictedPeakTime,
        measuredOpsPerSec: round(n.measuredOpsPerSec, 2),
        securityRisk: round(n.securityRisk, 3),
        at: Number.isFinite(n.at) ? n.at : null,
      }))
      .sort((a, b) => Math.max(b.allocatedOpsPerSec, b.predictedPeakOpsPerSec) - Math.max(a.allocatedOpsPerSec, a.predictedPeakOpsPerSec) || a.clientNetworkId.localeCompare(b.clientNetworkId))
      .slice(0, this.limits.shownNetworks);
  }

  private network(id: string): Network {
    let n = this.networks.get(id);
    if (n) {
      this.networks.delete(id);
      this.networks.set(id, n); // most recently touched last
      return n;
    }
    n = { id, held: new Map(), predictedPeakOpsPerSec: 0, predictedPeakTime: null, measuredOpsPerSec: 0, securityRisk: 0, at: -Infinity };
    this.networks.set(id, n);
    if (this.networks.size > this.limits.maxNetworks) {
      // Forget the least recently touched network that holds nothing; holders are bounded by the pool.
      for (const [k, v] of this.networks) {
        if (v.held.size === 0 && k !== id) {
          this.networks.delete(k);
          break;
        }
      }
    }
    return n;
  }

  private recordPool(t: number): void {
    const b = this.poolSeries.at(t);
    if (!b) return;
    let allocated = 0;
    let predicted = 0;
    let measured = 0;
    for (const n of this.networks.values()) {
      allocated += sumOps(n.held);
      predicted += n.predictedPeakOpsPerSec;
      measured += n.measuredOpsPerSec;
    }
    Object.assign(b, { allocated, predicted, measured });
  }
}
