import { ROLE_NAMES, type RoleName, type RoleStarter } from '../core/role';
import { startApiRole, startProvisionerRole } from '../credentials/role';
import { startHsmRole } from '../hsm/role';
import { startScorerRole } from '../models/scorer/role';
import { startProjectionsRole } from './projections';

/** What `run` (or the demo) may tune per role; each role reads only its part. */
export interface PipelineOptions {
  namespace?: string;
  modelDir?: string;
  instanceId?: string;
  poolFile?: string;
  apiPort?: number;
  /** Projections: processing-time idleness before a silent partition stops holding windows. */
  idleMs?: number;
  /** Provisioner: how often expired credentials are swept (wall ms). */
  sweepEveryMs?: number;
  /** HSM: how often forecasts waiting for their lead time are looked at (wall ms). */
  hsmTickMs?: number;
}

export function roleStarters(o: PipelineOptions = {}): Record<RoleName, RoleStarter> {
  return {
    projections: (ctx) => startProjectionsRole(ctx, { namespace: o.namespace, instanceId: o.instanceId, idleMs: o.idleMs }),
    scorer: (ctx) => startScorerRole(ctx, { namespace: o.namespace, modelDir: o.modelDir, instanceId: o.instanceId }),
    provisioner: (ctx) => startProvisionerRole(ctx, { namespace: o.namespace, sweepEveryMs: o.sweepEveryMs }),
    hsm: (ctx) => startHsmRole(ctx, { namespace: o.namespace, poolFile: o.poolFile, tickMs: o.hsmTickMs }),
    api: (ctx) => startApiRole(ctx, { port: o.apiPort, dashboard: { namespace: o.namespace } }),
  };
}

/**
 * Start order: consumers of later stages first, so the first records each stage emits find a
 * reader already in its group; the API last (it serves what the others made). Stop in reverse:
 * the sources stop first and the stages behind them drain.
 */
export const START_ORDER: readonly RoleName[] = ['hsm', 'provisioner', 'scorer', 'projections', 'api'];

/** `all`, one name, or a comma-separated list; unknown names throw with the valid ones. */
export function parseRoles(arg: string): RoleName[] {
  const names = arg.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 1 && names[0] === 'all') return [...START_ORDER];
  const bad = names.filter((n) => !(ROLE_NAMES as readonly string[]).includes(n));
  if (!names.length || bad.length) {
    throw new RangeError(`unknown role${bad.length > 1 ? 's' : ''} ${bad.map((b) => `"${b}"`).join(', ') || '""'}; use all or one or more of ${ROLE_NAMES.join(', ')}`);
  }
  const set = new Set(names as RoleName[]);
  return START_ORDER.filter((r) => set.has(r));
}
