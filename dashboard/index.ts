import { randomUUID } from 'node:crypto';
import type { Config } from '../core/config';
import type { RoleContext } from '../core/role';
import type { CredentialMetrics } from '../credentials/metrics';
import { loadPool } from '../hsm/role';
import { startDashboardFeeds, type AllocationSource } from './feeds';
import { DashboardModel, type ModelLimits, type PoolSize } from './model';
import { createDashboard, type Dashboard } from './routes';

export { createDashboard, type Dashboard } from './routes';
export { DashboardModel } from './model';
export { startDashboardFeeds } from './feeds';
export type { DashboardState } from './state';

/**
 * The operator dashboard as the API role mounts it: model, feeds and routes together.
 *   const dashboard = startDashboard(ctx, { metrics: rt.metrics, allocations: store });
 *   createDeliveryServer({ ..., dashboard }); ... await dashboard.stop();
 */
export interface StartDashboardOptions {
  metrics?: CredentialMetrics;
  /** The event store adapter (EsdbEventStore); without it the pool shows forecasts only. */
  allocations?: AllocationSource;
  /** Only these allocation streams (prefixes, e.g. `allocation-acme`); default all. */
  allocationPrefixes?: string[];
  namespace?: string;
  /** Feeds off: the page and an empty model only (tests of the routes). */
  feeds?: boolean;
  limits?: Partial<ModelLimits>;
  sampleMs?: number;
}

/** Capacity of the configured pool, or null when there is no readable pool file. */
export function poolSizeOf(cfg: Pick<Config, 'home' | 'hsm'>): PoolSize | null {
  try {
    const { pool } = loadPool(cfg);
    const ops = new Map(pool.tiers.map((t) => [t.name, t.partitionOpsPerSecond]));
    return {
      capacityOpsPerSec: pool.hsms.reduce((a, h) => a + h.partitionCapacity * (ops.get(h.tier) ?? 0), 0),
      partitionsTotal: pool.hsms.reduce((a, h) => a + h.partitionCapacity, 0),
    };
  } catch {
    return null;
  }
}

export function startDashboard(ctx: RoleContext, o: StartDashboardOptions = {}): Dashboard {
  const model = new DashboardModel(o.limits, poolSizeOf(ctx.config));
  const feeds =
    o.feeds === false
      ? undefined
      : startDashboardFeeds(model, {
          kafka: {
            connection: ctx.config.kafka,
            registryUrl: ctx.config.schemaRegistry.url,
            // A group per instance: every API instance shows every record, none steals from another.
            groupId: `${ctx.groupPrefix}foresight-dashboard-${randomUUID()}`,
            namespace: o.namespace,
          },
          allocations: o.allocations,
          allocationPrefixes: o.allocationPrefixes,
          metrics: o.metrics,
          clock: ctx.clock,
          sampleMs: o.sampleMs,
          log: ctx.log,
        });
  return createDashboard({ model, clock: ctx.clock, feeds });
}
