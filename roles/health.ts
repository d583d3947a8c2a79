import type { Health, RunningRole } from '../core/role';

/** /healthz body: ready only when every dependency of every role (and Kafka, the registry) is. */
export interface PipelineHealth {
  ok: boolean;
  /** Readiness per dependency, merged over roles: one failing role makes the dependency fail. */
  dependencies: Health;
  roles: Record<string, Health>;
  /** Roles not started yet. */
  starting?: string[];
}

export type Probe = () => Promise<Health>;

const detailOf = (err: unknown): string => (err instanceof Error ? err.message.split('\n')[0] : String(err));

/** Runs each role's health() and the extra probes; a probe that throws or hangs counts as down. */
export async function pipelineHealth(roles: readonly RunningRole[], probes: readonly Probe[] = [], timeoutMs = 3000): Promise<PipelineHealth> {
  const within = async (name: string, f: () => Promise<Health>): Promise<Health> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        f(),
        new Promise<Health>((resolve) => {
          timer = setTimeout(() => resolve({ [name]: { ok: false, detail: `no answer within ${timeoutMs} ms` } }), timeoutMs);
        }),
      ]);
    } catch (err) {
      return { [name]: { ok: false, detail: detailOf(err) } };
    } finally {
      clearTimeout(timer);
    }
  };
  const perRole = await Promise.all(roles.map((r) => within(r.name, () => r.health())));
  const extra = await Promise.all(probes.map((p, i) => within(`probe${i}`, p)));
  const roleHealth: Record<string, Health> = {};
  roles.forEach((r, i) => (roleHealth[r.name] = perRole[i]));
  return { ...mergeHealth([...perRole, ...extra]), roles: roleHealth };
}

/** Pure: merges health maps; a dependency is ok only if every report of it is. */
export function mergeHealth(reports: readonly Health[]): { ok: boolean; dependencies: Health } {
  const deps: Health = {};
  for (const h of reports) {
    for (const [k, v] of Object.entries(h)) {
      const prev = deps[k];
      if (!prev || (prev.ok && !v.ok)) deps[k] = { ...v };
    }
  }
  return { ok: Object.values(deps).every((d) => d.ok), dependencies: deps };
}
