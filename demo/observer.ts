import type { Clock } from '../core/clock';
import type { Config } from '../core/config';
import type { Logger } from '../core/log';
import { scoreFor, type CredentialPolicy } from '../credentials/policy';
import { done, runConsumer, type RunningConsumer } from '../streams';

export interface Observed {
  riskAccess: number;
  /** Scores of live windows, and those at or above the threshold. */
  riskLive: number;
  riskHigh: number;
  riskWorkload: number;
  alerts: number;
  lastAlert?: string;
  notifications: number;
  /** Simulated ms from a live window's end to its score reaching us (the pipeline's delay). */
  scoreDelays: number[];
}

/**
 * Reads what the pipeline emits (committed records only) for the live view: risk scores,
 * forecasts, admin alerts and user notifications. Its own consumer group, so it takes nothing
 * from the roles.
 */
export async function startObserver(o: {
  config: Config;
  namespace: string;
  groupId: string;
  /** The provisioner's policy: a score counts as high as the provisioner would see it. */
  policy: CredentialPolicy;
  log: Logger;
  clock: Clock;
  liveStart: number;
}): Promise<{ observed: Observed; stop(): Promise<void> }> {
  const observed: Observed = { riskAccess: 0, riskLive: 0, riskHigh: 0, riskWorkload: 0, alerts: 0, notifications: 0, scoreDelays: [] };
  const c: RunningConsumer = await runConsumer({
    kafka: o.config.kafka,
    registryUrl: o.config.schemaRegistry.url,
    groupId: o.groupId,
    topics: ['risk.access', 'risk.workload', 'alerts.admin', 'notifications.user'],
    namespace: o.namespace,
    fromBeginning: true,
    concurrency: 4,
    // The view reports; it must not send anything to a DLQ another reader relies on.
    validate: false,
    log: o.log,
    handle: async (r) => {
      switch (r.topic) {
        case 'risk.access':
          observed.riskAccess++;
          if (r.value.timestamp >= o.liveStart) {
            observed.riskLive++;
            if ((scoreFor(r.value, o.policy) ?? -1) >= o.policy.threshold) observed.riskHigh++;
            if (observed.scoreDelays.length < 100_000) observed.scoreDelays.push(o.clock.now() - r.value.timestamp);
          }
          break;
        case 'risk.workload':
          observed.riskWorkload++;
          break;
        case 'alerts.admin':
          observed.alerts++;
          observed.lastAlert = `${r.value.kind} ${r.value.subject}: ${r.value.message}`.slice(0, 100);
          break;
        case 'notifications.user':
          observed.notifications++;
          break;
      }
      return done();
    },
  });
  return { observed, stop: () => c.stop() };
}
