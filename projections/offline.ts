/**
 * Features of a batch of telemetry, in memory, through the same engines and aggregators the
 * projections role runs on Kafka. Training reads exactly this, so training and serving agree.
 *
 * By default the batch is sorted by event time first (stable), which is what a stream with no
 * lateness would deliver; `arrivalOrder: true` folds the records in the order given instead, so
 * records later than the grace are counted as `late` just as the role would route them.
 * The global tables (vm-state, scheduled-jobs) are loaded before any window closes, as the role
 * bootstraps them; lookups are as of each window end, so no future state leaks into a window.
 * The batch ends at its latest event time: every window ending by then is emitted.
 */
import type { AccessFeatures, JsonlRecord, NetworkFeatures, NetworkTelemetry, ScheduledJob, VmState } from '../schemas/types';
import type { AccessInput } from './access-features';
import { createAccessEngine, createNetworkEngine, createTables, resolveOptions, type ProjectionOptions } from './engines';
import { networkEventTime } from './network-features';
import type { Outcome } from './window';

export interface OfflineOptions extends ProjectionOptions {
  arrivalOrder?: boolean;
}

export interface OfflineResult {
  access: AccessFeatures[];
  network: NetworkFeatures[];
  /** Records later than the grace (never with the default sorting). */
  late: number;
  /** Records whose eventId had already been counted in their window. */
  duplicates: number;
}

const PARTITION = 'offline';

function eventTime(r: JsonlRecord): number {
  return r.topic === 'telemetry.network' ? networkEventTime(r.value as NetworkTelemetry) : (r.value as { timestamp: number }).timestamp;
}

export function computeFeatures(records: readonly JsonlRecord[], opts: OfflineOptions = {}): OfflineResult {
  const o = resolveOptions(opts);
  const tables = createTables();
  const accessEngine = createAccessEngine(o, tables);
  const networkEngine = createNetworkEngine(o);
  const ordered = opts.arrivalOrder
    ? [...records]
    : records
        .map((r, i) => ({ r, i, t: eventTime(r) }))
        .sort((a, b) => a.t - b.t || a.i - b.i)
        .map((x) => x.r);

  for (const r of ordered) {
    if (r.topic === 'telemetry.vm-state') tables.vmState.apply(r.value as VmState);
    else if (r.topic === 'telemetry.scheduled-jobs') tables.jobs.apply(r.value as ScheduledJob);
  }

  const access: AccessFeatures[] = [];
  const network: NetworkFeatures[] = [];
  let late = 0;
  let duplicates = 0;
  let end = -Infinity;
  const count = (o: Outcome) => {
    if (o.status === 'late') late++;
    else if (o.status === 'duplicate') duplicates++;
  };
  for (const r of ordered) {
    switch (r.topic) {
      case 'telemetry.vm-access':
      case 'telemetry.user-activity': {
        const res = accessEngine.process(PARTITION, { topic: r.topic, value: r.value } as AccessInput);
        count(res.outcome);
        access.push(...res.closed);
        break;
      }
      case 'telemetry.network': {
        const res = networkEngine.process(PARTITION, r.value as NetworkTelemetry);
        count(res.outcome);
        network.push(...res.closed);
        break;
      }
      default:
        break; // tables were loaded above; other topics are not telemetry the projections read
    }
    if (r.topic.startsWith('telemetry.')) end = Math.max(end, (r.value as { timestamp: number }).timestamp);
  }
  if (end > -Infinity) {
    access.push(...accessEngine.advanceTo(end + o.access.graceMs));
    network.push(...networkEngine.advanceTo(end + o.network.graceMs));
  }
  return { access, network, late, duplicates };
}
