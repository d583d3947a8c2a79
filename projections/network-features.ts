/**
 * Network features per clientNetworkId per window, for the workload forecaster and the HSM
 * orchestrator. A telemetry record measures an interval ending at its timestamp; it belongs to
 * the window holding the interval's midpoint, so an interval ending exactly at a window end
 * counts in that window, not the next.
 */
import type { NetworkFeatures, NetworkTelemetry } from '../schemas/types';
import { cyclicalTime, FEATURE_VERSION, NETWORK_ACTIVE_TTL_MS, type Window } from './spec';
import type { Aggregation } from './window';

export interface NetworkAcc {
  bytesIn: number;
  bytesOut: number;
  packets: number;
  flows: number;
  cryptoOps: number;
  cryptoOpsPeak: number;
  tlsHandshakes: number;
  threatIndicatorCount: number;
  threats: Record<string, number>;
  lastSeen: number;
}

export interface NetworkCarry {
  lastSeen: number;
}

export interface NetworkContext {
  networkTtlMs?: number;
}

export function networkEventTime(r: NetworkTelemetry): number {
  return r.timestamp - Math.max(1, Math.floor(r.intervalMs / 2));
}

export function networkEventId(clientNetworkId: string, windowStart: number): string {
  return `network/${encodeURIComponent(clientNetworkId)}/${windowStart}`;
}

export function networkAggregation(): Aggregation<NetworkTelemetry, NetworkAcc, NetworkCarry, NetworkFeatures, NetworkContext> {
  return {
    key: (r) => r.clientNetworkId,
    eventId: (r) => r.eventId,
    eventTime: networkEventTime,
    empty: (w) => ({
      bytesIn: 0,
      bytesOut: 0,
      packets: 0,
      flows: 0,
      cryptoOps: 0,
      cryptoOpsPeak: 0,
      tlsHandshakes: 0,
      threatIndicatorCount: 0,
      threats: {},
      lastSeen: w.start, // not -Infinity: accumulators are JSON, and every record here is later
    }),
    add(acc, r) {
      acc.bytesIn += r.bytesIn;
      acc.bytesOut += r.bytesOut;
      acc.packets += r.packets;
      acc.flows += r.flows;
      acc.cryptoOps += r.cryptoOps;
      acc.tlsHandshakes += r.tlsHandshakes;
      const rate = r.intervalMs > 0 ? r.cryptoOps / (r.intervalMs / 1000) : r.cryptoOps;
      if (rate > acc.cryptoOpsPeak) acc.cryptoOpsPeak = rate;
      for (const t of r.threatIndicators) {
        acc.threats[t] = (acc.threats[t] ?? 0) + 1;
        acc.threatIndicatorCount++;
      }
      if (r.timestamp > acc.lastSeen) acc.lastSeen = r.timestamp;
      return acc;
    },
    close(id, w, acc, carry, ctx) {
      const ttl = ctx.networkTtlMs ?? NETWORK_ACTIVE_TTL_MS;
      const lastSeen = Math.max(carry?.lastSeen ?? -Infinity, acc?.lastSeen ?? -Infinity);
      if (!acc && w.end - lastSeen > ttl) return { out: [], carry: undefined };
      return { out: [features(id, w, acc)], carry: { lastSeen } };
    },
    preview(id, w, acc) {
      return [features(id, w, acc)];
    },
  };
}

function features(id: string, w: Window, acc: NetworkAcc | undefined): NetworkFeatures {
  const seconds = (w.end - w.start) / 1000;
  return {
    eventId: networkEventId(id, w.start),
    timestamp: w.end,
    clientNetworkId: id,
    windowStart: w.start,
    windowEnd: w.end,
    featureVersion: FEATURE_VERSION,
    bytesIn: acc?.bytesIn ?? 0,
    bytesOut: acc?.bytesOut ?? 0,
    packets: acc?.packets ?? 0,
    flows: acc?.flows ?? 0,
    cryptoOps: acc?.cryptoOps ?? 0,
    cryptoOpsRate: (acc?.cryptoOps ?? 0) / seconds,
    cryptoOpsPeak: acc?.cryptoOpsPeak ?? 0,
    tlsHandshakes: acc?.tlsHandshakes ?? 0,
    threatIndicatorCount: acc?.threatIndicatorCount ?? 0,
    threatIndicators: acc ? Object.fromEntries(Object.entries(acc.threats).sort(([a], [b]) => (a < b ? -1 : 1))) : {},
    ...cyclicalTime(w.end),
  };
}
