import type { Clock } from '../core/clock';
import { UnavailableError } from '../core/errors';
import type { Logger } from '../core/log';
import type { AdminAlert } from '../schemas/types';
import type { PartitionOps } from './partition-ops';

/**
 * HSM outage episodes under the hsm role. The consumer retries a record for as long as the HSM
 * is unavailable, so a failure per retry is no news to an administrator: `threshold` consecutive
 * failures open an episode with one DEPENDENCY_UNAVAILABLE alert, and the first HSM operation
 * that succeeds closes it (an INFO alert if the episode was alerted). The transitions are pure;
 * `watchHsmOutages` wires them to the partition operations.
 */
export interface OutageState {
  /** Episodes seen by this process: makes alert ids unique when the clock does not move. */
  readonly episodes: number;
  /** Consecutive failures; 0 while healthy. */
  readonly failures: number;
  readonly since: number | null;
  readonly alerted: boolean;
  readonly lastError: string;
}

export const HEALTHY: OutageState = { episodes: 0, failures: 0, since: null, alerted: false, lastError: '' };

export interface OutageRule {
  poolId: string;
  threshold: number;
}

const episodeId = (s: OutageState, rule: OutageRule) => `hsm:${rule.poolId}:${s.since}:${s.episodes}`;

export function hsmFailed(s: OutageState, at: number, error: string, rule: OutageRule): { state: OutageState; alert?: AdminAlert } {
  const opening = s.failures === 0;
  const state: OutageState = {
    episodes: opening ? s.episodes + 1 : s.episodes,
    failures: s.failures + 1,
    since: opening ? at : s.since,
    alerted: s.alerted || s.failures + 1 >= rule.threshold,
    lastError: error,
  };
  if (state.alerted === s.alerted) return { state };
  const alert: AdminAlert = {
    eventId: `${episodeId(state, rule)}:unavailable`,
    timestamp: at,
    subject: `hsm:${rule.poolId}`,
    kind: 'DEPENDENCY_UNAVAILABLE',
    severity: 'CRITICAL',
    message: `HSM unavailable to the hsm role (pool ${rule.poolId}): ${state.failures} consecutive failures since ${new Date(state.since ?? at).toISOString()}; workload records are held and retried until it answers. Last: ${error}`,
    details: { poolId: rule.poolId, failures: String(state.failures), since: String(state.since), lastError: error },
  };
  return { state, alert };
}

export interface Recovery {
  failures: number;
  downMs: number;
  alert?: AdminAlert;
}

export function hsmAnswered(s: OutageState, at: number, rule: OutageRule): { state: OutageState; recovered?: Recovery } {
  if (s.failures === 0) return { state: s };
  const state: OutageState = { ...HEALTHY, episodes: s.episodes };
  const downMs = Math.max(0, at - (s.since ?? at));
  if (!s.alerted) return { state, recovered: { failures: s.failures, downMs } };
  const alert: AdminAlert = {
    eventId: `${episodeId(s, rule)}:recovered`,
    timestamp: at,
    subject: `hsm:${rule.poolId}`,
    kind: 'DEPENDENCY_UNAVAILABLE',
    severity: 'INFO',
    message: `HSM available again to the hsm role (pool ${rule.poolId}) after ${s.failures} failures; held workload records are being processed`,
    details: { poolId: rule.poolId, failures: String(s.failures), since: String(s.since), downMs: String(downMs), recovered: 'true' },
  };
  return { state, recovered: { failures: s.failures, downMs, alert } };
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The same partition operations, each outcome fed to the episode logic. Only UnavailableError
 * counts as a failure: partition operations touch nothing but the HSM, and any other error is
 * the HSM answering (a genuinely missing key is a fault, not an outage).
 */
export function watchHsmOutages(
  ops: PartitionOps,
  o: { rule: OutageRule; clock: Clock; log: Logger; publish(alert: AdminAlert): Promise<void> },
): PartitionOps & { readonly outage: OutageState } {
  let state = HEALTHY;
  const send = (a: AdminAlert) => {
    // Not awaited: the failing operation is the news, and a lost alert must not hold the record.
    o.publish(a).catch((err) => o.log.error('HSM availability alert not published', { eventId: a.eventId, error: err }));
  };
  const failed = (err: unknown) => {
    const out = hsmFailed(state, o.clock.now(), message(err), o.rule);
    state = out.state;
    if (!out.alert) return;
    o.log.error('HSM unavailable; workload records held until it answers', { failures: state.failures, error: err });
    send(out.alert);
  };
  const answered = () => {
    const out = hsmAnswered(state, o.clock.now(), o.rule);
    state = out.state;
    if (!out.recovered) return;
    o.log.info('HSM available again', { failures: out.recovered.failures, downMs: out.recovered.downMs });
    if (out.recovered.alert) send(out.recovered.alert);
  };
  const watched = <A extends unknown[], T>(f: (...args: A) => Promise<T>) =>
    async (...args: A): Promise<T> => {
      try {
        const v = await f(...args);
        answered();
        return v;
      } catch (err) {
        if (err instanceof UnavailableError) failed(err);
        throw err;
      }
    };
  return {
    get outage() {
      return state;
    },
    ensure: watched(ops.ensure.bind(ops)),
    configureBaseline: watched(ops.configureBaseline.bind(ops)),
    rotate: watched(ops.rotate.bind(ops)),
    retire: watched(ops.retire.bind(ops)),
    applyProfile: watched(ops.applyProfile.bind(ops)),
    freeze: watched(ops.freeze.bind(ops)),
    thaw: watched(ops.thaw.bind(ops)),
    wipe: watched(ops.wipe.bind(ops)),
    close: () => ops.close(),
  };
}
