import type { AlertKind, Severity } from '../schemas/types';

/**
 * The JSON the dashboard page polls (`GET /dashboard/state`). Times are epoch milliseconds.
 * Holds ids, scores, rates and alert lines only: never a credential or a secret.
 */
export interface HeatCell {
  /** Indexes into `users` and `vms`. */
  u: number;
  v: number;
  score: number;
  at: number;
  horizon: string;
  predictedAccessTime: number | null;
  modelVersion: string;
}

export interface DeliveryPoint {
  t: number;
  requests: number;
  /** Share of this interval's requests served pre-provisioned; null without requests. */
  hitRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface PoolPoint {
  t: number;
  allocatedOpsPerSec: number;
  predictedPeakOpsPerSec: number;
  measuredOpsPerSec: number;
}

export interface NetworkRow {
  clientNetworkId: string;
  allocatedOpsPerSec: number;
  partitions: number;
  predictedPeakOpsPerSec: number;
  predictedPeakTime: number | null;
  measuredOpsPerSec: number;
  securityRisk: number;
  /** Event time of the latest demand figures; null before any. */
  at: number | null;
}

export interface AllocationNote {
  eventId: string;
  type: string;
  clientNetworkId: string;
  at: number;
  summary: string;
}

export interface AlertRow {
  eventId: string;
  timestamp: number;
  subject: string;
  kind: AlertKind;
  severity: Severity;
  message: string;
}

export type FeedStatus = { state: 'starting' | 'live' | 'reconnecting' | 'off'; detail?: string };

export interface DashboardState {
  generatedAt: number;
  bucketMs: number;
  heat: { users: string[]; vms: string[]; cells: HeatCell[]; trackedPairs: number; records: number };
  delivery: {
    requests: { 'pre-provisioned': number; refreshed: number; 'on-demand': number };
    hitRate: number;
    wasteRate: number;
    preProvisioned: number;
    wasted: number;
    failures: number;
    p50Ms: number | null;
    p99Ms: number | null;
    series: DeliveryPoint[];
  };
  pool: {
    capacityOpsPerSec: number | null;
    partitionsTotal: number | null;
    partitionsAllocated: number;
    networks: NetworkRow[];
    series: PoolPoint[];
    recent: AllocationNote[];
  };
  alerts: AlertRow[];
  feeds: Record<string, FeedStatus>;
}
