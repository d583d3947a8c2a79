/**
 * The two feature engines, built the one way both training (offline.ts) and serving (role.ts)
 * build them, so the two cannot drift.
 */
import type { AccessFeatures, NetworkFeatures, NetworkTelemetry } from '../schemas/types';
import { accessAggregation, type AccessContext, type AccessInput, type UserCarry, type UserWindowAcc } from './access-features';
import { networkAggregation, type NetworkAcc, type NetworkCarry, type NetworkContext } from './network-features';
import { ACCESS_WINDOW_MS, DEFAULT_GRACE_MS, DEFAULT_HORIZON_MS, NETWORK_WINDOW_MS, tumbling, type WindowSpec } from './spec';
import { JobTable, VmStateTable } from './tables';
import { WindowEngine, type EngineOptions } from './window';

export type AccessEngine = WindowEngine<AccessInput, UserWindowAcc, UserCarry, AccessFeatures, AccessContext>;
export type NetworkEngine = WindowEngine<NetworkTelemetry, NetworkAcc, NetworkCarry, NetworkFeatures, NetworkContext>;

export interface ProjectionOptions {
  /** Sets both window sizes (tumbling) unless the specific one is given. */
  windowMs?: number;
  accessWindowMs?: number;
  networkWindowMs?: number;
  graceMs?: number;
  horizonMs?: number;
  pairTtlMs?: number;
  networkTtlMs?: number;
  earlyUpdates?: boolean;
}

export interface ResolvedOptions {
  access: WindowSpec;
  network: WindowSpec;
  horizonMs: number;
  pairTtlMs?: number;
  networkTtlMs?: number;
  engine: EngineOptions;
}

export function resolveOptions(o: ProjectionOptions = {}): ResolvedOptions {
  const grace = o.graceMs ?? DEFAULT_GRACE_MS;
  return {
    access: tumbling(o.accessWindowMs ?? o.windowMs ?? ACCESS_WINDOW_MS, grace),
    network: tumbling(o.networkWindowMs ?? o.windowMs ?? NETWORK_WINDOW_MS, grace),
    horizonMs: o.horizonMs ?? DEFAULT_HORIZON_MS,
    pairTtlMs: o.pairTtlMs,
    networkTtlMs: o.networkTtlMs,
    engine: { earlyUpdates: o.earlyUpdates },
  };
}

/** The global tables every access engine of a process shares. */
export interface GlobalTables {
  vmState: VmStateTable;
  jobs: JobTable;
}

export function createTables(): GlobalTables {
  return { vmState: new VmStateTable(), jobs: new JobTable() };
}

export function createAccessEngine(o: ResolvedOptions, tables: GlobalTables, spec: WindowSpec = o.access): AccessEngine {
  const ctx: AccessContext = { vmState: tables.vmState, jobs: tables.jobs, horizonMs: o.horizonMs, pairTtlMs: o.pairTtlMs };
  return new WindowEngine(spec, accessAggregation(), ctx, o.engine);
}

export function createNetworkEngine(o: ResolvedOptions, spec: WindowSpec = o.network): NetworkEngine {
  return new WindowEngine(spec, networkAggregation(), { networkTtlMs: o.networkTtlMs }, o.engine);
}
