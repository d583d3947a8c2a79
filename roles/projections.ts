import type { Health, RoleContext, RunningRole } from '../core/role';
import { PROJECTIONS_GROUP, startProjections, type RunningProjections } from '../projections/role';
import type { ProjectionOptions } from '../projections/engines';

export interface ProjectionsRoleOptions {
  namespace?: string;
  instanceId?: string;
  /** Processing-time idleness after which a silent partition stops holding windows open. */
  idleMs?: number;
  projection?: ProjectionOptions;
}

/** Adapts projections/role.ts's own options to the RoleStarter shape `run` uses. */
export async function startProjectionsRole(ctx: RoleContext, o: ProjectionsRoleOptions = {}): Promise<RunningRole & { projections: RunningProjections }> {
  const log = ctx.log;
  const p = await startProjections({
    config: ctx.config,
    namespace: o.namespace,
    groupId: `${ctx.groupPrefix}${PROJECTIONS_GROUP}`,
    instanceId: o.instanceId,
    idleMs: o.idleMs,
    projection: o.projection,
    clock: ctx.clock,
    log,
  });
  const records = ctx.metrics.gauge('foresight_projections_records', 'Telemetry records processed by this process, by kind (in, late, duplicate, access-features, network-features).');
  let failed: string | undefined;
  p.finished.catch((err: unknown) => {
    failed = err instanceof Error ? err.message : String(err);
    log.error('projections stopped on an error', { error: err });
  });
  const timer = setInterval(() => {
    const c = p.counters();
    records.set(c.records, { kind: 'in' });
    records.set(c.late, { kind: 'late' });
    records.set(c.duplicates, { kind: 'duplicate' });
    records.set(c.accessFeatures, { kind: 'access-features' });
    records.set(c.networkFeatures, { kind: 'network-features' });
  }, 1000);
  timer.unref();
  return {
    name: 'projections',
    projections: p,
    async health(): Promise<Health> {
      return { processor: failed ? { ok: false, detail: failed } : { ok: true } };
    },
    async stop() {
      clearInterval(timer);
      await p.stop();
    },
  };
}
