import type { Clock } from './clock';
import type { Config } from './config';
import type { Logger } from './log';
import type { MetricsRegistry } from './metrics';

/** What every role gets from `foresight run`: nothing is read from module-level state. */
export interface RoleContext {
  config: Config;
  log: Logger;
  metrics: MetricsRegistry;
  clock: Clock;
  /** Suffix for consumer group ids, so a demo or test can run an isolated pipeline. */
  groupPrefix: string;
}

/** Readiness of each dependency a role uses, for /healthz. */
export type Health = Record<string, { ok: boolean; detail?: string }>;

export interface RunningRole {
  readonly name: string;
  health(): Promise<Health>;
  /** Stop fetching, finish in-flight work, commit, disconnect. */
  stop(): Promise<void>;
}

export type RoleName = 'projections' | 'scorer' | 'provisioner' | 'hsm' | 'api';
export const ROLE_NAMES: readonly RoleName[] = ['projections', 'scorer', 'provisioner', 'hsm', 'api'];

export type RoleStarter = (ctx: RoleContext) => Promise<RunningRole>;
